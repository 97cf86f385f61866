"""Evaluation of anomaly detectors, DCASE style (introduced in chapter 04, used in chapter 05).

Labels follow one convention everywhere: ``y_true`` is 1 (or True) for an anomalous clip and 0
for a normal one, and a higher score means "more anomalous". From a clip table use
``(table["label"] != "normal").astype(int)``.

The metrics are scikit-learn's (:func:`sklearn.metrics.roc_auc_score` and friends); this
module adds input checks with helpful messages, the per machine-ID table of the DCASE
challenge, thresholds chosen from normal training scores only, and :func:`record`, which
writes every result a chapter measures to a JSON-lines file so that the book's Results page
can table them.

Where results are recorded: ``$COURSE_RESULTS`` if that environment variable is set, otherwise
``<repo>/_build/results`` when ``course_lib`` sits in a checkout of the course repository
(next to ``_toc.yml`` and ``pyproject.toml``), otherwise ``<data root>/results`` (see
:func:`course_lib.paths.data_root`). :func:`results_dir` resolves this without any network
access, and the book's Results directive reads the same folder.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from sklearn import metrics

from course_lib import _files, paths

RESULTS_ENV_VAR = "COURSE_RESULTS"
THRESHOLD_METHODS = ("percentile", "gamma")
#: Keys every record has; any further keyword of :func:`record` is an extra identifying key.
RECORD_KEYS = ("chapter", "dataset", "method", "metric", "value", "recommended")
#: The keys that identify a record besides its extra keys (``value`` and ``recommended`` do not).
IDENTITY_KEYS = ("chapter", "dataset", "method", "metric")
_CHAPTER_PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")


# --------------------------------------------------------------------------- input checks


def _binary_labels(y_true: Sequence[int] | np.ndarray, name: str = "y_true") -> np.ndarray:
    """Return ``y_true`` as a 1-D int array of 0/1, or raise ValueError saying how to fix it."""
    labels = np.asarray(y_true)
    if labels.ndim != 1 or labels.size == 0:
        raise ValueError(f"{name} has shape {labels.shape}; pass one non-empty 1-D label array.")
    if labels.dtype.kind not in "biuf" or not np.isin(labels, (0, 1)).all():
        raise ValueError(
            f"{name} must hold 0 (normal) and 1 (anomaly) only, got values "
            f"{sorted(map(str, np.unique(labels)))[:5]}; from a clip table use "
            "(table['label'] != 'normal').astype(int)."
        )
    return labels.astype(int)


def _finite_scores(scores: Sequence[float] | np.ndarray, name: str = "scores") -> np.ndarray:
    """Return ``scores`` as a 1-D float array, or raise ValueError if empty or not finite."""
    values = np.asarray(scores, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(
            f"{name} has shape {values.shape}; pass one score per clip as a non-empty 1-D array."
        )
    if not np.isfinite(values).all():
        raise ValueError(
            f"{name} contains {int((~np.isfinite(values)).sum())} NaN or infinite values; "
            "check the model fit (regularise it or reduce the feature dimension)."
        )
    return values


def labels_and_scores(
    y_true: Sequence[int] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    *,
    both_classes: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(labels, scores)`` checked: 0/1 int labels, one finite score each (chapter 04).

    The ROC metrics here and the plots of labelled scores in :mod:`course_lib.plots` check
    their input with it. ``both_classes`` (what ROC metrics need) also requires at least one
    normal and one anomalous clip. Raises ValueError saying how to fix the input.
    """
    labels = _binary_labels(y_true)
    values = _finite_scores(scores)
    if labels.size != values.size:
        raise ValueError(
            f"y_true has {labels.size} labels but scores has {values.size} values; "
            "pass one score per labelled clip, in the same order."
        )
    if both_classes and np.unique(labels).size < 2:
        raise ValueError(
            "ROC metrics need both normal (0) and anomalous (1) clips, but y_true holds only "
            f"{int(labels[0])}; evaluate on a test split that contains both."
        )
    return labels, values


# --------------------------------------------------------------------------- ROC metrics


def auc(y_true: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray) -> float:
    """Return the area under the ROC curve (1.0 perfect, 0.5 chance, 0.0 reversed); chapter 04.

    Args:
        y_true: 1 for anomalous clips, 0 for normal ones.
        scores: one anomaly score per clip; higher means more anomalous.
    """
    labels, values = labels_and_scores(y_true, scores)
    return float(metrics.roc_auc_score(labels, values))


