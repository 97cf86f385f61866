"""How sure is an AUC? Bootstrap confidence intervals for detector comparisons (chapter 04).

A test set of 45 normal and 45 anomalous clips measures an AUC with an error of a few
hundredths: another 90 clips from the same machine would give a different number. The
yardstick of the course is a bootstrap interval: redraw the test clips with replacement many
times, recompute the AUC each time and report the middle ``level`` of those values.

The resampling is stratified: normal and anomalous clips (and, with ``groups``, each machine
ID) are redrawn separately, so every resample keeps the test set's design (its class counts)
and always holds both classes. ``scipy.stats.bootstrap`` does not stratify, which is why the
resampling is written here; the AUC of each resample is the Mann-Whitney statistic on ranks,
the same number as :func:`sklearn.metrics.roc_auc_score`, computed for all resamples at once.

Two methods scored on the same clips are compared with :func:`auc_difference`: both are
evaluated on the *same* resampled clips (a paired bootstrap), so the interval of the
difference is narrower than the two separate intervals suggest. A difference whose interval
contains 0 is not established by this test set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from course_lib import evaluate

#: Resamples per interval: the interval ends then move by about 0.002 between seeds.
N_RESAMPLES = 2000
LEVEL = 0.95


@dataclass(frozen=True)
class Interval:
    """A measured value with its bootstrap confidence interval (chapter 04).

    Attributes:
        estimate: the value on the test set as it is (not a bootstrap average).
        low, high: the ends of the percentile interval.
        level: the confidence level, e.g. 0.95.
    """

    estimate: float
    low: float
    high: float
    level: float

    @property
    def half_width(self) -> float:
        """Return half the interval's width: the "±" of the estimate."""
        return (self.high - self.low) / 2

    def contains(self, value: float) -> bool:
        """Return True if ``value`` lies inside the interval (ends included)."""
        return self.low <= value <= self.high

    def __str__(self) -> str:
        """Return e.g. ``"0.912 [0.861, 0.955]"``."""
        return f"{self.estimate:.3f} [{self.low:.3f}, {self.high:.3f}]"


def _check_options(level: float, n_resamples: int) -> None:
    """Return None if ``level`` and ``n_resamples`` are usable, else raise ValueError."""
    if not 0 < level < 1:
        raise ValueError(f"level={level!r} is invalid; pass a fraction such as 0.95.")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) \
            or n_resamples < 100:
        raise ValueError(
            f"n_resamples={n_resamples!r} is too few; pass a whole number of at least 100 "
            f"(the default is {N_RESAMPLES})."
        )


def _strata(labels: np.ndarray, groups: Sequence | np.ndarray | None) -> list[np.ndarray]:
    """Return the clip indices of each group (one group without ``groups``), sorted by group.

    Missing values (None, NaN, ``pd.NA``: a folder without machine IDs) form the group
    ``"n/a"``, as in :func:`evaluate.per_group`. Raises ValueError if ``groups`` has the
    wrong length or a group lacks one of the classes.
    """
    if groups is None:
        return [np.arange(labels.size)]
    column = pd.Series(np.asarray(groups, dtype=object))
    keys = column.where(column.notna(), "n/a").astype(str).to_numpy()
    if keys.shape != labels.shape:
        raise ValueError(
            f"groups has {keys.size} entries but y_true has {labels.size}; pass one group "
            "(e.g. the machine ID) per clip, in the same order."
        )
    members = [np.flatnonzero(keys == key) for key in np.unique(keys)]
    for key, index in zip(np.unique(keys), members, strict=True):
        if np.unique(labels[index]).size < 2:
            raise ValueError(
                f"group {key!r} holds only one class; every group needs normal and "
                "anomalous test clips for its AUC."
            )
    return members


