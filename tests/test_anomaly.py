"""Tests for course_lib.anomaly: outliers score higher, ill-posed fits raise, determinism."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from course_lib import anomaly, evaluate

DIM = 4


@pytest.fixture(scope="module")
def gaussian() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (train, inliers, outliers): correlated Gaussian vectors and far-away points."""
    rng = np.random.default_rng(0)
    mixing = rng.normal(size=(DIM, DIM))
    train = rng.normal(size=(200, DIM)) @ mixing
    inliers = rng.normal(size=(20, DIM)) @ mixing
    outliers = inliers + 6.0 * np.abs(mixing).sum(axis=0)
    return train, inliers, outliers


CLIP_SCORERS = [
    lambda: anomaly.GaussianMixtureScorer(),
    lambda: anomaly.GaussianMixtureScorer(covariance_type="diag", pca_components=3),
    lambda: anomaly.MahalanobisScorer(),
    lambda: anomaly.MahalanobisScorer(shrinkage=None),
    lambda: anomaly.KNNScorer(k=5),
]


@pytest.mark.parametrize("make", CLIP_SCORERS, ids=["gmm", "gmm-diag-pca", "lw", "emp", "knn"])
def test_outliers_score_higher(gaussian, make):
    train, inliers, outliers = gaussian
    scorer = make().fit(train)
    normal, abnormal = scorer.score(inliers), scorer.score(outliers)
    assert normal.shape == (20,) and np.isfinite(normal).all()
    assert abnormal.min() > normal.max()


def test_list_of_vectors_equals_matrix(gaussian):
    train, inliers, _ = gaussian
    from_matrix = anomaly.KNNScorer().fit(train).score(inliers)
    from_list = anomaly.KNNScorer().fit(list(train)).score(list(inliers))
    assert np.array_equal(from_matrix, from_list)


def test_gmm_score_is_negative_log_likelihood(gaussian):
    train, inliers, _ = gaussian
    scorer = anomaly.GaussianMixtureScorer(n_components=1, standardise=False).fit(train)
    mean, cov = train.mean(axis=0), np.cov(train, rowvar=False, bias=True)
    diff = inliers - mean
    mahal = np.einsum("ij,jk,ik->i", diff, np.linalg.inv(cov), diff)
    nll = 0.5 * (mahal + np.linalg.slogdet(cov)[1] + DIM * np.log(2 * np.pi))
    assert np.allclose(scorer.score(inliers), nll, rtol=1e-4)


def test_gmm_same_seed_gives_identical_scores(gaussian):
    train, inliers, _ = gaussian
    first = anomaly.GaussianMixtureScorer(n_components=3, seed=7).fit(train).score(inliers)
    again = anomaly.GaussianMixtureScorer(n_components=3, seed=7).fit(train).score(inliers)
    assert np.array_equal(first, again)


def test_full_gmm_with_more_dims_than_clips_raises_with_advice():
    train = np.random.default_rng(1).normal(size=(20, 128))
    with pytest.raises(anomaly.IllPosedFitError, match="covariance_type='diag'.*reg_covar.*pca"):
        anomaly.GaussianMixtureScorer().fit(train)
    # Each of the three suggested fixes gives finite scores.
    for fixed in (
        anomaly.GaussianMixtureScorer(covariance_type="diag"),
        anomaly.GaussianMixtureScorer(reg_covar=0.1),
        anomaly.GaussianMixtureScorer(pca_components=5),
    ):
        assert np.isfinite(fixed.fit(train).score(train)).all()


def test_other_ill_posed_fits_raise():
    train = np.random.default_rng(2).normal(size=(10, 20))
    with pytest.raises(anomaly.IllPosedFitError, match="shrinkage='ledoit_wolf'"):
        anomaly.MahalanobisScorer(shrinkage=None).fit(train)
    with pytest.raises(anomaly.IllPosedFitError, match="lower k"):
        anomaly.KNNScorer(k=11).fit(train)
    with pytest.raises(anomaly.IllPosedFitError, match="choose 1..10"):
        anomaly.GaussianMixtureScorer(pca_components=15).fit(train)
    with pytest.raises(anomaly.IllPosedFitError, match="lower n_components"):
        anomaly.GaussianMixtureScorer(n_components=3).fit(train[:2])
    assert np.isfinite(anomaly.MahalanobisScorer().fit(train).score(train)).all()


