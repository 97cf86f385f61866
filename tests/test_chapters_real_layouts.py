"""Chapters run on real dataset layouts, not only on the toy data (slow: marked ``notebooks``).

Small stand-ins of DCASE 2020 Task 2, MIMII, anomaly_mini and UrbanSound8K are installed
under a temporary ``$COURSE_DATA`` from archives in the published layouts
(``tests/real_fixtures.py``), next to a ``folder:`` dataset of "own recordings". Chapters 01,
02, 04, 05, 05b and 06 are then executed with papermill on them in their fast mode. The clips
are synthetic but have what the chapters rely on and the published format: machine clips
whose anomalies differ from the normal clips (MIMII: 8 channels in WAVE_FORMAT_EXTENSIBLE
files; anomaly_mini: made at 16 kHz and stored at 44.1 kHz like its MIMII excerpts, so nothing
lies above 8 kHz), and a bursty dog bark. The anomaly chapters (04, then 05, which compares
with 04's records, then 05b on anomaly_mini and MIMII) must record AUC and pAUC for the
dataset name they were given; the classification chapter 06 its recall, F2 and AUC, held-out
machine IDs included where the dataset has them.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import papermill
import pytest
import soundfile as sf
from notebook_checks import NOTEBOOK_DIR
from real_fixtures import (
    ClipWriter,
    install,
    link_toy_machines,
    make_anomaly_mini,
    make_dcase,
    make_mimii,
    make_urbansound8k,
)
from scipy import signal

from course_lib import audio, evaluate, paths

pytestmark = pytest.mark.notebooks

MACHINE_SR, MINI_SR, URBAN_SR = 16000, 44100, 22050
MACHINE_SECONDS, MINI_SECONDS = 3.0, 2.5
# (machine_id, train normals, test normals, test anomalies), unequal test counts as in the
# published data: chapter 02 takes the first anomaly, two normals of its machine ID and up to
# 8 (fast) or 20 normal clips for statistics; chapter 04 skips machine IDs with fewer than 6
# normal training clips.
DCASE_IDS = (("id_00", 6, 3, 2), ("id_02", 6, 3, 2))
# (machine_id, normal clips, abnormal clips) of MIMII: as many normal clips as anomalies go to
# test, so each ID keeps 11 normal training clips (2 of them validation clips in chapter 05).
MIMII_IDS = (("id_00", 14, 3), ("id_04", 14, 3))
# (split, normal clips, "rattle" clips) of the own recordings. Chapter 05 sets a fifth of the
# normal training clips aside for validation and needs two of them for its threshold.
OWN_CLIPS = (("train", 10, 2), ("test", 3, 3))
ANOMALY_CHAPTERS = ("04_gmm_outliers", "05_autoencoders")
# part 05b also runs where the format differs most from the toy data (44.1 kHz; 8 channels)
DESIGN_CHAPTER, DESIGN_DATASETS = "05b_autoencoder_design", ("anomaly_mini", "mimii:valve:6dB")
URBAN_CHAPTER_ROWS = [  # slice_file_name, fsID, start, end, salience, fold, classID, class
    ("100032-3-0-0.wav", 100032, 0.0, 4.0, 1, 1, 3, "dog_bark"),
    ("100263-2-0-117.wav", 100263, 58.5, 62.5, 1, 5, 2, "children_playing"),
    ("100648-1-0-0.wav", 100648, 4.5, 5.3, 1, 10, 1, "car_horn"),
    ("101415-3-0-2.wav", 101415, 1.0, 2.0, 1, 10, 3, "dog_bark"),
    ("102857-5-0-0.wav", 102857, 0.0, 4.0, 1, 2, 5, "engine_idling"),
]


def _save(path: Path, y: np.ndarray, sr: int, *, file_format: str = "WAV") -> Path:
    """Return ``path`` after writing ``y`` (peak-limited to 0.5) there as 16-bit PCM."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, 0.5 * y / np.max(np.abs(y)), sr, subtype="PCM_16", format=file_format)
    return path


