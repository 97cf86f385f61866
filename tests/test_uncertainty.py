"""Tests for course_lib.uncertainty: stratified bootstrap intervals of the AUC."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from course_lib import evaluate, uncertainty


def _test_set(rng, *, n=45, shift=1.5):
    """Return (labels, scores): n normal N(0, 1) and n anomalous N(shift, 1) scores."""
    labels = np.repeat([0, 1], n)
    scores = rng.normal(size=2 * n) + shift * labels
    return labels, scores


def test_estimate_is_the_auc_of_the_test_set():
    labels, scores = _test_set(np.random.default_rng(1))
    scores = np.round(scores, 1)  # ties: the rank statistic must count them as halves
    interval = uncertainty.auc_interval(labels, scores, n_resamples=200)
    assert interval.estimate == pytest.approx(roc_auc_score(labels, scores))
    assert interval.low < interval.estimate < interval.high


def test_resampled_auc_matches_scikit_learn_with_ties():
    rng = np.random.default_rng(2)
    labels, scores = _test_set(rng, n=12)
    scores = np.round(scores)
    members = [np.arange(labels.size)]
    fixed = np.random.default_rng(3)
    values = uncertainty._resampled_aucs(labels, [scores], members, 5, fixed)[:, 0]
    replay = np.random.default_rng(3)
    pos = replay.choice(np.flatnonzero(labels == 1), size=(5, 12))
    neg = replay.choice(np.flatnonzero(labels == 0), size=(5, 12))
    for value, index in zip(values, np.concatenate([pos, neg], axis=1), strict=True):
        assert value == pytest.approx(roc_auc_score(labels[index], scores[index]))


def test_95_percent_intervals_cover_the_true_auc_about_95_percent_of_the_time():
    shift = 1.5
    true_auc = stats.norm.cdf(shift / np.sqrt(2))  # P(N(shift,1) > N(0,1))
    rng = np.random.default_rng(4)
    hits = [
        uncertainty.auc_interval(*_test_set(rng, shift=shift), n_resamples=400, seed=i)
        .contains(true_auc)
        for i in range(150)
    ]
    assert 0.88 <= np.mean(hits) <= 0.99


def test_interval_of_45_plus_45_clips_is_a_few_hundredths_wide():
    labels, scores = _test_set(np.random.default_rng(5))
    interval = uncertainty.auc_interval(labels, scores)
    assert 0.02 < interval.half_width < 0.08
    smaller = uncertainty.auc_interval(labels[::3], scores[::3])
    assert smaller.half_width > interval.half_width  # fewer clips, less certainty


def test_groups_average_the_per_group_aucs_like_mean_auc():
    rng = np.random.default_rng(6)
    first, second = _test_set(rng, shift=2.5), _test_set(rng, n=20, shift=0.5)
    labels = np.concatenate([first[0], second[0]])
    scores = np.concatenate([first[1], second[1]])
    groups = np.array(["id_00"] * 90 + ["id_02"] * 40)
    table = pd.DataFrame({
        "machine_id": groups, "label": np.where(labels == 1, "anomaly", "normal"),
    })
    interval = uncertainty.auc_interval(labels, scores, groups=groups)
    assert interval.estimate == pytest.approx(evaluate.mean_auc(table, scores))
    assert interval.contains(interval.estimate)


def test_missing_groups_form_one_group_like_per_group():
    labels, scores = _test_set(np.random.default_rng(8))
    groups = pd.array([pd.NA] * labels.size, dtype="string")  # a folder without IDs
    table = pd.DataFrame({
        "machine_id": groups, "label": np.where(labels == 1, "anomaly", "normal"),
    })
    interval = uncertainty.auc_interval(labels, scores, groups=groups, seed=0)
    assert interval == uncertainty.auc_interval(labels, scores, seed=0)
    assert interval.estimate == pytest.approx(evaluate.mean_auc(table, scores))


def test_same_seed_same_interval_other_seed_close():
    labels, scores = _test_set(np.random.default_rng(7))
    one = uncertainty.auc_interval(labels, scores, seed=0)
    assert one == uncertainty.auc_interval(labels, scores, seed=0)
    other = uncertainty.auc_interval(labels, scores, seed=1)
    assert abs(one.low - other.low) < 0.01 and abs(one.high - other.high) < 0.01


def test_difference_of_identical_scores_is_exactly_zero():
    labels, scores = _test_set(np.random.default_rng(8))
    diff = uncertainty.auc_difference(labels, scores, scores)
    assert (diff.estimate, diff.low, diff.high) == (0.0, 0.0, 0.0)


def test_paired_difference_separates_a_clear_winner_and_not_a_tie():
    rng = np.random.default_rng(9)
    labels, strong = _test_set(rng, shift=2.0)
    weak = strong + rng.normal(scale=2.0, size=strong.size)  # same clips, noisier score
    diff = uncertainty.auc_difference(labels, strong, weak)
    assert diff.estimate == pytest.approx(
        roc_auc_score(labels, strong) - roc_auc_score(labels, weak))
    assert diff.low > 0
    tie = uncertainty.auc_difference(labels, strong, strong + rng.normal(scale=0.05,
                                                                          size=strong.size))
    assert tie.contains(0.0)


def test_paired_interval_is_narrower_than_the_separate_ones():
    rng = np.random.default_rng(10)
    labels, a = _test_set(rng, shift=1.2)
    b = a + rng.normal(scale=0.3, size=a.size)  # strongly correlated with a
    separate = (uncertainty.auc_interval(labels, a).half_width
                + uncertainty.auc_interval(labels, b).half_width)
    assert uncertainty.auc_difference(labels, a, b).half_width < separate / 2


def test_text_shows_estimate_and_ends():
    interval = uncertainty.Interval(0.9123, 0.861, 0.9551, 0.95)
    assert str(interval) == "0.912 [0.861, 0.955]"


@pytest.mark.parametrize("kwargs, message", [
    ({"level": 1.5}, "level"),
    ({"n_resamples": 10}, "n_resamples"),
    ({"groups": ["a"] * 5}, "groups has 5 entries"),
    ({"groups": ["a"] * 45 + ["b"] * 45}, "only one class"),
])
def test_bad_options_are_refused_with_advice(kwargs, message):
    labels, scores = _test_set(np.random.default_rng(11))
    with pytest.raises(ValueError, match=message):
        uncertainty.auc_interval(labels, scores, **kwargs)


def test_one_class_test_set_is_refused():
    with pytest.raises(ValueError, match="both normal"):
        uncertainty.auc_interval(np.zeros(10), np.arange(10.0))