def pauc(
    y_true: Sequence[int] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    *,
    max_fpr: float = 0.1,
) -> float:
    """Return the standardised partial AUC over false-positive rates 0..``max_fpr``; chapter 04.

    This is :func:`sklearn.metrics.roc_auc_score` with ``max_fpr``, which does NOT return the
    raw area under the ROC curve up to ``max_fpr``: it returns the McClish (1989) standardised
    value, rescaled so that a chance-level detector gets 0.5 and a perfect one 1.0. The DCASE
    2020 Task 2 baseline reports the same quantity with ``max_fpr=0.1``.
    """
    if not 0.0 < max_fpr <= 1.0:
        raise ValueError(f"max_fpr must lie in (0, 1], got {max_fpr}; DCASE uses 0.1.")
    labels, values = labels_and_scores(y_true, scores)
    return float(metrics.roc_auc_score(labels, values, max_fpr=max_fpr))


def roc(
    y_true: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(fpr, tpr, thresholds)`` of the ROC curve (:func:`sklearn.metrics.roc_curve`).

    Introduced in chapter 04. ``thresholds`` decrease; a clip is flagged when its score is at
    least the threshold, giving the false- and true-positive rates at the same position.
    """
    labels, values = labels_and_scores(y_true, scores)
    fpr, tpr, thresholds = metrics.roc_curve(labels, values)
    return fpr, tpr, thresholds


# --------------------------------------------------------------------------- thresholds


def threshold_from_normal(
    normal_scores: Sequence[float] | np.ndarray,
    *,
    method: str = "percentile",
    quantile: float = 0.9,
) -> float:
    """Return a decision threshold from scores of NORMAL TRAINING clips only; chapter 04.

    Test labels are never used, so the threshold is honest. About ``1 - quantile`` of normal
    clips will score above it (the false-alarm rate on data like the training data).

    Args:
        normal_scores: anomaly scores of normal clips (training or validation clips).
        method: ``"percentile"`` = the empirical ``quantile`` of the scores; ``"gamma"`` = fit a
            gamma distribution (:func:`scipy.stats.gamma.fit`; location fixed at 0 when all
            scores are non-negative) to the scores and take its ``quantile``, as the DCASE 2020
            baseline does with 0.9. An implausible fit (quantile below the median) raises.
        quantile: the quantile in (0, 1).
    """
    if method not in THRESHOLD_METHODS:
        raise ValueError(f"method must be one of {THRESHOLD_METHODS}, got {method!r}.")
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"quantile must lie strictly between 0 and 1, got {quantile}.")
    values = _finite_scores(normal_scores, "normal_scores")
    if values.size < 2 or np.ptp(values) == 0:
        raise ValueError(
            f"normal_scores needs at least two different values (got {values.size} values, "
            f"range {np.ptp(values)}); score more normal training clips."
        )
    if method == "percentile":
        return float(np.quantile(values, quantile))
    # Non-negative scores (errors, distances) fix the location at 0: a free location often
    # slides above the smallest score and the fit collapses to a far too low threshold.
    fixed = {"floc": 0.0} if values.min() >= 0 else {}
    shape, loc, scale = stats.gamma.fit(values, **fixed)
    threshold = float(stats.gamma.ppf(quantile, shape, loc=loc, scale=scale))
    if not math.isfinite(threshold) or threshold < float(np.median(values)):
        raise ValueError(
            f"the gamma fit to normal_scores is implausible (its {quantile:g} quantile "
            f"{threshold:.4g} is below the median normal score {np.median(values):.4g}); the "
            "scores are not gamma-shaped: use method='percentile' instead."
        )
    return threshold


# --------------------------------------------------------------------------- decisions


def classification_report(
    y_true: Sequence[int] | np.ndarray, y_pred: Sequence[int] | np.ndarray
) -> dict[str, float | int]:
    """Return precision, recall, f1, f2, accuracy and the counts tp, fp, fn, tn; chapter 04.

    The anomaly (1) is the positive class. Precision or recall with an empty denominator is 0.
    F2 weighs recall twice as much as precision (a missed fault costs more than a false alarm).
    Counts are ints, rates floats.
    """
    labels = _binary_labels(y_true)
    predicted = _binary_labels(y_pred, "y_pred")
    if labels.size != predicted.size:
        raise ValueError(
            f"y_true has {labels.size} labels but y_pred has {predicted.size}; pass one "
            "decision per labelled clip, e.g. (scores >= threshold).astype(int)."
        )
    tn, fp, fn, tp = metrics.confusion_matrix(labels, predicted, labels=[0, 1]).ravel()
    precision, recall, f1, _ = metrics.precision_recall_fscore_support(
        labels, predicted, average="binary", pos_label=1, zero_division=0
    )
    f2 = metrics.fbeta_score(labels, predicted, beta=2.0, pos_label=1, zero_division=0)
    return {
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "f2": float(f2),
        "accuracy": float(metrics.accuracy_score(labels, predicted)),
        "tp": int(tp),
        "fp": int(fp),
        "fn": int(fn),
        "tn": int(tn),
    }


# --------------------------------------------------------------------------- tables


def per_group(
    table: pd.DataFrame,
    scores: Sequence[float] | np.ndarray,
    *,
    by: str = "machine_id",
    max_fpr: float = 0.1,
) -> pd.DataFrame:
    """Return AUC, pAUC and clip count per group plus a ``"mean"`` row (DCASE style); ch. 04.

    Args:
        table: the evaluated clips (a clip table with a ``label`` column, ``"normal"`` or
            anything else = anomaly), in the same order as ``scores``.
        scores: one anomaly score per row of ``table``.
        by: the column to group by (DCASE reports per machine ID). Missing values form the
            group ``"n/a"``.
        max_fpr: the false-positive limit of the pAUC.

    A group without both normal and anomalous clips gets NaN AUC and pAUC; the ``"mean"``
    row averages the groups that have values (the unweighted mean over IDs, as in DCASE)
    and its ``n`` is the total count.
    """
    for column in ("label", by):
        if column not in table.columns:
            raise ValueError(
                f"table has no column {column!r} (columns: {list(table.columns)}); pass a clip "
                "table from datasets.load or choose another `by`."
            )
    values = _finite_scores(scores)
    if values.size != len(table):
        raise ValueError(
            f"table has {len(table)} rows but scores has {values.size} values; pass one score "
            "per row, in the table's order."
        )
    labels = (table["label"].astype(str) != "normal").to_numpy().astype(int)
    groups = table[by].astype(object).where(table[by].notna(), "n/a").astype(str).to_numpy()
    rows = {}
    for group in sorted(set(groups)):
        mask = groups == group
        both = np.unique(labels[mask]).size == 2
        rows[group] = {
            "auc": auc(labels[mask], values[mask]) if both else math.nan,
            "pauc": pauc(labels[mask], values[mask], max_fpr=max_fpr) if both else math.nan,
            "n": int(mask.sum()),
        }
    result = pd.DataFrame.from_dict(rows, orient="index")
    mean_row = {"auc": result["auc"].mean(), "pauc": result["pauc"].mean(), "n": len(table)}
    result.loc["mean"] = mean_row
    result["n"] = result["n"].astype(int)
    result.index.name = by
    return result


def mean_auc(table: pd.DataFrame, scores: Sequence[float] | np.ndarray, *,
             by: str = "machine_id") -> float:
    """Return the AUC averaged over the groups of ``by``, as DCASE reports it (chapter 04).

    The AUC is computed per machine ID and the IDs are averaged without weights (the
    ``"mean"`` row of :func:`per_group`), because a detector only ranks its own machine's clips.
    """
    return float(per_group(table, scores, by=by).loc["mean", "auc"])


def summary(values: Iterable[float]) -> tuple[float, float]:
    """Return ``(mean, std)`` of ``values``, e.g. AUCs over seeds (std with ddof=1); ch. 04.

    A single value has std 0.0.
    """
    array = _finite_scores(list(values), "values")
    std = float(np.std(array, ddof=1)) if array.size > 1 else 0.0
    return float(np.mean(array)), std


def spread(values: Iterable[float], *, digits: int = 2) -> str:
    """Return ``"mean ± std"`` of ``values`` as text, e.g. ``"0.91 ± 0.02"``; chapter 04."""
    mean, std = summary(values)
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


# --------------------------------------------------------------------------- recorded results


def _repo_root() -> Path | None:
    """Return the course repository that holds this package, or None for an installed copy."""
    root = Path(__file__).resolve().parents[1]
    markers = ("_toc.yml", "pyproject.toml")
    return root if all((root / marker).is_file() for marker in markers) else None


def results_dir() -> Path:
    """Return the folder of recorded results (not created here); chapter 04.

    ``$COURSE_RESULTS`` if set; else ``<repo>/_build/results`` when ``course_lib`` sits in the
    course repository (the book build and the Results page use this); else
    ``<data root>/results``.
    """
    configured = os.environ.get(RESULTS_ENV_VAR, "").strip()
    if configured:
        return Path(configured).expanduser()
    root = _repo_root()
    return root / "_build" / "results" if root is not None else paths.data_root() / "results"


def _plain(key: str, value: Any) -> str | int | float | bool | None:
    """Return ``value`` as a JSON-safe plain Python value, or raise TypeError/ValueError."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{key}={value} is not finite; record only finite numbers.")
        return value
    raise TypeError(
        f"{key}={value!r} has type {type(value).__name__}; record only str, int, float, bool or "
        "None values."
    )


