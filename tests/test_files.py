"""Tests of the atomic writes and completion markers in course_lib._files."""

from __future__ import annotations

import json
import stat

import pytest

from course_lib import _files


def test_interrupted_write_leaves_nothing_and_keeps_the_old_file(tmp_path):
    target = tmp_path / "cache" / "entry.npy"

    def crash_halfway(handle):
        handle.write(b"\x93NUMPY partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _files.write_atomically(target, crash_halfway)
    assert list(target.parent.iterdir()) == []

    _files.write_text_atomically(target, "old")
    with pytest.raises(KeyboardInterrupt):
        _files.write_atomically(target, crash_halfway)
    assert target.read_text() == "old" and list(target.parent.iterdir()) == [target]


def test_written_files_are_readable_by_others(tmp_path):
    target = _files.write_text_atomically(tmp_path / "shared.txt", "text")
    assert stat.S_IMODE(target.stat().st_mode) == _files.FILE_MODE == 0o644


def test_json_is_indented_sorted_and_ends_with_a_newline(tmp_path):
    target = _files.write_json_atomically(tmp_path / "data.json", {"b": 1, "a": [2]})
    assert target.read_text() == json.dumps({"a": [2], "b": 1}, indent=2) + "\n"


def test_marker_round_trip_and_unreadable_markers_are_none(tmp_path):
    path = _files.write_marker(tmp_path, "done.json", {"files": 3})
    assert path == tmp_path / "done.json"
    assert _files.read_marker(tmp_path, "done.json") == {"files": 3}
    assert _files.read_marker(tmp_path, "missing.json") is None
    for damaged in ("{half", "[1, 2]", "\udcff"):
        path.write_text(damaged, encoding="utf-8", errors="surrogateescape")
        assert _files.read_marker(tmp_path, "done.json") is None


def test_move_into_place_replaces_the_old_folder(tmp_path):
    target, staged = tmp_path / "set", tmp_path / ".set.partial"
    (target / "old").mkdir(parents=True)
    (staged / "new").mkdir(parents=True)
    assert _files.move_into_place(staged, target) == target
    assert [p.name for p in target.iterdir()] == ["new"]
    assert [p.name for p in tmp_path.iterdir()] == ["set"]
