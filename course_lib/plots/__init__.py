"""Plot helpers used throughout the book, one namespace: ``plots.spectrogram(...)`` (all chapters).

Every function draws into ``ax`` (or ``fig`` for multi-panel grids) when given, otherwise
into a new figure, labels its axes with units, and returns ``(fig, ax)`` or ``(fig, axes)``.
Nothing here calls ``plt.show()`` or closes a figure: notebooks display figures themselves.
Each function names the chapter that introduces it. By concern:

* :mod:`course_lib.plots.signals`: waveforms, spectra, spectrograms, mel filters, clip grids;
* :mod:`course_lib.plots.tables`: clips per class, clip durations, matrices;
* :mod:`course_lib.plots.evaluation`: ROC curves, score histograms, threshold sweeps,
  confusion matrices, score spreads, confidence intervals, PCA scatter plots and training
  curves; plots of labelled scores take ``(y_true, scores)`` in that order, as
  :mod:`course_lib.evaluate` does;
* :mod:`course_lib.plots.networks`: autoencoder diagrams drawn from the Keras model, and
  input / reconstruction / error spectrograms;
* :mod:`course_lib.plots.mixtures`: a 2-D Gaussian mixture over its log-likelihood
  contours, and Mahalanobis ellipses next to Euclidean circles;
* :mod:`course_lib.plots.boosting`: a boosted classifier's probability after 1, 10, 100 trees
  on two features, and feature importances.
"""

from course_lib.plots._base import CLIPS_LABEL, GRID_MARGIN, ROW_HEIGHT
from course_lib.plots.boosting import (
    CLASS_COLOURS,
    PROBABILITY_LABEL,
    boosting_stages,
    feature_importances,
)
from course_lib.plots.evaluation import (
    CLASS_NAMES,
    FPR_LABEL,
    MARKERS,
    SCORE_LABEL,
    TPR_LABEL,
    confusion_matrix,
    intervals,
    pca_scatter,
    roc_curves,
    score_histogram,
    score_spread,
    threshold_sweep,
    training_curves,
)
from course_lib.plots.mixtures import (
    FEATURE_LABELS,
    LOG_LIKELIHOOD_LABEL,
    component_covariances,
    covariance_ellipse,
    mahalanobis_ellipses,
    mixture_contours,
)
from course_lib.plots.networks import (
    DenseBlock,
    autoencoder_diagram,
    dense_blocks,
    reconstruction,
)
from course_lib.plots.signals import (
    AMPLITUDE_LABEL,
    CLIP_KINDS,
    DYNAMIC_RANGE_DB,
    ENVELOPE_POINTS,
    FREQUENCY_LABEL,
    LEVEL_LABEL,
    MAX_DRAWN_BINS,
    MAX_DRAWN_FRAMES,
    TIME_LABEL,
    Y_AXES,
    clip_grid,
    clip_logmel,
    colour_limits,
    mel_filterbank,
    sample_points,
    spectrogram,
    spectrograms,
    spectrum,
    waveform,
    waveforms,
)
from course_lib.plots.tables import (
    MAX_ANNOTATED_CELLS,
    class_balance,
    correlation_matrix,
    durations,
    matrix,
)

__all__ = [
    "AMPLITUDE_LABEL", "CLASS_NAMES", "CLIPS_LABEL", "CLIP_KINDS", "DYNAMIC_RANGE_DB",
    "ENVELOPE_POINTS", "FPR_LABEL", "FREQUENCY_LABEL", "GRID_MARGIN", "LEVEL_LABEL",
    "MARKERS", "MAX_ANNOTATED_CELLS", "MAX_DRAWN_BINS", "MAX_DRAWN_FRAMES", "ROW_HEIGHT",
    "SCORE_LABEL", "TIME_LABEL", "TPR_LABEL", "Y_AXES", "class_balance", "clip_grid",
    "clip_logmel", "colour_limits", "confusion_matrix", "correlation_matrix", "durations",
    "intervals", "matrix", "mel_filterbank", "pca_scatter", "roc_curves", "sample_points",
    "score_histogram", "score_spread", "spectrogram", "spectrograms", "spectrum", "threshold_sweep",
    "training_curves", "waveform", "waveforms",
    "DenseBlock", "autoencoder_diagram", "dense_blocks", "reconstruction",
    "FEATURE_LABELS", "LOG_LIKELIHOOD_LABEL", "component_covariances", "covariance_ellipse",
    "mahalanobis_ellipses", "mixture_contours",
    "CLASS_COLOURS", "PROBABILITY_LABEL", "boosting_stages", "feature_importances",
]
