"""Anomaly scorers trained on normal clips only (introduced in chapter 04, reused in chapter 05).

Every scorer has the same two methods:

* ``fit(train_items) -> self`` learns what normal looks like from normal training clips;
* ``score(items) -> np.ndarray`` returns one score per clip, higher = more anomalous.

Items are per-clip feature arrays. Clip-level scorers (:class:`GaussianMixtureScorer`,
:class:`MahalanobisScorer`, :class:`KNNScorer`) take one vector per clip, as a list of 1-D
arrays or one 2-D array ``(n_clips, dim)``. :class:`FrameScorer` takes one
``(n_frames, dim)`` matrix per clip, fits its clip-level base scorer on all training frames and
aggregates the frame scores of each clip (mean, max, a percentile, ...).

Ill-posed fits (more dimensions than training vectors, a singular covariance) raise
:class:`IllPosedFitError` saying how to fix them, instead of producing meaningless or NaN
scores.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, Protocol, Self

import numpy as np
import pandas as pd
from sklearn.covariance import EmpiricalCovariance, LedoitWolf
from sklearn.decomposition import PCA
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import StandardScaler

from course_lib.clip_table import NORMAL, DatasetError
from course_lib.errors import CourseError

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
SHRINKAGES = ("ledoit_wolf", None)
NAMED_AGGREGATES = ("mean", "max", "median", "min", "pNN (percentile, e.g. p90)")
#: A full covariance fitted to fewer vectors than dimensions is singular; ``reg_covar`` below
#: this fraction of the mean feature variance is too small to make it usable.
MIN_RELATIVE_REG_COVAR = 1e-3
_PERCENTILE = re.compile(r"^p(\d{1,2}(\.\d+)?|100)$")

Items = Sequence[np.ndarray] | np.ndarray


class IllPosedFitError(CourseError, ValueError):
    """Raised when a model cannot be fitted meaningfully to the given training data."""


class Scorer(Protocol):
    """What every anomaly scorer provides (see the module docstring)."""

    def fit(self, train_items: Items) -> Scorer:
        """Return the scorer after learning from normal training items."""

    def score(self, items: Items) -> np.ndarray:
        """Return one anomaly score per item; higher = more anomalous."""


def as_vectors(items: Items, *, name: str = "items") -> np.ndarray:
    """Return clip vectors as one finite float 2-D array ``(n_clips, dim)``; chapter 04.

    Raises ValueError for empty input, ragged or non-finite vectors, or per-clip matrices
    (those need :class:`FrameScorer` or a summary such as ``features.clip_statistics``).
    """
    if isinstance(items, np.ndarray):
        matrix = items
    else:
        arrays = [np.asarray(item) for item in items]
        if any(array.ndim != 1 for array in arrays):
            shapes = sorted({array.shape for array in arrays if array.ndim != 1})[:3]
            raise ValueError(
                f"{name} holds arrays of shape {shapes}, but this scorer needs one vector per "
                "clip: wrap it in FrameScorer for (n_frames, dim) matrices, or summarise each "
                "clip with features.clip_statistics."
            )
        if len({array.shape for array in arrays}) > 1:
            raise ValueError(f"{name} holds vectors of different lengths; use one feature setup.")
        matrix = np.stack(arrays) if arrays else np.empty((0, 0))
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] == 0 or matrix.shape[1] == 0:
        raise ValueError(
            f"{name} has shape {matrix.shape}; pass at least one clip vector, as a list of 1-D "
            "arrays or one (n_clips, dim) array."
        )
    if not np.isfinite(matrix).all():
        raise ValueError(f"{name} contains NaN or infinite values; check the feature extraction.")
    return matrix


def _check_dim(matrix: np.ndarray, expected: int, name: str) -> None:
    """Return None if ``matrix`` has ``expected`` columns, else raise ValueError."""
    if matrix.shape[1] != expected:
        raise ValueError(
            f"{name} have {matrix.shape[1]} dimensions but the scorer was fitted on {expected}; "
            "use the same features for training and test clips."
        )


class _Preprocessed:
    """Shared optional standardisation (and PCA) in front of a clip-level model."""

    def __init__(self, *, standardise: bool, pca_components: int | None, seed: int) -> None:
        self.standardise = standardise
        self.pca_components = pca_components
        self.seed = seed
        self._scaler: StandardScaler | None = None
        self._pca: PCA | None = None
        self._dim: int | None = None

    def _fit_transform(self, train_items: Items) -> np.ndarray:
        """Return the training vectors after fitting the scaler and PCA on them."""
        train = as_vectors(train_items, name="train_items")
        self._dim = train.shape[1]
        self._scaler = StandardScaler().fit(train) if self.standardise else None
        if self._scaler is not None:
            train = self._scaler.transform(train)
        self._pca = None
        if self.pca_components is not None:
            limit = min(train.shape)
            if not 1 <= self.pca_components <= limit:
                raise IllPosedFitError(
                    f"pca_components={self.pca_components} but at most min(n_samples, dim) = "
                    f"{limit} components exist for training data of shape {train.shape}; "
                    f"choose 1..{limit}."
                )
            self._pca = PCA(self.pca_components, svd_solver="full", random_state=self.seed)
            train = self._pca.fit_transform(train)
        return train

    def _transform(self, items: Items) -> np.ndarray:
        """Return ``items`` as vectors after the fitted scaler and PCA."""
        if self._dim is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted yet; call fit(train) first.")
        matrix = as_vectors(items)
        _check_dim(matrix, self._dim, "items")
        if self._scaler is not None:
            matrix = self._scaler.transform(matrix)
        if self._pca is not None:
            matrix = self._pca.transform(matrix)
        return matrix


class GaussianMixtureScorer(_Preprocessed):
    """Score = negative log-likelihood under a Gaussian mixture of normal clips; chapter 04.

    Args:
        n_components: number of Gaussians.
        covariance_type: ``"full"``, ``"tied"``, ``"diag"`` or ``"spherical"``
            (:class:`sklearn.mixture.GaussianMixture`).
        reg_covar: added to the covariance diagonal (in standardised units when
            ``standardise``).
        standardise: scale every feature to zero mean and unit variance (fitted on training).
        pca_components: if set, project onto this many principal components before the GMM.
        seed: ``random_state`` of the mixture and PCA (same seed, same scores).

    A full (or tied) covariance needs more training vectors per component than dimensions:
    otherwise it is singular and the likelihood is meaningless. Such fits raise
    :class:`IllPosedFitError` unless ``reg_covar`` is at least ``MIN_RELATIVE_REG_COVAR`` times
    the mean feature variance.
    """

    def __init__(
        self,
        n_components: int = 2,
        covariance_type: str = "full",
        reg_covar: float = 1e-6,
        standardise: bool = True,
        pca_components: int | None = None,
        seed: int = 0,
    ) -> None:
        if covariance_type not in COVARIANCE_TYPES:
            raise ValueError(
                f"covariance_type must be one of {COVARIANCE_TYPES}, got {covariance_type!r}."
            )
        if n_components < 1 or reg_covar < 0:
            raise ValueError(
                f"need n_components >= 1 and reg_covar >= 0, got {n_components}, {reg_covar}."
            )
        super().__init__(standardise=standardise, pca_components=pca_components, seed=seed)
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar
        self.model_: GaussianMixture | None = None

    def __repr__(self) -> str:
        return (
            f"GaussianMixtureScorer(n_components={self.n_components}, "
            f"covariance_type={self.covariance_type!r}, reg_covar={self.reg_covar}, "
            f"standardise={self.standardise}, pca_components={self.pca_components}, "
            f"seed={self.seed})"
        )

    def _check_well_posed(self, train: np.ndarray) -> None:
        """Return None if the mixture can be fitted to ``train``, else raise IllPosedFitError."""
        n_samples, dim = train.shape
        if n_samples < self.n_components:
            raise IllPosedFitError(
                f"{n_samples} training vectors cannot fit {self.n_components} components; "
                "lower n_components or add training clips."
            )
        per_component = {"full": n_samples / self.n_components, "tied": n_samples}
        if self.covariance_type not in per_component:
            return
        mean_variance = float(np.mean(np.var(train, axis=0)))
        enough_regularisation = self.reg_covar >= MIN_RELATIVE_REG_COVAR * mean_variance
        if dim >= per_component[self.covariance_type] and not enough_regularisation:
            raise IllPosedFitError(
                f"a {self.covariance_type}-covariance GMM with {self.n_components} components on "
                f"{dim} dimensions fitted to only {n_samples} vectors has a singular covariance "
                f"(reg_covar={self.reg_covar} is too small to fix it): use "
                "covariance_type='diag', raise reg_covar (e.g. 0.1), or pca_components=... "
                f"(fewer than {int(per_component[self.covariance_type])})."
            )

    def fit(self, train_items: Items) -> Self:
        """Return self after fitting the scaler, optional PCA and mixture on normal items."""
        train = self._fit_transform(train_items)
        self._check_well_posed(train)
        model = GaussianMixture(
            n_components=self.n_components,
            covariance_type=self.covariance_type,
            reg_covar=self.reg_covar,
            random_state=self.seed,
        )
        try:
            self.model_ = model.fit(train)
        except ValueError as error:  # sklearn: "ill-defined empirical covariance"
            raise IllPosedFitError(
                f"the GMM fit failed ({error}); use covariance_type='diag', raise reg_covar, "
                "or set pca_components."
            ) from error
        return self

    def score(self, items: Items) -> np.ndarray:
        """Return the negative log-likelihood of each item (higher = more anomalous)."""
        matrix = self._transform(items)
        assert self.model_ is not None  # _transform raised if not fitted
        scores = -self.model_.score_samples(matrix)
        if not np.isfinite(scores).all():
            raise IllPosedFitError(
                "the GMM gave non-finite log-likelihoods; raise reg_covar or reduce dimensions."
            )
        return scores


class MahalanobisScorer(_Preprocessed):
    """Score = squared Mahalanobis distance to the normal training mean; chapter 04.

    Args:
        shrinkage: ``"ledoit_wolf"`` shrinks the covariance towards a scaled identity
            (:class:`sklearn.covariance.LedoitWolf`; always invertible); ``None`` uses the plain
            sample covariance (:class:`sklearn.covariance.EmpiricalCovariance`), which needs
            clearly more training vectors than dimensions.
        standardise: scale every feature to unit variance first (matters for the shrinkage
            target; the unshrunk distance does not depend on it).
    """

    def __init__(self, shrinkage: str | None = "ledoit_wolf", *, standardise: bool = True) -> None:
        if shrinkage not in SHRINKAGES:
            raise ValueError(f"shrinkage must be one of {SHRINKAGES}, got {shrinkage!r}.")
        super().__init__(standardise=standardise, pca_components=None, seed=0)
        self.shrinkage = shrinkage
        self.model_: EmpiricalCovariance | None = None

    def __repr__(self) -> str:
        return f"MahalanobisScorer(shrinkage={self.shrinkage!r}, standardise={self.standardise})"

    def fit(self, train_items: Items) -> Self:
        """Return self after estimating the mean and (shrunk) covariance of normal items."""
        train = self._fit_transform(train_items)
        n_samples, dim = train.shape
        if self.shrinkage is None:
            rank = np.linalg.matrix_rank(np.cov(train, rowvar=False).reshape(dim, dim))
            if n_samples <= dim or rank < dim:
                raise IllPosedFitError(
                    f"the sample covariance of {n_samples} vectors in {dim} dimensions is "
                    f"singular (rank {rank}); use shrinkage='ledoit_wolf' or fewer dimensions."
                )
            self.model_ = EmpiricalCovariance().fit(train)
        else:
            if n_samples < 2:
                raise IllPosedFitError("a covariance needs at least two training vectors.")
            self.model_ = LedoitWolf().fit(train)
        return self

    def score(self, items: Items) -> np.ndarray:
        """Return the squared Mahalanobis distance of each item (higher = more anomalous)."""
        matrix = self._transform(items)
        assert self.model_ is not None  # _transform raised if not fitted
        return self.model_.mahalanobis(matrix)


class KNNScorer(_Preprocessed):
    """Score = mean Euclidean distance to the ``k`` nearest normal training items; chapter 04.

    Scoring a training item counts the item itself (distance 0) among its neighbours.

    Args:
        k: number of neighbours (at most the number of training items).
        standardise: scale every feature to unit variance first.
    """

    def __init__(self, k: int = 5, *, standardise: bool = True) -> None:
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}.")
        super().__init__(standardise=standardise, pca_components=None, seed=0)
        self.k = k
        self.model_: NearestNeighbors | None = None

    def __repr__(self) -> str:
        return f"KNNScorer(k={self.k}, standardise={self.standardise})"

    def fit(self, train_items: Items) -> Self:
        """Return self after storing the (standardised) normal training items."""
        train = self._fit_transform(train_items)
        if train.shape[0] < self.k:
            raise IllPosedFitError(
                f"k={self.k} neighbours requested but only {train.shape[0]} training items; "
                "lower k or add training clips."
            )
        self.model_ = NearestNeighbors(n_neighbors=self.k).fit(train)
        return self

    def score(self, items: Items) -> np.ndarray:
        """Return the mean distance of each item to its k nearest training items."""
        matrix = self._transform(items)
        assert self.model_ is not None  # _transform raised if not fitted
        distances, _ = self.model_.kneighbors(matrix)
        return distances.mean(axis=1)


def aggregator(aggregate: str | Callable[[np.ndarray], float]) -> Callable[[np.ndarray], float]:
    """Return the function that turns one clip's frame scores into its clip score; chapter 04.

    ``aggregate`` is ``"mean"``, ``"max"``, ``"median"``, ``"min"``, ``"pNN"`` (the NN-th
    percentile, e.g. ``"p90"``) or a callable taking a 1-D array and returning a number.
    """
    if callable(aggregate):
        return aggregate
    named: dict[str, Callable[[np.ndarray], float]] = {
        "mean": np.mean, "max": np.max, "median": np.median, "min": np.min,
    }
    if aggregate in named:
        return named[aggregate]
    match = _PERCENTILE.match(str(aggregate))
    if match is None:
        raise ValueError(f"aggregate must be one of {NAMED_AGGREGATES} or a callable, got "
                         f"{aggregate!r}.")
    q = float(match.group(1))
    return lambda frame_scores: np.percentile(frame_scores, q)


def _frame_matrices(items: Sequence[np.ndarray], name: str) -> list[np.ndarray]:
    """Return each clip's frames as a 2-D float array, or raise ValueError saying what is wrong."""
    matrices = [np.asarray(item, dtype=np.float64) for item in items]
    if not matrices:
        raise ValueError(f"{name} is empty; pass one (n_frames, dim) matrix per clip.")
    for index, matrix in enumerate(matrices):
        if matrix.ndim != 2 or matrix.shape[0] == 0:
            raise ValueError(
                f"{name}[{index}] has shape {matrix.shape}; FrameScorer needs one non-empty "
                "(n_frames, dim) matrix per clip (transpose a (n_mels, frames) spectrogram)."
            )
    return matrices


