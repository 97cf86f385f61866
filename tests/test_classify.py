"""Tests for course_lib.classify (chapter 06): labels, classifiers, splits, scores, baselines."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics
from sklearn.model_selection import KFold, train_test_split

from course_lib import anomaly, classify, evaluate
from course_lib.clip_table import DatasetError


def _table(counts: dict[str, tuple[int, int]]) -> pd.DataFrame:
    """Return a clip table with ``counts[machine_id] = (n_normal, n_anomaly)`` clips per ID."""
    rows = []
    for machine_id, (n_normal, n_anomaly) in counts.items():
        for index in range(n_normal + n_anomaly):
            label = "normal" if index < n_normal else "anomaly"
            rows.append({"path": f"/data/{machine_id}/{label}_{index:03d}.wav", "label": label,
                         "machine_id": machine_id, "split": "train", "dataset": "toy_pump"})
    return pd.DataFrame(rows)


def _small_booster(seed: int):
    """Return the reference booster with 20 trees (module level, so joblib can pickle it)."""
    return classify.reference_boosting(seed).set_params(n_estimators=20)


# --------------------------------------------------------------------------- labels, models


def test_anomaly_labels_are_one_for_every_label_but_normal():
    table = pd.DataFrame({"label": ["normal", "anomaly", "abnormal", "click", "normal", "Normal"]})
    labels = classify.anomaly_labels(table)
    assert labels.tolist() == [0, 1, 1, 1, 0, 1]
    assert labels.dtype.kind == "i"


def test_anomaly_labels_need_a_label_column():
    with pytest.raises(KeyError, match="label"):
        classify.anomaly_labels(pd.DataFrame({"path": ["a.wav"]}))


def test_reference_boosting_has_the_published_settings():
    model = classify.reference_boosting()
    params = model.get_params()
    assert params["subsample"] == 0.5
    assert params["n_estimators"] == 1000
    assert params["max_features"] == "log2"
    assert params["random_state"] == 10 == classify.REFERENCE_CLASSIFIER_SEED
    assert params["max_depth"] == 3  # scikit-learn's default, which the reference kept
    assert classify.reference_boosting(seed=3).get_params()["random_state"] == 3
    assert not hasattr(model, "estimators_")  # unfitted
    assert classify.reference_boosting() is not classify.reference_boosting()  # fresh each call


def test_hist_boosting_keeps_all_iterations_and_takes_the_seed():
    params = classify.hist_boosting(seed=4).get_params()
    assert params["early_stopping"] is False
    assert params["random_state"] == 4
    assert params["max_iter"] == 100
    assert classify.hist_boosting().get_params()["random_state"] == 0


# --------------------------------------------------------------------------- random splits

RANDOM_TABLE = _table({"id_00": (30, 7), "id_02": (20, 6)})  # 50 normal, 13 faulty, 63 clips


def test_random_splits_are_stratified_with_a_fifth_in_test():
    labels = classify.anomaly_labels(RANDOM_TABLE)
    share = labels.mean()
    for split in classify.random_splits(RANDOM_TABLE, seeds=range(5)):
        assert len(split.test) == math.ceil(0.2 * len(RANDOM_TABLE))
        assert abs(labels[split.test].sum() - share * len(split.test)) <= 1


def test_random_splits_are_disjoint_and_cover_every_row():
    for split in classify.random_splits(RANDOM_TABLE, seeds=[0, 1], test_size=0.3):
        assert not set(split.train) & set(split.test)
        assert sorted([*split.train, *split.test]) == list(range(len(RANDOM_TABLE)))
        assert np.all(np.diff(split.train) > 0) and np.all(np.diff(split.test) > 0)  # sorted
        assert len(split.test) == math.ceil(0.3 * len(RANDOM_TABLE))


def test_random_splits_are_reproducible_per_seed_and_differ_across_seeds():
    first = classify.random_splits(RANDOM_TABLE, seeds=[0, 1, 2])
    again = classify.random_splits(RANDOM_TABLE, seeds=[0, 1, 2])
    for one, other in zip(first, again, strict=True):
        np.testing.assert_array_equal(one.test, other.test)
        np.testing.assert_array_equal(one.train, other.train)
    tests = {tuple(split.test) for split in first}
    assert len(tests) == 3
    assert [split.name for split in first] == ["random, seed 0", "random, seed 1",
                                               "random, seed 2"]
    assert [split.seed for split in first] == [0, 1, 2]


def test_reference_split_seed_reproduces_the_reference_train_test_split():
    assert classify.REFERENCE_SPLIT_SEED == 1
    labels = classify.anomaly_labels(RANDOM_TABLE)
    features = np.arange(len(RANDOM_TABLE), dtype=float)[:, None] * 10.0  # row id in the values
    train, test, _, _ = train_test_split(features, labels, test_size=0.2, random_state=1,
                                         stratify=labels)
    (split,) = classify.random_splits(RANDOM_TABLE, seeds=[classify.REFERENCE_SPLIT_SEED])
    np.testing.assert_array_equal(features[split.test, 0], np.sort(test[:, 0]))
    np.testing.assert_array_equal(features[split.train, 0], np.sort(train[:, 0]))


@pytest.mark.parametrize("counts", [(10, 1), (1, 10), (10, 0)])
def test_random_splits_need_two_clips_of_each_class(counts):
    with pytest.raises(DatasetError, match="at least two of each"):
        classify.random_splits(_table({"id_00": counts}), seeds=[0])


def test_random_splits_refuse_a_test_or_training_set_too_small_for_both_classes():
    small = _table({"id_00": (3, 2)})  # a fifth of 5 clips is 1 test clip
    with pytest.raises(DatasetError, match="gives 1 test and 4 training clips"):
        classify.random_splits(small, seeds=[0])
    assert len(classify.random_splits(small, seeds=[0], test_size=0.4)[0].test) == 2


@pytest.mark.parametrize("test_size", [0.0, 1.0, 1.5])
def test_random_splits_need_a_test_share_between_zero_and_one(test_size):
    with pytest.raises(ValueError, match="test_size"):
        classify.random_splits(RANDOM_TABLE, seeds=[0], test_size=test_size)


# --------------------------------------------------------------------------- grouped splits

GROUP_TABLE = _table({"id_04": (5, 2), "id_00": (6, 3), "id_02": (4, 2)})


def test_group_splits_hold_out_each_machine_id_once():
    splits = classify.group_splits(GROUP_TABLE, seed=7)
    ids = GROUP_TABLE["machine_id"].to_numpy()
    assert [split.name for split in splits] == ["held-out id_00", "held-out id_02",
                                                "held-out id_04"]
    for split, machine_id in zip(splits, ["id_00", "id_02", "id_04"], strict=True):
        np.testing.assert_array_equal(split.test, np.flatnonzero(ids == machine_id))
        np.testing.assert_array_equal(split.train, np.flatnonzero(ids != machine_id))
        assert split.seed == 7


def test_group_splits_can_group_by_another_column():
    table = GROUP_TABLE.assign(fold=np.arange(len(GROUP_TABLE)) % 2)
    splits = classify.group_splits(table, by="fold")
    assert [split.name for split in splits] == ["held-out 0", "held-out 1"]
    np.testing.assert_array_equal(splits[1].test, np.arange(1, len(table), 2))


def test_group_splits_need_two_machine_ids():
    with pytest.raises(DatasetError, match="has 1 machine_id"):
        classify.group_splits(_table({"id_00": (5, 2)}))
    with pytest.raises(DatasetError, match="has 0 machine_id"):
        classify.group_splits(_table({"id_00": (5, 2)}).iloc[:0])


def test_group_splits_need_every_clip_s_machine_id():
    table = GROUP_TABLE.copy()
    table.loc[[0, 3], "machine_id"] = np.nan
    with pytest.raises(DatasetError, match="2 clips have no machine_id"):
        classify.group_splits(table)


def test_group_splits_refuse_a_held_out_id_with_one_class():
    table = _table({"id_00": (5, 2), "id_02": (4, 0)})
    with pytest.raises(DatasetError, match="'id_02' holds only one class"):
        classify.group_splits(table)


# --------------------------------------------------------------------------- scores

HAND_LABELS = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
HAND_PROBABILITY = np.array([0.1, 0.2, 0.6, 0.3, 0.5, 0.05, 0.9, 0.5, 0.4, 0.8])


def test_scores_equal_scikit_learn_on_a_hand_example():
    result = classify.scores(HAND_LABELS, HAND_PROBABILITY)
    decisions = (HAND_PROBABILITY >= 0.5).astype(int)  # 0.6, 0.5 (normal) and 0.9, 0.5, 0.8
    assert list(result) == ["recall", "f2", "precision", "auc"]
    assert result["recall"] == pytest.approx(metrics.recall_score(HAND_LABELS, decisions))
    assert result["recall"] == pytest.approx(3 / 4)
    assert result["precision"] == pytest.approx(metrics.precision_score(HAND_LABELS, decisions))
    assert result["precision"] == pytest.approx(3 / 5)
    assert result["f2"] == pytest.approx(metrics.fbeta_score(HAND_LABELS, decisions, beta=2))
    assert result["auc"] == pytest.approx(metrics.roc_auc_score(HAND_LABELS, HAND_PROBABILITY))


def test_scores_count_a_probability_at_the_threshold_as_an_alarm():
    labels, probability = [0, 1, 1], [0.2, 0.7, 0.3]
    assert classify.scores(labels, probability, threshold=0.7)["recall"] == 0.5
    assert classify.scores(labels, probability, threshold=0.71)["recall"] == 0.0
    assert classify.scores(labels, probability, threshold=0.3)["recall"] == 1.0
    # the AUC ranks, whatever the threshold
    assert classify.scores(labels, probability, threshold=0.9)["auc"] == 1.0


# --------------------------------------------------------------------------- evaluate_splits

COLUMNS = ["split", "seed", "recall", "f2", "precision", "auc", "fit_seconds"]


def _features(labels: np.ndarray, *, gap: float, seed: int = 0) -> np.ndarray:
    """Return 4 Gaussian features per clip; the anomalies are shifted by ``gap`` in the first."""
    values = np.random.default_rng(seed).normal(size=(len(labels), 4))
    values[:, 0] += gap * labels
    return values


def test_evaluate_splits_gives_one_row_per_split_and_separates_separable_data():
    labels = classify.anomaly_labels(RANDOM_TABLE)
    splits = classify.random_splits(RANDOM_TABLE, seeds=[0, 1, 2])
    result = classify.evaluate_splits(_features(labels, gap=20.0), labels, splits,
                                      _small_booster)
    assert list(result.columns) == COLUMNS
    assert result["split"].tolist() == [split.name for split in splits]
    assert result["seed"].tolist() == [0, 1, 2]
    assert result["auc"].tolist() == [1.0, 1.0, 1.0]
    assert result["recall"].tolist() == [1.0, 1.0, 1.0]
    assert (result["fit_seconds"] > 0).all()


class _Recorder:
    """A fake classifier: records its seed and training rows; its probability is feature 0."""

    made: list[tuple[int, int]] = []

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def fit(self, features, labels):
        type(self).made.append((self.seed, len(features)))
        return self

    def predict_proba(self, features):
        first = 1 / (1 + np.exp(-features[:, 0]))
        return np.column_stack([1 - first, first])


def test_evaluate_splits_fits_a_fresh_model_per_split_with_its_seed():
    _Recorder.made = []
    labels = classify.anomaly_labels(RANDOM_TABLE)
    features = _features(labels, gap=3.0)
    splits = classify.random_splits(RANDOM_TABLE, seeds=[5, 6])
    result = classify.evaluate_splits(features, labels, splits, _Recorder)
    assert _Recorder.made == [(5, len(splits[0].train)), (6, len(splits[1].train))]
    for row, split in zip(result.itertuples(), splits, strict=True):
        assert row.auc == pytest.approx(evaluate.auc(labels[split.test],
                                                     features[split.test, 0]))


def test_evaluate_splits_in_parallel_gives_the_same_metrics():
    labels = classify.anomaly_labels(RANDOM_TABLE)
    features = _features(labels, gap=1.0, seed=3)  # overlapping classes: metrics below 1
    splits = classify.random_splits(RANDOM_TABLE, seeds=[0, 1])
    serial = classify.evaluate_splits(features, labels, splits, _small_booster, n_jobs=1)
    parallel = classify.evaluate_splits(features, labels, splits, _small_booster, n_jobs=2)
    metric_columns = COLUMNS[:-1]
    pd.testing.assert_frame_equal(serial[metric_columns], parallel[metric_columns])
    assert serial["auc"].lt(1.0).any()  # the comparison is not between two trivial tables


def test_evaluate_splits_refuses_mismatched_lengths():
    labels = classify.anomaly_labels(RANDOM_TABLE)
    splits = classify.random_splits(RANDOM_TABLE, seeds=[0])
    with pytest.raises(ValueError, match=f"features has 62 rows for {len(labels)} labels"):
        classify.evaluate_splits(_features(labels, gap=1.0)[:-1], labels, splits,
                                 _small_booster)


# --------------------------------------------------------------------------- spread_table


def test_spread_table_shows_mean_and_std_of_each_metric_per_method():
    first = pd.DataFrame({"recall": [0.5, 0.7, 0.9], "f2": [0.4, 0.6, 0.5],
                          "auc": [0.91, 0.93, 0.95], "fit_seconds": [1.0, 2.0, 4.0]})
    second = first * 0.5
    table = classify.spread_table({"GB": first, "HistGB": second})
    assert list(table.index) == ["GB", "HistGB"]
    assert list(table.columns) == ["recall", "f2", "auc"]
    for method, source in (("GB", first), ("HistGB", second)):
        for metric in table.columns:
            assert table.loc[method, metric] == evaluate.spread(source[metric])
    assert table.loc["GB", "recall"] == "0.70 ± 0.20"
    timed = classify.spread_table({"GB": first}, metrics=("fit_seconds",))
    assert timed.loc["GB", "fit_seconds"] == evaluate.spread(first["fit_seconds"])


# --------------------------------------------------------------------------- normal_only

DIM = 3


def _normal_only_case(seed: int = 0, *, n_train: int = 40, n_test: int = 20):
    """Return ``(table, items, split)``: two IDs of 3-D Gaussian clips, far apart.

    Per ID: ``n_train`` normal training clips, ``n_test`` normal test clips and 5 test
    anomalies 8 standard deviations out. id_00 sits at 0, id_02 at 30.
    """
    rng = np.random.default_rng(seed)
    rows, items, train, test = [], [], [], []
    for machine_id, centre in (("id_00", 0.0), ("id_02", 30.0)):
        for part, label, count, shift in (("train", "normal", n_train, 0.0),
                                          ("test", "normal", n_test, 0.0),
                                          ("test", "anomaly", 5, 8.0)):
            for _ in range(count):
                (train if part == "train" else test).append(len(rows))
                rows.append({"path": f"/{machine_id}/{len(rows):04d}.wav", "label": label,
                             "machine_id": machine_id, "split": part, "dataset": "toy"})
                items.append(centre + shift + rng.normal(size=DIM))
    split = classify.Split("manual", seed, np.array(train), np.array(test))
    return pd.DataFrame(rows), items, split


def _by_hand(vectors: np.ndarray, test: np.ndarray, n_folds: int = 5, quantile: float = 0.9):
    """Return (scores, decisions) of chapter 04's protocol, fitted on ``vectors`` alone."""
    held_out = np.empty(len(vectors))
    for fit, left_out in KFold(n_splits=n_folds).split(vectors):
        held_out[left_out] = anomaly.MahalanobisScorer().fit(vectors[fit]).score(
            vectors[left_out])
    threshold = np.quantile(held_out, quantile)
    scores = anomaly.MahalanobisScorer().fit(vectors).score(test)
    return scores, (scores >= threshold).astype(int)


