"""Dataset registry: every dataset as one tidy table of clips (introduced in chapter 03).

``load(name)`` returns a :class:`pandas.DataFrame` with one row per audio file, sorted by
path, with the columns of :data:`COLUMNS`:

* ``path`` (absolute), ``dataset``, ``label`` (``"normal"``/``"anomaly"`` for machines, the
  class name for urban sounds), ``split`` (``"train"``/``"test"``), ``machine``,
  ``machine_id``, ``fold`` (nullable ``Int64``), ``source_id`` (the recording group to keep
  together when splitting: the machine ID, or the Freesound ID of an urban recording),
  ``sample_rate``, ``duration`` (s) and ``channels`` (read from the file headers);
* toy extras ``fault``, ``severity`` and ``snr_db`` (missing where they do not apply).

Splits: for machines, per (machine, machine ID), the test set is all anomalies plus as many
normal clips (the last ones by file name); the other normal clips are for training. For
urban sounds, fold 10 is the test set. The toy datasets are generated on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from course_lib import audio, paths, synth

COLUMNS = ("path", "dataset", "label", "split", "machine", "machine_id", "fold", "source_id",
           "sample_rate", "duration", "channels", "fault", "severity", "snr_db")
URBAN_TEST_FOLD = 10
_MAKE_TOY = "python -m data_scripts.make_toy"

Loader = Callable[[str, bool], pd.DataFrame]
_LOADERS: dict[str, Loader] = {}


def register(name: str, loader: Loader) -> None:
    """Add ``loader(name, generate) -> table`` to the registry under ``name`` (chapter 03)."""
    _LOADERS[name] = loader


def names() -> list[str]:
    """Return the names of all registered datasets, e.g. ``"toy_fan"`` (chapter 03)."""
    return list(_LOADERS)


def load(name: str, *, generate: bool = True) -> pd.DataFrame:
    """Return the tidy table of dataset ``name``, one row per clip (introduced in chapter 03).

    Args:
        name: one of :func:`names`.
        generate: create a missing toy dataset first (deterministic, takes ~10-20 s once);
            with ``False`` a missing dataset raises instead.

    Raises:
        ValueError: unknown ``name`` (the message lists the valid names).
        FileNotFoundError: the data is missing and ``generate`` is False.
    """
    if name not in _LOADERS:
        raise ValueError(f"unknown dataset {name!r}; choose one of: {', '.join(names())}.")
    table = _LOADERS[name](name, generate)
    return table.sort_values("path", ignore_index=True)[list(COLUMNS)]


# --- shared helpers -------------------------------------------------------------------------

def _headers(file_paths: list[str]) -> pd.DataFrame:
    """Return sample rate, duration and channel count of each file, read from its header."""
    infos = [audio.info(path) for path in file_paths]
    return pd.DataFrame({
        "sample_rate": np.array([i.sample_rate for i in infos], dtype=np.int64),
        "duration": np.array([i.duration for i in infos], dtype=np.float64),
        "channels": np.array([i.channels for i in infos], dtype=np.int64),
    })


def _ensure_toy(name: str, folder: Path, ready: bool, make: Callable[[], Path],
                generate: bool) -> None:
    """Generate the toy data in ``folder`` unless ``ready``; fail clearly if not allowed."""
    if ready:
        return
    if not generate:
        raise FileNotFoundError(
            f"toy dataset {name!r} is missing or incomplete in {folder}; generate it with "
            f"`{_MAKE_TOY}` (or call datasets.load({name!r}, generate=True)).")
    print(f"Generating toy data for {name!r} in {folder} (first use, takes a few seconds)...")
    make()


def _texts(values: pd.Series) -> pd.Series:
    """Return ``values`` as an object column of strings with empty entries as None."""
    return values.astype(object).where(values.notna() & (values.astype(str) != ""), None)


# --- toy machines (MIMII layout) ------------------------------------------------------------

def _machine_split(meta: pd.DataFrame) -> pd.Series:
    """Return "train"/"test" per row: per machine ID, anomalies + as many last normals test."""
    split = pd.Series("train", index=meta.index, dtype=object)
    for _, group in meta.groupby(["machine", "machine_id"], sort=True):
        anomalies = group.index[group["label"] == "anomaly"]
        normals = group[group["label"] == "normal"].sort_values("path").index
        split[anomalies] = "test"
        split[normals[len(normals) - len(anomalies):] if len(anomalies) else []] = "test"
    return split


def _toy_machines(name: str, generate: bool) -> pd.DataFrame:
    """Return the table of the toy MIMII-style machines (all, or the one in ``name``)."""
    wanted = list(synth.MACHINES) if name == "toy_machines" else [name.removeprefix("toy_")]
    folder = paths.toy_root() / synth.MIMII_DIR
    marker = synth.read_marker(folder) if synth.is_complete(folder) else None
    ready = marker is not None and set(wanted) <= set(marker["parameters"]["machines"])
    _ensure_toy(name, folder, ready, lambda: synth.make_machine_dataset(paths.toy_root()),
                generate)
    meta = pd.read_csv(folder / synth.writer.MACHINE_METADATA, keep_default_na=False)
    meta = meta[meta["machine"].isin(wanted)].reset_index(drop=True)
    meta["label"] = meta["label"].map({"normal": "normal", "abnormal": "anomaly"})
    abnormal = meta["label"] == "anomaly"
    table = pd.DataFrame({
        "path": [str(folder.resolve() / rel) for rel in meta["path"]],
        "dataset": name, "label": meta["label"], "split": _machine_split(meta),
        "machine": meta["machine"], "machine_id": meta["machine_id"],
        "fold": pd.array([pd.NA] * len(meta), dtype="Int64"),
        "source_id": meta["machine_id"].astype(str),
        "fault": _texts(meta["fault"].where(abnormal)),
        "severity": meta["severity"].astype(np.float64).where(abnormal),
        "snr_db": meta["snr_db"].astype(np.float64),
    })
    return pd.concat([table, _headers(list(table["path"]))], axis=1)


# --- toy urban sounds (UrbanSound8K layout) -------------------------------------------------

def _toy_urban(name: str, generate: bool) -> pd.DataFrame:
    """Return the table of the toy UrbanSound8K-style urban sounds."""
    folder = paths.toy_root() / synth.URBAN_DIR
    _ensure_toy(name, folder, synth.is_complete(folder),
                lambda: synth.make_urban_dataset(paths.toy_root()), generate)
    meta = pd.read_csv(folder / synth.writer.URBAN_METADATA)
    extras = pd.read_csv(folder / synth.writer.URBAN_EXTRAS)
    meta = meta.merge(extras, on="slice_file_name", how="left", validate="one_to_one")
    audio_dir = folder.resolve() / "audio"
    table = pd.DataFrame({
        "path": [str(audio_dir / f"fold{fold}" / file)
                 for fold, file in zip(meta["fold"], meta["slice_file_name"], strict=True)],
        "dataset": name, "label": meta["class"].astype(object),
        "split": np.where(meta["fold"] == URBAN_TEST_FOLD, "test", "train").astype(object),
        "machine": None, "machine_id": None,
        "fold": meta["fold"].astype("Int64"), "source_id": meta["fsID"].astype(str),
        "fault": None, "severity": np.nan, "snr_db": meta["snr_db"].astype(np.float64),
    })
    return pd.concat([table, _headers(list(table["path"]))], axis=1)


register("toy_machines", _toy_machines)
for _machine in synth.MACHINES:
    register(f"toy_{_machine}", _toy_machines)
register("toy_urban", _toy_urban)
