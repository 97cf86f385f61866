"""Atomic file writes and completion markers, shared by caches, results and datasets.

A file is written into a temporary sibling (``.<name>.XXXX.tmp``) and renamed over its target
with :func:`os.replace`, so a reader sees the old file or the new one, never half of one. A
dataset folder is built in a hidden sibling folder; its completion marker (a small JSON file)
is written last, and only then is the folder moved into place with :func:`move_into_place`.
A folder without a readable marker is therefore never taken for a finished dataset.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

#: Permissions of every file written here: readable by all, writable by the owner (a plain
#: :func:`open` gives the same under the usual umask; :func:`tempfile.mkstemp` alone would
#: make the file owner-only, unreadable for others sharing a data root).
FILE_MODE = 0o644


def write_atomically(target: Path, write: Callable[[IO[bytes]], object]) -> Path:
    """Return ``target`` after ``write(handle)`` filled it via a temporary file and a rename.

    The parent folder is created if needed and the file gets :data:`FILE_MODE`. If ``write``
    fails (or is interrupted), the temporary file is deleted and ``target`` is left as it was.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                         suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
        os.chmod(temporary, FILE_MODE)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def file_digest(path: Path, *extra: object) -> str:
    """Return a 20-character hex hash of ``path``, its size, modification time and ``extra``.

    A cache entry named by it is recomputed when the file is edited or ``extra`` (e.g. a
    sample rate) changes.
    """
    stat = path.stat()
    identity = "|".join([str(path), str(stat.st_size), str(stat.st_mtime_ns), *map(str, extra)])
    return hashlib.sha1(identity.encode("utf-8")).hexdigest()[:20]


def write_text_atomically(target: Path, text: str) -> Path:
    """Return ``target`` after writing ``text`` (UTF-8) to it as :func:`write_atomically` does."""
    data = text.encode("utf-8")
    return write_atomically(target, lambda stream: stream.write(data))


def write_json_atomically(target: Path, data: Any) -> Path:
    """Return ``target`` after writing ``data`` to it atomically as indented, sorted JSON."""
    return write_text_atomically(target, json.dumps(data, indent=2, sort_keys=True) + "\n")


def read_marker(folder: Path, name: str) -> dict[str, Any] | None:
    """Return the completion marker ``folder/name``, or ``None`` if absent or unreadable.

    A file that is not a JSON object counts as unreadable, so a damaged marker never makes a
    folder look finished.
    """
    try:
        marker = json.loads((folder / name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return marker if isinstance(marker, dict) else None


def write_marker(folder: Path, name: str, marker: dict[str, Any]) -> Path:
    """Return the path of the completion marker ``folder/name`` after writing ``marker``."""
    return write_json_atomically(folder / name, marker)


def move_into_place(staged: Path, target: Path) -> Path:
    """Return ``target`` after renaming the finished folder ``staged`` to it.

    An existing ``target`` is first renamed aside (``.<name>.old-XXXX``) and deleted only
    once the new folder is in place, so no half-deleted folder is ever left at ``target``.
    """
    retired = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:8]}"
    if target.exists():
        target.rename(retired)
    staged.rename(target)
    shutil.rmtree(retired, ignore_errors=True)
    return target