def machine_signal(label: str, seed: int, *, sr: int = MACHINE_SR,
                   seconds: float = MACHINE_SECONDS, channels: int = 1) -> np.ndarray:
    """Return a machine-like clip, shape ``(n,)`` or ``(n, channels)``: hum + rumble, swelling.

    Anomalies (any label but ``normal``) add bursts of 2-6 kHz noise ten times a second. The
    slow swell makes the log-mel bands move together, as in recorded machines. With several
    ``channels`` each microphone hears the same machine with its own hiss.
    """
    rng = np.random.default_rng([seed, 0 if label == "normal" else 1])
    time_s = np.arange(int(seconds * sr)) / sr
    hum = sum(amp * np.sin(2 * np.pi * freq * time_s + rng.uniform(0, 2 * np.pi))
              for freq, amp in ((100, 0.3), (200, 0.15), (300, 0.08), (1200, 0.03)))
    rumble = signal.lfilter([0.05], [1, -0.97], rng.standard_normal(time_s.size))
    hiss = 0.01 * rng.standard_normal((channels, time_s.size))
    swell = 10 ** (0.3 * np.sin(2 * np.pi * 0.7 * time_s + rng.uniform(0, 2 * np.pi)))
    y = (hum + rumble + hiss) * swell  # (channels, samples)
    if label != "normal":
        band = signal.butter(4, [2000, 6000], btype="bandpass", fs=sr, output="sos")
        bursts = signal.sosfilt(band, rng.standard_normal(time_s.size))
        y = y + 2.0 * bursts * ((time_s % 0.1) < 0.02)
    return np.squeeze(y.T)


def machine_clip(path: Path, label: str, seed: int) -> Path:
    """Return ``path`` after writing a 16 kHz mono machine clip (DCASE, own recordings)."""
    return _save(path, machine_signal(label, seed), MACHINE_SR)


def mimii_clip(path: Path, label: str, seed: int) -> Path:
    """Return ``path`` after writing an 8-microphone 16 kHz clip in a WAVEX file, as MIMII."""
    return _save(path, machine_signal(label, seed, channels=8), MACHINE_SR,
                 file_format="WAVEX")


def mini_clip(path: Path, label: str, seed: int) -> Path:
    """Return ``path`` after writing a 2.5 s clip made at 16 kHz and stored at 44.1 kHz.

    anomaly_mini's clips are excerpts of 16 kHz MIMII recordings stored at 44.1 kHz, so
    they hold nothing above 8 kHz: the chapters must not rely on those empty bands.
    """
    y = machine_signal(label, seed, seconds=MINI_SECONDS)
    return _save(path, audio.resample(y, orig_sr=MACHINE_SR, target_sr=MINI_SR), MINI_SR)


def urban_clip(path: Path, label: str, seed: int, seconds: float) -> Path:
    """Return ``path`` after writing an urban-like clip of class ``label``.

    A dog bark is a few short harmonic barks with near silence in between (bursty, high crest
    factor); other classes are steady noise with a tone.
    """
    rng = np.random.default_rng(seed)
    time_s = np.arange(int(seconds * URBAN_SR)) / URBAN_SR
    y = 1e-4 * rng.standard_normal(time_s.size)
    if label == "dog_bark":
        for start in np.arange(0.2, seconds - 0.3, 0.8) + rng.uniform(0, 0.2):
            t = time_s[(time_s >= start) & (time_s < start + 0.15)] - start
            f0 = rng.uniform(450, 600)
            bark = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 8))
            bark += 0.3 * rng.standard_normal(t.size)
            y[(time_s >= start) & (time_s < start + 0.15)] += 0.5 * bark * np.exp(-t / 0.04)
    else:
        y += 0.1 * rng.standard_normal(time_s.size) + 0.2 * np.sin(2 * np.pi * 440 * time_s)
    return _save(path, y, URBAN_SR)


def _urban_writer(rows: list[tuple]) -> ClipWriter:
    """Return a ``write(path, label, seed)`` that gives each clip its metadata duration."""
    seconds = {row[0]: row[3] - row[2] for row in rows}
    return lambda path, label, seed: urban_clip(path, label, seed, seconds[path.name])


