"""Supervised detection of faulty machines: splits, boosting classifiers and their scores.

Chapter 06 trains classifiers on labelled normal *and* faulty clips, as the pump reference
does, and asks how far such a model can be trusted. This module holds what that needs:

* the reference's classifier (:func:`reference_boosting`) and scikit-learn's histogram-based
  gradient boosting (:func:`hist_boosting`);
* the two ways of splitting the pooled clips: the reference's stratified random 80/20 split,
  repeated over seeds (:func:`random_splits`), and a split that holds out one machine ID at a
  time (:func:`group_splits`), which asks whether the model works on a machine it never heard;
* the metrics of a decision with the anomaly as the positive class (:func:`scores`) and their
  table over splits (:func:`evaluate_splits`);
* chapter 04's way of scoring the same test clips with a detector fitted to normal clips
  only (:func:`normal_only`), for the supervised-versus-unsupervised comparison.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier
from sklearn.model_selection import KFold, LeaveOneGroupOut, train_test_split

from course_lib import _checks, evaluate
from course_lib.clip_table import NORMAL, DatasetError, require_columns

#: The reference notebook's classifier settings (its seed was 10).
REFERENCE_SETTINGS: dict[str, Any] = {
    "subsample": 0.5,
    "n_estimators": 1000,
    "max_features": "log2",
}
#: The seeds of the reference's one split and of its classifier.
REFERENCE_SPLIT_SEED = 1
REFERENCE_CLASSIFIER_SEED = 10


def anomaly_labels(table: pd.DataFrame) -> np.ndarray:
    """Return 1 for every clip whose label is not ``normal`` and 0 otherwise (chapter 06)."""
    require_columns(table, ["label"])
    return (table["label"] != NORMAL).to_numpy(dtype=int)


def reference_boosting(seed: int = REFERENCE_CLASSIFIER_SEED) -> GradientBoostingClassifier:
    """Return the reference's unfitted ``GradientBoostingClassifier`` with ``random_state=seed``.

    1000 trees of depth 3, each fitted to half of the training clips (``subsample=0.5``) and
    choosing each split among ``log2(n_features)`` random features (chapter 06).
    """
    return GradientBoostingClassifier(**REFERENCE_SETTINGS, random_state=seed)


def hist_boosting(seed: int = 0) -> HistGradientBoostingClassifier:
    """Return an unfitted ``HistGradientBoostingClassifier`` with its defaults (chapter 06).

    It bins every feature into at most 255 values once, so each tree is fitted on integer
    histograms: much faster than :func:`reference_boosting` on many clips, with the same idea.
    ``early_stopping=False`` keeps all its 100 iterations whatever the number of clips, so the
    model does not change its nature between the toy data and a full dataset.
    """
    return HistGradientBoostingClassifier(early_stopping=False, random_state=seed)


@dataclass(frozen=True)
class Split:
    """One train/test split of a clip table, as row positions (chapter 06).

    Attributes:
        name: what the split is, e.g. ``"random, seed 3"`` or ``"held-out id_02"``.
        seed: the seed of the split (and of the classifier trained on it).
        train: positions of the training rows.
        test: positions of the test rows.
    """

    name: str
    seed: int
    train: np.ndarray
    test: np.ndarray


def random_splits(table: pd.DataFrame, *, seeds: Sequence[int],
                  test_size: float = 0.2) -> list[Split]:
    """Return one stratified random split of all clips per seed, the reference's protocol.

    Normal and faulty clips of every machine ID are pooled and ``test_size`` of them, with the
    same share of anomalies as the whole table, become the test set
    (``train_test_split(shuffle=True, stratify=labels, random_state=seed)``). Clips of one
    machine land on both sides, which is what chapter 06 questions.

    Raises:
        DatasetError: fewer than two clips of a class, or a test or training set of fewer
            than two clips (no stratified split exists).
        ValueError: ``test_size`` is not a share between 0 and 1.
    """
    labels = anomaly_labels(table)
    counts = np.bincount(labels, minlength=2)
    if counts.min() < 2:
        raise DatasetError(
            f"the table holds {counts[0]} normal and {counts[1]} faulty clips; a stratified "
            "split needs at least two of each. Use a dataset with labelled anomalies."
        )
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size={test_size!r} is invalid; pass the test share between 0 "
                         "and 1, e.g. 0.2.")
    n_test = math.ceil(test_size * len(table))  # how train_test_split sizes the test set
    if min(n_test, len(table) - n_test) < 2:
        raise DatasetError(
            f"test_size={test_size} of {len(table)} clips gives {n_test} test and "
            f"{len(table) - n_test} training clips; a stratified split needs both classes on "
            "both sides. Use more clips or another test_size."
        )
    positions = np.arange(len(table))
    splits = []
    for seed in seeds:
        train, test = train_test_split(positions, test_size=test_size, shuffle=True,
                                       stratify=labels, random_state=int(seed))
        splits.append(Split(f"random, seed {seed}", int(seed), np.sort(train), np.sort(test)))
    return splits


def group_splits(table: pd.DataFrame, *, by: str = "machine_id", seed: int = 0) -> list[Split]:
    """Return one split per value of ``by``: that group is the test set, the rest trains.

    A detector must work on a pump it has not heard; holding out whole machine IDs measures
    that (chapter 06). Every split uses the same classifier ``seed``.

    Raises:
        DatasetError: fewer than two groups, a clip without a group, or a held-out group
            without both normal and faulty clips (its AUC would not exist).
    """
    require_columns(table, [by])
    if table[by].isna().any():
        raise DatasetError(f"{int(table[by].isna().sum())} clips have no {by}; a grouped split "
                           f"needs every clip's {by}.")
    groups = table[by].astype(str).to_numpy()
    if len(set(groups)) < 2:
        raise DatasetError(f"the table has {len(set(groups))} {by} ({sorted(set(groups))}); "
                           "holding one out needs at least two. Use a dataset with several.")
    labels = anomaly_labels(table)
    splits = []
    for train, test in LeaveOneGroupOut().split(groups, groups=groups):
        held_out = groups[test[0]]
        if len(set(labels[test])) < 2:
            raise DatasetError(f"{by} {held_out!r} holds only one class; a held-out group "
                               "needs normal and faulty clips.")
        splits.append(Split(f"held-out {held_out}", seed, train, test))
    return splits


def scores(labels: np.ndarray, probability: np.ndarray, *,
           threshold: float = 0.5) -> dict[str, float]:
    """Return recall, F2, precision and AUC of anomaly probabilities (chapter 06).

    A clip is called faulty when its probability is at least ``threshold``. Recall and F2 (which
    weighs recall twice as much as precision) judge those decisions; the AUC judges the ranking
    of the probabilities, whatever the threshold.
    """
    labels = np.asarray(labels, dtype=int)
    probability = np.asarray(probability, dtype=float)
    report = evaluate.classification_report(labels, (probability >= threshold).astype(int))
    return {"recall": report["recall"], "f2": report["f2"], "precision": report["precision"],
            "auc": evaluate.auc(labels, probability)}


def _fit_and_score(features: np.ndarray, labels: np.ndarray, split: Split,
                   make_model: Callable[[int], Any]) -> dict[str, Any]:
    """Return the row of :func:`evaluate_splits` for one split."""
    model = make_model(split.seed)
    start = time.perf_counter()
    model.fit(features[split.train], labels[split.train])
    seconds = time.perf_counter() - start
    probability = model.predict_proba(features[split.test])[:, 1]
    return {"split": split.name, "seed": split.seed,
            **scores(labels[split.test], probability), "fit_seconds": seconds}


def evaluate_splits(
    features: np.ndarray,
    labels: np.ndarray,
    splits: Sequence[Split],
    make_model: Callable[[int], Any],
    *,
    n_jobs: int = 1,
) -> pd.DataFrame:
    """Return one row per split: its name, seed, recall, F2, precision, AUC and fit seconds.

    For every split a fresh model ``make_model(split.seed)`` is fitted on the training rows of
    ``features`` (one row per clip) and scores the test rows with ``predict_proba``
    (chapter 06). ``n_jobs`` splits are fitted in parallel processes (joblib; ``-1`` = all
    cores); the results do not depend on it, only ``fit_seconds`` does.
    """
    features = np.asarray(features, dtype=float)
    labels = np.asarray(labels, dtype=int)
    if len(features) != len(labels):
        raise ValueError(f"features has {len(features)} rows for {len(labels)} labels; pass "
                         "one feature row per clip.")
    jobs = (delayed(_fit_and_score)(features, labels, split, make_model) for split in splits)
    return pd.DataFrame(Parallel(n_jobs=n_jobs)(jobs))


def spread_table(results: dict[str, pd.DataFrame],
                 metrics: Sequence[str] = ("recall", "f2", "auc")) -> pd.DataFrame:
    """Return per method the ``"mean ± std"`` over splits of each metric (chapter 06).

    ``results`` maps a method name to its :func:`evaluate_splits` table.
    """
    return pd.DataFrame({
        method: {metric: evaluate.spread(table[metric]) for metric in metrics}
        for method, table in results.items()
    }).T


class NormalOnly(NamedTuple):
    """What :func:`normal_only` returns, in the order of ``split.test`` (chapter 06).

    Attributes:
        decisions: 1 where the detector raises an alarm, else 0.
        scores: the anomaly scores (higher = more unusual).
    """

    decisions: np.ndarray
    scores: np.ndarray


def normal_only(
    table: pd.DataFrame,
    items: Sequence[np.ndarray],
    split: Split,
    make_scorer: Callable[[], Any],
    *,
    by: str = "machine_id",
    quantile: float = 0.9,
    n_folds: int = 5,
) -> NormalOnly:
    """Return decisions and scores of the test clips from a detector of normal clips only.

    Chapter 04's protocol on a chapter-06 split: per ``by`` group, ``make_scorer()`` is fitted
    on that group's *normal* training clips (faulty training clips are ignored: an
    unsupervised detector has no use for them), and its threshold is the ``quantile`` of the
    cross-validated scores of those normal clips: each scored by a detector fitted to the
    other ``n_folds - 1`` folds of them (consecutive folds, no shuffling), so no clip scores
    itself. ``items`` holds one entry per row of ``table``: a clip vector, or a frame matrix
    for a :class:`course_lib.anomaly.FrameScorer` (clips may differ in length).

    Raises:
        DatasetError: a group of the test set has fewer than three normal training clips, or
            ``items`` is not as long as ``table``.
        ValueError: ``n_folds`` is not a whole number >= 2.
    """
    if len(items) != len(table):
        raise DatasetError(f"items has {len(items)} entries for {len(table)} clips; pass one "
                           "feature item per row of the table, in table order.")
    n_folds = _checks.count(n_folds, "n_folds", minimum=2)
    arrays = [np.asarray(item, dtype=float) for item in items]  # vectors or frame matrices

    def take(positions: np.ndarray) -> list[np.ndarray]:
        """Return the items at ``positions`` (a list: frame matrices may differ in length)."""
        return [arrays[position] for position in positions]

    labels = anomaly_labels(table)
    groups = (table[by].fillna("n/a").astype(str).to_numpy() if by in table.columns
              else np.full(len(table), "n/a"))
    decisions = np.zeros(len(split.test), dtype=int)
    test_scores = np.empty(len(split.test))
    for group in sorted(set(groups[split.test])):
        train = split.train[(groups[split.train] == group) & (labels[split.train] == 0)]
        if len(train) < 3:
            raise DatasetError(f"{by} {group!r} has {len(train)} normal training clips in "
                               f"{split.name}; a normal-only detector needs at least three. "
                               "Use a split with more normal training clips of it.")
        held_out = np.empty(len(train))
        for fit, left_out in KFold(n_splits=min(n_folds, len(train))).split(train):
            held_out[left_out] = make_scorer().fit(take(train[fit])).score(
                take(train[left_out]))
        threshold = evaluate.threshold_from_normal(held_out, quantile=quantile)
        here = groups[split.test] == group
        fitted = make_scorer().fit(take(train))
        test_scores[here] = fitted.score(take(split.test[here]))
        decisions[here] = test_scores[here] >= threshold
    return NormalOnly(decisions=decisions, scores=test_scores)
