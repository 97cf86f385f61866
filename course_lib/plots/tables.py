"""Plots of tables: clips per class, clip durations and matrices (chapters 02-04).

Every function draws into ``ax`` when given, otherwise into a new figure, labels its axes and
returns ``(fig, ax)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from course_lib.clip_table import require_columns
from course_lib.plots import _base
from course_lib.plots._base import CLIPS_LABEL

#: Matrices with at most this many cells get their values written into the cells.
MAX_ANNOTATED_CELLS = 400


def class_balance(
    table: pd.DataFrame,
    *,
    column: str = "label",
    hue: str | None = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> tuple[Figure, Axes]:
    """Return ``(fig, ax)``: horizontal bars with the number of clips per class (chapter 03).

    Classes are sorted by name; each bar carries its count. With ``hue`` (e.g. ``"split"``)
    the bars are stacked by that column, e.g. to check that train and test hold every class.
    """
    require_columns(table, [column] + ([hue] if hue else []))
    if hue is None:
        counts = table[column].value_counts().sort_index().to_frame("clips")
    else:
        counts = table.groupby([column, hue]).size().unstack(fill_value=0).sort_index()
    fig, ax = _base.axes(ax)
    left = np.zeros(len(counts))
    names = counts.index.astype(str)
    for part in counts.columns:
        ax.barh(names, counts[part], left=left, label=str(part) if hue else None)
        left += counts[part].to_numpy()
    ax.bar_label(ax.containers[-1], labels=[str(int(n)) for n in left], padding=3)
    ax.invert_yaxis()
    _base.label(ax, xlabel=CLIPS_LABEL, ylabel=column.replace("_", " ").capitalize(),
                title=title)
    if hue is not None:
        ax.legend(title=hue, loc="lower right")
    return fig, ax


def durations(
    table: pd.DataFrame,
    *,
    bins: int = 40,
    ax: Axes | None = None,
    title: str | None = None,
) -> tuple[Figure, Axes]:
    """Return ``(fig, ax)`` with a histogram of the clip durations of a table (chapter 03).

    The time axis starts at 0 s, so a spike (every clip equally long) and a tail of short
    clips (which need padding or windowing) are both visible at a glance.
    """
    require_columns(table, ["duration"])
    seconds = table["duration"].dropna().to_numpy(dtype=float)
    if seconds.size == 0 or seconds.max() <= 0:
        raise ValueError("The table has no positive durations; pass a table from datasets.load().")
    fig, ax = _base.axes(ax)
    ax.hist(seconds, bins=bins, range=(0.0, float(seconds.max()) * 1.02))
    _base.label(ax, xlabel="Clip duration (s)", ylabel=CLIPS_LABEL, title=title)
    return fig, ax


def _annotate_cells(ax: Axes, values: np.ndarray, fmt: str, threshold: float) -> None:
    """Return None after writing each value into its cell (light text on dark cells)."""
    for (row, col), value in np.ndenumerate(values):
        colour = "white" if value < threshold else "black"
        ax.text(col, row, format(value, fmt), ha="center", va="center", color=colour)


def matrix(
    values: np.ndarray,
    *,
    labels: Sequence[str] | None = None,
    ax: Axes | None = None,
    title: str | None = None,
    xlabel: str = "Predicted class",
    ylabel: str = "True class",
    value_label: str = CLIPS_LABEL,
    fmt: str | None = None,
) -> tuple[Figure, Axes]:
    """Return ``(fig, ax)`` with a matrix drawn as coloured cells, one value per cell (ch. 04).

    Chapters 04 and 05 see it through :func:`course_lib.plots.confusion_matrix`, which draws
    its 2 x 2 counts with it.

    Args:
        labels: names of the rows and columns (square matrices) in order.
        xlabel, ylabel, value_label: axis and colour-bar labels; change them for other
            matrices (e.g. a correlation matrix).
        fmt: number format of the cell texts (default ``"d"`` for integers, else ``".2f"``);
            cells are annotated when the matrix has at most 400 cells.
    """
    values = np.asarray(values)
    if values.ndim != 2 or 0 in values.shape:
        raise ValueError(f"values has shape {values.shape}; pass a non-empty 2-D array.")
    if labels is not None and len(labels) != values.shape[0]:
        raise ValueError(f"{len(labels)} labels for {values.shape[0]} rows; pass one per row.")
    fig, ax = _base.axes(ax)
    image = ax.imshow(values, cmap=plt.rcParams["image.cmap"], aspect="auto")
    fig.colorbar(image, ax=ax, label=value_label)
    if labels is not None:
        ax.set_yticks(range(values.shape[0]), labels=list(labels))
        if values.shape[1] == len(labels):
            ax.set_xticks(range(values.shape[1]), labels=list(labels), rotation=45, ha="right")
    if values.size <= MAX_ANNOTATED_CELLS:
        fmt = fmt or ("d" if np.issubdtype(values.dtype, np.integer) else ".2f")
        low, high = float(np.nanmin(values)), float(np.nanmax(values))
        _annotate_cells(ax, values, fmt, threshold=low + 0.6 * (high - low))
    _base.label(ax, xlabel=xlabel, ylabel=ylabel, title=title)
    return fig, ax


def correlation_matrix(
    values: np.ndarray,
    *,
    ax: Axes | None = None,
    title: str | None = None,
    label: str = "Feature index",
) -> tuple[Figure, Axes]:
    """Return ``(fig, ax)`` with a correlation matrix on a fixed -1..+1 diverging scale (ch. 02).

    ``values`` is square, e.g. ``np.corrcoef(spec)`` for the bands of a spectrogram (rows are
    features, columns are observations). Zero correlation is white, so blocks of features that
    move together stand out; cells carry no texts, which suits matrices of 20-128 features.
    """
    values = np.asarray(values, dtype=float)
    if values.ndim != 2 or values.shape[0] != values.shape[1] or values.size == 0:
        raise ValueError(
            f"values has shape {values.shape}; pass a square correlation matrix such as "
            "np.corrcoef(feats) for feats of shape (n_features, n_observations)."
        )
    fig, ax = _base.axes(ax)
    image = ax.imshow(values, cmap="RdBu_r", vmin=-1.0, vmax=1.0, interpolation="nearest")
    fig.colorbar(image, ax=ax, label="Correlation coefficient r", shrink=0.8)
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(MaxNLocator(integer=True))
    _base.label(ax, xlabel=label, ylabel=label, title=title)
    return fig, ax