def _chapter_name(chapter: str | int) -> str:
    """Return the chapter as a file-safe string: ``4`` -> ``"04"``, ``"04"`` stays."""
    if isinstance(chapter, Integral) and not isinstance(chapter, bool):
        return f"{int(chapter):02d}"
    if isinstance(chapter, str) and _CHAPTER_PATTERN.match(chapter):
        return chapter
    raise ValueError(
        f"chapter must be a chapter number such as '04' (letters, digits, - and _ only), "
        f"got {chapter!r}."
    )


def _text(key: str, value: Any) -> str:
    """Return ``value`` if it is a non-empty string, else raise ValueError naming ``key``."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{key} must be a non-empty string, got {value!r}.")
    return value


def _identity(entry: Mapping[str, Any]) -> tuple:
    """Return what identifies a record: the identity keys and all extra key/value pairs."""
    extras = tuple(sorted((k, v) for k, v in entry.items() if k not in RECORD_KEYS))
    return tuple(entry.get(key) for key in IDENTITY_KEYS) + extras


def _read_lines(path: Path) -> list[dict[str, Any]]:
    """Return the records stored in one JSON-lines file, or raise ValueError for a bad line."""
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(
                f"{path} line {number} is not valid JSON ({error}); delete the file and re-run "
                "the chapter to record its results again."
            ) from error
        if not isinstance(entry, dict) or any(key not in entry for key in RECORD_KEYS):
            raise ValueError(
                f"{path} line {number} is not a result record (needs keys {RECORD_KEYS}); "
                "delete the file and re-run the chapter."
            )
        entries.append(entry)
    return entries


def record(
    *,
    chapter: str | int,
    dataset: str,
    method: str,
    metric: str,
    value: float,
    recommended: bool = False,
    **extra: str | int | float | bool | None,
) -> Path:
    """Return the JSON-lines file into which this result was recorded; chapter 04.

    Each chapter writes ``<results_dir()>/<chapter>.jsonl`` (``$COURSE_RESULTS``, default
    ``<repo>/_build/results``; see :func:`results_dir`), one JSON object per line with the keys
    ``chapter``, ``dataset``, ``method``, ``metric``, ``value`` (float), ``recommended`` (bool)
    and the ``extra`` keywords (e.g. ``machine_id="id_00"``, ``seed=0``). A record with the
    same chapter, dataset, method, metric and extra keys/values REPLACES the earlier one, so
    re-running a notebook does not duplicate rows. The file is rewritten atomically (temporary
    file + :func:`os.replace`), so a reader never sees half a file.

    Args:
        chapter: the chapter, e.g. ``"04"`` (an int is zero-padded).
        dataset: the dataset name as passed to :func:`course_lib.datasets.load`.
        method: a short method name, e.g. ``"GMM clip mean"``.
        metric: e.g. ``"auc"`` or ``"pauc"``.
        value: the measured value (finite).
        recommended: True for the chapter's one recommended method.
        **extra: further identifying keys with plain values (str, int, float, bool, None).
    """
    clashes = set(extra) & set(RECORD_KEYS)
    if clashes:
        raise ValueError(f"extra keys {sorted(clashes)} clash with the record's own keys.")
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"value must be a real number, got {value!r}.")
    entry: dict[str, Any] = {
        "chapter": _chapter_name(chapter),
        "dataset": _text("dataset", dataset),
        "method": _text("method", method),
        "metric": _text("metric", metric),
        "value": _plain("value", float(value)),
        "recommended": bool(recommended),
    }
    entry.update({_text("extra key", key): _plain(key, item) for key, item in extra.items()})
    folder = results_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{entry['chapter']}.jsonl"
    entries = _read_lines(path) if path.is_file() else []
    key = _identity(entry)
    positions = [i for i, old in enumerate(entries) if _identity(old) == key]
    if positions:
        entries[positions[0]] = entry
        entries = [old for i, old in enumerate(entries) if i not in positions[1:]]
    else:
        entries.append(entry)
    lines = (json.dumps(old, ensure_ascii=False) + "\n" for old in entries)
    _files.write_text_atomically(path, "".join(lines))
    return path


def read_records(directory: str | Path | None = None) -> pd.DataFrame:
    """Return every recorded result as a DataFrame (one row per record); chapter 04.

    Reads all ``*.jsonl`` files in ``directory`` (default :func:`results_dir`). Columns:
    ``chapter``, ``dataset``, ``method``, ``metric``, ``value``, ``recommended`` and any extra
    keys (missing extras are NaN/None). Rows are sorted by chapter and dataset and otherwise
    keep the order in which a chapter first recorded them (so methods appear as taught).
    No folder or no records gives an empty frame with the standard columns.
    """
    folder = Path(directory) if directory is not None else results_dir()
    files = sorted(folder.glob("*.jsonl")) if folder.is_dir() else []
    entries = [entry for path in files for entry in _read_lines(path)]
    if not entries:
        return pd.DataFrame(columns=list(RECORD_KEYS))
    frame = pd.DataFrame(entries)
    return frame.sort_values(["chapter", "dataset"], kind="stable", ignore_index=True)
