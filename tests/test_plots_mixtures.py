"""Tests for course_lib.plots.mixtures: the geometry of the model pictures of chapter 04."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.patches import Circle, Ellipse
from sklearn.mixture import GaussianMixture

from course_lib.plots import mixtures

COVARIANCE = np.array([[4.0, 1.5], [1.5, 1.0]])
MEAN = np.array([1.0, -2.0])


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _boundary(ellipse: Ellipse) -> np.ndarray:
    """Return points on the drawn ellipse (its Bezier curves at t = 0, 0.25, ...), in data units."""
    unit = [bezier(t) for bezier, _ in ellipse.get_path().iter_bezier()
            for t in (0.0, 0.25, 0.5, 0.75)]
    return ellipse.get_patch_transform().transform(np.array(unit))


def _mahalanobis(points: np.ndarray, mean: np.ndarray, covariance: np.ndarray) -> np.ndarray:
    offsets = points - mean
    return np.sqrt(np.einsum("ij,jk,ik->i", offsets, np.linalg.inv(covariance), offsets))


def test_ellipse_axes_are_the_square_roots_of_the_eigenvalues():
    ellipse = mixtures.covariance_ellipse(MEAN, COVARIANCE, radius=2.0)
    eigenvalues, eigenvectors = np.linalg.eigh(COVARIANCE)
    assert ellipse.width == pytest.approx(2 * 2.0 * np.sqrt(eigenvalues[1]))
    assert ellipse.height == pytest.approx(2 * 2.0 * np.sqrt(eigenvalues[0]))
    major = eigenvectors[:, 1]
    direction = np.array([np.cos(np.radians(ellipse.angle)), np.sin(np.radians(ellipse.angle))])
    assert abs(direction @ major) == pytest.approx(1.0)  # the width lies along the major axis
    assert ellipse.center == pytest.approx(tuple(MEAN))


@pytest.mark.parametrize("radius", [0.5, 1.0, 3.0])
def test_every_point_of_the_ellipse_is_at_that_mahalanobis_distance(radius):
    ellipse = mixtures.covariance_ellipse(MEAN, COVARIANCE, radius=radius)
    distances = _mahalanobis(_boundary(ellipse), MEAN, COVARIANCE)
    np.testing.assert_allclose(distances, radius, rtol=1e-4)  # a Bezier circle


def test_ellipse_refuses_a_singular_covariance():
    with pytest.raises(ValueError, match="positive definite"):
        mixtures.covariance_ellipse(MEAN, [[1.0, 1.0], [1.0, 1.0]])
    with pytest.raises(ValueError, match="2 x 2"):
        mixtures.covariance_ellipse([0.0, 0.0, 0.0], np.eye(3))


def _two_clusters(seed=0):
    rng = np.random.default_rng(seed)
    first = rng.multivariate_normal([0, 0], [[1.0, 0.8], [0.8, 1.0]], size=150)
    second = rng.multivariate_normal([5, 1], [[0.5, 0.0], [0.0, 0.2]], size=100)
    return np.vstack([first, second])


@pytest.mark.parametrize("kind", ["full", "tied", "diag", "spherical"])
def test_component_covariances_are_full_matrices_of_every_type(kind):
    points = _two_clusters()
    mixture = GaussianMixture(n_components=2, covariance_type=kind, random_state=0).fit(points)
    covariances = mixtures.component_covariances(mixture)
    assert covariances.shape == (2, 2, 2)
    # the full matrices reproduce scikit-learn's own density
    density = np.zeros(3)
    probes = np.array([[0.0, 0.0], [5.0, 1.0], [2.0, 4.0]])
    for mean, covariance, weight in zip(mixture.means_, covariances, mixture.weights_, strict=True):
        offsets = probes - mean
        quad = np.einsum("ij,jk,ik->i", offsets, np.linalg.inv(covariance), offsets)
        density += weight * np.exp(-quad / 2) / (2 * np.pi * np.sqrt(np.linalg.det(covariance)))
    np.testing.assert_allclose(np.log(density), mixture.score_samples(probes), rtol=1e-6)


def test_mixture_contours_draw_one_ellipse_per_component_and_annotate_probes():
    points = _two_clusters()
    mixture = GaussianMixture(n_components=2, random_state=0).fit(points)
    far = [10.0, 10.0]
    fig, ax = mixtures.mixture_contours(mixture, points, probes={"far": far}, radius=2.0)
    ellipses = [patch for patch in ax.patches if isinstance(patch, Ellipse)]
    assert len(ellipses) == 2
    for ellipse, mean, covariance in zip(ellipses, mixture.means_, mixture.covariances_,
                                         strict=True):
        np.testing.assert_allclose(_mahalanobis(_boundary(ellipse), mean, covariance), 2.0,
                                   rtol=1e-4)
    texts = [text.get_text() for text in ax.texts]
    expected = f"far\nlog-lik. {mixture.score_samples([far])[0]:.1f}"
    assert expected in texts
    # the contours span the probe, and the far probe lies below the lowest level drawn
    assert ax.get_xlim()[1] >= far[0] and ax.get_ylim()[1] >= far[1]
    filled = ax.collections[0]
    assert mixture.score_samples([far])[0] < filled.levels[0]
    assert len(fig.axes) == 2  # the axes and its colour bar
    assert ax.get_xlabel() and ax.get_ylabel()


def test_mixture_contours_refuse_a_mixture_of_other_dimensions():
    points = np.random.default_rng(0).normal(size=(50, 3))
    mixture = GaussianMixture(n_components=1, random_state=0).fit(points)
    with pytest.raises(ValueError, match="3 dimensions"):
        mixtures.mixture_contours(mixture, points[:, :2])


def test_mahalanobis_ellipses_compare_circles_and_ellipses_at_the_same_radii():
    points = np.random.default_rng(1).multivariate_normal(MEAN, COVARIANCE, size=80)
    along = MEAN + 2.0 * np.linalg.eigh(COVARIANCE)[1][:, 1]
    across = MEAN + 2.0 * np.linalg.eigh(COVARIANCE)[1][:, 0]
    fig, axes = mixtures.mahalanobis_ellipses(
        points, mean=MEAN, covariance=COVARIANCE, radii=(1, 2),
        probes={"along": along, "across": across},
    )
    assert len(axes) == 2
    circles = [patch for patch in axes[0].patches if isinstance(patch, Circle)]
    ellipses = [patch for patch in axes[1].patches if isinstance(patch, Ellipse)
                and not isinstance(patch, Circle)]
    assert [circle.radius for circle in circles] == [1, 2]
    for ellipse, radius in zip(ellipses, (1, 2), strict=True):
        np.testing.assert_allclose(_mahalanobis(_boundary(ellipse), MEAN, COVARIANCE), radius,
                                   rtol=1e-4)
    left = [text.get_text() for text in axes[0].texts]
    right = [text.get_text() for text in axes[1].texts]
    assert left == ["along: 2.0", "across: 2.0"]  # same Euclidean distance
    eigenvalues = np.linalg.eigvalsh(COVARIANCE)
    assert right == [f"along: {2 / np.sqrt(eigenvalues[1]):.1f}",
                     f"across: {2 / np.sqrt(eigenvalues[0]):.1f}"]
    assert fig.get_figwidth() <= 8.5
    assert axes[0].get_aspect() == 1.0  # circles look like circles


def test_mahalanobis_ellipses_need_2d_points():
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        mixtures.mahalanobis_ellipses(np.zeros((5, 3)), mean=MEAN, covariance=COVARIANCE)


def test_component_labels_sit_on_top_of_their_ellipses():
    points = _two_clusters()
    mixture = GaussianMixture(n_components=2, random_state=0).fit(points)
    _, ax = mixtures.mixture_contours(mixture, points, radius=2.0)
    labels = [text for text in ax.texts if text.get_text().startswith("component")]
    assert len(labels) == 2
    for text, mean, covariance in zip(labels, mixture.means_, mixture.covariances_,
                                      strict=True):
        anchor = np.array(text.xy)
        assert _mahalanobis(anchor[None], mean, covariance)[0] == pytest.approx(2.0)
        ellipse_top = mean[1] + 2.0 * np.sqrt(covariance[1, 1])
        assert anchor[1] == pytest.approx(ellipse_top)