@pytest.mark.parametrize("n_folds", [5, 3])
def test_normal_only_fits_each_id_on_its_own_normal_training_clips(n_folds):
    table, items, split = _normal_only_case(n_test=150)  # many test clips near the threshold
    result = classify.normal_only(table, items, split, anomaly.MahalanobisScorer,
                                  n_folds=n_folds)
    assert isinstance(result, classify.NormalOnly)
    assert result.scores.shape == result.decisions.shape == (len(split.test),)
    vectors = np.stack(items)
    ids = table["machine_id"].to_numpy()
    for machine_id in ("id_00", "id_02"):
        train = split.train[ids[split.train] == machine_id]
        here = ids[split.test] == machine_id
        scores, decisions = _by_hand(vectors[train], vectors[split.test[here]], n_folds)
        np.testing.assert_allclose(result.scores[here], scores)
        np.testing.assert_array_equal(result.decisions[here], decisions)


def test_normal_only_ignores_faulty_training_clips():
    table, items, split = _normal_only_case()
    before = classify.normal_only(table, items, split, anomaly.MahalanobisScorer)
    faulty = pd.DataFrame([{"path": "/id_00/far.wav", "label": "anomaly",
                            "machine_id": "id_00", "split": "train", "dataset": "toy"}])
    far = np.full(DIM, 1000.0)  # would move the mean of id_00 far away if it were used
    with_faulty = classify.Split("manual", 0, np.append(split.train, len(table)), split.test)
    after = classify.normal_only(pd.concat([table, faulty], ignore_index=True), [*items, far],
                                 with_faulty, anomaly.MahalanobisScorer)
    np.testing.assert_array_equal(after.scores, before.scores)
    np.testing.assert_array_equal(after.decisions, before.decisions)


