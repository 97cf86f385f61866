"""Checksum lock file and completion markers under the data root (chapter 03).

* ``<root>/checksums.lock.json`` holds, per dataset name, the sha256 of the archive it was
  first installed from. Datasets without a published checksum are verified against it on
  every later download, ``--from-file`` and load.
* ``<dataset folder>/.complete.json`` is written into the extraction before it is moved into
  place; a folder without it is never treated as a dataset.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from course_lib import _files
from course_lib.data.registry import LOCK_FILE, MARKER_FILE, Source


def lock_path(root: Path) -> Path:
    """Return the path of the checksum lock file under the data root ``root``."""
    return root / LOCK_FILE


def read_lock(root: Path) -> dict[str, dict[str, str]]:
    """Return the lock entries (dataset name -> entry); empty when there is no lock file.

    Raises:
        ValueError: the lock file exists but is not valid JSON (says how to repair it).
    """
    path = lock_path(root)
    if not path.exists():
        return {}
    try:
        return dict(json.loads(path.read_text(encoding="utf-8"))["datasets"])
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(
            f"The checksum lock file {path} is damaged ({exc}). Fix it by hand, or delete it "
            "to record fresh checksums at the next download."
        ) from exc


def record(root: Path, source: Source, *, sha256: str, origin: str) -> Path:
    """Return the lock file after recording ``sha256`` of ``source`` (``origin``: URL or file)."""
    entries = read_lock(root)
    entries[source.name] = {
        "archive": source.filename,
        "sha256": sha256,
        "origin": origin,
        "recorded": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    return _files.write_json_atomically(lock_path(root), {"version": 1, "datasets": entries})


def locked_sha256(root: Path, source: Source) -> str | None:
    """Return the sha256 recorded for ``source`` in the lock file, or ``None``."""
    entry = read_lock(root).get(source.name)
    return entry["sha256"] if entry else None


def marker_path(target: Path) -> Path:
    """Return the completion-marker path inside the dataset folder ``target``."""
    return target / MARKER_FILE


def read_marker(target: Path) -> dict[str, Any] | None:
    """Return the completion marker of ``target``, or ``None`` if absent or unreadable."""
    return _files.read_marker(target, MARKER_FILE)


def write_marker(folder: Path, data: dict[str, Any]) -> Path:
    """Return the path of the completion marker after writing ``data`` into ``folder``."""
    return _files.write_marker(folder, MARKER_FILE, data)


def marker_problem(root: Path, source: Source) -> str | None:
    """Return why the installed folder of ``source`` cannot be trusted, or ``None`` if it can.

    The folder is trusted when its marker exists, was made from the pinned archive (if the
    registry pins one) and matches the sha256 in the lock file (if one is recorded).
    """
    target = root / source.folder
    marker = read_marker(target)
    if marker is None:
        state = "is incomplete (no completion marker)" if target.exists() else "does not exist"
        return f"{target} {state}"
    if not marker.get("sha256"):
        return f"{marker_path(target)} is not a valid completion marker (no sha256)"
    if source.known_hash and marker.get("known_hash") != source.known_hash:
        return (
            f"{target} was extracted from an archive checked against "
            f"{marker.get('known_hash')}, but the registry now pins {source.known_hash}"
        )
    locked = locked_sha256(root, source)
    if locked and marker.get("sha256") != locked:
        return (
            f"{target} was extracted from an archive with sha256 {marker.get('sha256')}, "
            f"but {lock_path(root)} records {locked}"
        )
    return None
