"""Pictures of gradient boosting (chapter 06): how a sum of small trees becomes a decision.

A boosted classifier is drawn on two features, where a reader can see it: the probability
of the positive class over the plane after the first tree, after a few and after all of
them (:func:`boosting_stages`), and which features the trees split on most
(:func:`feature_importances`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from course_lib import _checks
from course_lib.plots import _base
from course_lib.plots.mixtures import FEATURE_LABELS

PROBABILITY_LABEL = "Probability of 'anomaly'"
#: Colours of the two classes: blue for normal, orange for anomaly (colour-blind safe).
CLASS_COLOURS = ("#0072b2", "#d55e00")


def _staged(model, grid: np.ndarray, stages: Sequence[int]) -> list[np.ndarray]:
    """Return the model's anomaly probability on ``grid`` after each of ``stages`` trees."""
    wanted = {int(stage) for stage in stages}
    found, trees = {}, 0
    for trees, probability in enumerate(model.staged_predict_proba(grid), start=1):
        if trees in wanted:
            found[trees] = probability[:, 1]
    missing = sorted(wanted - set(found))
    if missing:
        raise ValueError(f"stages {missing} lie outside the model's {trees} trees; pass "
                         f"stages between 1 and {trees}.")
    return [found[int(stage)] for stage in stages]


def boosting_stages(
    model,
    points: Sequence | np.ndarray,
    labels: Sequence[int] | np.ndarray,
    *,
    stages: Sequence[int] = (1, 10, 100),
    fig: Figure | None = None,
    xlabel: str = FEATURE_LABELS[0],
    ylabel: str = FEATURE_LABELS[1],
    n_grid: int = 150,
) -> tuple[Figure, np.ndarray]:
    """Return ``(fig, axes)``: a fitted 2-feature booster's probability after ``stages`` trees.

    One panel per stage shows ``model.staged_predict_proba`` on a grid around ``points``
    (blue = normal, orange = anomaly, by ``labels``), with the 0.5 contour, where the decision
    flips, in black. Each tree only cuts the plane along the axes, so the first panel is a few
    rectangles; the sum of many trees bends the boundary around the data (chapter 06).

    Raises:
        ValueError: no stages, a stage outside 1..the model's trees, or ``points`` that are
            not one 2-D point per label.
    """
    if len(stages) == 0:
        raise ValueError("stages is empty; pass the tree counts to draw, e.g. (1, 10, 100).")
    data = np.asarray(points, dtype=float)
    classes = np.asarray(labels, dtype=int)
    if data.ndim != 2 or data.shape[1] != 2 or len(data) != len(classes):
        raise ValueError(f"points has shape {data.shape} for {len(classes)} labels; pass "
                         "one 2-D point per label.")
    low, high = data.min(axis=0), data.max(axis=0)
    margin = 0.1 * (high - low)
    xs = np.linspace(low[0] - margin[0], high[0] + margin[0], n_grid)
    ys = np.linspace(low[1] - margin[1], high[1] + margin[1], n_grid)
    grid_x, grid_y = np.meshgrid(xs, ys)
    surfaces = _staged(model, np.column_stack([grid_x.ravel(), grid_y.ravel()]), stages)
    fig, axes = _base.grid(fig, 1, len(stages), height=3.0, sharex=True, sharey=True)
    for ax, stage, surface in zip(axes[0], stages, surfaces, strict=True):
        filled = ax.contourf(grid_x, grid_y, surface.reshape(grid_x.shape),
                             levels=np.linspace(0, 1, 11), cmap="RdBu_r", vmin=0, vmax=1)
        ax.contour(grid_x, grid_y, surface.reshape(grid_x.shape), levels=[0.5],
                   colors="black", linewidths=1.2)
        for value, name in ((0, "normal"), (1, "anomaly")):
            chosen = data[classes == value]
            ax.scatter(chosen[:, 0], chosen[:, 1], s=10, color=CLASS_COLOURS[value],
                       edgecolor="white", linewidth=0.4, label=name)
        tree_word = "tree" if stage == 1 else "trees"
        _base.label(ax, xlabel=xlabel, ylabel=ylabel if ax is axes[0, 0] else "",
                    title=f"after {stage} {tree_word}")
    axes[0, 0].legend(loc="upper left", fontsize="x-small", framealpha=0.8)
    fig.colorbar(filled, ax=axes[0].tolist(), label=PROBABILITY_LABEL, shrink=0.9)
    return fig, axes


def feature_importances(
    importances: Sequence[float] | np.ndarray,
    *,
    names: Sequence[str] | None = None,
    top: int = 20,
    ax: Axes | None = None,
    title: str | None = None,
) -> tuple[Figure, Axes]:
    """Return ``(fig, ax)``: the ``top`` largest feature importances as horizontal bars (ch. 06).

    ``names`` labels the features (default ``"feature i"``); the largest is drawn on top.
    Raises ValueError when ``names`` and ``importances`` differ in length or ``top`` < 1.
    """
    values = np.asarray(importances, dtype=float)
    labels = list(names) if names is not None else [f"feature {i}" for i in range(len(values))]
    if len(labels) != len(values):
        raise ValueError(f"names has {len(labels)} entries for {len(values)} importances; "
                         "pass one name per feature, in the model's feature order.")
    top = _checks.count(top, "top")
    order = np.argsort(values)[::-1][:top][::-1]
    fig, ax = _base.axes(ax)
    ax.barh([labels[i] for i in order], values[order], color=CLASS_COLOURS[0])
    _base.label(ax, xlabel="Importance (share of the loss reduction)", ylabel="",
                title=title)
    return fig, ax
