"""Safe, all-or-nothing extraction of dataset archives (chapter 03).

Every member name is checked before anything is written: absolute paths, ``..`` components,
links that point outside the destination and device files are refused with
:class:`UnsafeArchiveError`. Extraction happens in a hidden temporary sibling folder
(``.<name>.partial-XXXX``); the completion marker is written into it and only then is the
folder renamed into place. A crash or error therefore never leaves a folder that looks
complete. If the archive holds a single top-level folder (``ESC-50-<commit>/``, ``fan/``), its
content becomes the dataset folder. macOS ``__MACOSX/`` resource folders are skipped.
"""

from __future__ import annotations

import posixpath
import re
import shutil
import stat
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from course_lib import _files
from course_lib.data.lockfile import write_marker
from course_lib.errors import CourseError

KINDS = ("zip", "tar.gz")
_SKIPPED_PREFIX = "__MACOSX/"


class ArchiveError(CourseError, ValueError):
    """The archive cannot be read (damaged, truncated or of the wrong type)."""


class UnsafeArchiveError(ArchiveError):
    """The archive would write outside its destination; nothing was extracted."""


def _unsafe(archive: Path, member: str, problem: str) -> UnsafeArchiveError:
    """Return the error for an unsafe ``member`` of ``archive``, with what to do next."""
    return UnsafeArchiveError(
        f"Refusing to extract {archive}: member {member!r} {problem}. Nothing was extracted. "
        "The archive is damaged or malicious; delete it and download it again from the "
        "official source listed by `python -m data_scripts.download --list`."
    )


def _escapes(path: str) -> bool:
    """Return True if the archive-relative ``path`` is absolute or leaves the destination."""
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        return True
    normal = posixpath.normpath(path)
    return normal == ".." or normal.startswith("../")


def check_name(archive: Path, name: str) -> None:
    """Raise :class:`UnsafeArchiveError` if member ``name`` is absolute or has ``..`` parts."""
    unified = name.replace("\\", "/")
    if unified.startswith("/") or re.match(r"^[A-Za-z]:", unified):
        raise _unsafe(archive, name, "has an absolute path")
    if ".." in unified.split("/"):
        raise _unsafe(archive, name, "contains a '..' component")


def check_link(archive: Path, name: str, link: str, *, hard: bool) -> None:
    """Raise :class:`UnsafeArchiveError` if a link member points outside the destination.

    Symbolic link targets are relative to the link's folder; hard link targets are relative
    to the archive root.
    """
    unified = link.replace("\\", "/")
    resolved = unified if hard else posixpath.join(posixpath.dirname(name), unified)
    if unified.startswith("/") or _escapes(resolved):
        kind = "hard link" if hard else "symbolic link"
        raise _unsafe(archive, name, f"is a {kind} to {link!r}, outside the destination")


def _zip_members(archive: Path, handle: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """Return the zip members to extract after checking every one of them."""
    members = []
    for info in handle.infolist():
        check_name(archive, info.filename)
        if stat.S_ISLNK(info.external_attr >> 16):
            link = handle.read(info).decode("utf-8", errors="replace")
            check_link(archive, info.filename, link, hard=False)
        if not info.filename.startswith(_SKIPPED_PREFIX):
            members.append(info)
    return members


def _tar_members(archive: Path, handle: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """Return the tar members to extract after checking every one of them."""
    members = []
    for info in handle.getmembers():
        check_name(archive, info.name)
        if info.issym() or info.islnk():
            check_link(archive, info.name, info.linkname, hard=info.islnk())
        if info.ischr() or info.isblk() or info.isfifo():
            raise _unsafe(archive, info.name, "is a device or pipe, not a file")
        if not info.name.startswith(_SKIPPED_PREFIX):
            members.append(info)
    return members


def _unpack(archive: Path, destination: Path, kind: str) -> None:
    """Check every member of ``archive`` and unpack it into ``destination``."""
    if kind == "zip":
        with zipfile.ZipFile(archive) as handle:
            for info in _zip_members(archive, handle):
                handle.extract(info, destination)
    else:
        with tarfile.open(archive, "r:*") as handle:
            handle.extractall(destination, members=_tar_members(archive, handle), filter="data")


def _content_folder(folder: Path) -> Path:
    """Return the single top-level sub-folder of ``folder`` if that is all it holds, else it."""
    entries = list(folder.iterdir())
    if len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink():
        return entries[0]
    return folder


def _count_files(folder: Path) -> int:
    """Return the number of regular files below ``folder``."""
    return sum(1 for path in folder.rglob("*") if path.is_file())


def _remove(paths: Iterable[Path]) -> None:
    """Delete the given folders (left-overs of interrupted extractions)."""
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)


def extract(
    archive: Path, target: Path, *, kind: str, root: Path, marker: Mapping[str, Any]
) -> Path:
    """Return ``target`` after safely extracting ``archive`` into it (chapter 03).

    Args:
        archive: the ``.zip`` or ``.tar.gz`` file.
        target: final dataset folder; must lie inside ``root``. An existing folder is replaced
            only after the new extraction has fully succeeded.
        kind: ``"zip"`` or ``"tar.gz"``.
        root: the data root; extraction outside it is refused.
        marker: facts stored in the completion marker (the file count is added).

    Raises:
        UnsafeArchiveError: a member would land outside ``target``.
        ArchiveError: the archive is damaged, truncated or not of type ``kind``.
        ValueError: bad ``kind`` or ``target`` outside ``root``.
    """
    if kind not in KINDS:
        raise ValueError(f"Unknown archive kind {kind!r}; use one of {KINDS}.")
    target, root = target.absolute(), root.absolute()
    if not target.is_relative_to(root) or target == root:
        raise ValueError(f"Refusing to extract to {target}: it must be a folder inside {root}.")
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove(target.parent.glob(f".{target.name}.partial-*"))
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        _unpack(archive, scratch, kind)
        content = _content_folder(scratch)
        write_marker(content, {**marker, "files": _count_files(content)})
        _files.move_into_place(content, target)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error) as exc:
        raise ArchiveError(
            f"Cannot extract {archive}: {exc}. The file is damaged, incomplete or not a "
            f"{kind} archive; nothing was installed. Download it again."
        ) from exc
    finally:
        _remove([scratch])
    return target