def test_bad_items_raise_clear_errors(gaussian):
    train, inliers, _ = gaussian
    with pytest.raises(ValueError, match="FrameScorer"):
        anomaly.KNNScorer().fit([np.zeros((5, DIM))] * 6)
    with pytest.raises(RuntimeError, match="not fitted"):
        anomaly.KNNScorer().score(inliers)
    scorer = anomaly.MahalanobisScorer().fit(train)
    with pytest.raises(ValueError, match="fitted on 4"):
        scorer.score(inliers[:, :2])
    with pytest.raises(ValueError, match="NaN"):
        scorer.score(np.full((2, DIM), np.nan))
    with pytest.raises(ValueError, match="covariance_type"):
        anomaly.GaussianMixtureScorer(covariance_type="ful")


def _clips(rng: np.random.Generator, n_clips: int, n_frames: int) -> list[np.ndarray]:
    """Return ``n_clips`` matrices of standard-normal frames."""
    return [rng.normal(size=(n_frames, DIM)) for _ in range(n_clips)]


def test_frame_scorer_aggregates_frame_scores():
    rng = np.random.default_rng(3)
    train = _clips(rng, 10, 50)
    base = anomaly.MahalanobisScorer()
    test = [rng.normal(size=(30, DIM)), rng.normal(size=(20, DIM))]
    frames = anomaly.FrameScorer(base).fit(train).score_frames(test)
    assert [f.shape for f in frames] == [(30,), (20,)]
    for aggregate, reduce in [
        ("mean", np.mean), ("max", np.max), ("median", np.median),
        ("p90", lambda s: np.percentile(s, 90)), (np.min, np.min),
    ]:
        scores = anomaly.FrameScorer(base, aggregate).score(test)
        assert np.allclose(scores, [reduce(f) for f in frames])
    # The base scorer was fitted on all training frames stacked: same as fitting it directly.
    direct = anomaly.MahalanobisScorer().fit(np.vstack(train)).score(test[0])
    assert np.allclose(frames[0], direct)


def test_frame_max_finds_a_short_click_that_the_mean_dilutes():
    rng = np.random.default_rng(4)
    train, normal, clicked = _clips(rng, 20, 100), _clips(rng, 20, 100), _clips(rng, 20, 100)
    for clip in clicked:
        clip[50] += 3.0  # one loud frame in 100
    y_true = [0] * 20 + [1] * 20
    base = anomaly.GaussianMixtureScorer(n_components=1)
    aucs = {}
    for aggregate in ("max", "mean"):
        scorer = anomaly.FrameScorer(base, aggregate).fit(train)
        aucs[aggregate] = evaluate.auc(y_true, np.r_[scorer.score(normal), scorer.score(clicked)])
    assert aucs["max"] == 1.0
    assert aucs["mean"] < 0.9


def test_frame_scorer_rejects_vectors_and_bad_aggregates():
    with pytest.raises(ValueError, match="n_frames, dim"):
        anomaly.FrameScorer(anomaly.KNNScorer()).fit([np.zeros(DIM)] * 6)
    with pytest.raises(ValueError, match="aggregate"):
        anomaly.FrameScorer(anomaly.KNNScorer(), "top3")


def test_clip_scores_aggregates_each_clip():
    frames = [np.array([1.0, 2.0, 3.0, 10.0]), np.arange(11.0)]
    scores = anomaly.clip_scores(frames, ("mean", "max", "p90", np.median))
    assert list(scores) == ["mean", "max", "p90", "median"]
    np.testing.assert_allclose(scores["mean"], [4.0, 5.0])
    np.testing.assert_allclose(scores["max"], [10.0, 10.0])
    np.testing.assert_allclose(scores["p90"], [np.percentile(frames[0], 90), 9.0])
    np.testing.assert_allclose(scores["median"], [2.5, 5.0])


@pytest.mark.parametrize(("frames", "message"), [([], "frame_scores is empty"),
                                                 ([np.ones(3), np.array([])], "clips \\[1\\]")])
