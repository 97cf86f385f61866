"""Pictures of the density models of chapter 04: Gaussian mixtures and Mahalanobis distances.

Both models are drawn in two dimensions, where a reader can see them: the components of a
Gaussian mixture as ellipses over contours of its log-likelihood, and the Mahalanobis
distance as ellipses of constant distance next to the circles of the Euclidean distance.
An ellipse of a covariance ``C`` at radius ``r`` holds the points at Mahalanobis distance
``r`` from its centre: its axes point along the eigenvectors of ``C`` and are
``r * sqrt(eigenvalue)`` long on either side of the centre.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Ellipse
from matplotlib.ticker import MaxNLocator
from sklearn.mixture import GaussianMixture

from course_lib.plots import _base

FEATURE_LABELS = ("Feature 1 (standardised)", "Feature 2 (standardised)")
LOG_LIKELIHOOD_LABEL = "Log-likelihood (log of the density)"
#: Colour of the probe points: orange, distinct from viridis and the grey data.
PROBE_COLOUR = "#d55e00"


def _points(values: Sequence | np.ndarray, name: str) -> np.ndarray:
    """Return ``values`` as an ``(n, 2)`` float array, else raise ValueError naming it."""
    matrix = np.asarray(values, dtype=float)
    if matrix.ndim != 2 or matrix.shape[1] != 2 or len(matrix) == 0:
        raise ValueError(
            f"{name} has shape {matrix.shape}; pass an (n, 2) array of 2-D points "
            "(these pictures are two-dimensional)."
        )
    return matrix


def covariance_ellipse(
    mean: Sequence[float] | np.ndarray,
    covariance: Sequence | np.ndarray,
    *,
    radius: float = 1.0,
    **patch_kw: object,
) -> Ellipse:
    """Return the ellipse of points at Mahalanobis distance ``radius`` from ``mean`` (ch. 04).

    The ellipse's axes point along the eigenvectors of the 2 x 2 ``covariance`` and reach
    ``radius * sqrt(eigenvalue)`` from the centre; ``patch_kw`` go to
    :class:`matplotlib.patches.Ellipse` (e.g. ``edgecolor``, ``linestyle``).
    """
    centre = np.asarray(mean, dtype=float)
    matrix = np.asarray(covariance, dtype=float)
    if centre.shape != (2,) or matrix.shape != (2, 2):
        raise ValueError(
            f"mean has shape {centre.shape} and covariance {matrix.shape}; pass a 2-D mean "
            "and a 2 x 2 covariance."
        )
    eigenvalues, eigenvectors = np.linalg.eigh(matrix)  # ascending
    if eigenvalues[0] <= 0:
        raise ValueError(
            f"covariance has eigenvalues {eigenvalues}; pass a positive definite matrix."
        )
    major = eigenvectors[:, 1]
    angle = np.degrees(np.arctan2(major[1], major[0]))
    patch_kw.setdefault("fill", False)
    return Ellipse(
        tuple(centre),
        width=2 * radius * np.sqrt(eigenvalues[1]),
        height=2 * radius * np.sqrt(eigenvalues[0]),
        angle=angle,
        **patch_kw,
    )


def component_covariances(mixture: GaussianMixture) -> np.ndarray:
    """Return the ``(n_components, d, d)`` covariances of a fitted mixture (chapter 04).

    scikit-learn stores them in a shape that depends on ``covariance_type`` ("full",
    "tied", "diag" or "spherical"); this gives every type as full matrices.
    """
    if not hasattr(mixture, "covariances_"):
        raise ValueError("the mixture is not fitted; call mixture.fit(points) first.")
    covariances = np.asarray(mixture.covariances_, dtype=float)
    n_components, dim = mixture.means_.shape
    kind = mixture.covariance_type
    if kind == "full":
        return covariances
    if kind == "tied":
        return np.repeat(covariances[None], n_components, axis=0)
    if kind == "diag":
        return np.stack([np.diag(row) for row in covariances])
    return covariances[:, None, None] * np.eye(dim)  # spherical


def _limits(points: np.ndarray, margin: float = 0.15) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(low, high)`` corners of a box around ``points`` with a relative margin."""
    low, high = points.min(axis=0), points.max(axis=0)
    pad = margin * np.maximum(high - low, 1e-9)
    return low - pad, high + pad


