"""Real datasets and your own recordings as the course's tidy clip table (chapter 03).

Every loader returns one row per audio file with the same columns and dtypes as the toy
datasets (:data:`course_lib.clip_table.COLUMNS`, documented there), sorted by ``path`` with a
fresh RangeIndex. Specific to real data:

* ``dataset`` is the name used to load it (``"esc50"``, ``"mimii:fan:6dB"``,
  ``"folder:/abs/path"``);
* ``machine`` is the machine type of MIMII/DCASE/anomaly_mini and the folder's name for your
  own folders; ``machine_id`` is e.g. ``"id_00"`` (NA for anomaly_mini, which has no machine
  IDs; the folder's name for folders);
* ``fold`` is the official fold (ESC-50 1-5, UrbanSound8K 1-10) or the seeded fold of a
  ``<label>/*.wav`` folder; ``source_id`` is the machine ID, ``src_file`` (ESC-50), ``fsID``
  (UrbanSound8K) or ``<label>/<recording>`` (folders);
* ``fault`` and ``severity`` are NA (not published per clip); ``snr_db`` is the mixing SNR
  of MIMII and anomaly_mini, NaN otherwise.

Each real dataset has exactly one known layout, the published one (see the ``documentation``
of its :class:`~course_lib.data.registry.Source`), and its loader parses that layout strictly:
anything else is a :class:`DatasetError` that names the file and what was expected, and
says what to do (:func:`course_lib.clip_table.source_advice`). Files whose sample rate or
channel count differ from the published format are refused too.

Splits follow each dataset's convention: MIMII uses the MIMII baseline's rule
(:func:`course_lib.clip_table.anomaly_split`: per machine ID, all anomalies plus as many
normal clips, the first by file name, are test); DCASE uses its ``train/`` and ``test/``
folders and anomaly_mini its file names. ESC-50 and UrbanSound8K are evaluated by
cross-validation over their folds (:func:`course_lib.clip_table.fold_splits`); their
``split`` column marks the last fold (5 and 10) as test for chapters that need one split.

Real datasets are installed with ``python -m data_scripts.download NAME``; loading one that is
missing raises :class:`DatasetNotFoundError` naming that command. Chapters load them with
``course_lib.datasets.load(NAME)``.
"""

from __future__ import annotations

import csv
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
    source_advice,
    tidy,
)
from course_lib.data import lockfile, registry
from course_lib.data.registry import Source
from course_lib.errors import CourseError

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")


class DatasetNotFoundError(CourseError, FileNotFoundError):
    """A real dataset is not installed; the message names the download command (chapter 03)."""


def real_names() -> list[str]:
    """Return the names :func:`load_real` accepts (chapter 03)."""
    return registry.names()


# --------------------------------------------------------------------------- shared helpers


def _layout_error(source: Source, what: str) -> DatasetError:
    """Return the error for a departure from the published layout of ``source``."""
    return DatasetError(f"{what}. This is not the published layout of {source.name} "
                        f"({source.documentation}). To fix it: {source_advice(source.name)}.")


def _require(path: Path, source: Source, what: str) -> Path:
    """Return ``path`` if it exists, else raise the layout error saying ``what`` it holds."""
    if not path.exists():
        raise _layout_error(source, f"{path} is missing; it should hold {what}")
    return path


def _wav_files(folder: Path) -> list[Path]:
    """Return the files in ``folder`` (not recursive, hidden names skipped), sorted."""
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def _check_format(table: pd.DataFrame, source: Source) -> pd.DataFrame:
    """Return ``table`` after checking every file has the published rate and channel count."""
    for column, expected, unit in (("sample_rate", source.sample_rate, " Hz"),
                                   ("channels", source.channels, " channel(s)")):
        if expected is None or not len(table):
            continue
        wrong = table[table[column] != expected]
        if len(wrong):
            raise _layout_error(
                source, f"{len(wrong)} file(s) have {column.replace('_', ' ')} "
                f"{sorted(set(wrong[column]))}, e.g. {wrong['path'].iloc[0]}, but every "
                f"{source.name} file has {expected}{unit}")
    return table


def _with_headers(rows: list[dict[str, object]], source: Source) -> pd.DataFrame:
    """Return the table of ``rows`` with header facts, checked against the published format."""
    if not rows:
        raise _layout_error(source, "no audio files were found")
    table = add_headers(pd.DataFrame(rows), advice=source_advice(source.name))
    return _check_format(table.assign(dataset=source.name), source)


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


