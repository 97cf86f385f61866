"""Tests for course_lib.real_datasets: each published layout, parsed strictly, and own folders.

The stand-in archives (tests/real_fixtures.py) copy each dataset's published layout. Every test
of a real dataset says in its docstring which published fact it checks; the tests of the
stand-ins themselves check that the stand-ins state those facts correctly.
"""

from __future__ import annotations

import re
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from real_fixtures import (
    ESC50_ROWS,
    URBAN_ROWS,
    esc50_top,
    install,
    make_anomaly_mini,
    make_dcase,
    make_esc50,
    make_mimii,
    make_urbansound8k,
    write_clip,
    zip_folder,
)
from scipy import signal

from course_lib import clip_table
from course_lib import real_datasets as rd
from course_lib.data import lockfile, registry

DTYPES = {
    "path": "object", "dataset": "object", "label": "object", "split": "object",
    "machine": "object", "machine_id": "object", "fold": "Int64", "source_id": "object",
    "sample_rate": "int64", "duration": "float64", "channels": "int64", "fault": "object",
    "severity": "float64", "snr_db": "float64",
}
MINI_NAMES = ([f"train_{i}.wav" for i in range(20)] + [f"test_normal_{i}.wav" for i in range(5)]
              + [f"test_anomaly_{i}.wav" for i in range(5)])


@pytest.fixture()
def root(tmp_path, monkeypatch) -> Path:
    """Return an empty data root set as $COURSE_DATA."""
    data = tmp_path / "data"
    monkeypatch.setenv("COURSE_DATA", str(data))
    return data


def check_tidy(table: pd.DataFrame) -> None:
    """Assert the shape ``clip_table.tidy`` gives: columns, dtypes, sorted paths, RangeIndex."""
    assert list(table.columns) == list(clip_table.COLUMNS)
    assert {c: str(t) for c, t in table.dtypes.items()} == DTYPES
    assert table["path"].is_monotonic_increasing
    assert isinstance(table.index, pd.RangeIndex) and table.index.start == 0
    assert all(Path(p).is_absolute() and Path(p).is_file() for p in table["path"])
    assert set(table["split"]) <= {"train", "test"}
    assert (table["duration"] > 0).all()