def _mark_probes(ax: Axes, probes: np.ndarray, texts: Sequence[str]) -> None:
    """Return None after drawing ``probes`` as crosses annotated with ``texts``."""
    ax.scatter(probes[:, 0], probes[:, 1], marker="X", s=90, color=PROBE_COLOUR,
               edgecolor="white", linewidth=0.8, zorder=4)
    for (x, y), text in zip(probes, texts, strict=True):
        ax.annotate(text, (x, y), xytext=(8, 6), textcoords="offset points",
                    fontsize="small", color="black", zorder=5,
                    bbox={"boxstyle": "round,pad=0.2", "facecolor": "white",
                          "edgecolor": "none", "alpha": 0.8})


def mixture_contours(
    mixture: GaussianMixture,
    points: Sequence | np.ndarray,
    *,
    probes: Mapping[str, Sequence[float]] | None = None,
    radius: float = 2.0,
    ax: Axes | None = None,
    title: str | None = None,
    xlabel: str = FEATURE_LABELS[0],
    ylabel: str = FEATURE_LABELS[1],
    n_grid: int = 200,
) -> tuple[Figure, Axes]:
    """Return ``(fig, ax)``: a fitted 2-D mixture's log-likelihood and components (ch. 04).

    Filled contours show the mixture's log-likelihood (``mixture.score_samples``) on a grid
    around ``points`` (the training points, drawn in grey) and ``probes``; each component is
    the ellipse at Mahalanobis distance ``radius`` from its mean, labelled with its weight.
    Each probe (name -> 2-D point) is a cross annotated with its name and log-likelihood:
    a point far from every component has a low log-likelihood, i.e. a high anomaly score.
    Log-likelihoods more than 25 below the lowest one of the training points share the
    darkest colour.
    """
    train = _points(points, "points")
    if mixture.means_.shape[1] != 2:
        raise ValueError(
            f"the mixture models {mixture.means_.shape[1]} dimensions; fit it to 2-D points."
        )
    probe_points = _points(list(probes.values()), "probes") if probes else np.empty((0, 2))
    fig, ax = _base.axes(ax)
    low, high = _limits(np.vstack([train, probe_points]))
    xs, ys = np.linspace(low[0], high[0], n_grid), np.linspace(low[1], high[1], n_grid)
    grid_x, grid_y = np.meshgrid(xs, ys)
    log_likelihood = mixture.score_samples(np.column_stack([grid_x.ravel(), grid_y.ravel()]))
    floor = mixture.score_samples(train).min() - 25.0
    levels = MaxNLocator(nbins=10).tick_values(floor, log_likelihood.max())
    filled = ax.contourf(grid_x, grid_y, log_likelihood.reshape(grid_x.shape), levels=levels,
                         cmap="viridis", extend="min", zorder=0)
    fig.colorbar(filled, ax=ax, label=LOG_LIKELIHOOD_LABEL)
    ax.scatter(train[:, 0], train[:, 1], s=8, color="0.85", edgecolor="0.3", linewidth=0.3,
               label="training points (normal)", zorder=2)
    covariances = component_covariances(mixture)
    for index, (mean, covariance, weight) in enumerate(
        zip(mixture.means_, covariances, mixture.weights_, strict=True)
    ):
        ax.add_patch(covariance_ellipse(
            mean, covariance, radius=radius, edgecolor="white", linewidth=2, zorder=3,
            label=f"components ({radius:g} std. dev.)" if index == 0 else None,
        ))
        # the label sits just above the ellipse's highest point
        top = mean + radius * covariance[:, 1] / np.sqrt(covariance[1, 1])
        ax.annotate(f"component {index + 1}, weight {weight:.2f}", tuple(top),
                    xytext=(0, 4), textcoords="offset points", ha="center", va="bottom",
                    fontsize="x-small", zorder=5,
                    bbox={"boxstyle": "round,pad=0.2", "facecolor": "white",
                          "edgecolor": "none", "alpha": 0.8})
    if probes:
        scores = mixture.score_samples(probe_points)
        _mark_probes(ax, probe_points,
                     [f"{name}\nlog-lik. {score:.1f}" for name, score in
                      zip(probes, scores, strict=True)])
    ax.set_xlim(low[0], high[0])
    ax.set_ylim(low[1], high[1])
    ax.set_aspect("equal")
    ax.legend(loc="upper left", fontsize="x-small", facecolor="white", framealpha=0.8)
    _base.label(ax, xlabel=xlabel, ylabel=ylabel, title=title)
    return fig, ax