_MIMII_NAME = re.compile(r"^\d{8}\.wav$")
_MIMII_CONDITIONS = {"normal": NORMAL, "abnormal": ANOMALY}


def _read_mimii(folder: Path, source: Source) -> pd.DataFrame:
    """Return the MIMII table from ``id_XX/{normal,abnormal}/NNNNNNNN.wav`` of one archive.

    The archive's top folder (the machine type) is the dataset folder; the split is the
    MIMII baseline's (:func:`~course_lib.clip_table.anomaly_split`).
    """
    _, machine, snr = source.name.split(":")
    id_dirs = sorted(p for p in folder.glob("id_*") if p.is_dir())
    if not id_dirs:
        raise _layout_error(source, f"{folder} holds no id_XX/ folders")
    rows = []
    for id_dir in id_dirs:
        extra = sorted(p.name for p in id_dir.iterdir()
                       if not p.name.startswith(".") and p.name not in _MIMII_CONDITIONS)
        if extra:
            raise _layout_error(source, f"{id_dir} holds {extra}; expected only normal/ and "
                                "abnormal/")
        for condition, label in _MIMII_CONDITIONS.items():
            files = _wav_files(_require(id_dir / condition, source, f"{condition} clips"))
            odd = [p for p in files if not _MIMII_NAME.match(p.name)]
            if odd:
                raise _layout_error(source, f"unexpected file {odd[0]}; MIMII clips are named "
                                    "NNNNNNNN.wav (8 digits)")
            rows += [{"path": str(p), "label": label, "machine_id": id_dir.name}
                     for p in files]
    table = _with_headers(rows, source).assign(machine=machine,
                                               snr_db=registry.MIMII_SNRS[snr])
    table["source_id"] = table["machine_id"]
    table["split"] = anomaly_split(table)
    return table


_DCASE_NAME = re.compile(r"^(normal|anomaly)_(id_\d{2})_\d{8}\.wav$")


def _read_dcase(folder: Path, source: Source) -> pd.DataFrame:
    """Return the DCASE 2020 Task 2 table from ``train/`` and ``test/`` of one machine type.

    Training clips are all normal; the test folder holds normal clips and anomalies in
    unequal numbers, kept as published.
    """
    machine = source.name.split(":")[1]
    rows = []
    for split in ("train", "test"):
        for path in _wav_files(_require(folder / split, source, f"the {split} clips")):
            match = _DCASE_NAME.match(path.name)
            if match is None or (split == "train" and match[1] != NORMAL):
                raise _layout_error(
                    source, f"unexpected file name {path}; DCASE 2020 files are named "
                    "normal_id_XX_NNNNNNNN.wav in train/ and {normal,anomaly}_id_XX_NNNNNNNN.wav "
                    "in test/")
            rows.append({"path": str(path), "split": split, "label": match[1],
                         "machine_id": match[2], "source_id": match[2]})
    return _with_headers(rows, source).assign(machine=machine)


def _read_metadata(path: Path, columns: tuple[str, ...], source: Source) -> pd.DataFrame:
    """Return the CSV at ``path`` after checking it has exactly the published ``columns``."""
    meta = pd.read_csv(_require(path, source, "the metadata"), dtype=str,
                       keep_default_na=False)
    if tuple(meta.columns) != columns:
        raise _layout_error(source, f"{path} has the columns {list(meta.columns)}; the "
                            f"published ones are {list(columns)}")
    return meta


def _require_listed(rows: list[dict[str, object]], metadata: Path, source: Source) -> None:
    """Raise the layout error if files listed in ``metadata`` are missing on disk."""
    missing = [str(row["path"]) for row in rows if not Path(str(row["path"])).is_file()]
    if missing:
        raise _layout_error(source, f"{len(missing)} file(s) listed in {metadata} are missing, "
                            f"e.g. {missing[:3]}")


_ESC50_COLUMNS = ("filename", "fold", "target", "category", "esc10", "src_file", "take")


