"""Download, verify and install the real datasets of the course (chapter 03).

:func:`install` is the one entry point: it fetches an archive through pooch (progress bar,
retries, hash check before the file is kept) or takes a file the user downloaded, extracts it
with :func:`course_lib.data.extract.extract` (safe, all or nothing) and records its checksum
in the lock file. An interrupted download leaves no partial archive behind, so installing
again restarts it cleanly; installing a dataset that is present and verified does no work.
:func:`list_datasets` tables every dataset. The command line on top is
``python -m data_scripts.download``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pooch
import requests

from course_lib import paths
from course_lib.data import lockfile, registry
from course_lib.data.extract import ArchiveError, extract
from course_lib.data.registry import Source
from course_lib.errors import CourseError

Log = Callable[[str], None]


class DownloadError(CourseError, RuntimeError):
    """The archive could not be fetched (host unreachable, HTTP error, cut-off transfer)."""


class ChecksumError(CourseError, ValueError):
    """An archive is not the expected file; it was not installed."""


def _hash_of(path: Path, known_hash: str) -> str:
    """Return the ``"<alg>:<hex>"`` hash of ``path`` in the algorithm of ``known_hash``."""
    algorithm = known_hash.split(":", 1)[0]
    return f"{algorithm}:{pooch.file_hash(str(path), alg=algorithm)}"


def _expected_hash(source: Source, root: Path) -> str | None:
    """Return the hash an archive of ``source`` must have: pinned, else locked, else None."""
    locked = lockfile.locked_sha256(root, source)
    return source.known_hash or (f"sha256:{locked}" if locked else None)


def _where_expected(source: Source, root: Path) -> str:
    """Return where the expected hash of ``source`` comes from, for error messages."""
    if source.known_hash:
        return "the checksum published for this dataset"
    return f"the checksum recorded at the first download in {lockfile.lock_path(root)}"


def _fix_hint(source: Source, root: Path) -> str:
    """Return advice for a checksum mismatch of ``source``."""
    if source.known_hash:
        return f"Download it again from {source.url}."
    return (
        f"If the publisher changed the file on purpose, delete the {source.name!r} entry from "
        f"{lockfile.lock_path(root)} and run the command again; otherwise download it again."
    )


def _download_folder(root: Path, source: Source) -> Path:
    """Return the folder that holds the archive of ``source`` while it is downloaded."""
    return root / registry.DOWNLOADS_FOLDER / source.name.replace(":", "_")


def _clear_leftovers(folder: Path, keep: str) -> None:
    """Delete files in ``folder`` except ``keep`` (temporary files of a killed download)."""
    if folder.exists():
        for path in folder.iterdir():
            if path.is_file() and path.name != keep:
                path.unlink()


def _network_error(source: Source, url: str, exc: Exception) -> DownloadError:
    """Return the :class:`DownloadError` for a failed fetch of ``url``, naming ``--from-file``."""
    return DownloadError(
        f"Could not download {source.name} from {url}: {exc}. Nothing was installed and no "
        "partial file was kept, so running the command again starts afresh. If this computer "
        f"cannot reach the host, fetch {source.url} another way (browser, another computer) "
        f"and register it with:\n    python -m data_scripts.download {source.name} "
        "--from-file PATH"
    )


def fetch_archive(source: Source, root: Path, *, progress: bool = True, retries: int = 2) -> Path:
    """Return the path of the downloaded and hash-checked archive of ``source`` (chapter 03).

    Raises:
        DownloadError: the host is unreachable, answered with an HTTP error, or the transfer
            was cut off (after ``retries`` further attempts).
        ChecksumError: the downloaded file has the wrong hash; it was deleted.
    """
    url = registry.url_for(source)
    folder = _download_folder(root, source)
    _clear_leftovers(folder, keep=source.filename)
    known_hash = _expected_hash(source, root)
    fetcher = pooch.create(
        path=folder,
        base_url="",
        registry={source.filename: known_hash},
        urls={source.filename: url},
        retry_if_failed=retries,
    )
    downloader = pooch.HTTPDownloader(progressbar=progress, timeout=60)
    try:
        return Path(fetcher.fetch(source.filename, downloader=downloader))
    except requests.exceptions.RequestException as exc:
        raise _network_error(source, url, exc) from exc
    except ValueError as exc:
        (folder / source.filename).unlink(missing_ok=True)
        raise ChecksumError(
            f"The archive downloaded for {source.name} from {url} does not match "
            f"{_where_expected(source, root)} ({exc}). The bad file was deleted. "
            f"{_fix_hint(source, root)}"
        ) from exc


def verify_file(source: Source, root: Path, archive: Path) -> str:
    """Return the sha256 of a user-supplied ``archive`` after checking it against ``source``.

    Raises:
        FileNotFoundError: ``archive`` does not exist.
        ChecksumError: ``archive`` is not the expected file (the file is left untouched).
    """
    if not archive.is_file():
        raise FileNotFoundError(f"--from-file: {archive} does not exist or is not a file.")
    expected = _expected_hash(source, root)
    if expected is not None and _hash_of(archive, expected) != expected:
        raise ChecksumError(
            f"{archive} is not the expected archive for {source.name}: its checksum is "
            f"{_hash_of(archive, expected)} but {_where_expected(source, root)} is {expected}. "
            f"Nothing was installed and your file was left untouched. {_fix_hint(source, root)}"
        )
    return pooch.file_hash(str(archive), alg="sha256")


def _check_present(source: Source, root: Path, log: Log) -> bool:
    """Return True if ``source`` is installed and verified; re-lock a lost lock entry."""
    if lockfile.marker_problem(root, source) is not None:
        return False
    if lockfile.locked_sha256(root, source) is None:
        marker = lockfile.read_marker(root / source.folder) or {}
        lockfile.record(root, source, sha256=marker["sha256"], origin="existing extraction")
        log(f"{source.name}: lock entry was missing; re-recorded it from the installed copy.")
    return True


def install(
    name: str,
    *,
    root: Path | None = None,
    from_file: Path | None = None,
    progress: bool = True,
    retries: int = 2,
    keep_archive: bool = False,
    log: Log = print,
) -> Path:
    """Return the folder of dataset ``name`` after downloading (or registering) it (chapter 03).

    Args:
        name: a registry name such as ``"esc50"`` or ``"mimii:fan:6dB"`` (case-insensitive).
        root: data root; default ``course_lib.paths.data_root()`` (``$COURSE_DATA``).
        from_file: use this local archive instead of the network (same checks).
        progress: show a download progress bar.
        retries: extra download attempts after a network failure.
        keep_archive: keep the downloaded archive in ``<root>/downloads`` after extraction.
        log: receives one-line progress messages.

    Raises:
        KeyError: unknown name. DownloadError, ChecksumError, ArchiveError: see the messages.
    """
    source = registry.get(name)
    root = (root or paths.data_root()).expanduser().absolute()
    target = root / source.folder
    if _check_present(source, root, log):
        log(f"{source.name}: already present and verified in {target}; nothing to do.")
        return target
    if from_file is not None:
        archive = Path(from_file).expanduser().absolute()
        sha256, origin = verify_file(source, root, archive), str(archive)
    else:
        origin = registry.url_for(source)
        log(f"{source.name}: downloading {registry.human_size(source.size_bytes)} from {origin}")
        archive = fetch_archive(source, root, progress=progress, retries=retries)
        sha256 = pooch.file_hash(str(archive), alg="sha256")
    _extract_and_lock(source, root, archive, sha256=sha256, origin=origin,
                      downloaded=from_file is None)
    if from_file is None and not keep_archive:
        archive.unlink()
    log(f"{source.name}: checksum verified, extracted to {target}")
    return target


def _extract_and_lock(
    source: Source, root: Path, archive: Path, *, sha256: str, origin: str, downloaded: bool
) -> None:
    """Extract ``archive`` into the folder of ``source``, then record its sha256 in the lock.

    A downloaded archive that cannot be extracted is deleted; a user's file never is.
    """
    marker = {"dataset": source.name, "archive": source.filename, "sha256": sha256,
              "known_hash": source.known_hash, "origin": origin}
    try:
        extract(archive, root / source.folder, kind=source.kind, root=root, marker=marker)
    except ArchiveError:
        if downloaded:
            archive.unlink(missing_ok=True)
        raise
    lockfile.record(root, source, sha256=sha256, origin=origin)


def list_datasets(root: Path) -> str:
    """Return the ``--list`` table: name, size, licence, status and destination of each dataset."""
    rows = [("NAME", "SIZE", "LICENCE", "STATUS", "DESTINATION")]
    for source in registry.sources().values():
        status = "ready" if lockfile.marker_problem(root, source) is None else "-"
        rows.append((source.name, "~" + registry.human_size(source.size_bytes), source.licence,
                     status, str(root / source.folder)))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(row[i].ljust(widths[i]) for i in range(4)) + "  " + row[4] for row in rows]
    header = f"Data root: {root}  (set ${paths.DATA_ENV_VAR} to change it)"
    return "\n".join([header, "", *lines])
