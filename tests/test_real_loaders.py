"""Tests for course_lib.real_datasets: each real layout and bring-your-own folders."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest
from real_fixtures import (
    ESC50_ROWS,
    URBAN_ROWS,
    install,
    make_anomaly_mini,
    make_dcase,
    make_esc50,
    make_mimii,
    make_urbansound8k,
    write_clip,
)

from course_lib import clip_table
from course_lib import real_datasets as rd
from data_scripts import lockfile, registry

DTYPES = {
    "path": "object", "dataset": "object", "label": "object", "split": "object",
    "machine": "object", "machine_id": "object", "fold": "Int64", "source_id": "object",
    "sample_rate": "int64", "duration": "float64", "channels": "int64", "fault": "object",
    "severity": "float64", "snr_db": "float64",
}


@pytest.fixture()
def root(tmp_path, monkeypatch) -> Path:
    """Return an empty data root set as $COURSE_DATA."""
    data = tmp_path / "data"
    monkeypatch.setenv("COURSE_DATA", str(data))
    return data


def check_tidy(table: pd.DataFrame) -> None:
    """Assert the contract's table shape: columns, dtypes, sorted paths, RangeIndex."""
    assert list(table.columns) == list(clip_table.COLUMNS)
    assert {c: str(t) for c, t in table.dtypes.items()} == DTYPES
    assert table["path"].is_monotonic_increasing
    assert isinstance(table.index, pd.RangeIndex) and table.index.start == 0
    assert all(Path(p).is_absolute() and Path(p).is_file() for p in table["path"])
    assert set(table["split"]) <= {"train", "test"}
    assert (table["duration"] > 0).all()


# --------------------------------------------------------------------------- real layouts


def test_anomaly_mini_uses_mimii_rule_without_split_column(root, tmp_path, monkeypatch):
    install(monkeypatch, "anomaly_mini", make_anomaly_mini(tmp_path / "s"), tmp_path / "a.zip")
    table = rd.load_real("anomaly_mini")
    check_tidy(table)
    assert len(table) == 30
    counts = table.groupby(["split", "label"]).size().to_dict()
    assert counts == {("test", "anomaly"): 5, ("test", "normal"): 5, ("train", "normal"): 20}
    test_normals = table[(table.split == "test") & (table.label == "normal")]["path"]
    assert [Path(p).stem[-2:] for p in test_normals] == ["20", "21", "22", "23", "24"]
    assert set(table["sample_rate"]) == {44100} and set(table["machine"]) == {"valve"}
    assert set(table["machine_id"]) == {"id_00"} and set(table["source_id"]) == {"id_00"}
    assert set(table["snr_db"]) == {6.0} and table["fold"].isna().all()
    assert table["fault"].isna().all() and table["dataset"].eq("anomaly_mini").all()


def test_anomaly_mini_reads_other_column_names_and_a_split_column(root, tmp_path, monkeypatch):
    stage = make_anomaly_mini(tmp_path / "s", columns=("File", "Condition"), split_column="set")
    install(monkeypatch, "anomaly_mini", stage, tmp_path / "a.zip")
    table = rd.load_real("anomaly_mini")
    test_normals = table[(table.split == "test") & (table.label == "normal")]["path"]
    assert [Path(p).stem[-2:] for p in test_normals] == ["00", "01", "02", "03", "04"]


def test_anomaly_mini_with_unknown_columns_names_file_and_expected_columns(root, tmp_path,
                                                                           monkeypatch):
    stage = make_anomaly_mini(tmp_path / "s", columns=("clip", "kind"))
    install(monkeypatch, "anomaly_mini", stage, tmp_path / "a.zip")
    with pytest.raises(rd.DatasetError, match="metadata.csv has columns") as info:
        rd.load_real("anomaly_mini")
    assert "'clip', 'kind'" in str(info.value) and "'filename'" in str(info.value)


def test_mimii_split_per_machine_id(root, tmp_path, monkeypatch):
    install(monkeypatch, "mimii:pump:-6dB", make_mimii(tmp_path / "s", "pump"),
            tmp_path / "-6_dB_pump.zip")
    table = rd.load_real("mimii:pump:-6dB")
    check_tidy(table)
    assert (root / "mimii" / "min6dB" / "pump" / "id_00" / "normal").is_dir()
    assert set(table["channels"]) == {8} and set(table["snr_db"]) == {-6.0}
    assert set(table["machine"]) == {"pump"} and table["dataset"].eq("mimii:pump:-6dB").all()
    assert (table["source_id"] == table["machine_id"]).all()
    for machine_id, n_abnormal in (("id_00", 2), ("id_02", 3)):
        rows = table[table.machine_id == machine_id]
        test = rows[rows.split == "test"]
        assert (test.label == "anomaly").sum() == n_abnormal == (test.label == "normal").sum()
        assert (rows[rows.label == "anomaly"].split == "test").all()
        normals = rows[rows.label == "normal"].sort_values("path")
        assert (normals.split.iloc[-n_abnormal:] == "test").all()
        assert (normals.split.iloc[:-n_abnormal] == "train").all()


