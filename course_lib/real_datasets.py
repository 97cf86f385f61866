"""Real datasets and your own recordings as the course's tidy clip table (chapter 03).

Every loader returns one row per audio file with the same columns and dtypes as the toy
datasets (:data:`course_lib.clip_table.COLUMNS`, documented there), sorted by ``path`` with a
fresh RangeIndex. Specific to real data:

* ``dataset`` is the name used to load it (``"esc50"``, ``"mimii:fan:6dB"``,
  ``"folder:/abs/path"``);
* ``machine`` is the machine type of MIMII/DCASE/anomaly_mini and the folder's name for your
  own folders; ``machine_id`` is e.g. ``"id_00"`` (the folder's name for folders);
* ``fold`` is the official fold (ESC-50 1-5, UrbanSound8K 1-10) or the seeded fold of a
  ``<label>/*.wav`` folder; ``source_id`` is the machine ID, ``src_file`` (ESC-50), ``fsID``
  (UrbanSound8K) or ``<label>/<recording>`` (folders);
* ``fault`` and ``severity`` are NA (not published per clip); ``snr_db`` is the mixing SNR
  of MIMII and anomaly_mini, NaN otherwise.

Splits follow each dataset's convention: MIMII and anomaly_mini (when its metadata has no
split) use :func:`course_lib.clip_table.anomaly_split` (per machine and machine_id, all
anomalies plus the same number of normal clips, the last by file name, are test); DCASE uses
its ``train/`` and ``test/`` folders; ESC-50 uses fold 5 and UrbanSound8K fold 10 as test.

Real datasets are installed with ``python -m data_scripts.download NAME``; loading one that is
missing raises :class:`DatasetNotFoundError` naming that command. Chapters load them with
``course_lib.datasets.load(NAME)``.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from course_lib import paths
from course_lib.clip_table import (
    ANOMALY,
    NORMAL,
    DatasetError,
    add_headers,
    anomaly_split,
    tidy,
)
from data_scripts import lockfile, registry
from data_scripts.registry import Source

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")


class DatasetNotFoundError(FileNotFoundError):
    """A real dataset is not installed; the message names the download command (chapter 03)."""


def real_names() -> list[str]:
    """Return the names :func:`load_real` accepts (chapter 03)."""
    return registry.names()


# --------------------------------------------------------------------------- shared helpers


def _locate(folder: Path, relative: str) -> Path:
    """Return the folder at or one level below ``folder`` that contains ``relative``.

    Raises:
        DatasetError: not found (the archive layout is unexpected).
    """
    for candidate in [folder, *sorted(p for p in folder.iterdir() if p.is_dir())]:
        if (candidate / relative).exists():
            return candidate
    raise DatasetError(
        f"Expected {relative} inside {folder} but it is not there: the extracted archive has "
        "an unexpected layout. Delete the folder and run the download command again."
    )


def _audio_files(folder: Path) -> list[Path]:
    """Return the audio files below ``folder`` (recursively), sorted."""
    return sorted(p for p in folder.rglob("*")
                  if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)


# --------------------------------------------------------------------------- real datasets


def dataset_folder(name: str, *, root: Path | None = None) -> Path:
    """Return the folder of the installed real dataset ``name`` (chapter 03).

    Raises:
        KeyError: unknown name.
        DatasetNotFoundError: not downloaded, incomplete, or not matching the checksum lock;
            the message gives the exact download command.
    """
    source = registry.get(name)
    root = (root or paths.data_root()).expanduser().absolute()
    problem = lockfile.marker_problem(root, source)
    if problem is not None:
        raise DatasetNotFoundError(
            f"Dataset {source.name!r} is not ready: {problem}. Download it with:\n"
            f"    python -m data_scripts.download {source.name}\n"
            f"or, if you already have {source.filename}:\n"
            f"    python -m data_scripts.download {source.name} --from-file PATH\n"
            f"(data root {root}; set ${paths.DATA_ENV_VAR} to use another one)"
        )
    return root / source.folder


def _read_mimii(folder: Path, source: Source) -> pd.DataFrame:
    """Return the MIMII table: ``id_XX/{normal,abnormal}/*.wav`` of one machine and SNR."""
    _, machine, snr = source.name.split(":")
    base = folder if any(folder.glob("id_*")) else _locate(folder, machine) / machine
    rows = []
    for id_dir in sorted(base.glob("id_*")):
        for condition, label in (("normal", NORMAL), ("abnormal", ANOMALY)):
            rows += [{"path": str(p), "label": label, "machine_id": id_dir.name}
                     for p in sorted((id_dir / condition).glob("*.wav"))]
    if not rows:
        raise DatasetError(f"No MIMII clips (id_XX/normal/*.wav) found below {base}.")
    table = add_headers(pd.DataFrame(rows)).assign(
        dataset=source.name, machine=machine, snr_db=registry.MIMII_SNRS[snr])
    table["source_id"] = table["machine_id"]
    table["split"] = anomaly_split(table)
    return table


_DCASE_NAME = re.compile(r"^(normal|anomaly)_(id_\d+)_\d+\.wav$")


def _read_dcase(folder: Path, source: Source) -> pd.DataFrame:
    """Return the DCASE 2020 Task 2 table from ``train/`` and ``test/`` of one machine type."""
    machine = source.name.split(":")[1]
    base = _locate(folder, "train")
    rows = []
    for split in ("train", "test"):
        for path in sorted((base / split).glob("*.wav")):
            match = _DCASE_NAME.match(path.name)
            if match is None:
                raise DatasetError(
                    f"Unexpected file name {path}: DCASE 2020 files are named "
                    "{normal,anomaly}_id_XX_NNNNNNNN.wav. Remove the file or re-download."
                )
            rows.append({"path": str(path), "split": split, "label": match[1],
                         "machine_id": match[2], "source_id": match[2]})
    return add_headers(pd.DataFrame(rows)).assign(dataset=source.name, machine=machine)


def _read_esc50(folder: Path, source: Source) -> pd.DataFrame:
    """Return the ESC-50 table from ``meta/esc50.csv`` and ``audio/`` (fold 5 = test)."""
    base = _locate(folder, "meta/esc50.csv")
    meta = pd.read_csv(base / "meta" / "esc50.csv")
    rows = [{"path": str(base / "audio" / name), "label": label, "fold": int(fold),
             "source_id": str(src), "split": "test" if int(fold) == 5 else "train"}
            for name, label, fold, src in zip(meta["filename"], meta["category"], meta["fold"],
                                              meta["src_file"], strict=True)]
    _require_files(rows, base / "meta" / "esc50.csv")
    return add_headers(pd.DataFrame(rows)).assign(dataset=source.name)


def _read_urbansound8k(folder: Path, source: Source) -> pd.DataFrame:
    """Return the UrbanSound8K table from ``metadata/UrbanSound8K.csv`` (fold 10 = test)."""
    base = _locate(folder, "metadata/UrbanSound8K.csv")
    meta = pd.read_csv(base / "metadata" / "UrbanSound8K.csv")
    rows = [{"path": str(base / "audio" / f"fold{fold}" / name), "label": label,
             "fold": int(fold), "source_id": str(fs_id),
             "split": "test" if int(fold) == 10 else "train"}
            for name, label, fold, fs_id in zip(meta["slice_file_name"], meta["class"],
                                                meta["fold"], meta["fsID"], strict=True)]
    _require_files(rows, base / "metadata" / "UrbanSound8K.csv")
    return add_headers(pd.DataFrame(rows)).assign(dataset=source.name)


def _require_files(rows: list[dict[str, object]], metadata: Path) -> None:
    """Raise :class:`DatasetError` if files listed in ``metadata`` are missing on disk."""
    missing = [str(row["path"]) for row in rows if not Path(str(row["path"])).is_file()]
    if missing:
        raise DatasetError(
            f"{len(missing)} file(s) listed in {metadata} are missing, e.g. {missing[:3]}. "
            "The extraction is incomplete: delete the dataset folder and download it again."
        )


# anomaly_mini: its metadata.csv layout could not be confirmed, so columns are matched loosely.
_FILE_COLUMNS = ("filename", "file_name", "file", "path", "filepath", "file_path", "fname",
                 "wav", "audio", "audio_file")
_LABEL_COLUMNS = ("label", "class", "category", "condition", "status", "state", "target",
                  "anomaly", "is_anomaly", "abnormal", "is_abnormal")
_SPLIT_COLUMNS = ("split", "subset", "set", "partition")
_ID_COLUMNS = ("machine_id", "id", "model_id")
_LABEL_VALUES = {
    **dict.fromkeys(("normal", "ok", "good", "0", "false", "no"), NORMAL),
    **dict.fromkeys(("abnormal", "anomaly", "anomalous", "broken", "faulty", "1", "true",
                     "yes"), ANOMALY),
}
_SPLIT_VALUES = {
    **dict.fromkeys(("train", "training", "dev", "development"), "train"),
    **dict.fromkeys(("test", "testing", "eval", "evaluation"), "test"),
}


def _pick(columns: Iterable[str], wanted: tuple[str, ...]) -> str | None:
    """Return the first column whose normalised name is in ``wanted``, or None."""
    lookup = {str(c).strip().lower(): str(c) for c in columns}
    return next((lookup[w] for w in wanted if w in lookup), None)


def _label_from_path(path: Path) -> str | None:
    """Return normal/anomaly from a folder or file-name prefix of ``path``, else None."""
    words = [part.lower() for part in path.parent.parts] + [path.name.lower().split("_")[0]]
    found = {_LABEL_VALUES[w] for w in words if w in ("normal", "abnormal", "anomaly")}
    return found.pop() if len(found) == 1 else None


def _mapped(values: pd.Series, mapping: dict[str, str], what: str, metadata: Path) -> pd.Series:
    """Return ``values`` mapped through ``mapping`` (case-insensitive), or raise DatasetError."""
    keys = values.astype(str).str.strip().str.lower()
    unknown = sorted(set(keys) - set(mapping))
    if unknown:
        raise DatasetError(
            f"{metadata}: unknown {what} value(s) {unknown}; expected one of {sorted(mapping)}."
        )
    return keys.map(mapping)


def _machine_id(value: object, path: Path) -> str:
    """Return ``id_XX`` from a metadata value or the file path; ``"unknown"`` if neither."""
    text = "" if pd.isna(value) else str(value).strip()
    if text.isdigit():
        return f"id_{int(text):02d}"
    match = re.search(r"id_\d+", text or str(path))
    return match[0] if match else "unknown"


def _resolve_paths(names: pd.Series, base: Path, metadata: Path) -> list[Path]:
    """Return the audio file of each metadata entry: relative to ``base``, else by file name."""
    by_name: dict[str, list[Path]] = {}
    for path in _audio_files(base):
        by_name.setdefault(path.name, []).append(path)
    resolved: list[Path] = []
    for name in names.astype(str):
        direct = base / name
        matches = [direct] if direct.is_file() else by_name.get(Path(name).name, [])
        if len(matches) != 1:
            raise DatasetError(
                f"{metadata} lists {name!r}, which cannot be found (uniquely) below {base}. "
                "Delete the anomaly_mini folder and download it again."
            )
        resolved.append(matches[0])
    return resolved


def _read_anomaly_mini(folder: Path, source: Source) -> pd.DataFrame:
    """Return the anomaly_mini table from its ``metadata.csv`` (read tolerantly).

    Assumed layout (not confirmed from the published archive): a ``metadata.csv`` at the top
    (or one folder down) with

    * a file column (``filename``, ``file``, ``path``, ``fname``, …) relative to the CSV's
      folder; files are also found by name anywhere below it;
    * a label column (``label``, ``class``, ``condition``, ``status``, ``anomaly``, …) with
      ``normal``/``abnormal``/``anomaly`` or 0/1 values; without it the label comes from a
      ``normal``/``abnormal`` folder or file-name prefix;
    * optionally a split column (``split``, ``subset``, ``set``: train/test), else a
      ``train``/``test`` folder in the path, else the MIMII rule (test = 5 anomalies + 5 normals);
    * optionally ``machine_id``/``id``, else ``id_XX`` from the path, else ``"unknown"``.
    """
    base = _locate(folder, "metadata.csv")
    metadata = base / "metadata.csv"
    meta = pd.read_csv(metadata)
    file_column = _pick(meta.columns, _FILE_COLUMNS)
    label_column = _pick(meta.columns, _LABEL_COLUMNS)
    if file_column is None:
        raise DatasetError(
            f"{metadata} has columns {list(meta.columns)}, but none of the expected file "
            f"columns {list(_FILE_COLUMNS)} (and optionally a label column such as "
            f"{list(_LABEL_COLUMNS[:4])}). Please report this layout to the course authors."
        )
    files = _resolve_paths(meta[file_column], base, metadata)
    if label_column is not None:
        labels = list(_mapped(meta[label_column], _LABEL_VALUES, "label", metadata))
    else:
        labels = [_label_from_path(path.relative_to(base)) for path in files]
        if None in labels:
            raise DatasetError(
                f"{metadata} has no label column (expected one of {list(_LABEL_COLUMNS)}) and "
                "the file paths do not say normal/abnormal either."
            )
    id_column = _pick(meta.columns, _ID_COLUMNS)
    ids = meta[id_column] if id_column else pd.Series(pd.NA, index=meta.index)
    rows = [{"path": str(path), "label": label, "machine_id": _machine_id(value, path)}
            for path, label, value in zip(files, labels, ids, strict=True)]
    table = add_headers(pd.DataFrame(rows)).assign(dataset=source.name, machine="valve",
                                                   snr_db=6.0)
    table["source_id"] = table["machine_id"]
    table["split"] = _mini_split(table, meta, metadata, base)
    return table


def _mini_split(table: pd.DataFrame, meta: pd.DataFrame, metadata: Path, base: Path) -> pd.Series:
    """Return anomaly_mini's split: split column, else train/test folders, else the MIMII rule."""
    split_column = _pick(meta.columns, _SPLIT_COLUMNS)
    if split_column is not None:
        return pd.Series(list(_mapped(meta[split_column], _SPLIT_VALUES, "split", metadata)),
                         index=table.index)
    folders = [next((p.lower() for p in Path(path).relative_to(base).parts[:-1]
                     if p.lower() in ("train", "test")), None) for path in table["path"]]
    if None not in folders:
        return pd.Series(folders, index=table.index)
    return anomaly_split(table)


_READERS: dict[str, Callable[[Path, Source], pd.DataFrame]] = {
    "anomaly_mini": _read_anomaly_mini,
    "mimii": _read_mimii,
    "dcase2020_task2": _read_dcase,
    "esc50": _read_esc50,
    "urbansound8k": _read_urbansound8k,
}


def load_real(name: str, *, root: Path | None = None) -> pd.DataFrame:
    """Return the clip table of the installed real dataset ``name`` (chapter 03).

    Args:
        name: ``anomaly_mini``, ``mimii:<machine>:<snr>``, ``dcase2020_task2:<machine>``,
            ``esc50`` or ``urbansound8k`` (see :func:`real_names`; case-insensitive).
        root: data root; default ``course_lib.paths.data_root()`` (``$COURSE_DATA``).

    Raises:
        KeyError: unknown name.
        DatasetNotFoundError: not downloaded yet (the message gives the command).
        DatasetError: unexpected layout or unreadable file (the message names it).
    """
    source = registry.get(name)
    folder = dataset_folder(source.name, root=root)
    reader = _READERS[source.name.split(":")[0]]
    return tidy(reader(folder, source))


# --------------------------------------------------------------------------- own recordings


def _visible(entries: Iterable[Path]) -> list[Path]:
    """Return ``entries`` without hidden names (``.DS_Store``, ``.ipynb_checkpoints``), sorted."""
    return sorted(p for p in entries if not p.name.startswith("."))


def _scan_labels(base: Path, skipped: list[Path]) -> list[dict[str, object]]:
    """Return one row per audio file in ``base/<label>/…``; collect non-audio files.

    A file directly in a label folder is its own recording (``source_id`` = label/stem); files
    in a sub-folder ``<label>/<recording>/`` share ``source_id`` = label/recording.

    Raises:
        DatasetError: audio outside a label folder, no label folders, or empty label folders.
    """
    loose = [p for p in _visible(base.iterdir()) if p.is_file()]
    stray_audio = [p for p in loose if p.suffix.lower() in AUDIO_SUFFIXES]
    if stray_audio:
        raise DatasetError(
            f"Audio file(s) {[str(p) for p in stray_audio[:3]]} are not inside a label folder. "
            f"Move each file into {base}/<label>/ (for example {base}/normal/)."
        )
    skipped += loose
    label_dirs = [p for p in _visible(base.iterdir()) if p.is_dir()]
    if not label_dirs:
        raise DatasetError(f"{base} has no label folders; expected {base}/<label>/*.wav.")
    rows, empty = [], []
    for label_dir in label_dirs:
        files = [p for p in sorted(label_dir.rglob("*")) if p.is_file()
                 and not any(part.startswith(".") for part in p.relative_to(label_dir).parts)]
        clips = [p for p in files if p.suffix.lower() in AUDIO_SUFFIXES]
        skipped += [p for p in files if p.suffix.lower() not in AUDIO_SUFFIXES]
        empty += [label_dir] if not clips else []
        for clip in clips:
            parts = clip.relative_to(label_dir).parts
            group = parts[0] if len(parts) > 1 else clip.stem
            rows.append({"path": str(clip), "label": label_dir.name,
                         "source_id": f"{label_dir.name}/{group}"})
    if empty:
        raise DatasetError(
            f"Label folder(s) {[str(p) for p in empty]} contain no audio files "
            f"({', '.join(AUDIO_SUFFIXES)}). Add recordings or remove the empty folder(s)."
        )
    return rows


def _assign_folds(table: pd.DataFrame, *, seed: int, n_folds: int) -> pd.Series:
    """Return a seeded fold (1..n_folds) per clip, stratified by label, grouped by source_id.

    Within each label the recording groups are shuffled and dealt round-robin, starting with
    fold ``n_folds`` (the test fold), so every label with two or more groups is in both splits.
    """
    rng = np.random.default_rng(seed)
    fold_of_group: dict[str, int] = {}
    for label in sorted(table["label"].unique()):
        groups = sorted(table.loc[table["label"] == label, "source_id"].unique())
        if len(groups) < 2:
            warnings.warn(f"Label {label!r} has a single recording; it is only in the test "
                          "split. Add more recordings for a useful train/test split.",
                          stacklevel=3)
        for rank, index in enumerate(rng.permutation(len(groups))):
            fold_of_group[groups[index]] = (rank + n_folds - 1) % n_folds + 1
    return table["source_id"].map(fold_of_group)


def load_folder(path: str | Path, *, seed: int = 0, n_folds: int = 5) -> pd.DataFrame:
    """Return the clip table of your own recordings in ``path`` (chapter 03).

    Two layouts are accepted (``.wav``, ``.flac`` or ``.ogg``; sub-folders inside a label
    folder group the segments of one recording so they never straddle train and test):

    * ``path/train/<label>/*.wav`` and ``path/test/<label>/*.wav``: those splits are used,
      ``fold`` is NA.
    * ``path/<label>/*.wav``: a seeded split stratified by label: ``fold`` 1..``n_folds`` for
      cross-validation, fold ``n_folds`` is the test split (about 1/n_folds of each label).

    ``label`` is the folder name. For the anomaly chapters ``normal`` is the normal class and
    every other label is an anomaly (see :func:`to_anomaly_labels`); they train on normal
    clips only. ``machine`` and ``machine_id`` are the folder's name, ``source_id`` is
    ``<label>/<file stem or recording sub-folder>``. Non-audio files (README, images) are
    skipped with a warning that lists them; hidden files are ignored. Nothing on disk is
    ever changed.

    Raises:
        DatasetError: missing folder, mixed layouts, empty label folders, audio outside a
            label folder or an unreadable audio file (each message names the path).
    """
    root = Path(path).expanduser().absolute()
    if not root.is_dir():
        raise DatasetError(f"folder dataset: {root} is not a folder. Give the folder that "
                           "holds <label>/*.wav or train/<label>/*.wav and test/<label>/*.wav.")
    if not isinstance(n_folds, int) or n_folds < 2:
        raise DatasetError(f"n_folds must be an integer >= 2, got {n_folds!r}.")
    top = {p.name for p in _visible(root.iterdir()) if p.is_dir()}
    skipped: list[Path] = []
    if top & {"train", "test"}:
        if top != {"train", "test"}:
            raise DatasetError(
                f"{root} mixes train/test folders with other folders {sorted(top)}. Use either "
                "train/<label>/ + test/<label>/ or only <label>/ folders."
            )
        rows = [{**row, "split": split} for split in ("train", "test")
                for row in _scan_labels(root / split, skipped)]
        table = pd.DataFrame(rows)
    else:
        table = pd.DataFrame(_scan_labels(root, skipped))
        table["fold"] = _assign_folds(table, seed=seed, n_folds=n_folds)
        table["split"] = np.where(table["fold"] == n_folds, "test", "train")
    if skipped:
        warnings.warn(f"Skipped {len(skipped)} non-audio file(s) in {root}: "
                      f"{[str(p.relative_to(root)) for p in skipped]}", stacklevel=2)
    table = table.assign(dataset=f"folder:{root}", machine=root.name, machine_id=root.name)
    return tidy(add_headers(table))


def to_anomaly_labels(table: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``table`` with labels ``normal``/``anomaly`` for anomaly chapters (03).

    Every label other than ``normal`` becomes ``anomaly``; the original label is kept in
    ``fault`` where that was empty.

    Raises:
        DatasetError: the table has no clip labelled ``normal``.
    """
    if not (table["label"] == NORMAL).any():
        raise DatasetError("Anomaly detection needs clips labelled 'normal' (a normal/ folder); "
                           f"found labels {sorted(table['label'].unique())}.")
    out = table.copy()
    anomalous = out["label"] != NORMAL
    out["fault"] = out["fault"].where(~anomalous | out["fault"].notna(), out["label"])
    out.loc[anomalous, "label"] = ANOMALY
    return out
