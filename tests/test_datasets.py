"""Tests of the dataset registry and its toy datasets (course_lib.datasets, chapter 03).

Also: ``datasets.load`` dispatches real names and ``folder:`` paths, toy and real tables share
the columns and dtypes of ``course_lib.clip_table.COLUMNS``, and the shared MIMII split rule.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from real_fixtures import (
    install,
    make_anomaly_mini,
    make_dcase,
    make_esc50,
    make_mimii,
    make_urbansound8k,
    write_clip,
)

from course_lib import clip_table, datasets, paths, real_datasets, synth, toy_datasets
from course_lib.data import registry
from data_scripts import make_toy

SMALL_MACHINES = {"n_normal": 6, "n_abnormal": 3, "duration": 0.5, "n_jobs": 1}
SMALL_URBAN = {"clips_per_class": 10, "n_folds": 10, "n_jobs": 1}
DTYPES = {"path": object, "dataset": object, "label": object, "split": object,
          "machine": object, "machine_id": object, "fold": pd.Int64Dtype(), "source_id": object,
          "sample_rate": np.int64, "duration": np.float64, "channels": np.int64,
          "fault": object, "severity": np.float64, "snr_db": np.float64}


@pytest.fixture(scope="module")
def toy_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a data root holding small toy machine and urban datasets."""
    root = tmp_path_factory.mktemp("course_data")
    synth.make_machine_dataset(root / "toy", **SMALL_MACHINES)
    synth.make_urban_dataset(root / "toy", **SMALL_URBAN)
    return root