def _read_esc50(folder: Path, source: Source) -> pd.DataFrame:
    """Return the ESC-50 table from ``meta/esc50.csv`` and ``audio/`` (5 folds)."""
    metadata = folder / "meta" / "esc50.csv"
    meta = _read_metadata(metadata, _ESC50_COLUMNS, source)
    rows = []
    for name, fold, target, category, src, take in zip(
            meta["filename"], meta["fold"], meta["target"], meta["category"],
            meta["src_file"], meta["take"], strict=True):
        if name != f"{fold}-{src}-{take}-{target}.wav":
            raise _layout_error(source, f"{metadata} lists {name!r} with fold {fold}, "
                                f"src_file {src}, take {take}, target {target}; ESC-50 names "
                                "are {fold}-{src_file}-{take}-{target}.wav")
        rows.append({"path": str(folder / "audio" / name), "label": category,
                     "fold": int(fold), "source_id": src,
                     "split": "test" if int(fold) == 5 else "train"})
    _require_listed(rows, metadata, source)
    return _with_headers(rows, source)


_URBAN_COLUMNS = ("slice_file_name", "fsID", "start", "end", "salience", "fold", "classID",
                  "class")


def _read_urbansound8k(folder: Path, source: Source) -> pd.DataFrame:
    """Return the UrbanSound8K table from ``metadata/UrbanSound8K.csv`` (10 folds).

    Files keep the format of their Freesound upload (rates, channels and bit depths vary),
    so no format is enforced; chapters resample and mix down as they state.
    """
    metadata = folder / "metadata" / "UrbanSound8K.csv"
    meta = _read_metadata(metadata, _URBAN_COLUMNS, source)
    rows = [{"path": str(folder / "audio" / f"fold{fold}" / name), "label": label,
             "fold": int(fold), "source_id": fs_id,
             "split": "test" if int(fold) == 10 else "train"}
            for name, label, fold, fs_id in zip(meta["slice_file_name"], meta["class"],
                                                meta["fold"], meta["fsID"], strict=True)]
    _require_listed(rows, metadata, source)
    return _with_headers(rows, source)


_MINI_NAME = re.compile(r"^(train|test_normal|test_anomaly)_\d+\.wav$")
_MINI_ORIGINAL = re.compile(r"^\d{8}\.wav$")
_MINI_PARTS = {"train": ("train", NORMAL), "test_normal": ("test", NORMAL),
               "test_anomaly": ("test", ANOMALY)}


def _mini_rows(metadata: Path, source: Source) -> list[tuple[str, str]]:
    """Return the (course name, MIMII name) rows of anomaly_mini's header-less metadata."""
    with metadata.open(newline="", encoding="utf-8") as handle:
        lines = [row for row in csv.reader(handle) if row]
    seen: set[str] = set()
    for number, row in enumerate(lines, start=1):
        where = f"{metadata}, line {number} ({','.join(row)!r})"
        if len(row) != 2:
            raise _layout_error(source, f"{where} has {len(row)} fields; each line holds "
                                "two: course file name, original MIMII file name")
        if not (_MINI_NAME.match(row[0]) and _MINI_ORIGINAL.match(row[1])):
            raise _layout_error(source, f"{where} is not `train_N.wav|test_normal_N.wav|"
                                "test_anomaly_N.wav,NNNNNNNN.wav` (the file has no header)")
        if row[0] in seen:
            raise _layout_error(source, f"{where} lists {row[0]} a second time")
        seen.add(row[0])
    return [(row[0], row[1]) for row in lines]


def _read_anomaly_mini(folder: Path, source: Source) -> pd.DataFrame:
    """Return the anomaly_mini table: ``metadata.csv`` (no header) and 30 WAVs, flat.

    Label and split come from the name: ``train_N.wav`` (normal, train),
    ``test_normal_N.wav`` and ``test_anomaly_N.wav`` (test). The clips are MIMII valve at
    6 dB and have no machine ID (``machine_id`` is NA: one detector for all clips).
    """
    metadata = _require(folder / "metadata.csv", source, "the list of clips")
    listed = _mini_rows(metadata, source)
    names = {name for name, _ in listed}
    unlisted = [p.name for p in _wav_files(folder) if p.suffix.lower() in AUDIO_SUFFIXES
                and p.name not in names]
    if unlisted:
        raise _layout_error(source, f"{folder} holds audio files that {metadata} does not "
                            f"list: {unlisted[:3]}")
    rows = []
    for name, _ in listed:
        split, label = _MINI_PARTS[name.rsplit("_", 1)[0]]
        rows.append({"path": str(folder / name), "split": split, "label": label})
    _require_listed(rows, metadata, source)
    return _with_headers(rows, source).assign(machine="valve", snr_db=6.0)


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
        DatasetError: not the published layout or format, or an unreadable file (the
            message names it and says how to re-install the dataset).
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
