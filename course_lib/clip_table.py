"""The tidy clip table every dataset loader returns, and the helpers they share (chapter 03).

Toy datasets (:mod:`course_lib.toy_datasets`), real datasets and your own folders
(:mod:`course_lib.real_datasets`) all describe a dataset as one :class:`pandas.DataFrame`
with one row per audio file and exactly the columns of :data:`COLUMNS`. This module holds
what they share: the columns and their dtypes (:func:`tidy`), reading the file headers
(:func:`add_headers`), checking that a table has the columns a step needs
(:func:`require_columns`), what to do about a bad file (:func:`source_advice`), the MIMII
train/test split rule (:func:`anomaly_split`), cross-validation over predefined folds
(:func:`fold_splits`), the sample rate to analyse a table at (:func:`analysis_rate`) and the
validation clips a neural network sets aside (:func:`training_parts`).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from course_lib import audio
from course_lib.errors import AudioError, CourseError

NORMAL, ANOMALY = "normal", "anomaly"

COLUMNS: tuple[str, ...] = (
    "path", "dataset", "label", "split", "machine", "machine_id", "fold", "source_id",
    "sample_rate", "duration", "channels", "fault", "severity", "snr_db",
)
"""The columns of every clip table, in this order (dtype in brackets).

* ``path`` (object): absolute path of the audio file; the table is sorted by it.
* ``dataset`` (object): the name the table was loaded with, e.g. ``"toy_fan"``,
  ``"mimii:fan:6dB"`` or ``"folder:/abs/path"``.
* ``label`` (object): ``"normal"``/``"anomaly"`` for machines, the class name for sound
  classes, the label folder's name for your own folders.
