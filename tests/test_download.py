"""Tests for course_lib.data and ``python -m data_scripts.download``: offline, on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import socket
from pathlib import Path

import pytest
from real_fixtures import (
    ArchiveServer,
    make_anomaly_mini,
    make_esc50,
    make_urbansound8k,
    tar_folder,
    tar_with_member,
    zip_folder,
    zip_with_member,
)

from course_lib import real_datasets
from course_lib.data import download, extract, lockfile, registry
from data_scripts.download import main

ESC50_ARCHIVE = registry.get("esc50").filename  # a fixed commit's archive


def sha256_of(path: Path) -> str:
    """Return the hex sha256 of ``path``."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture()
def root(tmp_path, monkeypatch) -> Path:
    """Return an empty data root set as $COURSE_DATA."""
    data = tmp_path / "data"
    monkeypatch.setenv("COURSE_DATA", str(data))
    return data


@pytest.fixture()
def server(monkeypatch):
    """Yield a running local archive server that every dataset URL points to."""
    with ArchiveServer() as running:
        monkeypatch.setenv(registry.MIRROR_ENV_VAR, running.url)
        yield running


@pytest.fixture()
def mini_zip(tmp_path) -> Path:
    """Return an anomaly_mini-like zip archive."""
    return zip_folder(make_anomaly_mini(tmp_path / "stage_mini"), tmp_path / "anomaly_mini.zip")


@pytest.fixture()
def esc50_zip(tmp_path) -> Path:
    """Return an ESC-50-like GitHub archive."""
    return zip_folder(make_esc50(tmp_path / "stage_esc"), tmp_path / ESC50_ARCHIVE)


def pin(monkeypatch, name: str, known_hash: str | None) -> None:
    """Make the registry pin ``known_hash`` for dataset ``name`` during one test."""
    original = registry.sources

    def patched() -> dict[str, registry.Source]:
        table = original()
        table[name] = dataclasses.replace(table[name], known_hash=known_hash)
        return table

    monkeypatch.setattr(registry, "sources", patched)


def serve(server: ArchiveServer, archive: Path, name: str | None = None) -> str:
    """Serve ``archive`` under its file name (or ``name``) and return the URL path."""
    path = "/" + (name or archive.name)
    server.files[path] = archive.read_bytes()
    return path


def quiet_install(name: str, **kwargs) -> tuple[Path, list[str]]:
    """Return the dataset folder and the log lines of a download without a progress bar."""
    lines: list[str] = []
    folder = download.install(name, progress=False, retries=0, log=lines.append, **kwargs)
    return folder, lines


def leftovers(root: Path) -> list[Path]:
    """Return every partial extraction folder and downloaded file below ``root``."""
    partial = list(root.rglob(".*.partial-*"))
    downloads = root / registry.DOWNLOADS_FOLDER
    return partial + (sorted(p for p in downloads.rglob("*") if p.is_file())
                      if downloads.exists() else [])


# --------------------------------------------------------------------------- command line


def test_list_shows_every_dataset_with_size_licence_and_destination(root, capsys):
    assert main(["--list"]) == 0
    out = capsys.readouterr().out
    assert str(root) in out
    for name in ("anomaly_mini", "mimii:fan:6dB", "mimii:valve:-6dB", "dcase2020_task2:ToyCar",
                 "esc50", "urbansound8k"):
        assert name in out
    assert "CC BY-NC-SA 4.0" in out and "GB" in out
    assert str(root / "mimii" / "min6dB" / "valve") in out