def test_clip_scores_rejects_missing_frames(frames, message):
    with pytest.raises(ValueError, match=message):
        anomaly.clip_scores(frames)


def _two_machine_table(rng: np.random.Generator) -> tuple[pd.DataFrame, list[np.ndarray]]:
    """Return a clip table of two machine IDs (id_01 listed first) and one vector per clip.

    id_00's vectors sit near 0, id_01's near 10; each ID's anomalies are shifted by +3 in
    every dimension, and own-recording style faulty training clips are in the table too.
    """
    rows, items = [], []
    for machine_id, centre in (("id_01", 10.0), ("id_00", 0.0)):
        for split, label, count, shift in (("train", "normal", 20, 0.0),
                                           ("train", "anomaly", 3, 3.0),
                                           ("test", "normal", 6, 0.0),
                                           ("test", "anomaly", 6, 3.0)):
            for _ in range(count):
                rows.append({"machine_id": machine_id, "split": split, "label": label})
                items.append(centre + shift + rng.standard_normal(4))
    table = pd.DataFrame(rows)
    table.index = table.index + 50  # positions, not labels, pick the items
    return table, items


def test_fit_per_group_fits_each_id_on_its_normal_training_clips():
    table, items = _two_machine_table(np.random.default_rng(0))
    sizes = []

    def make(n_train):
        sizes.append(n_train)
        return anomaly.MahalanobisScorer()

    fit = anomaly.fit_per_group(table, items, make)
    assert sizes == [20, 20]  # faulty training clips are not fitted on
    assert list(fit.scorers) == ["id_00", "id_01"]
    assert (fit.rows.split == "test").all() and len(fit.rows) == len(fit.scores) == 24
    assert list(fit.rows.machine_id.unique()) == ["id_00", "id_01"]
    # each ID's own model: id_01's normal clips (near 10) are normal for it
    assert evaluate.mean_auc(fit.rows, fit.scores) > 0.95
    pooled = anomaly.MahalanobisScorer().fit(
        [items[i] for i in np.flatnonzero((table.split == "train") & (table.label == "normal"))])
    single = pooled.score([items[table.index.get_loc(i)] for i in fit.rows.index])
    assert evaluate.auc((fit.rows.label != "normal").astype(int), single) < evaluate.mean_auc(
        fit.rows, fit.scores)


def test_fit_per_group_keeps_frame_scores_and_refuses_bad_input():
    table, items = _two_machine_table(np.random.default_rng(1))
    frames = [np.stack([item, item + 0.1]) for item in items]
    fit = anomaly.fit_per_group(
        table, frames, lambda n: anomaly.FrameScorer(anomaly.MahalanobisScorer()),
        score=lambda scorer, test: scorer.score_frames(test))
    assert isinstance(fit.scores, list) and all(s.shape == (2,) for s in fit.scores)
    with pytest.raises(anomaly.DatasetError, match="23 entries for 24"):
        anomaly.fit_per_group(table.iloc[:24], items[:23], lambda n: anomaly.KNNScorer())
    no_training = table[~((table.machine_id == "id_00") & (table.split == "train"))]
    with pytest.raises(anomaly.DatasetError, match="id_00.*no normal training clip"):
        anomaly.fit_per_group(no_training, [items[table.index.get_loc(i)]
                                            for i in no_training.index],
                              lambda n: anomaly.KNNScorer())


def test_mean_auc_is_the_unweighted_mean_over_ids():
    table = pd.DataFrame({"machine_id": ["a"] * 4 + ["b"] * 6,
                          "label": ["normal", "anomaly"] * 2 + ["normal", "anomaly"] * 3})
    scores = np.array([0, 1, 0, 1] + [1, 0, 1, 0, 0, 1])  # a perfect, b worse than chance
    per_id = evaluate.per_group(table, scores)
    assert evaluate.mean_auc(table, scores) == pytest.approx(
        (per_id.loc["a", "auc"] + per_id.loc["b", "auc"]) / 2)
    assert evaluate.mean_auc(table, scores) != pytest.approx(evaluate.auc(
        (table.label != "normal").astype(int), scores))
