"""Axes helpers and settings shared by every plotting module of :mod:`course_lib.plots`."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

#: Height in inches of one row of a multi-panel grid, plus room for titles and labels.
ROW_HEIGHT = 1.8
GRID_MARGIN = 0.6
CLIPS_LABEL = "Number of clips"


def axes(ax: Axes | None) -> tuple[Figure, Axes]:
    """Return ``(fig, ax)``: ``ax`` and its figure if given, else a new single-axes figure."""
    if ax is not None:
        return ax.figure, ax
    fig, new_ax = plt.subplots(layout="constrained")
    return fig, new_ax


def grid(
    fig: Figure | None, nrows: int, ncols: int, *, height: float, **subplot_kw: object
) -> tuple[Figure, np.ndarray]:
    """Return ``(fig, axes)`` with a 2-D ``axes`` array, on ``fig`` if given, else a new figure."""
    if fig is None:
        fig = plt.figure(figsize=(plt.rcParams["figure.figsize"][0], height), layout="constrained")
    return fig, fig.subplots(nrows, ncols, squeeze=False, **subplot_kw)


def label(ax: Axes, *, xlabel: str, ylabel: str, title: str | None) -> None:
    """Return None after setting the axis labels and, when given, the title of ``ax``."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