def mahalanobis_ellipses(
    points: Sequence | np.ndarray,
    *,
    mean: Sequence[float] | np.ndarray,
    covariance: Sequence | np.ndarray,
    probes: Mapping[str, Sequence[float]] | None = None,
    radii: Sequence[float] = (1.0, 2.0, 3.0),
    fig: Figure | None = None,
    title: str | None = None,
    xlabel: str = FEATURE_LABELS[0],
    ylabel: str = FEATURE_LABELS[1],
) -> tuple[Figure, np.ndarray]:
    """Return ``(fig, axes)``: Euclidean circles (left) and Mahalanobis ellipses (right) (ch. 04).

    Both panels show ``points`` and the curves of constant distance ``radii`` from ``mean``:
    circles for the Euclidean distance, ellipses of ``covariance`` for the Mahalanobis
    distance. Each probe (name -> 2-D point) is a cross annotated with its distance in that
    panel (the distance itself, not its square). ``axes`` is a 1-D array of the two panels.
    """
    data = _points(points, "points")
    centre = np.asarray(mean, dtype=float)
    matrix = np.asarray(covariance, dtype=float)
    if not radii:
        raise ValueError("radii is empty; pass distances such as (1, 2, 3).")
    probe_points = _points(list(probes.values()), "probes") if probes else np.empty((0, 2))
    if fig is None:
        fig = plt.figure(figsize=(plt.rcParams["figure.figsize"][0], 4.2), layout="constrained")
    axes = fig.subplots(1, 2, sharex=True, sharey=True)
    reach = max(radii) * np.sqrt(np.linalg.eigvalsh(matrix).max())
    low, high = _limits(np.vstack([data, probe_points, centre - reach, centre + reach]), 0.05)
    inverse = np.linalg.inv(matrix)
    offsets = probe_points - centre
    distances = {
        "Euclidean": np.sqrt((offsets**2).sum(axis=1)),
        "Mahalanobis": np.sqrt(np.einsum("ij,jk,ik->i", offsets, inverse, offsets)),
    }
    for ax, (kind, probe_distances) in zip(axes, distances.items(), strict=True):
        ax.scatter(data[:, 0], data[:, 1], s=10, color="0.6", label="training points",
                   zorder=2)
        for index, radius in enumerate(radii):
            style = {"edgecolor": f"C{index % 8}", "linewidth": 1.5, "fill": False,
                     "label": f"distance {radius:g}", "zorder": 3}
            if kind == "Euclidean":
                ax.add_patch(Circle(tuple(centre), radius, **style))
            else:
                ax.add_patch(covariance_ellipse(centre, matrix, radius=radius, **style))
        ax.plot(*centre, marker="+", color="black", markersize=10, zorder=3)
        if probes:
            _mark_probes(ax, probe_points, [f"{name}: {value:.1f}" for name, value in
                                            zip(probes, probe_distances, strict=True)])
        ax.set_aspect("equal")
        ax.set_xlim(low[0], high[0])
        ax.set_ylim(low[1], high[1])
        shape = "circles" if kind == "Euclidean" else "ellipses"
        _base.label(ax, xlabel=xlabel, ylabel=ylabel if kind == "Euclidean" else "",
                    title=f"{kind} distance: {shape}")
    axes[0].legend(loc="lower right", fontsize="x-small", framealpha=0.8)
    if title is not None:
        fig.suptitle(title)
    return fig, axes
