"""Every dataset as one tidy table of clips: the one function chapters call (chapter 03).

``load(name)`` returns a :class:`pandas.DataFrame` with one row per audio file, sorted by
path, with the columns of :data:`COLUMNS` (documented in :mod:`course_lib.clip_table`).
``name`` may be

* a toy dataset made by the course's simulator (:func:`names`): ``toy_machines``,
  ``toy_fan``, ``toy_pump``, ``toy_slider``, ``toy_valve`` or ``toy_urban``; generated on
  first use (:mod:`course_lib.toy_datasets`);
* a real dataset downloaded with ``python -m data_scripts.download NAME``
  (:func:`course_lib.real_datasets.real_names`, case-insensitive), e.g. ``anomaly_mini``,
  ``mimii:fan:6dB``, ``dcase2020_task2:fan``, ``esc50`` or ``urbansound8k``;
* ``"folder:PATH"``: your own recordings in ``PATH/<label>/*.wav`` or
  ``PATH/train/<label>/*.wav`` + ``PATH/test/<label>/*.wav``
  (:func:`course_lib.real_datasets.load_folder`).

Splits: for machines, per (machine, machine ID), the test set is all anomalies plus as many
normal clips, the first ones by file name, as in the MIMII baseline (DCASE uses its own
``train/``/``test/`` folders, anomaly_mini its file names); the other normal clips are for
training. Sound classes carry their folds for cross-validation
(:func:`course_lib.clip_table.fold_splits`); their ``split`` marks the last fold as test.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from course_lib import real_datasets, toy_datasets
from course_lib.clip_table import COLUMNS, tidy
from course_lib.real_datasets import DatasetError, DatasetNotFoundError

__all__ = ["COLUMNS", "FOLDER_PREFIX", "DatasetError", "DatasetNotFoundError", "Loader", "load",
           "names", "register"]

FOLDER_PREFIX = "folder:"

Loader = Callable[[str, bool], pd.DataFrame]
_LOADERS: dict[str, Loader] = {}


def register(name: str, loader: Loader) -> None:
    """Add ``loader(name, generate) -> table`` to the registry under ``name`` (chapter 03)."""
    _LOADERS[name] = loader


def names() -> list[str]:
    """Return the names of all registered (toy) datasets, e.g. ``"toy_fan"`` (chapter 03).

    :func:`load` also accepts the real dataset names of
    :func:`course_lib.real_datasets.real_names` and ``"folder:PATH"``.
    """
    return list(_LOADERS)


def load(name: str, *, generate: bool = True, seed: int = 0) -> pd.DataFrame:
    """Return the tidy table of dataset ``name``, one row per clip (introduced in chapter 03).

    Args:
        name: a toy name (:func:`names`), a real dataset name
            (:func:`course_lib.real_datasets.real_names`, case-insensitive) or
            ``"folder:PATH"`` for a folder of your own recordings.
        generate: create a missing toy dataset first (deterministic, takes ~10-20 s once);
            with ``False`` a missing toy dataset raises instead. Real data is never fetched
            here: download it with ``python -m data_scripts.download NAME``.
        seed: seed of the split of a ``folder:`` dataset without train/test folders.

    Raises:
        ValueError: unknown ``name`` (the message lists the toy and real names and the
            ``folder:`` form).
        FileNotFoundError: a toy dataset is missing and ``generate`` is False.
        DatasetNotFoundError: a real dataset is not downloaded (the message gives the
            download command).
        DatasetError: unexpected layout or unreadable file (the message names it).
    """
    if name in _LOADERS:
        return tidy(_LOADERS[name](name, generate))
    if name[: len(FOLDER_PREFIX)].lower() == FOLDER_PREFIX:
        folder = name[len(FOLDER_PREFIX):]
        if not folder.strip():
            raise ValueError(f"{name!r} names no folder; write \"folder:PATH\", e.g. "
                             "\"folder:~/recordings/my_pump\".")
        return real_datasets.load_folder(folder, seed=seed)
    real = {real_name.lower() for real_name in real_datasets.real_names()}
    if name.strip().lower() in real:
        return real_datasets.load_real(name)
    raise ValueError(
        f"unknown dataset {name!r}; choose a toy dataset ({', '.join(names())}), a real "
        f"dataset ({', '.join(real_datasets.real_names())}; download it first with "
        "`python -m data_scripts.download NAME`), or \"folder:PATH\" for a folder of your own "
        "recordings."
    )


for _name, _loader in toy_datasets.loaders().items():
    register(_name, _loader)
