"""Plots of evaluations: ROC curves, scores, thresholds, errors and training (chapters 03-05).

Labels follow :mod:`course_lib.evaluate`: 1 = anomaly, 0 = normal, a higher score is more
anomalous, and every plot of labelled scores takes ``(y_true, scores)`` in that order, as
scikit-learn does. Each function draws into ``ax`` when given, otherwise into a new figure,
labels its axes with units and returns ``(fig, ax)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from course_lib import evaluate, uncertainty
from course_lib.plots import _base
from course_lib.plots._base import CLIPS_LABEL
from course_lib.plots.tables import matrix

FPR_LABEL = "False-positive rate (fraction of normal clips)"
TPR_LABEL = "True-positive rate (fraction of anomalies)"
SCORE_LABEL = "Anomaly score (higher = more anomalous)"
CLASS_NAMES = ("normal", "anomaly")
#: Markers that tell groups apart without colour (pca_scatter).
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def roc_curves(
    curves: Mapping[str, tuple[Sequence[int], Sequence[float]]],
    *,
    ax: Axes | None = None,
    max_fpr: float | None = None,
    title: str | None = None,
) -> tuple[Figure, Axes]:
    """Return ``(fig, ax)`` with one ROC curve per method, AUC (and pAUC) in the legend (ch. 04).

    Args:
        curves: method name -> ``(y_true, scores)`` on the same or different test clips.
        max_fpr: if given, shade the false-positive range of the partial AUC and add each
            method's standardised pAUC (:func:`course_lib.evaluate.pauc`) to its legend entry.
    """
    if not curves:
        raise ValueError("curves is empty; pass a mapping like {'GMM': (y_true, scores)}.")
    fig, ax = _base.axes(ax)
    if max_fpr is not None:
        ax.axvspan(0.0, max_fpr, color="0.9", zorder=0, label=f"pAUC range (FPR ≤ {max_fpr:g})")
    ax.plot([0, 1], [0, 1], linestyle="--", color="0.5", label="chance (AUC 0.5)")
    for index, (name, (y_true, scores)) in enumerate(curves.items()):
        fpr, tpr, _ = evaluate.roc(y_true, scores)
        label = f"{name} (AUC {evaluate.auc(y_true, scores):.3f}"
        if max_fpr is not None:
            label += f", pAUC {evaluate.pauc(y_true, scores, max_fpr=max_fpr):.3f}"
        ax.plot(fpr, tpr, drawstyle="steps-post", color=f"C{index % 8}", label=label + ")")
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 1.02)
    ax.legend(loc="lower right", fontsize="small")  # good detectors leave this corner empty
    _base.label(ax, xlabel=FPR_LABEL, ylabel=TPR_LABEL, title=title)
    return fig, ax


def score_histogram(
    y_true: Sequence[int] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    *,
    threshold: float | None = None,
    ax: Axes | None = None,
    title: str | None = None,
    bins: int = 30,
) -> tuple[Figure, Axes]:
    """Return ``(fig, ax)`` with overlaid score histograms of normal and anomalous clips (ch. 04).

    Both classes share the same bins, so their overlap is the region where any threshold makes
    mistakes; ``threshold`` draws the decision threshold as a vertical line.
    """
    labels, values = evaluate.labels_and_scores(y_true, scores, both_classes=False)
    fig, ax = _base.axes(ax)
    edges = np.histogram_bin_edges(values, bins=bins)
    for cls, name in enumerate(CLASS_NAMES):
        chosen = values[labels == cls]
        if chosen.size:
            ax.hist(chosen, bins=edges, alpha=0.6, color=f"C{cls}", label=f"{name} ({chosen.size})")
    if threshold is not None:
        ax.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:.3g}")
    ax.legend(loc="best")
    _base.label(ax, xlabel=SCORE_LABEL, ylabel=CLIPS_LABEL, title=title)
    return fig, ax


def threshold_sweep(
    y_true: Sequence[int] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    *,
    threshold: float | None = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> tuple[Figure, Axes]:
    """Return ``(fig, ax)`` with false positives and false negatives vs the threshold (ch. 04).

    A clip is flagged as anomalous when its score is at least the threshold. Raising the
    threshold trades false alarms (normal clips flagged) for missed anomalies; ``threshold``
    marks a chosen value.
    """
    labels, values = evaluate.labels_and_scores(y_true, scores, both_classes=False)
    candidates = np.unique(values)
    span = float(np.ptp(values)) or 1.0
    margin = 0.02 * span
    grid = np.concatenate([[candidates[0] - margin], candidates, [candidates[-1] + margin]])
    false_pos = [(values[labels == 0] >= t).sum() for t in grid]
    false_neg = [(values[labels == 1] < t).sum() for t in grid]
    fig, ax = _base.axes(ax)
    ax.plot(grid, false_pos, drawstyle="steps-post", color="C0",
            label="false positives (normal flagged)")
    ax.plot(grid, false_neg, drawstyle="steps-post", color="C5",
            label="false negatives (anomaly missed)")
    if threshold is not None:
        ax.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:.3g}")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="best")
    _base.label(ax, xlabel="Threshold (anomaly score)", ylabel=CLIPS_LABEL, title=title)
    return fig, ax


def confusion_matrix(
    y_true: Sequence[int] | np.ndarray,
    y_pred: Sequence[int] | np.ndarray,
    *,
    labels: Sequence[str] = CLASS_NAMES,
    ax: Axes | None = None,
    title: str | None = None,
) -> tuple[Figure, Axes]:
    """Return ``(fig, ax)`` with the 2 x 2 confusion matrix of anomaly decisions (ch. 04).

    Rows are the true class, columns the decision, both in the order of ``labels``
    (0 = normal, 1 = anomaly); each cell shows its number of clips.
    """
    if len(labels) != 2:
        raise ValueError(f"labels must name the two classes (normal, anomaly), got {labels!r}.")
    report = evaluate.classification_report(y_true, y_pred)
    counts = np.array([[report["tn"], report["fp"]], [report["fn"], report["tp"]]])
    return matrix(counts, labels=labels, ax=ax, title=title, xlabel="Decision (class)",
                  ylabel="True class (label)", value_label=CLIPS_LABEL)


def pca_scatter(
    points: Mapping[str, np.ndarray],
    *,
    ax: Axes | None = None,
    title: str | None = None,
) -> tuple[Figure, Axes]:
    """Return ``(fig, ax)`` with groups of feature vectors on their first two PCs (ch. 04).

    The principal components are fitted on the FIRST group only (e.g. the normal training
    clips, as the detector sees them) and every group is projected onto them; groups get
    different colours and markers. Axis labels give the share of the first group's variance.
    """
    if not points:
        raise ValueError("points is empty; pass a mapping like {'train': X_train, 'test': X}.")
    groups = {name: np.asarray(values, dtype=float) for name, values in points.items()}
    for name, values in groups.items():
        if values.ndim != 2 or values.shape[0] == 0:
            raise ValueError(f"points[{name!r}] has shape {values.shape}; pass (n_clips, dim).")
    if len({values.shape[1] for values in groups.values()}) > 1:
        raise ValueError("all groups need the same number of dimensions; use one feature setup.")
    reference = next(iter(groups.values()))
    if reference.shape[0] < 2 or reference.shape[1] < 2:
        raise ValueError("the first group needs at least two vectors of at least two dimensions.")
    centre = reference.mean(axis=0)
    _, singular, axes_t = np.linalg.svd(reference - centre, full_matrices=False)
    share = 100 * singular[:2] ** 2 / max(float(np.sum(singular**2)), np.finfo(float).tiny)
    fig, ax = _base.axes(ax)
    for index, (name, values) in enumerate(groups.items()):
        projected = (values - centre) @ axes_t[:2].T
        ax.scatter(projected[:, 0], projected[:, 1], color=f"C{index % 8}", alpha=0.75,
                   marker=MARKERS[index % len(MARKERS)], label=f"{name} ({values.shape[0]})")
    ax.legend(loc="best")
    _base.label(ax, xlabel=f"PC 1 ({share[0]:.0f}% of variance)",
           ylabel=f"PC 2 ({share[1]:.0f}% of variance)", title=title)
    return fig, ax


def training_curves(
    history: Mapping[str, Sequence[float]],
    *,
    ax: Axes | None = None,
    title: str | None = None,
    ylabel: str = "Loss (mean squared error)",
) -> tuple[Figure, Axes]:
    """Return ``(fig, ax)`` with each training metric per epoch, e.g. Keras ``history`` (ch. 05).

    ``history`` maps a name (``"loss"``, ``"val_loss"``) to one value per epoch
    (``model.fit(...).history``). When ``"val_loss"`` is present its lowest epoch is marked:
    the epoch that early stopping on validation data would keep.
    """
    if not history or any(len(values) == 0 for values in history.values()):
        raise ValueError("history must map each name to a non-empty list of per-epoch values.")
    fig, ax = _base.axes(ax)
    for index, (name, values) in enumerate(history.items()):
        epochs = np.arange(1, len(values) + 1)
        ax.plot(epochs, values, color=f"C{index % 8}", marker="." if len(values) < 40 else None,
                label=name)
    if "val_loss" in history:
        best = int(np.argmin(history["val_loss"]))
        ax.scatter([best + 1], [history["val_loss"][best]], color="black", zorder=3,
                   label=f"lowest val_loss (epoch {best + 1})")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="best")
    _base.label(ax, xlabel="Epoch (passes over the training data)", ylabel=ylabel, title=title)
    return fig, ax
def score_spread(
    scores: Mapping[str, Sequence[float]],
    *,
    ax: Axes | None = None,
    xlabel: str = "Score",
    title: str | None = None,
) -> tuple[Figure, Axes]:
    """Return ``(fig, ax)``: one row of dots per evaluation with its mean ± 1 std (chapter 03).

    ``scores`` maps a name (a split strategy, a model, a setting) to its per-fold or per-seed
    scores. Each dot is one score; the black marker and bar show the mean and one standard
    deviation, so a difference between rows can be judged against the spread within a row.
    """
    if not scores:
        raise ValueError("scores is empty; pass a mapping like {'random split': [0.9, 0.8]}.")
    fig, ax = _base.axes(ax)
    for row, (name, values) in enumerate(scores.items()):
        values = np.sort(np.asarray(values, dtype=float))
        if values.ndim != 1 or values.size == 0:
            raise ValueError(f"scores[{name!r}] must be a non-empty 1-D list of numbers.")
        offsets = 0.08 * (np.arange(values.size) % 5 - 2)  # fixed jitter: no overlapping dots
        ax.scatter(values, row + offsets, color=f"C{row % 8}", alpha=0.7, zorder=2)
        ax.errorbar(values.mean(), row, xerr=values.std(), fmt="D", color="black", capsize=6,
                    zorder=3, label="mean ± 1 std" if row == 0 else None)
    ax.set_yticks(range(len(scores)), labels=list(scores))
    ax.set_ylim(len(scores) - 0.5, -0.5)
    ax.legend(loc="best")
    _base.label(ax, xlabel=xlabel, ylabel="", title=title)
    return fig, ax


def intervals(
    values: Mapping[str, uncertainty.Interval],
    *,
    ax: Axes | None = None,
    xlabel: str = "AUC (95 % bootstrap interval)",
    reference: float | None = 0.5,
    title: str | None = None,
) -> tuple[Figure, Axes]:
    """Return ``(fig, ax)``: one row per method, its estimate and confidence interval (ch. 04).

    ``values`` maps a method name to an :class:`course_lib.uncertainty.Interval`. Rows whose
    bars overlap a lot are not told apart by the test set. ``reference`` draws a dashed line
    (chance for an AUC, 0 for a difference); None draws none.
    """
    if not values:
        raise ValueError("values is empty; pass {'method': uncertainty.auc_interval(...)}.")
    fig, ax = _base.axes(ax)
    if reference is not None:
        ax.axvline(reference, linestyle="--", color="0.5", zorder=1)
    for row, interval in enumerate(values.values()):
        error = [[interval.estimate - interval.low], [interval.high - interval.estimate]]
        ax.errorbar(interval.estimate, row, xerr=error, fmt="o", color=f"C{row % 8}",
                    capsize=5, zorder=2)
        ax.annotate(f"{interval.estimate:.3f}", (interval.estimate, row),
                    xytext=(0, 7), textcoords="offset points", ha="center",
                    fontsize="small")
    ax.set_yticks(range(len(values)), labels=list(values))
    ax.set_ylim(len(values) - 0.5, -0.7)
    _base.label(ax, xlabel=xlabel, ylabel="", title=title)
    return fig, ax
