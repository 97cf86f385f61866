"""Tests for course_lib.plots.boosting (chapter 06): the stages of a booster, its importances."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import functools

import matplotlib.pyplot as plt
import numpy as np
import pytest

from course_lib import classify
from course_lib.plots import boosting


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@functools.cache
def _case() -> tuple[object, np.ndarray, np.ndarray]:
    """Return ``(model, points, labels)``: 20 trees fitted to two overlapping 2-D classes."""
    rng = np.random.default_rng(0)
    normal = rng.normal(size=(60, 2))
    faulty = rng.normal(loc=(2.0, 1.0), size=(40, 2))
    points = np.vstack([normal, faulty])
    labels = np.repeat([0, 1], [60, 40])
    model = classify.reference_boosting(0).set_params(n_estimators=20, max_features=None)
    return model.fit(points, labels), points, labels


def _surface(model, points: np.ndarray, stage: int, n_grid: int) -> np.ndarray:
    """Return the model's anomaly probability after ``stage`` trees on the plot's grid."""
    low, high = points.min(axis=0), points.max(axis=0)
    margin = 0.1 * (high - low)
    xs = np.linspace(low[0] - margin[0], high[0] + margin[0], n_grid)
    ys = np.linspace(low[1] - margin[1], high[1] + margin[1], n_grid)
    grid = np.column_stack([axis.ravel() for axis in np.meshgrid(xs, ys)])
    return list(model.staged_predict_proba(grid))[stage - 1][:, 1]


def _filled_bands(ax) -> int:
    """Return how many of the ten probability bands of the panel's filled contours are drawn."""
    filled = ax.collections[0]
    return sum(len(path.vertices) > 0 for path in filled.get_paths())


def test_boosting_stages_draw_one_titled_panel_per_stage():
    model, points, labels = _case()
    fig, axes = boosting.boosting_stages(model, points, labels, stages=(1, 10, 20), n_grid=40,
                                         xlabel="level", ylabel="tilt")
    panels = axes.ravel()
    assert len(panels) == 3
    assert [ax.get_title() for ax in panels] == ["after 1 tree", "after 10 trees",
                                                 "after 20 trees"]
    assert [ax.get_xlabel() for ax in panels] == ["level"] * 3
    assert [ax.get_ylabel() for ax in panels] == ["tilt", "", ""]
    colourbars = [ax for ax in fig.axes if ax not in panels]
    assert [ax.get_ylabel() for ax in colourbars] == [boosting.PROBABILITY_LABEL]


def test_each_panel_shows_the_probability_after_its_stage():
    model, points, labels = _case()
    _, axes = boosting.boosting_stages(model, points, labels, stages=(1, 10), n_grid=40)
    for ax, stage in zip(axes.ravel(), (1, 10), strict=True):
        surface = _surface(model, points, stage, 40)
        filled, boundary = ax.collections[0], ax.collections[1]
        assert filled.zmin == pytest.approx(surface.min())
        assert filled.zmax == pytest.approx(surface.max())
        np.testing.assert_allclose(filled.levels, np.linspace(0, 1, 11))
        assert list(boundary.levels) == [0.5]  # the decision boundary


def test_the_first_tree_is_coarser_than_ten():
    model, points, labels = _case()
    _, axes = boosting.boosting_stages(model, points, labels, stages=(1, 10), n_grid=40)
    first, tenth = axes.ravel()
    first_range = first.collections[0].zmax - first.collections[0].zmin
    tenth_range = tenth.collections[0].zmax - tenth.collections[0].zmin
    assert first_range < tenth_range / 2  # one tree moves the probability only a little
    assert _filled_bands(first) < _filled_bands(tenth)


def test_the_points_are_drawn_by_class_with_a_legend():
    model, points, labels = _case()
    _, axes = boosting.boosting_stages(model, points, labels, stages=(1,), n_grid=20)
    ax = axes[0, 0]
    normal, faulty = ax.collections[2], ax.collections[3]
    np.testing.assert_allclose(normal.get_offsets(), points[labels == 0])
    np.testing.assert_allclose(faulty.get_offsets(), points[labels == 1])
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["normal", "anomaly"]
    low, high = points.min(axis=0), points.max(axis=0)
    margin = 0.1 * (high - low)  # the probability is drawn a tenth beyond the points
    assert ax.get_xlim() == pytest.approx((low[0] - margin[0], high[0] + margin[0]))
    assert ax.get_ylim() == pytest.approx((low[1] - margin[1], high[1] + margin[1]))


def test_boosting_stages_refuse_stages_beyond_the_trees():
    model, points, labels = _case()
    with pytest.raises(ValueError, match=r"stages \[50\] lie outside the model's 20 trees"):
        boosting.boosting_stages(model, points, labels, stages=(1, 50), n_grid=10)
    with pytest.raises(ValueError, match=r"stages \[0\]"):
        boosting.boosting_stages(model, points, labels, stages=(0, 10), n_grid=10)
    with pytest.raises(ValueError, match="stages is empty"):
        boosting.boosting_stages(model, points, labels, stages=(), n_grid=10)


def test_boosting_stages_need_one_2d_point_per_label():
    model, points, labels = _case()
    with pytest.raises(ValueError, match=r"shape \(100, 3\)"):
        boosting.boosting_stages(model, np.column_stack([points, points[:, 0]]), labels)
    with pytest.raises(ValueError, match="one 2-D point per label"):
        boosting.boosting_stages(model, points, labels[:-1])
    with pytest.raises(ValueError, match="one 2-D point per label"):
        boosting.boosting_stages(model, points[:, 0], labels)


# --------------------------------------------------------------------------- importances

IMPORTANCES = np.array([0.1, 0.5, 0.02, 0.3, 0.08])
NAMES = ["mfcc 0", "mfcc 1", "mfcc 2", "mfcc 3", "mfcc 4"]


def _bars(ax) -> tuple[list[str], list[float]]:
    """Return the bar labels and widths from bottom to top."""
    ax.figure.canvas.draw()
    labels = [text.get_text() for text in ax.get_yticklabels()]
    bars = sorted(ax.patches, key=lambda bar: bar.get_y())
    return labels, [bar.get_width() for bar in bars]


def test_feature_importances_draw_the_top_bars_largest_on_top():
    fig, ax = boosting.feature_importances(IMPORTANCES, names=NAMES, top=3, title="GB")
    labels, widths = _bars(ax)
    assert labels == ["mfcc 0", "mfcc 3", "mfcc 1"]
    assert widths == pytest.approx([0.1, 0.3, 0.5])
    assert ax.get_title() == "GB" and ax.get_xlabel()
    assert fig is ax.figure


def test_feature_importances_default_names_and_all_bars_when_top_is_large():
    _, ax = boosting.feature_importances(IMPORTANCES, top=20)
    labels, widths = _bars(ax)
    assert labels == ["feature 2", "feature 4", "feature 0", "feature 3", "feature 1"]
    assert widths == pytest.approx(np.sort(IMPORTANCES))


def test_feature_importances_draw_into_a_given_axes():
    fig, given = plt.subplots()
    returned_fig, ax = boosting.feature_importances(IMPORTANCES, top=2, ax=given)
    assert ax is given and returned_fig is fig
    assert len(ax.patches) == 2


def test_feature_importances_refuse_names_of_another_length_and_no_bars():
    with pytest.raises(ValueError, match="names has 2 entries for 5 importances"):
        boosting.feature_importances(IMPORTANCES, names=NAMES[:2])
    with pytest.raises(ValueError, match="top=0"):
        boosting.feature_importances(IMPORTANCES, top=0)