@pytest.fixture()
def course_data(toy_data: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point COURSE_DATA at the small toy data for one test."""
    monkeypatch.setenv("COURSE_DATA", str(toy_data))
    return toy_data


def test_names_lists_the_toy_datasets() -> None:
    assert datasets.names() == ["toy_machines", "toy_fan", "toy_pump", "toy_slider",
                                "toy_valve", "toy_urban"]


def test_unknown_name_lists_the_valid_names() -> None:
    with pytest.raises(ValueError, match="toy_fan, toy_pump"):
        datasets.load("toy_drill")


def test_missing_data_without_generate_names_the_script(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("COURSE_DATA", str(tmp_path))
    for name in ("toy_fan", "toy_urban"):
        with pytest.raises(FileNotFoundError, match="python -m data_scripts.make_toy"):
            datasets.load(name, generate=False)
    assert not any(tmp_path.iterdir())


def test_missing_data_is_generated_on_first_use(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("COURSE_DATA", str(tmp_path))
    calls = []
    original = synth.make_machine_dataset

    def small(root: Path) -> Path:
        calls.append(root)
        return original(root, machines=["valve"], **SMALL_MACHINES)

    monkeypatch.setattr(toy_datasets.synth, "make_machine_dataset", small)
    table = datasets.load("toy_valve")
    assert calls == [paths.toy_root()] and len(table) == 3 * 9
    assert len(capsys.readouterr().out.strip().splitlines()) == 1  # one short line
    datasets.load("toy_valve")
    assert len(calls) == 1  # complete data is reused
    with pytest.raises(FileNotFoundError):  # pump is not part of the valve-only data
        datasets.load("toy_pump", generate=False)


def _check_common(table: pd.DataFrame, name: str) -> None:
    """Assert what every dataset table shares: ``clip_table.COLUMNS``, dtypes, sorted paths."""
    assert list(table.columns) == list(datasets.COLUMNS)
    assert {column: table[column].dtype for column in table.columns} == DTYPES
    assert isinstance(table.index, pd.RangeIndex) and table["path"].is_monotonic_increasing
    assert (table["dataset"] == name).all() and table["path"].is_unique
    assert all(Path(p).is_absolute() and Path(p).is_file() for p in table["path"])
    assert set(table["split"]) == {"train", "test"}


def test_machine_table_is_a_tidy_clip_table(course_data: Path) -> None:
    table = datasets.load("toy_fan")
    _check_common(table, "toy_fan")
    assert len(table) == 3 * 9 and set(table["machine"]) == {"fan"}
    assert set(table["label"]) == {"normal", "anomaly"}
    assert (table["sample_rate"] == 16000).all() and (table["channels"] == 1).all()
    assert np.allclose(table["duration"], 0.5) and table["fold"].isna().all()
    assert (table["source_id"] == table["machine_id"]).all()
    anomalies = table[table["label"] == "anomaly"]
    normals = table[table["label"] == "normal"]
    assert set(anomalies["fault"]) == set(synth.MACHINES["fan"])
    assert anomalies["severity"].between(0, 1).all() and normals["severity"].isna().all()
    assert normals["fault"].isna().all() and (table["snr_db"] == 6.0).all()


def test_machine_split_is_balanced_per_id_without_overlap(course_data: Path) -> None:
    table = datasets.load("toy_machines")
    assert set(table["machine"]) == set(synth.MACHINES)
    train, test = table[table["split"] == "train"], table[table["split"] == "test"]
    assert not set(train["path"]) & set(test["path"])
    assert (train["label"] == "normal").all()
    for (machine, machine_id), group in test.groupby(["machine", "machine_id"]):
        counts = group["label"].value_counts()
        assert counts["normal"] == counts["anomaly"] == 3, (machine, machine_id)
        ids = table[(table["machine"] == machine) & (table["machine_id"] == machine_id)]
        normal_paths = sorted(ids.loc[ids["label"] == "normal", "path"])
        # the MIMII baseline tests on the first normal files of each machine ID
        assert sorted(group.loc[group["label"] == "normal", "path"]) == normal_paths[:3]


def test_single_machine_tables_partition_the_full_table(course_data: Path) -> None:
    everything = datasets.load("toy_machines")
    parts = pd.concat([datasets.load(f"toy_{m}") for m in synth.MACHINES])
    assert sorted(parts["path"]) == list(everything["path"])


def test_urban_table_is_a_tidy_clip_table(course_data: Path) -> None:
    table = datasets.load("toy_urban")
    _check_common(table, "toy_urban")
    assert len(table) == 100 and sorted(table["label"].unique()) == sorted(synth.URBAN_CLASSES)
    assert (table["sample_rate"] == 22050).all() and table["duration"].between(1, 4).all()
    assert ((table["fold"] == 10) == (table["split"] == "test")).all()
    assert table["machine"].isna().all() and table["fault"].isna().all()
    assert table["severity"].isna().all() and table["snr_db"].notna().all()
    assert (table.groupby("source_id")["fold"].nunique() == 1).all()  # no leakage over folds
    test = table[table["split"] == "test"]
    assert (test["label"].value_counts() == 1).all()  # one slice per class in fold 10


def test_make_toy_is_idempotent(tmp_path: Path, monkeypatch, capsys) -> None:
    small = {
        "machines": (synth.MIMII_DIR,
                     lambda seed: synth.machine_dataset_parameters(
                         machines=["slider"], n_normal=2, n_abnormal=3, duration=0.5,
                         seed=seed),
                     lambda root, seed: synth.make_machine_dataset(
                         root, machines=["slider"], n_normal=2, n_abnormal=3, duration=0.5,
                         seed=seed, n_jobs=1)),
    }
    monkeypatch.setattr(make_toy, "_DATASETS", small)
    make_toy.main(["--which", "machines", "--root", str(tmp_path), "--seed", "3"])
    assert "wrote 15 files" in capsys.readouterr().out
    make_toy.main(["--which", "machines", "--root", str(tmp_path), "--seed", "3"])
    assert "up to date" in capsys.readouterr().out
    make_toy.main(["--which", "machines", "--root", str(tmp_path), "--seed", "4"])
    assert "wrote 15 files" in capsys.readouterr().out
    assert synth.read_marker(tmp_path / synth.MIMII_DIR)["parameters"]["seed"] == 4


def test_make_toy_help_describes_the_options(capsys) -> None:
    with pytest.raises(SystemExit):
        make_toy.main(["--help"])
    out = capsys.readouterr().out
    assert "--which" in out and "--root" in out and "--seed" in out


# --- one entry point for toy, real and folder datasets ---------------------------------------

REAL_LAYOUTS = {  # name -> (stage the archive's content, archive file name)
    "anomaly_mini": (make_anomaly_mini, "anomaly_mini.zip"),
    "mimii:pump:-6dB": (lambda stage: make_mimii(stage, "pump"), "-6_dB_pump.zip"),
    "dcase2020_task2:ToyCar": (lambda stage: make_dcase(stage, "ToyCar"), "dev_data_ToyCar.zip"),
    "esc50": (make_esc50, registry.get("esc50").filename),
    "urbansound8k": (make_urbansound8k, "UrbanSound8K.tar.gz"),
}


@pytest.fixture()
def real_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Return an empty data root set as $COURSE_DATA."""
    root = tmp_path / "real_data"
    monkeypatch.setenv("COURSE_DATA", str(root))
    return root


def _install_real(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Install the small fixture archive of real dataset ``name`` under $COURSE_DATA."""
    make, archive = REAL_LAYOUTS[name]
    install(monkeypatch, name, make(tmp_path / f"stage_{archive}"), tmp_path / archive)


def _train_test_folder(base: Path) -> Path:
    """Return ``base`` holding train/{normal,rattle}/ (4 clips each) and test/ (2 each)."""
    for split, count in (("train", 4), ("test", 2)):
        for label in ("normal", "rattle"):
            for i in range(count):
                write_clip(base / split / label / f"{label}{i}.wav", seed=i)
    return base


@pytest.mark.parametrize("name", list(REAL_LAYOUTS))
def test_load_dispatches_real_names_case_insensitively(name: str, real_root: Path,
                                                       tmp_path: Path, monkeypatch) -> None:
    _install_real(name, tmp_path, monkeypatch)
    for spelling in (name, name.upper()):
        table = datasets.load(spelling)
        pd.testing.assert_frame_equal(table, real_datasets.load_real(name))
        _check_common(table, registry.get(name).name)


def test_every_real_name_is_accepted_and_missing_data_names_the_download(real_root: Path) -> None:
    assert real_datasets.real_names()
    for name in real_datasets.real_names():
        command = f"python -m data_scripts.download {name}"
        with pytest.raises(real_datasets.DatasetNotFoundError, match=re.escape(command)):
            datasets.load(name)
    assert datasets.DatasetNotFoundError is real_datasets.DatasetNotFoundError
    assert not real_root.exists()  # nothing is created or downloaded by load


def test_load_dispatches_folder_paths(tmp_path: Path) -> None:
    base = _train_test_folder(tmp_path / "my pump")
    table = datasets.load(f"folder:{base}")
    pd.testing.assert_frame_equal(table, real_datasets.load_folder(base))
    _check_common(table, f"folder:{base}")
    assert set(table["label"]) == {"normal", "rattle"} and table["fold"].isna().all()
    labelled = tmp_path / "labelled"
    for label, count in (("normal", 6), ("rattle", 4)):
        for i in range(count):
            write_clip(labelled / label / f"{label}{i}.wav", seed=i)
    for seed in (3, 4):  # the seed reaches the split of a <label>/ folder
        pd.testing.assert_frame_equal(datasets.load(f"folder:{labelled}", seed=seed),
                                      real_datasets.load_folder(labelled, seed=seed))
    with pytest.raises(datasets.DatasetError, match="is not a folder"):
        datasets.load(f"folder:{tmp_path / 'missing'}")
    with pytest.raises(ValueError, match="names no folder"):
        datasets.load("folder:")


def test_unknown_name_lists_toy_names_real_names_and_the_folder_form() -> None:
    with pytest.raises(ValueError) as info:
        datasets.load("mimii")
    message = str(info.value)
    assert "toy_machines" in message and "toy_urban" in message
    assert all(name in message for name in real_datasets.real_names())
    assert "folder:PATH" in message and "python -m data_scripts.download" in message


def test_toy_and_real_tables_have_identical_columns_and_dtypes(
        course_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tables = {name: datasets.load(name) for name in ("toy_fan", "toy_urban")}
    monkeypatch.setenv("COURSE_DATA", str(tmp_path / "real_data"))
    for name in ("dcase2020_task2:ToyCar", "urbansound8k"):
        _install_real(name, tmp_path, monkeypatch)
        tables[name] = datasets.load(name)
    tables["folder"] = datasets.load(f"folder:{_train_test_folder(tmp_path / 'rec')}")
    expected = {column: str(dtype) for column, dtype in clip_table.DTYPES.items()}
    assert list(expected) == list(clip_table.COLUMNS) == list(datasets.COLUMNS)
    for name, table in tables.items():
        assert list(table.columns) == list(clip_table.COLUMNS), name
        assert {c: str(t) for c, t in table.dtypes.items()} == expected, name
        assert isinstance(table.index, pd.RangeIndex) and table.index.start == 0, name
        for column in ("machine", "machine_id", "fault"):  # missing text is pd.NA everywhere
            missing = table.loc[table[column].isna(), column]
            assert all(value is pd.NA for value in missing), (name, column)
    assert tables["toy_urban"]["machine"].isna().all()
    assert tables["urbansound8k"]["machine"].isna().all()


def test_anomaly_split_is_the_mimii_rule() -> None:
    # id_00: 2 anomalies, 4 normals (stored in an order unlike the file-name order);
    # id_01: 3 anomalies but only 2 normals, so both normals go to test.
    rows = [("id_00", "normal", "n/0003.wav"), ("id_00", "normal", "a/0001.wav"),
            ("id_00", "anomaly", "x/0009.wav"), ("id_00", "normal", "z/0000.wav"),
            ("id_00", "normal", "b/0002.wav"), ("id_00", "anomaly", "x/0008.wav"),
            ("id_01", "anomaly", "x/1.wav"), ("id_01", "anomaly", "x/2.wav"),
            ("id_01", "anomaly", "x/3.wav"), ("id_01", "normal", "n/4.wav"),
            ("id_01", "normal", "n/5.wav")]
    table = pd.DataFrame(rows, columns=["machine_id", "label", "path"]).assign(machine="fan")
    table.index = table.index + 100  # the result keeps the input's index
    split = clip_table.anomaly_split(table)
    assert split.index.equals(table.index)
    # published MIMII baseline: the *first* len(abnormal) normal files by name are test
    assert split.tolist() == ["train", "test", "test", "test", "train", "test",
                              "test", "test", "test", "test", "test"]
    assert toy_datasets.anomaly_split is real_datasets.anomaly_split is clip_table.anomaly_split


def _parts_table(train_per_id: dict[str | None, int]) -> pd.DataFrame:
    """Return a minimal clip table: the given training clips per ID plus one test anomaly each."""
    rows = []
    for machine_id, n_train in train_per_id.items():
        rows += [{"path": f"{machine_id}_train_{i}", "label": "normal", "split": "train",
                  "machine_id": machine_id} for i in range(n_train)]
        rows.append({"path": f"{machine_id}_test", "label": "anomaly", "split": "test",
                     "machine_id": machine_id})
    return pd.DataFrame(rows)


def test_training_parts_sets_last_fifth_of_each_id_aside():
    table = _parts_table({"id_00": 10, "id_02": 4, None: 3})
    parts = clip_table.training_parts(table)
    assert "part" not in table.columns  # the input is not modified
    counts = parts.fillna({"machine_id": "none"}).groupby(["machine_id", "part"]).size().to_dict()
    assert counts[("id_00", "validation")] == 2 and counts[("id_00", "train")] == 8
    assert counts[("id_02", "validation")] == 1 and counts[("id_02", "train")] == 3
    assert counts[("none", "validation")] == 1 and counts[("none", "train")] == 2
    held_out = parts[parts.part == "validation"].path.tolist()
    assert held_out == ["id_00_train_8", "id_00_train_9", "id_02_train_3", "None_train_2"]
    assert parts.anomaly.tolist() == (parts.label != "normal").astype(int).tolist()
    assert set(parts.loc[parts.split == "test", "part"]) == {"test"}


def test_training_parts_never_trains_or_validates_on_faulty_training_clips():
    # own recordings: train/ may hold faulty clips, sorted after the normal ones by path
    table = _parts_table({"my_fan": 10})
    faulty = pd.DataFrame({"path": ["my_fan_train_rattle_0", "my_fan_train_rattle_1"],
                           "label": "rattle", "split": "train", "machine_id": "my_fan"})
    parts = clip_table.training_parts(pd.concat([table, faulty], ignore_index=True))
    by_part = parts.groupby("part").label.agg(lambda labels: sorted(set(labels))).to_dict()
    assert by_part == {"train": ["normal"], "validation": ["normal"],
                       "unused": ["rattle"], "test": ["anomaly"]}
    assert (parts.part == "validation").sum() == 2  # a fifth of the 10 normal training clips
    with pytest.raises(clip_table.DatasetError, match="fewer than two normal training clips"):
        clip_table.training_parts(pd.concat([_parts_table({"my_fan": 1}), faulty]))


def test_training_parts_refuses_ids_without_enough_clips():
    with pytest.raises(clip_table.DatasetError, match=r"\['id_02'\] have fewer than two"):
        clip_table.training_parts(_parts_table({"id_00": 5, "id_02": 1}))
    with pytest.raises(ValueError, match="between 0 and 1"):
        clip_table.training_parts(_parts_table({"id_00": 5}), validation_fraction=1.0)


def test_analysis_rate_is_the_clips_own_rate_or_the_lowest_with_a_warning() -> None:
    same = pd.DataFrame({"sample_rate": [44100, 44100]})
    assert clip_table.analysis_rate(same) == 44100  # never a rate fixed for the toy data
    mixed = pd.DataFrame({"sample_rate": [48000, 16000, 44100]})
    with pytest.warns(UserWarning, match=r"\[16000, 44100, 48000\].*16000 Hz"):
        assert clip_table.analysis_rate(mixed) == 16000
    with pytest.raises(clip_table.DatasetError, match="empty"):
        clip_table.analysis_rate(mixed.iloc[:0])


def test_source_advice_fits_where_the_data_came_from() -> None:
    assert "make_toy" in clip_table.source_advice("toy_valve")
    own = clip_table.source_advice("folder:/home/me/pump")
    assert "remove this file in your folder" in own
    assert "download" not in own and "toy" not in own
    assert "python -m data_scripts.download esc50" in clip_table.source_advice("esc50")
    assert "--from-file" in clip_table.source_advice("esc50")