* ``split`` (object): ``"train"`` or ``"test"``.
* ``machine`` (object): machine type (folder name for your own folders); NA for sound classes.
* ``machine_id`` (object): e.g. ``"id_00"``; NA for sound classes.
* ``fold`` (Int64, nullable): official fold (UrbanSound8K 1-10, ESC-50 1-5) or seeded fold of
  a ``<label>/*.wav`` folder; NA otherwise.
* ``source_id`` (object): recording group that must stay on one side of a split (machine ID,
  Freesound ID, ESC-50 source file, or ``<label>/<recording>`` of your own folders).
* ``sample_rate`` (int64), ``duration`` (float64, seconds), ``channels`` (int64): read from
  the file header.
* ``fault`` (object): simulated fault type of a toy anomaly; NA otherwise.
* ``severity`` (float64): simulated fault severity 0-1 of a toy anomaly; NaN otherwise.
* ``snr_db`` (float64): mixing SNR in dB where the dataset states one (toy, MIMII,
  anomaly_mini); NaN otherwise.

Text columns hold ``pd.NA`` where a value does not apply.
"""

DTYPES: dict[str, str] = {
    "path": "object", "dataset": "object", "label": "object", "split": "object",
    "machine": "object", "machine_id": "object", "fold": "Int64", "source_id": "object",
    "sample_rate": "int64", "duration": "float64", "channels": "int64", "fault": "object",
    "severity": "float64", "snr_db": "float64",
}
"""The dtype of each column of :data:`COLUMNS`, as pandas names it."""

_REQUIRED = ("path", "dataset", "label", "split", "sample_rate", "duration", "channels")


class DatasetError(CourseError, ValueError):
    """A dataset folder or file does not have the expected layout or content (chapter 03)."""


def tidy(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with exactly :data:`COLUMNS` and their dtypes, sorted by path.

    Missing optional columns are added as NA; extra columns are dropped. Empty strings in
    text columns become ``pd.NA``. The result has a fresh RangeIndex.

    Raises:
        ValueError: a non-empty ``frame`` lacks a column every table needs (path, dataset,
            label, split or a header fact).
    """
    missing = [column for column in _REQUIRED if column not in frame.columns]
    if missing and len(frame):
        raise ValueError(f"a clip table needs the columns {missing}; got {list(frame.columns)}")
    out = frame.reindex(columns=list(COLUMNS))
    for column, dtype in DTYPES.items():
        values = out[column]
        if dtype == "object":
            present = values.notna() & (values.astype(str) != "")
            out[column] = values.astype(object).where(present, pd.NA)
        elif dtype == "Int64":
            out[column] = pd.to_numeric(values).astype("Int64")
        else:
            out[column] = pd.to_numeric(values).astype(dtype)
    return out.sort_values("path", kind="stable").reset_index(drop=True)


def require_columns(table: pd.DataFrame, columns: Sequence[str]) -> None:
    """Return None if ``table`` has all ``columns``, else raise KeyError naming what exists.

    Chapter 03; the plots of clip tables and the dataset explorer check their input with it.
    """
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise KeyError(
            f"The table has no column(s) {missing}; available: {list(table.columns)}. "
            "Pass a table from course_lib.datasets.load() or name an existing column."
        )


def source_advice(dataset: str) -> str:
    """Return what to do about a damaged file, fitting where dataset ``dataset`` came from.

    * a toy dataset (``toy_…``): generate it again (nothing of the user's is lost);
    * your own recordings (``folder:…``): fix, convert or remove that file; the course never
      changes or deletes anything in your folder;
    * a downloaded dataset: delete its folder and download it again, or register a copy of
      the archive with ``--from-file``.
    """
    if dataset.startswith("toy"):
        return ("regenerate the toy data with `python -m data_scripts.make_toy` (delete "
                "its folder first if the problem stays)")
    if dataset.lower().startswith("folder:"):
        return ("fix, convert or remove this file in your folder, then load again (nothing "
                "was changed on disk)")
    return (f"delete the dataset's folder and install it again with `python -m "
            f"data_scripts.download {dataset}` (or `... --from-file PATH` with a copy of the "
            "archive)")


def add_headers(table: pd.DataFrame, *, advice: str | None = None) -> pd.DataFrame:
    """Return a copy of ``table`` with ``sample_rate``, ``duration`` and ``channels`` added.

    The values are read from the header of each file in the ``path`` column (fast: no audio
    is decoded). ``advice`` says what to do about a bad file (see :func:`source_advice`);
    by default it is taken from the table's ``dataset`` column.

    Raises:
        DatasetError: a file is missing, unreadable or holds no samples; the message names
            the file and gives ``advice``. Nothing on disk is changed.
    """
    facts = []
    for index, path in enumerate(table["path"] if len(table) else []):
        todo = advice or _row_advice(table, index)
        try:
            info = audio.info(path)
        except AudioError as exc:
            raise DatasetError(f"Cannot read audio file {path}: {exc} To fix it: {todo}.") \
                from exc
        if info.frames == 0:
            raise DatasetError(f"Audio file {path} contains no samples. To fix it: {todo}.")
        facts.append((info.sample_rate, info.duration, info.channels))
    sample_rate, duration, channels = zip(*facts, strict=True) if facts else ((), (), ())
    return table.assign(sample_rate=np.array(sample_rate, dtype=np.int64),
                        duration=np.array(duration, dtype=np.float64),
                        channels=np.array(channels, dtype=np.int64))


def advice_per_row(table: pd.DataFrame) -> list[str | None]:
    """Return per row what to do about a damaged file: :func:`source_advice` of its dataset.

    Rows without a dataset name, and tables without a ``dataset`` column, get ``None``
    (chapters 02 and 06 add the advice to the error of a clip that cannot be read).
    """
    if "dataset" not in table.columns:
        return [None] * len(table)
    return [source_advice(name) if isinstance(name, str) else None for name in table["dataset"]]


def _row_advice(table: pd.DataFrame, index: int) -> str:
    """Return :func:`source_advice` for row ``index`` of ``table`` (generic without a name)."""
    if "dataset" in table.columns and isinstance(table["dataset"].iloc[index], str):
        return source_advice(table["dataset"].iloc[index])
    return "replace the file with an intact copy, or remove it, and load again"


def anomaly_split(table: pd.DataFrame) -> pd.Series:
    """Return ``"train"``/``"test"`` per row by the MIMII baseline's rule (toy and MIMII).

    Per ``machine`` and ``machine_id``: every anomaly goes to test, together with as many
    normal clips, the *first* ones by file name (ties broken by path), as the MIMII baseline
    does (Purohit et al., 2019); the other normal clips are for training. ``table`` needs the
    columns ``machine``, ``machine_id``, ``label`` and ``path``; the result has the same index.
    """
    split = pd.Series("train", index=table.index, dtype=object)
    for _, group in table.groupby(["machine", "machine_id"], sort=True, dropna=False):
        anomalies = group.index[group["label"] == ANOMALY]
        normals = group.loc[group["label"] == NORMAL, "path"]
        ordered = sorted(normals.index, key=lambda i: (Path(normals[i]).name, normals[i]))
        split.loc[anomalies] = "test"
        split.loc[ordered[:len(anomalies)]] = "test"
    return split


def fold_splits(table: pd.DataFrame) -> Iterator[tuple[int, pd.DataFrame, pd.DataFrame]]:
    """Yield ``(fold, train_rows, test_rows)`` for every fold of ``table``, in ascending order.

    This is the cross-validation protocol of datasets with predefined folds (ESC-50: 5,
    UrbanSound8K: 10; chapter 03): each fold is the test set once and the other folds are
    the training set. ``test_rows`` are the rows of ``fold``, ``train_rows`` all other rows;
    both keep the table's index and order.

    Raises:
        DatasetError: some rows have no fold (machine datasets use ``split`` instead), or
            there is only one fold.
    """
    if "fold" not in table.columns or table["fold"].isna().any():
        missing = len(table) if "fold" not in table.columns else int(table["fold"].isna().sum())
        raise DatasetError(
            f"{missing} of {len(table)} clips have no fold. Cross-validation needs a dataset "
            "with predefined folds (esc50, urbansound8k, toy_urban, or a folder of "
            "<label>/ folders, which gets seeded folds); machine datasets use `split`."
        )
    folds = sorted(int(fold) for fold in table["fold"].unique())
    if len(folds) < 2:
        raise DatasetError(f"the table has a single fold ({folds}); cross-validation needs "
                           "at least two.")
    for fold in folds:
        in_fold = (table["fold"] == fold).to_numpy()
        yield fold, table[~in_fold], table[in_fold]


def analysis_rate(table: pd.DataFrame) -> int:
    """Return the sample rate (Hz) at which to analyse every clip of ``table`` (chapter 03).

    That is the clips' own rate when they share one. When they do not (own recordings made
    with different devices), it is the lowest rate in the table, with a warning: resampling
    down never invents a frequency band that some clips do not have.

    Raises:
        DatasetError: the table is empty.
    """
    rates = sorted(int(rate) for rate in table["sample_rate"].unique())
    if not rates:
        raise DatasetError("the clip table is empty; there is no sample rate to analyse at.")
    if len(rates) > 1:
        warnings.warn(f"the clips have sample rates {rates} Hz; analysing all of them at the "
                      f"lowest, {rates[0]} Hz, so that every clip covers the same bands.",
                      stacklevel=2)
    return rates[0]


def training_parts(table: pd.DataFrame, *, validation_fraction: float = 0.2) -> pd.DataFrame:
    """Return a copy of ``table`` with an ``anomaly`` (0/1) and a ``part`` column; chapter 05.

    ``part`` is the clip's ``split`` (``"train"`` or ``"test"``), except that the last
    ``validation_fraction`` of every machine ID's training clips (at least one per ID, in table
    order) becomes ``"validation"``: normal clips that a model never trains on, for early
    stopping and thresholds. Clips without a machine ID form one group. Training clips that
    are not normal (own recordings may keep faulty clips in ``train/``) become ``"unused"``:
    a detector learns from normal clips only, and they are no test clips either.

    Raises:
        ValueError: ``validation_fraction`` outside (0, 1).
        DatasetError: a machine ID has fewer than two normal training clips (nothing would be
            left to train on after the validation clip is set aside).
    """
    if not 0.0 < validation_fraction < 1.0:
        raise ValueError(
            f"validation_fraction={validation_fraction!r} must lie between 0 and 1 "
            "(e.g. 0.2 keeps a fifth of every machine ID's training clips for validation)."
        )
    parts = table.assign(anomaly=(table["label"] != NORMAL).astype(int), part=table["split"])
    parts.loc[(parts["split"] == "train") & (parts["anomaly"] == 1), "part"] = "unused"
    train_rows = parts[parts["part"] == "train"]
    by_id = train_rows.groupby("machine_id", dropna=False)
    sizes = by_id["path"].transform("size")
    too_small = sorted(train_rows.loc[sizes < 2, "machine_id"].astype(str).unique())
    if too_small:
        raise DatasetError(
            f"machine IDs {too_small} have fewer than two normal training clips, so none would "
            "be left to train on after setting validation clips aside; add normal training "
            "clips or drop these IDs from the table."
        )
    n_validation = np.maximum(1, np.floor(sizes * validation_fraction)).astype(int)
    last = by_id.cumcount(ascending=False) < n_validation
    parts.loc[train_rows.index[last], "part"] = "validation"
    return parts