def test_help_documents_name_scheme_and_mirror(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "mimii:<machine>:<snr>" in out and "dcase2020_task2:<machine>" in out
    assert registry.MIRROR_ENV_VAR in out and "--from-file" in out


def test_registry_names_and_case_insensitive_lookup():
    names = registry.names()
    assert len(names) == 3 + 4 * 3 + 6
    assert registry.get("MIMII:Valve:-6db").filename == "-6_dB_valve.zip"
    assert registry.get("dcase2020_task2:toycar").url.endswith("dev_data_ToyCar.zip?download=1")
    with pytest.raises(KeyError, match="Valid names"):
        registry.get("mimii:fan:3dB")


def test_registry_states_published_sources_and_formats():
    # ESC-50's master archive moves when GitHub rebuilds it: the course pins one commit
    esc50 = registry.get("esc50")
    assert esc50.url.endswith(f"/archive/{registry.ESC50_COMMIT}.zip")
    assert len(registry.ESC50_COMMIT) == 40 and "master" not in esc50.url
    # UrbanSound8K is published under CC BY-NC 3.0 and mixes file formats
    urban = registry.get("urbansound8k")
    assert urban.licence == "CC BY-NC 3.0"
    assert urban.sample_rate is None and urban.channels is None
    formats = {name: (registry.get(name).sample_rate, registry.get(name).channels)
               for name in ("anomaly_mini", "mimii:valve:6dB", "dcase2020_task2:fan", "esc50")}
    assert formats == {"anomaly_mini": (44100, 1), "mimii:valve:6dB": (16000, 8),
                       "dcase2020_task2:fan": (16000, 1), "esc50": (44100, 1)}
    assert all(source.documentation.startswith("https://")
               for source in registry.sources().values())


def test_unknown_name_and_bad_arguments_exit_nonzero(root, capsys):
    assert main(["no_such_set"]) == 1
    assert "Unknown dataset 'no_such_set'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["esc50", "anomaly_mini", "--from-file", "x.zip"])


# --------------------------------------------------------------------------- downloads


def test_download_extract_then_load_and_second_run_does_nothing(root, server, mini_zip,
                                                                monkeypatch):
    pin(monkeypatch, "anomaly_mini", f"sha256:{sha256_of(mini_zip)}")
    path = serve(server, mini_zip)
    folder, lines = quiet_install("anomaly_mini")
    assert folder == root / "anomaly_mini"
    assert (folder / "metadata.csv").is_file()          # single top folder was unwrapped
    assert lockfile.read_marker(folder)["files"] == 31
    assert "checksum verified" in lines[-1]
    assert lockfile.locked_sha256(root, registry.get("anomaly_mini")) == sha256_of(mini_zip)
    assert leftovers(root) == []                         # archive deleted, no partial folder
    assert len(real_datasets.load_real("anomaly_mini")) == 30

    _, lines = quiet_install("anomaly_mini")
    assert server.hits[path] == 1
    assert "already present and verified" in lines[-1]


def test_tar_gz_dataset_downloads_via_command_line(root, server, tmp_path, monkeypatch, capsys):
    archive = tar_folder(make_urbansound8k(tmp_path / "stage"), tmp_path / "UrbanSound8K.tar.gz")
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    pin(monkeypatch, "urbansound8k", f"md5:{md5}")
    serve(server, archive)
    assert main(["urbansound8k", "--no-progress", "--keep-archive"]) == 0
    assert (root / "urbansound8k" / "metadata" / "UrbanSound8K.csv").is_file()
    assert (root / "downloads" / "urbansound8k" / "UrbanSound8K.tar.gz").is_file()
    assert "extracted to" in capsys.readouterr().out


def test_checksum_mismatch_deletes_download_and_explains(root, server, mini_zip, monkeypatch):
    pin(monkeypatch, "anomaly_mini", "sha256:" + "0" * 64)
    serve(server, mini_zip)
    with pytest.raises(download.ChecksumError, match="does not match") as info:
        quiet_install("anomaly_mini")
    assert "deleted" in str(info.value) and "Download it again" in str(info.value)
    assert leftovers(root) == []
    assert not (root / "anomaly_mini").exists()
    assert lockfile.read_lock(root) == {}


def test_unpinned_hash_is_locked_and_checked_on_later_downloads(root, server, esc50_zip,
                                                                tmp_path):
    path = serve(server, esc50_zip)
    quiet_install("esc50")
    locked = lockfile.read_lock(root)["esc50"]
    assert locked["sha256"] == sha256_of(esc50_zip) and locked["origin"].startswith(server.url)

    other = zip_folder(make_anomaly_mini(tmp_path / "other"), tmp_path / "other.zip")
    server.files[path] = other.read_bytes()             # the host now serves another file
    (root / "esc50" / registry.MARKER_FILE).unlink()     # and the copy on disk is incomplete
    with pytest.raises(download.ChecksumError, match="recorded at the first download") as info:
        quiet_install("esc50")
    assert "delete the 'esc50' entry" in str(info.value)
    assert leftovers(root) == []


def test_cut_off_download_leaves_nothing_and_next_run_completes(root, server, esc50_zip):
    path = serve(server, esc50_zip)
    server.faults[path] = "cut_once"
    with pytest.raises(download.DownloadError, match="--from-file") as info:
        quiet_install("esc50")
    assert server.url + path in str(info.value)
    assert leftovers(root) == [] and not (root / "esc50").exists()

    folder, _ = quiet_install("esc50")
    assert (folder / "meta" / "esc50.csv").is_file()
    assert server.hits[path] == 2


def test_retry_inside_one_run_recovers_from_a_cut(root, server, esc50_zip):
    path = serve(server, esc50_zip)
    server.faults[path] = "cut_once"
    download.install("esc50", progress=False, retries=1, log=lambda _: None)
    assert server.hits[path] == 2
    assert (root / "esc50" / "meta" / "esc50.csv").is_file()


def test_temporary_file_of_a_killed_download_is_cleared(root, server, esc50_zip):
    serve(server, esc50_zip)
    stale = root / "downloads" / "esc50" / "tmpkilled"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"half of an archive")
    quiet_install("esc50")
    assert leftovers(root) == []