class FrameScorer:
    """Clip score = aggregate of frame scores from a clip-level scorer fitted on frames; ch. 04.

    Args:
        base_scorer: any scorer above; it is fitted on ALL training frames stacked together.
        aggregate: how frame scores become a clip score (see :func:`aggregator`): ``"mean"``
            suits stationary faults, ``"max"`` or a high percentile suits short events such
            as valve clicks.
    """

    def __init__(
        self, base_scorer: Scorer, aggregate: str | Callable[[np.ndarray], float] = "mean"
    ) -> None:
        self.base_scorer = base_scorer
        self.aggregate = aggregate
        self._aggregate = aggregator(aggregate)

    def __repr__(self) -> str:
        return f"FrameScorer({self.base_scorer!r}, aggregate={self.aggregate!r})"

    def fit(self, train_items: Sequence[np.ndarray]) -> Self:
        """Return self after fitting the base scorer on the frames of all training clips."""
        frames = _frame_matrices(train_items, "train_items")
        self.base_scorer.fit(np.vstack(frames))
        return self

    def score_frames(self, items: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Return the per-frame scores of each clip (one 1-D array per clip)."""
        frames = _frame_matrices(items, "items")
        scores = self.base_scorer.score(np.vstack(frames))
        boundaries = np.cumsum([matrix.shape[0] for matrix in frames])[:-1]
        return np.split(scores, boundaries)

    def score(self, items: Sequence[np.ndarray]) -> np.ndarray:
        """Return one aggregated score per clip (higher = more anomalous)."""
        return np.array([float(self._aggregate(s)) for s in self.score_frames(items)])


def clip_scores(
    frame_scores: Sequence[np.ndarray],
    aggregates: Sequence[str | Callable[[np.ndarray], float]] = ("mean", "max", "p90"),
) -> dict[str, np.ndarray]:
    """Return ``{aggregate: one score per clip}`` from each clip's frame scores; chapter 05.

    ``frame_scores`` holds one 1-D array per clip (e.g. the reconstruction errors of its
    context vectors); each aggregate is a name accepted by :func:`aggregator`. A callable
    aggregate is keyed by its ``__name__``.
    """
    if len(frame_scores) == 0:
        raise ValueError("frame_scores is empty; pass one array of frame scores per clip.")
    empty = [i for i, scores in enumerate(frame_scores) if np.size(scores) == 0]
    if empty:
        raise ValueError(f"clips {empty[:5]} have no frame scores; every clip needs at least one.")
    result = {}
    for aggregate in aggregates:
        summarise = aggregator(aggregate)
        name = aggregate if isinstance(aggregate, str) else aggregate.__name__
        result[name] = np.array([float(summarise(np.asarray(s))) for s in frame_scores])
    return result


class GroupFit(NamedTuple):
    """What :func:`fit_per_group` returns (chapter 04).

    Attributes:
        rows: the test clips of every group, group by group (a slice of the clip table).
        scores: their scores in the order of ``rows``: one array when the score function gives
            one number per clip, else a list with one entry per clip (e.g. frame scores).
        scorers: the fitted scorer of each group, keyed by the group's value (NaN = no value).
    """

    rows: pd.DataFrame
    scores: np.ndarray | list
    scorers: dict[Any, Any]


def _score(scorer: Scorer, items: list) -> Any:
    """Return ``scorer.score(items)``: the default score function of :func:`fit_per_group`."""
    return scorer.score(items)


def fit_per_group(
    table: pd.DataFrame,
    items: Sequence[Any],
    make_scorer: Callable[[int], Scorer],
    *,
    by: str = "machine_id",
    score: Callable[[Any, list], Any] = _score,
) -> GroupFit:
    """Return the test rows and scores of one scorer per group, each fitted on normal clips.

    This is the DCASE protocol of chapters 04 and 05: per machine ID (``by``), a fresh scorer
    from ``make_scorer(number of training clips)`` is fitted on that ID's normal training clips
    (``split == "train"`` and ``label == "normal"``; own recordings may hold faulty training
    clips, which are left out) and scores that ID's test clips. Clips without a value of
    ``by`` form one group.

    Args:
        table: a clip table (columns ``split``, ``label`` and ``by``).
        items: one feature item per row of ``table``, in table order.
        make_scorer: builds a fresh, unfitted scorer from the number of training clips.
        by: the column whose groups get their own scorer.
        score: ``score(fitted scorer, test items)`` -> one value per test clip; default
            ``scorer.score(items)``. E.g. ``lambda s, x: s.score_frames(x)`` keeps the frame
            scores of a :class:`FrameScorer`, to aggregate them in several ways.

    Raises:
        DatasetError: ``items`` does not match the table, or a group has no normal training
            clip.
    """
    if len(items) != len(table):
        raise DatasetError(f"items has {len(items)} entries for {len(table)} clips; pass one "
                           "feature item per row of the table, in table order.")
    position = pd.Series(np.arange(len(table)), index=table.index)
    test_parts, score_parts, scorers = [], [], {}
    for group, rows in table.groupby(by, sort=True, dropna=False):
        train = rows[(rows["split"] == "train") & (rows["label"] == NORMAL)]
        if train.empty:
            raise DatasetError(f"{by} {group!r} has no normal training clip, so no scorer can "
                               "be fitted for it; add normal clips or drop it from the table.")
        scorer = make_scorer(len(train)).fit([items[i] for i in position[train.index]])
        test = rows[rows["split"] == "test"]
        test_parts.append(test)
        score_parts.append(list(score(scorer, [items[i] for i in position[test.index]])))
        scorers[group] = scorer
    flat = [value for part in score_parts for value in part]
    scalar = all(np.ndim(value) == 0 for value in flat)
    return GroupFit(rows=pd.concat(test_parts), scores=np.array(flat, dtype=float) if scalar
                    else flat, scorers=scorers)