def test_dcase2020_uses_folders_and_file_names(root, tmp_path, monkeypatch):
    install(monkeypatch, "dcase2020_task2:ToyCar", make_dcase(tmp_path / "s", "ToyCar"),
            tmp_path / "dev_data_ToyCar.zip")
    table = rd.load_real("dcase2020_task2:toycar")
    check_tidy(table)
    assert set(table["machine"]) == {"ToyCar"} and set(table["machine_id"]) == {"id_01", "id_03"}
    train = table[table.split == "train"]
    assert len(train) == 7 and set(train.label) == {"normal"}
    test = table[table.split == "test"]
    assert test.groupby(["machine_id", "label"]).size().to_dict() == {
        ("id_01", "anomaly"): 2, ("id_01", "normal"): 2,
        ("id_03", "anomaly"): 1, ("id_03", "normal"): 1}
    assert table["snr_db"].isna().all() and table["fold"].isna().all()


def test_dcase2020_rejects_unexpected_file_names(root, tmp_path, monkeypatch):
    stage = make_dcase(tmp_path / "s", "fan")
    write_clip(stage / "fan" / "test" / "mystery.wav")
    install(monkeypatch, "dcase2020_task2:fan", stage, tmp_path / "dev_data_fan.zip")
    with pytest.raises(rd.DatasetError, match="mystery.wav"):
        rd.load_real("dcase2020_task2:fan")


def test_esc50_labels_folds_sources_and_split(root, tmp_path, monkeypatch):
    install(monkeypatch, "esc50", make_esc50(tmp_path / "s"), tmp_path / "ESC-50-master.zip")
    table = rd.load_real("esc50")
    check_tidy(table)
    assert len(table) == len(ESC50_ROWS)
    by_name = table.set_index(table["path"].map(lambda p: Path(p).name))
    for filename, fold, _, category, _, src_file, _ in ESC50_ROWS:
        row = by_name.loc[filename]
        assert (row.label, row.fold, row.source_id) == (category, fold, str(src_file))
        assert row.split == ("test" if fold == 5 else "train")
    assert table["machine"].isna().all() and set(table["sample_rate"]) == {44100}


def test_urbansound8k_labels_folds_sources_and_split(root, tmp_path, monkeypatch):
    install(monkeypatch, "urbansound8k", make_urbansound8k(tmp_path / "s"),
            tmp_path / "UrbanSound8K.tar.gz")
    table = rd.load_real("urbansound8k")
    check_tidy(table)
    expected = sorted((f"fold{r[5]}/{r[0]}", r[7], r[5], str(r[1])) for r in URBAN_ROWS)
    got = sorted(zip(table["path"].map(lambda p: "/".join(Path(p).parts[-2:])), table["label"],
                     table["fold"], table["source_id"], strict=True))
    assert got == expected
    assert set(table[table.split == "test"]["fold"]) == {10}
    assert set(table[table.split == "train"]["fold"]) == {1, 5}


def test_metadata_listing_missing_files_is_a_clear_error(root, tmp_path, monkeypatch):
    stage = make_esc50(tmp_path / "s")
    (stage / "ESC-50-master" / "audio" / ESC50_ROWS[0][0]).unlink()
    install(monkeypatch, "esc50", stage, tmp_path / "ESC-50-master.zip")
    with pytest.raises(rd.DatasetError, match="missing"):
        rd.load_real("esc50")


def test_missing_dataset_names_the_download_command(root):
    with pytest.raises(rd.DatasetNotFoundError) as info:
        rd.load_real("mimii:fan:6dB")
    message = str(info.value)
    assert "python -m data_scripts.download mimii:fan:6dB" in message
    assert "--from-file" in message and str(root) in message
    with pytest.raises(KeyError):
        rd.load_real("not_a_dataset")


def test_copy_not_matching_the_lock_is_refused(root, tmp_path, monkeypatch):
    install(monkeypatch, "esc50", make_esc50(tmp_path / "s"), tmp_path / "ESC-50-master.zip")
    lockfile.record(root, registry.get("esc50"), sha256="f" * 64, origin="test")
    with pytest.raises(rd.DatasetNotFoundError, match="records f{64}"):
        rd.load_real("esc50")


def test_real_names_match_the_registry():
    assert rd.real_names() == registry.names()
    assert {"anomaly_mini", "esc50", "urbansound8k"} <= set(rd.real_names())


# --------------------------------------------------------------------------- own folders


def make_labelled(base: Path) -> Path:
    """Return ``base`` holding normal/ (8 clips + one 3-segment recording) and broken/ (5)."""
    for i in range(8):
        write_clip(base / "normal" / f"n{i:02d}.wav", seed=i)
    for i in range(3):
        write_clip(base / "normal" / "session_a" / f"part{i}.wav", seed=10 + i)
    for i in range(5):
        write_clip(base / "broken" / f"b{i:02d}.wav", seed=20 + i)
    return base