@pytest.mark.parametrize("status", [404, 500])
def test_http_error_names_url_and_from_file(root, server, status):
    server.faults[f"/{ESC50_ARCHIVE}"] = status
    with pytest.raises(download.DownloadError) as info:
        quiet_install("esc50")
    message = str(info.value)
    assert str(status) in message and f"{server.url}/{ESC50_ARCHIVE}" in message
    assert "python -m data_scripts.download esc50 --from-file PATH" in message
    assert leftovers(root) == []


def unused_port() -> int:
    """Return a local TCP port with nothing listening on it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_unreachable_host_names_url_and_from_file(root, monkeypatch, capsys):
    mirror = f"http://127.0.0.1:{unused_port()}"
    monkeypatch.setenv(registry.MIRROR_ENV_VAR, mirror)
    assert main(["esc50", "--no-progress", "--retries", "0"]) == 1
    err = capsys.readouterr().err
    assert f"{mirror}/{ESC50_ARCHIVE}" in err and "--from-file PATH" in err


def test_downloaded_unsafe_archive_is_refused_and_deleted(root, server, tmp_path):
    serve(server, zip_with_member(tmp_path / "evil.zip", "../escaped.txt"), ESC50_ARCHIVE)
    with pytest.raises(extract.UnsafeArchiveError):
        quiet_install("esc50")
    assert leftovers(root) == [] and not (root / "escaped.txt").exists()
    assert lockfile.read_lock(root) == {}


# --------------------------------------------------------------------------- --from-file


def test_from_file_installs_without_network(root, mini_zip, monkeypatch):
    monkeypatch.setenv(registry.MIRROR_ENV_VAR, f"http://127.0.0.1:{unused_port()}")
    pin(monkeypatch, "anomaly_mini", f"sha256:{sha256_of(mini_zip)}")
    assert main(["anomaly_mini", "--from-file", str(mini_zip)]) == 0
    assert mini_zip.is_file()                                   # the user's file is kept
    assert lockfile.read_lock(root)["anomaly_mini"]["origin"] == str(mini_zip)
    assert len(real_datasets.load_real("anomaly_mini")) == 30


def test_from_file_with_wrong_checksum_is_refused_untouched(root, esc50_zip, monkeypatch,
                                                            capsys):
    pin(monkeypatch, "anomaly_mini", "sha256:" + "1" * 64)
    assert main(["anomaly_mini", "--from-file", str(esc50_zip)]) == 1
    err = capsys.readouterr().err
    assert "not the expected archive" in err and "left untouched" in err
    assert esc50_zip.is_file() and not (root / "anomaly_mini").exists()


def test_from_file_with_damaged_archive_installs_and_locks_nothing(root, tmp_path):
    broken = tmp_path / ESC50_ARCHIVE
    broken.write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(extract.ArchiveError, match="damaged"):
        quiet_install("esc50", from_file=broken)
    assert broken.is_file() and lockfile.read_lock(root) == {}
    assert not (root / "esc50").exists() and leftovers(root) == []


def test_from_file_is_checked_against_the_lock(root, esc50_zip, mini_zip):
    quiet_install("esc50", from_file=esc50_zip)
    (root / "esc50" / registry.MARKER_FILE).unlink()
    with pytest.raises(download.ChecksumError, match="checksums.lock.json"):
        quiet_install("esc50", from_file=mini_zip)


def test_missing_from_file_is_a_clear_error(root, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        quiet_install("esc50", from_file=tmp_path / "nowhere.zip")


# --------------------------------------------------------------------------- safe extraction


@pytest.mark.parametrize(
    ("member", "problem"),
    [("../escaped.txt", "'..' component"), ("dataset/../../escaped.txt", "'..' component"),
     ("/tmp/absolute.txt", "absolute path"), ("C:/windows.txt", "absolute path")],
)
def test_zip_traversal_and_absolute_members_are_refused(tmp_path, member, problem):
    archive = zip_with_member(tmp_path / "evil.zip", member)
    root = tmp_path / "root"
    with pytest.raises(extract.UnsafeArchiveError, match=problem):
        extract.extract(archive, root / "set", kind="zip", root=root, marker={})
    assert not (tmp_path / "escaped.txt").exists()
    assert sorted(root.rglob("*")) == []


@pytest.mark.parametrize(
    ("member", "link", "hard", "problem"),
    [("../escaped.txt", None, False, "'..' component"),
     ("/abs.txt", None, False, "absolute path"),
     ("dataset/link", "../../outside", False, "symbolic link"),
     ("dataset/link", "/etc/passwd", False, "symbolic link"),
     ("dataset/hard", "../outside.txt", True, "hard link"),
     ("dataset/hard", "/etc/passwd", True, "hard link")],
)
def test_tar_traversal_and_escaping_links_are_refused(tmp_path, member, link, hard, problem):
    archive = tar_with_member(tmp_path / "evil.tar.gz", member, link_to=link, hard=hard)
    root = tmp_path / "root"
    with pytest.raises(extract.UnsafeArchiveError, match=problem) as info:
        extract.extract(archive, root / "set", kind="tar.gz", root=root, marker={})
    assert "Nothing was extracted" in str(info.value)
    assert sorted(root.rglob("*")) == []


def test_zip_symlink_escaping_the_target_is_refused(tmp_path):
    archive = zip_with_member(tmp_path / "evil.zip", "dataset/link", symlink_to="../../../etc")
    root = tmp_path / "root"
    with pytest.raises(extract.UnsafeArchiveError, match="symbolic link"):
        extract.extract(archive, root / "set", kind="zip", root=root, marker={})
    assert sorted(root.rglob("*")) == []


def test_links_inside_the_target_are_allowed(tmp_path):
    archive = tar_with_member(tmp_path / "ok.tar.gz", "dataset/alias.txt", link_to="ok.txt")
    root = tmp_path / "root"
    target = extract.extract(archive, root / "set", kind="tar.gz", root=root, marker={"a": 1})
    assert (target / "alias.txt").read_text() == "fine"
    assert json.loads((target / registry.MARKER_FILE).read_text()) == {"a": 1, "files": 2}


def test_target_outside_the_root_is_refused(tmp_path, mini_zip):
    with pytest.raises(ValueError, match="must be a folder inside"):
        extract.extract(mini_zip, tmp_path / "elsewhere", kind="zip", root=tmp_path / "root",
                        marker={})


def test_truncated_archive_leaves_no_dataset_and_stale_partials_are_cleaned(tmp_path, mini_zip):
    root = tmp_path / "root"
    stale = root / ".anomaly_mini.partial-crashed"
    (stale / "half").mkdir(parents=True)                 # left by a killed earlier run
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(mini_zip.read_bytes()[: mini_zip.stat().st_size // 2])
    with pytest.raises(extract.ArchiveError):
        extract.extract(truncated, root / "anomaly_mini", kind="zip", root=root, marker={})
    assert sorted(root.iterdir()) == []


def test_incomplete_folder_is_not_loadable_and_is_replaced(root, mini_zip, monkeypatch):
    half = root / "anomaly_mini"
    (half / "audio").mkdir(parents=True)                 # e.g. unpacked by hand, interrupted
    with pytest.raises(real_datasets.DatasetNotFoundError, match="incomplete"):
        real_datasets.load_real("anomaly_mini")
    pin(monkeypatch, "anomaly_mini", f"sha256:{sha256_of(mini_zip)}")
    quiet_install("anomaly_mini", from_file=mini_zip)
    assert (half / "metadata.csv").is_file() and lockfile.read_marker(half) is not None


def test_lost_lock_entry_is_rerecorded_from_the_installed_copy(root, esc50_zip):
    quiet_install("esc50", from_file=esc50_zip)
    lockfile.lock_path(root).unlink()
    _, lines = quiet_install("esc50")
    assert "re-recorded" in lines[0]
    assert lockfile.locked_sha256(root, registry.get("esc50")) == sha256_of(esc50_zip)