def _own_recordings(base: Path) -> Path:
    """Return ``base`` with train/{normal,rattle}/ and test/{normal,rattle}/ machine clips.

    Every clip has its own seed. Like many own recordings, train/ also holds a few faulty
    clips, which the anomaly chapters must not train on.
    """
    seeds = itertools.count()
    for split, n_normal, n_rattle in OWN_CLIPS:
        for label, count in (("normal", n_normal), ("rattle", n_rattle)):
            for i in range(count):
                machine_clip(base / split / label / f"take{i:02d}.wav", label, next(seeds))
    return base


@pytest.fixture(scope="module")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a data root with DCASE fan, MIMII valve, anomaly_mini and UrbanSound8K stand-ins.

    The toy machines are linked in as well (see :func:`link_toy_machines`).
    """
    root = tmp_path_factory.mktemp("course_data")
    stage = tmp_path_factory.mktemp("stage")
    link_toy_machines(root, paths.toy_root())  # before $COURSE_DATA points at ``root``
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COURSE_DATA", str(root))
        install(patch, "dcase2020_task2:fan",
                make_dcase(stage / "dcase", "fan", ids=DCASE_IDS, write=machine_clip),
                stage / "dev_data_fan.zip", other_processes=True)
        install(patch, "mimii:valve:6dB",
                make_mimii(stage / "mimii", "valve", ids=MIMII_IDS, write=mimii_clip),
                stage / "6_dB_valve.zip", other_processes=True)
        install(patch, "anomaly_mini",
                make_anomaly_mini(stage / "mini", write=mini_clip),
                stage / "anomaly_mini.zip", other_processes=True)
        install(patch, "urbansound8k",
                make_urbansound8k(stage / "urban", rows=URBAN_CHAPTER_ROWS,
                                  write=_urban_writer(URBAN_CHAPTER_ROWS)),
                stage / "UrbanSound8K.tar.gz", other_processes=True)
    return root


@pytest.fixture(scope="module")
def own_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a folder of "own recordings" with train/ and test/ label folders."""
    return _own_recordings(tmp_path_factory.mktemp("own") / "my_fan")


def _dataset_name(dataset: str, own_folder: Path) -> str:
    """Return the name to pass to a chapter: ``"folder"`` stands for the own recordings."""
    return f"folder:{own_folder}" if dataset == "folder" else dataset


def _run_chapter(chapter: str, name: str, data_root: Path, work: Path,
                 monkeypatch: pytest.MonkeyPatch) -> str:
    """Return the printed output of ``chapter`` executed in fast mode on dataset ``name``.

    The executed copy is written to ``work``; results the chapter records go to
    ``work/results`` instead of the book's results table.
    """
    monkeypatch.setenv("COURSE_DATA", str(data_root))  # the kernel inherits os.environ
    monkeypatch.setenv("COURSE_FAST", "1")
    monkeypatch.setenv("COURSE_RESULTS", str(work / "results"))
    executed = papermill.execute_notebook(
        str(NOTEBOOK_DIR / f"{chapter}.ipynb"), str(work / f"{chapter}.ipynb"),
        parameters={"dataset": name}, kernel_name="python3", cwd=str(NOTEBOOK_DIR),
        progress_bar=False)
    return "".join(output.get("text", "") for cell in executed.cells
                   if cell.cell_type == "code" for output in cell.get("outputs", []))