def test_label_folders_get_seeded_stratified_grouped_folds(tmp_path):
    folder = make_labelled(tmp_path / "my_pump")
    table = rd.load_folder(folder, seed=3)
    check_tidy(table)
    assert len(table) == 16 and set(table["label"]) == {"normal", "broken"}
    assert set(table["fold"]) == {1, 2, 3, 4, 5}
    assert ((table["fold"] == 5) == (table["split"] == "test")).all()
    for _, rows in table.groupby("label"):
        assert set(rows["split"]) == {"train", "test"}          # stratified: both splits
    session = table[table["source_id"] == "normal/session_a"]
    assert len(session) == 3 and session["fold"].nunique() == 1  # grouped: never split
    assert set(table["machine"]) == {"my_pump"} and table["dataset"].iloc[0] == f"folder:{folder}"
    pd.testing.assert_frame_equal(table, rd.load_folder(folder, seed=3))
    other = rd.load_folder(folder, seed=4)
    assert not table["fold"].equals(other["fold"])


def test_train_test_folders_keep_their_split(tmp_path):
    base = tmp_path / "rec"
    for split, n in (("train", 4), ("test", 2)):
        for label in ("normal", "rattle"):
            for i in range(n):
                write_clip(base / split / label / f"{label}{i}.wav", seed=i)
    table = rd.load_folder(base)
    check_tidy(table)
    assert table.groupby(["split", "label"]).size().to_dict() == {
        ("test", "normal"): 2, ("test", "rattle"): 2, ("train", "normal"): 4,
        ("train", "rattle"): 4}
    assert table["fold"].isna().all()
    assert all(f"/{s}/" in p for s, p in zip(table["split"], table["path"], strict=True))


def test_mixed_layouts_are_refused(tmp_path):
    base = make_labelled(tmp_path / "mixed")
    write_clip(base / "train" / "normal" / "x.wav")
    with pytest.raises(rd.DatasetError, match="mixes train/test"):
        rd.load_folder(base)


def test_empty_label_folder_is_a_clear_error_and_nothing_is_deleted(tmp_path):
    base = make_labelled(tmp_path / "rec")
    (base / "squeal").mkdir()
    before = sorted(base.rglob("*"))
    with pytest.raises(rd.DatasetError, match="squeal.*contain no audio"):
        rd.load_folder(base)
    assert sorted(base.rglob("*")) == before


def test_folder_without_labels_or_missing_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(rd.DatasetError, match="no label folders"):
        rd.load_folder(tmp_path / "empty")
    with pytest.raises(rd.DatasetError, match="is not a folder"):
        rd.load_folder(tmp_path / "nope")


def test_audio_outside_label_folders_is_a_clear_error(tmp_path):
    base = make_labelled(tmp_path / "rec")
    write_clip(base / "loose.wav")
    with pytest.raises(rd.DatasetError, match="not inside a label folder"):
        rd.load_folder(base)


def test_non_audio_files_are_skipped_with_a_warning_listing_them(tmp_path):
    base = make_labelled(tmp_path / "rec")
    (base / "README.md").write_text("my recordings")
    (base / "normal" / "photo.jpg").write_bytes(b"\xff\xd8")
    (base / "normal" / ".DS_Store").write_bytes(b"\x00")
    with pytest.warns(UserWarning, match="Skipped 2 non-audio") as record:
        table = rd.load_folder(base)
    assert "README.md" in str(record[0].message) and "photo.jpg" in str(record[0].message)
    assert len(table) == 16 and (base / "normal" / "photo.jpg").exists()


def test_unreadable_wav_names_the_file_and_is_kept(tmp_path):
    base = make_labelled(tmp_path / "rec")
    bad = base / "broken" / "corrupt.wav"
    bad.write_bytes(b"RIFF\x00\x00 definitely not audio")
    with pytest.raises(rd.DatasetError, match="corrupt.wav") as info:
        rd.load_folder(base)
    assert "nothing was changed on disk" in str(info.value)
    assert bad.read_bytes().startswith(b"RIFF")


def test_single_recording_label_warns_and_goes_to_test(tmp_path):
    base = make_labelled(tmp_path / "rec")
    write_clip(base / "screech" / "only.wav")
    with pytest.warns(UserWarning, match="'screech' has a single recording"):
        table = rd.load_folder(base)
    assert table[table.label == "screech"]["split"].tolist() == ["test"]


def test_to_anomaly_labels_maps_other_labels_to_anomaly(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = rd.load_folder(make_labelled(tmp_path / "rec"))
    binary = rd.to_anomaly_labels(table)
    assert set(binary["label"]) == {"normal", "anomaly"}
    assert set(binary.loc[binary.label == "anomaly", "fault"]) == {"broken"}
    assert binary.loc[binary.label == "normal", "fault"].isna().all()
    assert set(table["label"]) == {"normal", "broken"}               # input unchanged
    with pytest.raises(rd.DatasetError, match="labelled 'normal'"):
        rd.to_anomaly_labels(table[table.label == "broken"])