def test_normal_only_scores_clear_outliers_higher():
    table, items, split = _normal_only_case(seed=1)
    result = classify.normal_only(table, items, split, anomaly.MahalanobisScorer)
    faulty = classify.anomaly_labels(table)[split.test] == 1
    assert result.scores[faulty].min() > result.scores[~faulty].max()
    assert result.decisions[faulty].all()
    assert evaluate.auc(faulty.astype(int), result.scores) == 1.0


def test_normal_only_raises_alarms_on_about_a_tenth_of_similar_normal_clips():
    table, items, split = _normal_only_case(seed=2, n_train=200, n_test=400)
    result = classify.normal_only(table, items, split, anomaly.MahalanobisScorer)
    normal = classify.anomaly_labels(table)[split.test] == 0
    false_alarms = result.decisions[normal].mean()
    assert 0.05 <= false_alarms <= 0.17


def test_normal_only_works_without_a_machine_id_column():
    table, items, split = _normal_only_case()
    one_id = table["machine_id"].to_numpy()[split.test] == "id_00"
    split = classify.Split("id_00 only", 0, split.train[:40], split.test[one_id])
    without = table.drop(columns="machine_id")
    result = classify.normal_only(without, items, split, anomaly.MahalanobisScorer)
    vectors = np.stack(items)
    scores, decisions = _by_hand(vectors[split.train], vectors[split.test])
    np.testing.assert_allclose(result.scores, scores)
    np.testing.assert_array_equal(result.decisions, decisions)


