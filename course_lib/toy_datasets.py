"""Loaders of the toy datasets made by the course's simulator (introduced in chapter 03).

The toy machines are written in the MIMII layout and the toy urban sounds in the
UrbanSound8K layout (see :mod:`course_lib.synth`); these loaders turn them into the clip table
of :mod:`course_lib.clip_table`. A missing toy dataset is generated on first use. Load them
with ``course_lib.datasets.load("toy_fan")`` rather than calling this module directly.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from course_lib import paths, synth
from course_lib.clip_table import ANOMALY, NORMAL, add_headers, anomaly_split, tidy

URBAN_TEST_FOLD = 10
_MAKE_TOY = "python -m data_scripts.make_toy"


def loaders() -> dict[str, Callable[[str, bool], pd.DataFrame]]:
    """Return every toy dataset name with its ``loader(name, generate) -> table``."""
    table: dict[str, Callable[[str, bool], pd.DataFrame]] = {"toy_machines": _toy_machines}
    table.update({f"toy_{machine}": _toy_machines for machine in synth.MACHINES})
    table["toy_urban"] = _toy_urban
    return table


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
    meta["label"] = meta["label"].map({"normal": NORMAL, "abnormal": ANOMALY})
    abnormal = meta["label"] == ANOMALY
    table = pd.DataFrame({
        "path": [str(folder.resolve() / rel) for rel in meta["path"]],
        "dataset": name, "label": meta["label"],
        "machine": meta["machine"], "machine_id": meta["machine_id"],
        "source_id": meta["machine_id"].astype(str),
        "fault": meta["fault"].where(abnormal),
        "severity": meta["severity"].astype(np.float64).where(abnormal),
        "snr_db": meta["snr_db"].astype(np.float64),
    })
    table["split"] = anomaly_split(table)
    return tidy(add_headers(table))


def _toy_urban(name: str, generate: bool) -> pd.DataFrame:
    """Return the table of the toy UrbanSound8K-style urban sounds (fold 10 = test)."""
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
        "fold": meta["fold"], "source_id": meta["fsID"].astype(str),
        "snr_db": meta["snr_db"].astype(np.float64),
    })
    return tidy(add_headers(table))
