"""Write the toy datasets to disk in the MIMII and UrbanSound8K layouts (chapter 03).

Both writers go through :func:`course_lib.synth.staging.build`, so an interrupted run never
looks complete and regenerating with other parameters replaces the old dataset in one step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from course_lib import _checks, audio
from course_lib.synth.machines import MACHINE_IDS, MACHINES, machine_sound
from course_lib.synth.seeds import derive_seed, rng_for
from course_lib.synth.staging import build
from course_lib.synth.urban import URBAN_CLASSES, urban_sound
from course_lib.synth.validation import (
    check_choice,
    check_duration,
    check_sample_rate,
    check_severity,
    check_snr,
)

MIMII_DIR = "mimii"
URBAN_DIR = "urbansound8k"
MACHINE_METADATA = "toy_metadata.csv"
URBAN_METADATA = "metadata/UrbanSound8K.csv"
URBAN_EXTRAS = "metadata/toy_metadata.csv"
URBAN_COLUMNS = ("slice_file_name", "fsID", "start", "end", "salience", "fold", "classID",
                 "class")
#: Classes whose UrbanSound8K slices are often shorter than 4 s (single events).
_SHORT_CLASSES = {"car_horn": (1.0, 4.0), "dog_bark": (1.0, 4.0), "gun_shot": (1.0, 2.5)}


def _run(tasks: Iterable[tuple], function: Callable, n_jobs: int) -> None:
    """Run ``function(*task)`` for every task, in ``n_jobs`` worker processes if > 1."""
    if n_jobs == 1:
        for task in tasks:
            function(*task)
    else:
        Parallel(n_jobs=n_jobs)(delayed(function)(*task) for task in tasks)


# --- machines (MIMII layout) --------------------------------------------------------------

def _check_severity_range(severity: object) -> list[float]:
    """Return ``[low, high]`` from a severity or a (low, high) pair, each within [0, 1]."""
    pair = severity if isinstance(severity, (tuple, list)) else (severity, severity)
    if len(pair) != 2:
        raise ValueError(f"severity={severity!r} is invalid; pass a number or (low, high).")
    low, high = (check_severity(value) for value in pair)
    if low > high:
        raise ValueError(f"severity={severity!r} has low > high; pass (low, high).")
    return [low, high]


def machine_dataset_parameters(
    *, machines: Sequence[str] | None = None, n_normal: int = 45, n_abnormal: int = 15,
    severity: float | tuple[float, float] = (0.4, 1.0), snr_db: float = 6.0,
    duration: float = 3.0, sr: int = 16000, seed: int = 0,
) -> dict:
    """Return the validated, JSON-ready parameters of a toy machine dataset (chapter 03).

    Same keyword arguments as :func:`make_machine_dataset`; used for its completion marker.
    """
    names = list(MACHINES) if machines is None else [check_choice("machine", m, MACHINES)
                                                     for m in machines]
    if not names:
        raise ValueError(f"machines is empty; choose from: {', '.join(MACHINES)}.")
    if check_snr(snr_db) is None:
        raise ValueError("snr_db=None is not allowed for datasets; pass e.g. 6, 0 or -6.")
    return {
        "machines": sorted(set(names), key=list(MACHINES).index),
        "n_normal": _checks.count(n_normal, "n_normal"),
        "n_abnormal": _checks.count(n_abnormal, "n_abnormal", minimum=0),
        "severity": _check_severity_range(severity), "snr_db": float(snr_db),
        "duration": check_duration(duration), "sr": check_sample_rate(sr),
        "seed": _checks.count(seed, "seed", minimum=0),
    }


def _machine_plan(parameters: dict) -> list[dict]:
    """Return one metadata row per machine clip (the clip's seed, fault and severity)."""
    rows = []
    low, high = parameters["severity"]
    for machine in parameters["machines"]:
        faults = MACHINES[machine]
        for machine_id in MACHINE_IDS[machine]:
            for label, count in (("normal", parameters["n_normal"]),
                                 ("abnormal", parameters["n_abnormal"])):
                for index in range(count):
                    seed = derive_seed(parameters["seed"], machine, machine_id, label, index)
                    abnormal = label == "abnormal"
                    severity = float(rng_for(seed, "severity").uniform(low, high))
                    rows.append({
                        "path": f"{machine}/{machine_id}/{label}/{index:08d}.wav",
                        "machine": machine, "machine_id": machine_id, "label": label,
                        "fault": faults[index % len(faults)] if abnormal else "",
                        "severity": round(severity, 4) if abnormal else 0.0,
                        "snr_db": parameters["snr_db"], "seed": seed,
                    })
    return rows


def _write_machine_clip(folder: Path, row: dict, duration: float, sr: int) -> None:
    """Render the clip described by a metadata ``row`` and save it below ``folder``."""
    y = machine_sound(row["machine"], machine_id=row["machine_id"], fault=row["fault"] or None,
                      severity=row["severity"], snr_db=row["snr_db"], duration=duration,
                      sr=sr, seed=row["seed"])
    audio.save(folder / row["path"], y, sr)


def make_machine_dataset(
    root: str | Path, *, machines: Sequence[str] | None = None, n_normal: int = 45,
    n_abnormal: int = 15, severity: float | tuple[float, float] = (0.4, 1.0),
    snr_db: float = 6.0, duration: float = 3.0, sr: int = 16000, seed: int = 0,
    n_jobs: int = 2, force: bool = False,
) -> Path:
    """Return ``<root>/mimii`` after writing a toy MIMII-style machine dataset (chapter 03).

    Layout: ``<machine>/<id_XX>/normal|abnormal/00000000.wav`` (mono WAV) plus
    ``toy_metadata.csv`` (path, machine, machine_id, label, fault, severity, snr_db, seed).
    Abnormal clips cycle through the machine's fault types; each gets a severity drawn
    uniformly from ``severity`` (a number or a ``(low, high)`` range). Nothing is written if
    the folder is already complete with the same parameters, unless ``force``.

    Args:
        root: the toy data root, usually ``course_lib.paths.toy_root()``.
        machines: machine types to include (default: all four).
        n_normal, n_abnormal: clips per machine ID.
        snr_db: machine-to-factory-noise ratio (MIMII: 6, 0, -6 dB).
        duration, sr: clip length (s) and sample rate (Hz).
        seed: dataset seed; the same parameters give bit-identical files.
        n_jobs: worker processes (the files do not depend on it).
        force: regenerate even if the dataset is complete.
    """
    parameters = machine_dataset_parameters(
        machines=machines, n_normal=n_normal, n_abnormal=n_abnormal, severity=severity,
        snr_db=snr_db, duration=duration, sr=sr, seed=seed)
    n_jobs = _checks.count(n_jobs, "n_jobs")

    def write(staging: Path) -> int:
        rows = _machine_plan(parameters)
        tasks = [(staging, row, parameters["duration"], parameters["sr"]) for row in rows]
        _run(tasks, _write_machine_clip, n_jobs)
        pd.DataFrame(rows).sort_values("path").to_csv(staging / MACHINE_METADATA, index=False)
        return len(rows)

    return build(Path(root) / MIMII_DIR, parameters, force, write)


# --- urban sounds (UrbanSound8K layout) ---------------------------------------------------

def urban_dataset_parameters(*, clips_per_class: int = 40, n_folds: int = 10,
                             sr: int = 22050, seed: int = 0) -> dict:
    """Return the validated, JSON-ready parameters of a toy urban dataset (chapter 03)."""
    return {
        "clips_per_class": _checks.count(clips_per_class, "clips_per_class"),
        "n_folds": _checks.count(n_folds, "n_folds"),
        "sr": check_sample_rate(sr), "seed": _checks.count(seed, "seed", minimum=0),
    }


def _slice_durations(rng: np.random.Generator, label: str, count: int, sr: int) -> list[float]:
    """Return ``count`` slice durations (s, whole samples): 4 s mostly, shorter for events."""
    low, high = _SHORT_CLASSES.get(label, (1.0, 4.0))
    short = label in _SHORT_CLASSES
    seconds = [rng.uniform(low, high) if short or rng.random() < 0.2 else 4.0
               for _ in range(count)]
    return [round(value * sr) / sr for value in seconds]


def _urban_sources(parameters: dict) -> list[dict]:
    """Return the plan of source recordings: class, fold, fsID, salience, SNR, slices.

    Every class gets ``clips_per_class`` slices spread evenly over the folds; slices come in
    groups of 1-4 from one source recording (one fsID), and a source lives in a single fold.
    """
    seed, per_class, n_folds = (parameters[k] for k in ("seed", "clips_per_class", "n_folds"))
    rng = rng_for(seed, "urban_plan")
    sources = []
    for class_id, label in enumerate(URBAN_CLASSES):
        for fold in range(1, n_folds + 1):
            quota = per_class // n_folds + (1 if fold <= per_class % n_folds else 0)
            while quota > 0:
                count = min(quota, int(rng.integers(1, 5)))
                quota -= count
                foreground = rng.random() < 0.6
                sources.append({
                    "label": label, "class_id": class_id, "fold": fold,
                    "salience": 1 if foreground else 2,
                    "snr_db": round(float(rng.uniform(3, 15) if foreground
                                          else rng.uniform(-6, 3)), 2),
                    "offset": round(float(rng.uniform(0.0, 30.0)), 3),
                    "durations": _slice_durations(rng, label, count, parameters["sr"]),
                })
    fs_ids = rng.choice(900000, size=len(sources), replace=False) + 100000
    for source, fs_id in zip(sources, fs_ids, strict=True):
        source["fsID"] = int(fs_id)
        source["seed"] = derive_seed(seed, "urban", int(fs_id))
    return sources


def _write_source(folder: Path, source: dict, sr: int) -> None:
    """Render one source recording, cut it into its consecutive slices and save them."""
    y = urban_sound(source["label"], duration=sum(source["durations"]), sr=sr,
                    seed=source["seed"], snr_db=source["snr_db"])
    start = 0
    for slice_id, seconds in enumerate(source["durations"]):
        stop = start + round(seconds * sr)
        name = f"{source['fsID']}-{source['class_id']}-0-{slice_id}.wav"
        audio.save(folder / "audio" / f"fold{source['fold']}" / name, y[start:stop], sr)
        start = stop


def _urban_rows(sources: list[dict]) -> list[dict]:
    """Return the UrbanSound8K metadata rows of all slices in ``sources`` (no audio)."""
    rows = []
    for source in sources:
        offset = 0.0
        for slice_id, seconds in enumerate(source["durations"]):
            rows.append({
                "slice_file_name": f"{source['fsID']}-{source['class_id']}-0-{slice_id}.wav",
                "fsID": source["fsID"], "start": round(source["offset"] + offset, 6),
                "end": round(source["offset"] + offset + seconds, 6),
                "salience": source["salience"], "fold": source["fold"],
                "classID": source["class_id"], "class": source["label"],
                "snr_db": source["snr_db"], "seed": source["seed"],
            })
            offset += seconds
    return rows


def make_urban_dataset(
    root: str | Path, *, clips_per_class: int = 40, n_folds: int = 10, sr: int = 22050,
    seed: int = 0, n_jobs: int = 2, force: bool = False,
) -> Path:
    """Return ``<root>/urbansound8k`` after writing a toy UrbanSound8K-style set (chapter 03).

    Layout: ``audio/fold<k>/<fsID>-<classID>-<occurrenceID>-<sliceID>.wav`` (mono WAV,
    1-4 s) and ``metadata/UrbanSound8K.csv`` with the real columns; ``metadata/
    toy_metadata.csv`` adds each slice's SNR and source seed. As in UrbanSound8K, several
    slices come from one source recording (same fsID, same sound parameters, same street)
    and all of them sit in the same fold, so a random split over slices leaks.
    Nothing is written if the folder is already complete with the same parameters.
    """
    parameters = urban_dataset_parameters(clips_per_class=clips_per_class, n_folds=n_folds,
                                          sr=sr, seed=seed)
    n_jobs = _checks.count(n_jobs, "n_jobs")

    def write(staging: Path) -> int:
        sources = _urban_sources(parameters)
        _run([(staging, source, parameters["sr"]) for source in sources], _write_source, n_jobs)
        table = pd.DataFrame(_urban_rows(sources)).sort_values("slice_file_name")
        (staging / "metadata").mkdir()
        table[list(URBAN_COLUMNS)].to_csv(staging / URBAN_METADATA, index=False)
        table[["slice_file_name", "snr_db", "seed"]].to_csv(staging / URBAN_EXTRAS, index=False)
        return len(table)

    return build(Path(root) / URBAN_DIR, parameters, force, write)