def _resampled_aucs(
    labels: np.ndarray, score_sets: list[np.ndarray], members: list[np.ndarray],
    n_resamples: int, rng: np.random.Generator,
) -> np.ndarray:
    """Return an ``(n_resamples, len(score_sets))`` array of group-averaged bootstrap AUCs.

    Every score set is evaluated on the same resampled clips (paired). Within each group the
    normal and anomalous clips are redrawn separately, with replacement.
    """
    per_group = []
    for index in members:
        positives = index[labels[index] == 1]
        negatives = index[labels[index] == 0]
        drawn_pos = rng.choice(positives, size=(n_resamples, positives.size))
        drawn_neg = rng.choice(negatives, size=(n_resamples, negatives.size))
        drawn = np.concatenate([drawn_pos, drawn_neg], axis=1)
        n_pos, n_neg = positives.size, negatives.size
        aucs = []
        for scores in score_sets:
            ranks = stats.rankdata(scores[drawn], axis=1)  # ties share the average rank
            rank_sum = ranks[:, :n_pos].sum(axis=1)
            aucs.append((rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
        per_group.append(np.stack(aucs, axis=1))
    return np.mean(per_group, axis=0)  # unweighted mean over groups, as DCASE averages IDs


def _interval(estimate: float, values: np.ndarray, level: float) -> Interval:
    """Return the percentile :class:`Interval` of ``values`` around ``estimate``."""
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return Interval(float(estimate), float(low), float(high), float(level))


def _mean_auc(labels: np.ndarray, scores: np.ndarray, members: list[np.ndarray]) -> float:
    """Return the unweighted mean over groups of the AUC of ``scores``."""
    return float(np.mean([evaluate.auc(labels[index], scores[index]) for index in members]))


def auc_interval(
    y_true: Sequence[int] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    *,
    groups: Sequence | np.ndarray | None = None,
    level: float = LEVEL,
    n_resamples: int = N_RESAMPLES,
    seed: int = 0,
) -> Interval:
    """Return the AUC of ``scores`` with its stratified bootstrap interval (chapter 04).

    Args:
        y_true: 1 for anomalous clips, 0 for normal ones.
        scores: one anomaly score per clip; higher means more anomalous.
        groups: optional group per clip (the machine ID): the estimate is then the mean of
            the per-group AUCs, as :func:`course_lib.evaluate.mean_auc` reports it, and
            clips are redrawn within their group.
        level: confidence level of the interval.
        n_resamples: number of bootstrap resamples.
        seed: seed of the resampling, so a notebook prints the same interval every run.
    """
    _check_options(level, n_resamples)
    labels, values = evaluate.labels_and_scores(y_true, scores)
    members = _strata(labels, groups)
    rng = np.random.default_rng(seed)
    resampled = _resampled_aucs(labels, [values], members, n_resamples, rng)[:, 0]
    return _interval(_mean_auc(labels, values, members), resampled, level)


def auc_difference(
    y_true: Sequence[int] | np.ndarray,
    scores_a: Sequence[float] | np.ndarray,
    scores_b: Sequence[float] | np.ndarray,
    *,
    groups: Sequence | np.ndarray | None = None,
    level: float = LEVEL,
    n_resamples: int = N_RESAMPLES,
    seed: int = 0,
) -> Interval:
    """Return AUC(a) − AUC(b) on the same clips with its paired bootstrap interval (ch. 04).

    Both methods are scored on the same resampled clips in every resample, so the clips
    that are hard for both do not widen the interval. If the interval contains 0, this test
    set does not tell the two methods apart. Arguments as in :func:`auc_interval`.
    """
    _check_options(level, n_resamples)
    labels, first = evaluate.labels_and_scores(y_true, scores_a)
    _, second = evaluate.labels_and_scores(y_true, scores_b)
    members = _strata(labels, groups)
    rng = np.random.default_rng(seed)
    resampled = _resampled_aucs(labels, [first, second], members, n_resamples, rng)
    estimate = _mean_auc(labels, first, members) - _mean_auc(labels, second, members)
    return _interval(estimate, resampled[:, 0] - resampled[:, 1], level)