def test_normal_only_takes_frame_matrices_of_different_lengths():
    table, items, split = _normal_only_case()
    rng = np.random.default_rng(5)
    frames = [item + 0.1 * rng.normal(size=(3 + index % 4, DIM))
              for index, item in enumerate(items)]

    def make_scorer():
        return anomaly.FrameScorer(anomaly.MahalanobisScorer())

    result = classify.normal_only(table, frames, split, make_scorer)
    faulty = classify.anomaly_labels(table)[split.test] == 1
    assert result.scores.shape == (len(split.test),)
    assert result.scores[faulty].min() > result.scores[~faulty].max()


def test_normal_only_needs_three_normal_training_clips_per_id():
    table, items, split = _normal_only_case()
    ids, labels = table["machine_id"].to_numpy(), classify.anomaly_labels(table)
    keep = split.train[(ids[split.train] != "id_02") | (np.arange(len(split.train)) < 42)]
    assert labels[keep][ids[keep] == "id_02"].size == 2
    short = classify.Split("short", 0, keep, split.test)
    with pytest.raises(DatasetError, match="'id_02' has 2 normal training clips in short"):
        classify.normal_only(table, items, short, anomaly.MahalanobisScorer)


def test_normal_only_refuses_items_of_another_length_and_one_fold():
    table, items, split = _normal_only_case()
    with pytest.raises(DatasetError, match=f"items has {len(items) - 1} entries"):
        classify.normal_only(table, items[:-1], split, anomaly.MahalanobisScorer)
    with pytest.raises(ValueError, match="n_folds=1"):
        classify.normal_only(table, items, split, anomaly.MahalanobisScorer, n_folds=1)