def install_stand_in(name: str, stage: Path, tmp_path: Path,
                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Install ``stage`` as dataset ``name`` from an archive with the registry's file name."""
    install(monkeypatch, name, stage, tmp_path / registry.get(name).filename)


def edit_lines(path: Path, edit: Callable[[list[str]], list[str]]) -> None:
    """Rewrite the text file ``path`` with its lines passed through ``edit``."""
    path.write_text("".join(f"{line}\n" for line in edit(path.read_text().splitlines())))


def refusal(name: str, fragments: tuple[str, ...]) -> str:
    """Return the DatasetError message of ``load_real(name)`` after checking what it says.

    The message must match every regular expression in ``fragments`` (the file and what was
    expected) and give the advice for a downloaded dataset: the download command with
    ``--from-file``, never the advice for an own folder.
    """
    with pytest.raises(rd.DatasetError) as info:
        rd.load_real(name)
    message = str(info.value)
    for fragment in fragments:
        assert re.search(fragment, message), (fragment, message)
    assert f"python -m data_scripts.download {registry.get(name).name}" in message, message
    assert "--from-file" in message and "in your folder" not in message, message
    return message


def file_names(table: pd.DataFrame) -> pd.Series:
    """Return the file name (without folders) of every row of ``table``."""
    return table["path"].map(lambda p: Path(p).name)


# --------------------------------------------------------------------------- anomaly_mini


def test_anomaly_mini_stand_in_is_the_published_archive(tmp_path):
    """Published: one top folder ``anomaly_mini/`` holding metadata.csv and 30 WAVs, flat.

    metadata.csv has no header, one ``course name,MIMII name`` line per clip; MIMII numbers
    the normal clips from 00000000.wav and restarts at 00000000.wav for the anomalies. Each
    WAV is 2.5 s of 44.1 kHz mono 16-bit PCM, 220 544 bytes.
    """
    archive = zip_folder(make_anomaly_mini(tmp_path / "s"), tmp_path / "anomaly_mini.zip")
    with zipfile.ZipFile(archive) as handle:
        sizes = {info.filename: info.file_size for info in handle.infolist()}
        lines = handle.read("anomaly_mini/metadata.csv").decode().splitlines()
    assert sorted(sizes) == sorted([f"anomaly_mini/{n}" for n in MINI_NAMES]
                                   + ["anomaly_mini/metadata.csv"])
    assert {size for name, size in sizes.items() if name.endswith(".wav")} == {220_544}
    rows = [line.split(",") for line in lines]
    assert sorted(row[0] for row in rows) == sorted(MINI_NAMES) and {len(r) for r in rows} == {2}
    originals = {row[0]: row[1] for row in rows}
    assert [originals[f"test_anomaly_{i}.wav"] for i in range(5)] == [
        f"{i:08d}.wav" for i in range(5)]
    normals = sorted(v for k, v in originals.items() if not k.startswith("test_anomaly"))
    assert normals == [f"{i:08d}.wav" for i in range(25)]
    info = sf.info(str(tmp_path / "s" / "anomaly_mini" / "test_anomaly_0.wav"))
    assert (info.samplerate, info.channels, info.frames) == (44100, 1, 110_250)
    assert (info.format, info.subtype) == ("WAV", "PCM_16")


def test_anomaly_mini_clips_hold_nothing_above_8_khz(tmp_path):
    """Published: the clips are MIMII recordings (16 kHz) resampled to 44.1 kHz.

    So the default stand-in clip has its energy below 8 kHz, and up to it.
    """
    top = make_anomaly_mini(tmp_path / "s") / "anomaly_mini"
    samples, sr = sf.read(top / "train_7.wav")
    freqs, power = signal.welch(samples, sr, nperseg=4096)
    assert power[freqs > 8500].sum() < 1e-6 * power.sum()
    assert power[(freqs > 6000) & (freqs < 7800)].sum() > 0.1 * power.sum()


def test_anomaly_mini_split_and_label_come_from_the_file_name(root, tmp_path, monkeypatch):
    """Published: train_N.wav are normal training clips, test_normal_N.wav and
    test_anomaly_N.wav the test clips; MIMII valve at 6 dB SNR, no machine ID, 44.1 kHz mono
    2.5 s.

    The stand-in's anomalies repeat the original names of normal clips (MIMII restarts its
    numbering in abnormal/), which must not merge or drop rows.
    """
    install_stand_in("anomaly_mini", make_anomaly_mini(tmp_path / "s"), tmp_path, monkeypatch)
    table = rd.load_real("anomaly_mini")
    check_tidy(table)
    expected = {name: (("train", "normal") if name.startswith("train_") else
                       ("test", "anomaly") if "anomaly" in name else ("test", "normal"))
                for name in MINI_NAMES}
    assert dict(zip(file_names(table), zip(table.split, table.label, strict=True),
                    strict=True)) == expected
    assert len(table) == 30 and (root / "anomaly_mini" / "train_0.wav").is_file()
    assert set(table["machine"]) == {"valve"} and set(table["snr_db"]) == {6.0}
    assert table["machine_id"].isna().all() and table["source_id"].isna().all()
    assert table["fold"].isna().all() and table["fault"].isna().all()
    assert set(table["sample_rate"]) == {44100} and set(table["channels"]) == {1}
    assert np.allclose(table["duration"], 2.5) and table["dataset"].eq("anomaly_mini").all()


@pytest.mark.parametrize(("edit", "fragments"), [
    pytest.param(lambda lines: ["course_file,mimii_file", *lines], ("line 1", "no header"),
                 id="header row"),
    pytest.param(lambda lines: [lines[0] + ",normal", *lines[1:]], ("line 1", r"\b3 fields?"),
                 id="three fields"),
    pytest.param(lambda lines: ["train_0.wav", *lines[1:]], ("line 1", r"\b1 fields?"),
                 id="one field"),
    pytest.param(lambda lines: [*lines[:-1], "anomaly_4.wav,00000004.wav"],
                 ("line 30", "anomaly_4.wav", "test_anomaly_N.wav"), id="course name"),
    pytest.param(lambda lines: ["train_0.wav,0.wav", *lines[1:]],
                 ("line 1", "train_0.wav,0.wav", "NNNNNNNN.wav"), id="original name"),
    pytest.param(lambda lines: [*lines, lines[0]],
                 ("line 31", "train_0.wav", "second time|twice|duplicate"), id="duplicate row"),
    pytest.param(lambda lines: [*lines, "train_20.wav,00000025.wav"],
                 ("train_20.wav", "missing"), id="listed file missing"),
    pytest.param(lambda lines: lines[:-1], ("test_anomaly_4.wav", "does not list|not listed"),
                 id="file not listed"),
])
def test_anomaly_mini_metadata_departures_name_the_line_or_file(edit, fragments, root,
                                                                 tmp_path, monkeypatch):
    """Published: metadata.csv has no header and 30 distinct two-field lines
    ``train_N.wav|test_normal_N.wav|test_anomaly_N.wav,NNNNNNNN.wav``, one per WAV in the
    folder. Anything else is refused, naming metadata.csv's line or the file."""
    stage = make_anomaly_mini(tmp_path / "s")
    edit_lines(stage / "anomaly_mini" / "metadata.csv", edit)
    install_stand_in("anomaly_mini", stage, tmp_path, monkeypatch)
    assert "metadata.csv" in refusal("anomaly_mini", fragments)


@pytest.mark.parametrize(("name", "sr", "channels", "fragment"), [
    ("train_3.wav", 16000, 1, "44100"),
    ("test_normal_2.wav", 44100, 2, "1 channel"),
])
def test_anomaly_mini_file_in_another_format_is_refused(name, sr, channels, fragment, root,
                                                        tmp_path, monkeypatch):
    """Published: every anomaly_mini file is 44.1 kHz mono; others are refused by name."""
    stage = make_anomaly_mini(tmp_path / "s")
    write_clip(stage / "anomaly_mini" / name, sr=sr, channels=channels)
    install_stand_in("anomaly_mini", stage, tmp_path, monkeypatch)
    refusal("anomaly_mini", (re.escape(name), fragment))


# --------------------------------------------------------------------------- MIMII


def test_mimii_stand_in_is_the_published_layout_and_format(tmp_path):
    """Published: ``<machine>/id_XX/{normal,abnormal}/NNNNNNNN.wav`` with both folders
    numbered from 00000000.wav; WAVE_FORMAT_EXTENSIBLE, 8 channels, 16 kHz, 16-bit."""
    stage = make_mimii(tmp_path / "s", "fan")
    files = sorted(p.relative_to(stage).as_posix() for p in stage.rglob("*") if p.is_file())
    assert files == ([f"fan/id_00/abnormal/{i:08d}.wav" for i in range(2)]
                     + [f"fan/id_00/normal/{i:08d}.wav" for i in range(6)]
                     + [f"fan/id_02/abnormal/{i:08d}.wav" for i in range(3)]
                     + [f"fan/id_02/normal/{i:08d}.wav" for i in range(5)])
    info = sf.info(str(stage / "fan" / "id_02" / "abnormal" / "00000000.wav"))
    assert (info.format, info.subtype, info.channels, info.samplerate) == (
        "WAVEX", "PCM_16", 8, 16000)


def test_mimii_split_is_the_baseline_rule(root, tmp_path, monkeypatch):
    """Published (MIMII baseline): per machine ID the test set is all abnormal clips plus the
    first len(abnormal) normal clips by file name; the other normal clips are for training.
    The machine ID comes from ``id_XX``, the SNR from the archive's name; 8 channels."""
    install_stand_in("mimii:pump:-6dB", make_mimii(tmp_path / "s", "pump"), tmp_path,
                     monkeypatch)
    table = rd.load_real("mimii:pump:-6dB")
    check_tidy(table)
    assert (root / "mimii" / "min6dB" / "pump" / "id_00" / "normal").is_dir()
    assert set(table["channels"]) == {8} and set(table["sample_rate"]) == {16000}
    assert set(table["snr_db"]) == {-6.0} and table["fold"].isna().all()
    assert set(table["machine"]) == {"pump"} and table["dataset"].eq("mimii:pump:-6dB").all()
    assert (table["source_id"] == table["machine_id"]).all()
    folder = table["path"].map(lambda p: Path(p).parent.name)
    assert ((folder == "abnormal") == (table["label"] == "anomaly")).all()
    test_normals = table[(table.split == "test") & (table.label == "normal")]
    assert sorted(zip(test_normals.machine_id, file_names(test_normals), strict=True)) == [
        ("id_00", "00000000.wav"), ("id_00", "00000001.wav"), ("id_02", "00000000.wav"),
        ("id_02", "00000001.wav"), ("id_02", "00000002.wav")]
    assert (table[table.label == "anomaly"].split == "test").all()
    assert table.groupby(["machine_id", "split"]).size().to_dict() == {
        ("id_00", "test"): 4, ("id_00", "train"): 4, ("id_02", "test"): 6, ("id_02", "train"): 2}


@pytest.mark.parametrize(("relative", "sr", "channels", "fragments"), [
    ("id_00/normal/0001.wav", 16000, 8, ("0001.wav", "NNNNNNNN.wav")),
    ("id_00/unknown/00000000.wav", 16000, 8, ("id_00", "unknown", "abnormal")),
    ("id_02/abnormal/00000001.wav", 44100, 8, ("abnormal/00000001.wav", "16000")),
    ("id_00/normal/00000003.wav", 16000, 1, ("normal/00000003.wav", "8 channel")),
], ids=["file name", "other folder", "44.1 kHz file", "mono file"])
def test_mimii_departures_are_refused_naming_them(relative, sr, channels, fragments, root,
                                                  tmp_path, monkeypatch):
    """Published: id_XX holds only normal/ and abnormal/, the clips are named 8 digits + .wav
    and are 16 kHz with 8 channels; anything else is refused, naming the file or folder."""
    stage = make_mimii(tmp_path / "s", "valve")
    write_clip(stage / "valve" / relative, sr=sr, channels=channels, file_format="WAVEX")
    install_stand_in("mimii:valve:6dB", stage, tmp_path, monkeypatch)
    refusal("mimii:valve:6dB", fragments)


def test_mimii_without_machine_id_folders_is_refused(root, tmp_path, monkeypatch):
    """Published: the machine folder holds id_XX/ folders (not normal/ and abnormal/)."""
    stage = tmp_path / "s"
    for condition in ("normal", "abnormal"):
        write_clip(stage / "fan" / condition / "00000000.wav", channels=8, file_format="WAVEX")
    install_stand_in("mimii:fan:0dB", stage, tmp_path, monkeypatch)
    refusal("mimii:fan:0dB", ("id_XX",))


# --------------------------------------------------------------------------- DCASE 2020 Task 2


def test_dcase2020_uses_folders_and_file_names_and_keeps_unequal_test_counts(root, tmp_path,
                                                                            monkeypatch):
    """Published: ``train/normal_id_XX_N.wav`` are training clips, ``test/`` holds
    ``normal_id_XX_N.wav`` and ``anomaly_id_XX_N.wav`` in unequal numbers (ToyCar id_01: 350
    and 264), kept as they are; 16 kHz mono."""
    install_stand_in("dcase2020_task2:ToyCar", make_dcase(tmp_path / "s", "ToyCar"), tmp_path,
                     monkeypatch)
    table = rd.load_real("dcase2020_task2:toycar")
    check_tidy(table)
    assert set(table["machine"]) == {"ToyCar"}
    folder = table["path"].map(lambda p: Path(p).parent.name)
    assert (folder == table["split"]).all()
    assert table.groupby(["split", "machine_id", "label"]).size().to_dict() == {
        ("test", "id_01", "anomaly"): 2, ("test", "id_01", "normal"): 3,
        ("test", "id_03", "anomaly"): 1, ("test", "id_03", "normal"): 2,
        ("train", "id_01", "normal"): 4, ("train", "id_03", "normal"): 3}
    assert all(name.startswith(f"{label}_{machine_id}_") for name, label, machine_id in zip(
        file_names(table), table.label, table.machine_id, strict=True))
    assert set(table["sample_rate"]) == {16000} and set(table["channels"]) == {1}
    assert table["snr_db"].isna().all() and table["fold"].isna().all()


@pytest.mark.parametrize(("relative", "sr", "channels", "fragments"), [
    ("test/mystery.wav", 16000, 1, ("mystery.wav", "normal_id_XX_NNNNNNNN.wav")),
    ("test/normal_id_1_00000009.wav", 16000, 1, ("normal_id_1_00000009.wav",)),
    ("train/anomaly_id_01_00000000.wav", 16000, 1, ("train/anomaly_id_01_00000000.wav",
                                                     "normal_id_XX_NNNNNNNN.wav in train")),
    ("test/normal_id_01_00000099.wav", 44100, 1, ("normal_id_01_00000099.wav", "16000")),
    ("train/normal_id_03_00000099.wav", 16000, 2, ("normal_id_03_00000099.wav", "1 channel")),
], ids=["other name", "short machine ID", "anomaly in train", "44.1 kHz file", "stereo file"])
def test_dcase2020_departures_are_refused_naming_the_file(relative, sr, channels, fragments,
                                                          root, tmp_path, monkeypatch):
    """Published: files are named ``{normal,anomaly}_id_XX_NNNNNNNN.wav`` (only normal ones in
    train/) and are 16 kHz mono; anything else is refused, naming the file."""
    stage = make_dcase(tmp_path / "s", "fan")
    write_clip(stage / "fan" / relative, sr=sr, channels=channels)
    install_stand_in("dcase2020_task2:fan", stage, tmp_path, monkeypatch)
    refusal("dcase2020_task2:fan", fragments)


# --------------------------------------------------------------------------- ESC-50


def test_esc50_stand_in_is_the_archive_of_the_pinned_commit(tmp_path):
    """Published: GitHub's archive ``ESC-50-<commit>.zip`` holds the single top folder
    ``ESC-50-<commit>/`` with meta/esc50.csv (columns filename, fold, target, category, esc10,
    src_file, take) and audio/ of 5 s 44.1 kHz mono 16-bit clips."""
    archive = tmp_path / registry.get("esc50").filename
    zip_folder(make_esc50(tmp_path / "s"), archive)
    with zipfile.ZipFile(archive) as handle:
        names = handle.namelist()
        header = handle.read(f"{esc50_top()}/meta/esc50.csv").decode().splitlines()[0]
    assert {name.split("/")[0] for name in names} == {archive.name.removesuffix(".zip")}
    assert esc50_top() == f"ESC-50-{registry.ESC50_COMMIT}"
    assert header == "filename,fold,target,category,esc10,src_file,take"
    audio_files = sorted(name.split("/", 1)[1] for name in names if name.endswith(".wav"))
    assert audio_files == sorted(f"audio/{row[0]}" for row in ESC50_ROWS)
    info = sf.info(str(tmp_path / "s" / esc50_top() / "audio" / ESC50_ROWS[0][0]))
    assert (info.samplerate, info.channels, info.subtype, info.duration) == (
        44100, 1, "PCM_16", 5.0)


def test_esc50_labels_folds_sources_and_split(root, tmp_path, monkeypatch):
    """Published: label = category, fold 1-5 and src_file per row of esc50.csv; the course
    marks fold 5 as the test split."""
    install_stand_in("esc50", make_esc50(tmp_path / "s"), tmp_path, monkeypatch)
    table = rd.load_real("esc50")
    check_tidy(table)
    assert len(table) == len(ESC50_ROWS)
    by_name = table.set_index(file_names(table))
    for filename, fold, _, category, _, src_file, _ in ESC50_ROWS:
        row = by_name.loc[filename]
        assert (row.label, row.fold, row.source_id) == (category, fold, str(src_file))
        assert row.split == ("test" if fold == 5 else "train")
    assert table["machine"].isna().all() and set(table["sample_rate"]) == {44100}
    assert np.allclose(table["duration"], 5.0) and set(table["channels"]) == {1}


@pytest.mark.parametrize(("edit", "fragments"), [
    pytest.param(lambda lines: [lines[0].replace("category", "class"), *lines[1:]],
                 ("esc50.csv", "'class'", "'category'"), id="other column"),
    pytest.param(lambda lines: [lines[0] + ",note", *(line + "," for line in lines[1:])],
                 ("esc50.csv", "'note'"), id="extra column"),
    pytest.param(lambda lines: [line.replace("1-100038-A-14.wav,1,", "1-100038-A-14.wav,2,")
                                for line in lines],
                 ("1-100038-A-14.wav", "fold 2", r"\{fold\}-\{src_file\}-\{take\}-\{target\}"),
                 id="name not matching its row"),
    pytest.param(lambda lines: [*lines, "2-100786-A-1.wav,2,1,rooster,True,100786,A"],
                 ("2-100786-A-1.wav", "missing"), id="listed file missing"),
])
def test_esc50_metadata_departures_are_refused(edit, fragments, root, tmp_path, monkeypatch):
    """Published: esc50.csv has exactly the columns filename, fold, target, category, esc10,
    src_file, take; each file is ``{fold}-{src_file}-{take}-{target}.wav`` and exists in
    audio/. Anything else is refused, naming the metadata file or the clip."""
    stage = make_esc50(tmp_path / "s")
    edit_lines(stage / esc50_top() / "meta" / "esc50.csv", edit)
    install_stand_in("esc50", stage, tmp_path, monkeypatch)
    refusal("esc50", fragments)


@pytest.mark.parametrize(("sr", "channels", "fragment"), [(48000, 1, "44100"),
                                                          (44100, 2, "1 channel")])
def test_esc50_file_in_another_format_is_refused(sr, channels, fragment, root, tmp_path,
                                                 monkeypatch):
    """Published: every ESC-50 clip is 44.1 kHz mono; others are refused by name."""
    stage = make_esc50(tmp_path / "s")
    write_clip(stage / esc50_top() / "audio" / ESC50_ROWS[3][0], sr=sr, channels=channels)
    install_stand_in("esc50", stage, tmp_path, monkeypatch)
    refusal("esc50", (re.escape(ESC50_ROWS[3][0]), fragment))


def test_esc50_folds_keep_each_source_file_in_one_fold(root, tmp_path, monkeypatch):
    """Published (ESC-50 README): 5 folds for cross-validation, with the fragments of one
    source file in a single fold; fold_splits yields each fold once as the test set."""
    install_stand_in("esc50", make_esc50(tmp_path / "s"), tmp_path, monkeypatch)
    table = rd.load_real("esc50")
    splits = list(clip_table.fold_splits(table))
    assert [fold for fold, _, _ in splits] == [1, 2, 3, 4, 5]
    for fold, train, test in splits:
        assert (test["fold"] == fold).all() and not (train["fold"] == fold).any()
        assert sorted(train.index.append(test.index)) == list(table.index)
        assert not set(train["source_id"]) & set(test["source_id"])
    assert table["source_id"].eq("103415").sum() == 2  # two takes of one source file


# --------------------------------------------------------------------------- UrbanSound8K


def test_urbansound8k_stand_in_keeps_freesound_formats(tmp_path):
    """Published: the files keep the format of their Freesound upload: 44.1, 48 and 96 kHz
    and lower rates, mono and stereo, 16-bit, 24-bit and 32-bit float, some of them
    WAVE_FORMAT_EXTENSIBLE, in audio/fold1 ... audio/fold10/."""
    top = make_urbansound8k(tmp_path / "s") / "UrbanSound8K"
    infos = [sf.info(str(path)) for path in sorted((top / "audio").glob("fold*/*.wav"))]
    formats = {(i.samplerate, i.channels, i.subtype, i.format) for i in infos}
    assert (44100, 2, "PCM_16", "WAV") in formats
    assert any(rate == 48000 and subtype == "PCM_24" for rate, _, subtype, _ in formats)
    assert any(rate == 96000 for rate, _, _, _ in formats)
    assert any(subtype == "FLOAT" for _, _, subtype, _ in formats)
    assert any(container == "WAVEX" for _, _, _, container in formats)
    assert any(rate <= 11025 for rate, _, _, _ in formats)
    assert sorted(p.name for p in (top / "audio").iterdir()) == sorted(
        f"fold{fold}" for fold in range(1, 11))
    header = (top / "metadata" / "UrbanSound8K.csv").read_text().splitlines()[0]
    assert header == "slice_file_name,fsID,start,end,salience,fold,classID,class"


def test_urbansound8k_labels_folds_sources_split_and_formats(root, tmp_path, monkeypatch):
    """Published: label = class, fold 1-10, fsID per row of UrbanSound8K.csv, the file in
    audio/fold<fold>/; the course marks fold 10 as test. Every rate, channel count and
    subtype is accepted and reported as the file's header says."""
    install_stand_in("urbansound8k", make_urbansound8k(tmp_path / "s"), tmp_path, monkeypatch)
    table = rd.load_real("urbansound8k")
    check_tidy(table)
    expected = sorted((f"fold{r[5]}/{r[0]}", r[7], r[5], str(r[1])) for r in URBAN_ROWS)
    got = sorted(zip(table["path"].map(lambda p: "/".join(Path(p).parts[-2:])), table["label"],
                     table["fold"], table["source_id"], strict=True))
    assert got == expected
    assert set(table[table.split == "test"]["fold"]) == {10}
    assert set(table[table.split == "train"]["fold"]) == set(range(1, 10))
    headers = [sf.info(path) for path in table["path"]]
    assert table["sample_rate"].tolist() == [info.samplerate for info in headers]
    assert table["channels"].tolist() == [info.channels for info in headers]
    assert table["sample_rate"].nunique() >= 5 and set(table["channels"]) == {1, 2}


@pytest.mark.parametrize(("edit", "fragments"), [
    pytest.param(lambda lines: [lines[0].removesuffix(",class") + ",label", *lines[1:]],
                 ("UrbanSound8K.csv", "'label'", "'class'"), id="other column"),
    pytest.param(lambda lines: [*lines, "99999-1-0-0.wav,99999,0.0,1.0,1,3,1,car_horn"],
                 ("99999-1-0-0.wav", "missing"), id="listed file missing"),
])
def test_urbansound8k_metadata_departures_are_refused(edit, fragments, root, tmp_path,
                                                      monkeypatch):
    """Published: UrbanSound8K.csv has exactly the columns slice_file_name, fsID, start, end,
    salience, fold, classID, class, and every listed slice is in its fold folder."""
    stage = make_urbansound8k(tmp_path / "s")
    edit_lines(stage / "UrbanSound8K" / "metadata" / "UrbanSound8K.csv", edit)
    install_stand_in("urbansound8k", stage, tmp_path, monkeypatch)
    refusal("urbansound8k", fragments)


def test_urbansound8k_folds_let_a_recording_cross_folds(root, tmp_path, monkeypatch):
    """Published: 10 predefined folds; five recordings (fsID 77751, 106905, 132016, 176638,
    180937) have slices in two folds, so a recording can be on both sides of a fold split.

    That is why chapter 03 must not claim that recordings never cross folds.
    """
    install_stand_in("urbansound8k", make_urbansound8k(tmp_path / "s"), tmp_path, monkeypatch)
    table = rd.load_real("urbansound8k")
    splits = list(clip_table.fold_splits(table))
    assert [fold for fold, _, _ in splits] == list(range(1, 11))
    crossing = {}
    for fold, train, test in splits:
        assert (test["fold"] == fold).all() and not (train["fold"] == fold).any()
        assert len(train) + len(test) == len(table)
        crossing[fold] = sorted(set(train["source_id"]) & set(test["source_id"]))
    assert {fold: ids for fold, ids in crossing.items() if ids} == {8: ["77751"], 9: ["77751"]}


def test_fold_splits_needs_a_fold_on_every_row(root, tmp_path, monkeypatch):
    """fold_splits refuses tables where any row has no fold (machine datasets)."""
    install_stand_in("urbansound8k", make_urbansound8k(tmp_path / "s"), tmp_path, monkeypatch)
    table = rd.load_real("urbansound8k")
    table.loc[3, "fold"] = pd.NA
    with pytest.raises(rd.DatasetError, match="no fold"):
        list(clip_table.fold_splits(table))
    install_stand_in("dcase2020_task2:fan", make_dcase(tmp_path / "d", "fan"), tmp_path,
                     monkeypatch)
    with pytest.raises(rd.DatasetError, match="no fold"):
        next(clip_table.fold_splits(rd.load_real("dcase2020_task2:fan")))


# --------------------------------------------------------------------------- shared behaviour


def test_corrupt_file_of_a_download_points_to_downloading_it_again(root, tmp_path,
                                                                   monkeypatch):
    """A damaged file in a downloaded dataset is named, with the advice to
    re-download it (``python -m data_scripts.download NAME``, or ``--from-file``)."""
    stage = make_esc50(tmp_path / "s")
    (stage / esc50_top() / "audio" / ESC50_ROWS[1][0]).write_bytes(b"RIFF\x00\x00 not audio")
    install_stand_in("esc50", stage, tmp_path, monkeypatch)
    message = refusal("esc50", (re.escape(ESC50_ROWS[1][0]),))
    assert "make_toy" not in message


def test_missing_dataset_names_the_download_command(root):
    with pytest.raises(rd.DatasetNotFoundError) as info:
        rd.load_real("mimii:fan:6dB")
    message = str(info.value)
    assert "python -m data_scripts.download mimii:fan:6dB" in message
    assert "--from-file" in message and str(root) in message
    with pytest.raises(KeyError):
        rd.load_real("not_a_dataset")


def test_copy_not_matching_the_lock_is_refused(root, tmp_path, monkeypatch):
    install_stand_in("esc50", make_esc50(tmp_path / "s"), tmp_path, monkeypatch)
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


def test_unreadable_wav_names_the_file_is_kept_and_advice_fits_an_own_folder(tmp_path):
    """For an own folder the advice is to fix, convert or remove the file; it never
    mentions downloading or regenerating toy data."""
    base = make_labelled(tmp_path / "rec")
    bad = base / "broken" / "corrupt.wav"
    bad.write_bytes(b"RIFF\x00\x00 definitely not audio")
    with pytest.raises(rd.DatasetError, match="corrupt.wav") as info:
        rd.load_folder(base)
    message = str(info.value)
    assert "fix, convert or remove" in message and "nothing was changed on disk" in message
    assert not re.search("download|make_toy|regenerate", message), message
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