@pytest.mark.parametrize(("chapter", "dataset"), [
    ("02_time_frequency", "dcase2020_task2:fan"),
    ("02_time_frequency", "folder"),
    ("01_digital_audio", "urbansound8k"),
])
def test_chapter_runs_on_a_real_layout(chapter: str, dataset: str, data_root: Path,
                                       own_folder: Path, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    outputs = _run_chapter(chapter, _dataset_name(dataset, own_folder), data_root, tmp_path,
                           monkeypatch)
    if chapter == "02_time_frequency":
        machine_id = "my_fan my_fan" if dataset == "folder" else "fan id_00"
        assert f"{machine_id}: " in outputs
    else:
        assert "100032-3-0-0.wav (dog bark)" in outputs


def _check_records(records: pd.DataFrame, chapter: str) -> None:
    """Return None after checking that ``chapter`` recorded AUC and pAUC of every method.

    A method may also record the 95 % bootstrap interval of its AUC (``auc_low`` and
    ``auc_high``, both or neither), which must enclose the AUC.
    """
    mine = records[records.chapter == chapter]
    # part 05b also records its recommended detector's AUC over seeds (mean and spread)
    mine = mine[~mine.method.str.contains(" seeds from ")]
    metrics = mine.groupby("method").metric.agg(sorted)
    allowed = (["auc", "pauc"], ["auc", "auc_high", "auc_low", "pauc"])
    assert len(metrics) > 1 and all(found in allowed for found in metrics), metrics
    assert mine.value.between(0.0, 1.0).all(), mine
    wide = mine.pivot_table(index="method", columns="metric", values="value")
    if "auc_low" in wide:
        ends = wide.dropna(subset=["auc_low"])
        assert (ends.auc_low <= ends.auc).all() and (ends.auc <= ends.auc_high).all(), ends
    recommended = mine[mine.recommended]
    assert recommended.method.nunique() == 1
    assert sorted(recommended.metric) in allowed, recommended
    # the fixture's anomalies are loud bursts: the recommended method must find them
    assert recommended.value.min() > 0.8, recommended


@pytest.mark.parametrize("dataset", ["dcase2020_task2:fan", "mimii:valve:6dB", "anomaly_mini",
                                     "folder"])
def test_anomaly_chapters_record_results_on_a_real_layout(
        dataset: str, data_root: Path, own_folder: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    name = _dataset_name(dataset, own_folder)
    chapters = ANOMALY_CHAPTERS + (DESIGN_CHAPTER,) * (dataset in DESIGN_DATASETS)
    outputs = {chapter: _run_chapter(chapter, name, data_root, tmp_path, monkeypatch)
               for chapter in chapters}  # in order: chapter 05 reads 04's records
    assert "skipping machine IDs" not in outputs["04_gmm_outliers"]  # 6+ clips per ID
    assert "no recorded results" not in outputs["05_autoencoders"]  # it found chapter 04's
    records = evaluate.read_records(tmp_path / "results")
    assert set(records.dataset) == {name}, records.dataset.unique()
    assert set(records.chapter) == {chapter.split("_")[0] for chapter in chapters}
    for chapter in chapters:
        _check_records(records, chapter.split("_")[0])


CLASSIFICATION_CHAPTER = "06_features_boosting_separation"
#: what chapter 06 records for every method, and in addition for methods evaluated on
#: held-out machine IDs (the reference and the recommended method, where IDs exist)
SPLIT_METRICS = ["auc", "auc_std_over_seeds", "f2", "f2_std_over_seeds", "recall",
                 "recall_std_over_seeds"]
HELD_OUT_METRICS = sorted([*SPLIT_METRICS, "auc_held_out_id", "f2_held_out_id"])


@pytest.mark.parametrize("dataset", ["dcase2020_task2:fan", "mimii:valve:6dB", "folder"])
def test_classification_chapter_records_results_on_a_real_layout(
        dataset: str, data_root: Path, own_folder: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Chapter 06 pools train/ and test/, separates 8-channel or own clips, splits by ID."""
    name = _dataset_name(dataset, own_folder)
    outputs = _run_chapter(CLASSIFICATION_CHAPTER, name, data_root, tmp_path, monkeypatch)
    has_ids = dataset != "folder"
    assert ("no grouped split on this dataset" in outputs) is not has_ids, outputs
    records = evaluate.read_records(tmp_path / "results")
    assert set(records.dataset) == {name} and set(records.chapter) == {"06"}
    metrics = records.groupby("method").metric.agg(sorted)
    assert len(metrics) > 10 and all(
        found in (SPLIT_METRICS, HELD_OUT_METRICS) for found in metrics), metrics
    held_out = sorted(metrics.index[metrics.map(len) == len(HELD_OUT_METRICS)])
    expected = ["C: MFCC-128 mean, GB (reference)", "log-mel mean+std, HistGB"]
    assert held_out == (expected if has_ids else []), held_out
    assert records.value.between(0.0, 1.0).all(), records
    recommended = records[records.recommended]
    assert recommended.method.unique().tolist() == ["log-mel mean+std, HistGB"]
