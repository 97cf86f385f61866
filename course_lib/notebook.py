"""One-line start for every chapter notebook: seeds, quiet logs and the house plot style.

Every chapter begins with ``session = notebook.setup(seed=seed, fast=fast)`` (chapter 01
introduces it); chapters that train Keras models pass ``deep_learning=True``.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import os
import random
import re
import sys
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType

import matplotlib
import numpy as np
from cycler import cycler

from course_lib import figure_output

FAST_ENV_VAR = "COURSE_FAST"

#: Okabe & Ito's colour-blind-safe palette (black moved last so lines start in colour).
PALETTE = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#F0E442",  # yellow
    "#000000",  # black
)

#: Perceptually uniform colormap used for every spectrogram in the book.
SPECTROGRAM_CMAP = "magma"

#: Matplotlib settings applied by :func:`setup`: 8 x 3.5 in at 80 dpi (640 px wide) keeps site
#: PNGs around 30-90 KB (a noisy full-band linear STFT reaches ~140 KB).
HOUSE_STYLE = {
    "axes.prop_cycle": cycler(color=PALETTE),
    "image.cmap": SPECTROGRAM_CMAP,
    "figure.figsize": (8.0, 3.5),
    "figure.dpi": 80,
    "savefig.dpi": "figure",
    "figure.constrained_layout.use": True,
    "figure.max_open_warning": 0,
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.fontsize": 10,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "lines.linewidth": 1.2,
}

#: Python warnings that are noise for students: (category, message regex) pairs.
NOISY_WARNINGS = (
    # scikit-learn on Windows + MKL, raised by every KMeans / GaussianMixture fit.
    (UserWarning, r"KMeans is known to have a memory leak on Windows with MKL"),
    # joblib/loky on machines without `wmic`/`lscpu`; the worker count is still fine.
    (UserWarning, r"Could not find the number of physical cores"),
)

#: TensorFlow writes these C++ log lines to stderr during import, before its log level applies.
_TF_IMPORT_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\)"
    r"|[IW]\d{4} \d\d:\d\d:\d\d"
    r"|To enable the following instructions:)"
)

TF_INTRA_OP_THREADS = 2
TF_INTER_OP_THREADS = 1


@dataclass(frozen=True, repr=False)
class Session:
    """Settings of one notebook run, returned by :func:`setup` (chapter 01).

    Attributes:
        seed: the seed used for Python, NumPy (and Keras when ``deep_learning``).
        fast: True for a quicker, smaller run (fewer clips or epochs, same code paths).
        rng: a NumPy generator seeded with ``seed``; use it for every random draw.
        deep_learning: whether TensorFlow/Keras were seeded and configured.
        versions: (package, version) pairs shown in the one-line summary.
    """

    seed: int
    fast: bool
    rng: np.random.Generator = field(compare=False)
    deep_learning: bool = False
    versions: tuple[tuple[str, str], ...] = ()

    def __repr__(self) -> str:
        """Return a one-line summary: seed, fast flag and key package versions."""
        packages = " | ".join(f"{name} {version}" for name, version in self.versions)
        return f"Session(seed={self.seed}, fast={self.fast}) | {packages}"


def resolve_fast(fast: bool | None = None) -> bool:
    """Return the fast flag: ``fast`` if given, else True iff ``COURSE_FAST=1`` (chapter 01)."""
    if fast is None:
        return os.environ.get(FAST_ENV_VAR, "").strip() == "1"
    if not isinstance(fast, bool):
        raise TypeError(f"fast must be True, False or None; got {fast!r}.")
    return fast


def _check_seed(seed: int) -> int:
    """Return ``seed`` after checking that NumPy's legacy seeding accepts it."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an integer such as 0 or 42; got {seed!r}.")
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must lie in [0, 2**32 - 1]; got {seed}. Pick a smaller integer.")
    return int(seed)


def _package_versions(names: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """Return (name, version) pairs: the imported module's version, else the installed one.

    Packages that are not imported yet are looked up without importing them (fast start).
    """
    return tuple(
        (name, getattr(sys.modules.get(name), "__version__", None)
         or importlib.metadata.version(name))
        for name in names
    )


def quiet_warnings() -> None:
    """Return None after hiding the known noisy warnings listed in ``NOISY_WARNINGS`` (ch. 01)."""
    for category, message in NOISY_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category)


def apply_plot_style() -> None:
    """Return None after applying the house Matplotlib style ``HOUSE_STYLE`` (chapter 01).

    Pyplot is imported first so that Jupyter's inline backend does not later overwrite
    the settings with its own defaults. In a notebook, figures are then shown as sharp PNGs
    at their page size (:func:`course_lib.figure_output.use_sharp_figures`).
    """
    importlib.import_module("matplotlib.pyplot")
    matplotlib.rcParams.update(HOUSE_STYLE)
    figure_output.use_sharp_figures()


@contextmanager
def _filtered_stderr(noise: re.Pattern[str]) -> Iterator[None]:
    """Yield while OS-level stderr is captured; afterwards replay lines that are not ``noise``.

    TensorFlow's C++ runtime prints some INFO lines during import no matter what its log
    level says. They reach the notebook through the file descriptor, so Python's
    ``warnings``/``logging`` cannot filter them.
    """
    sys.stderr.flush()
    saved_fd = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved_fd, 2)
            os.close(saved_fd)
            capture.seek(0)
            text = capture.read().decode("utf-8", errors="replace")
            kept = [line for line in text.splitlines() if not noise.match(line)]
            if kept:
                print("\n".join(kept), file=sys.stderr)


def _import_tensorflow() -> ModuleType:
    """Return the ``tensorflow`` module, imported with its C++ logs limited to fatal errors.

    Level 3 also hides a harmless ``NodeDef mentions attribute use_unbounded_threadpool``
    error that TF 2.21 logs on the first ``fit``; real failures still raise Python exceptions.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    with _filtered_stderr(_TF_IMPORT_NOISE):
        return importlib.import_module("tensorflow")


def _cap_tensorflow_threads(tf: ModuleType) -> None:
    """Return None after limiting TensorFlow to 2 intra-op and 1 inter-op threads.

    TensorFlow refuses changes once its runtime has started (for example on a second
    ``setup`` call); then the values set earlier stay, and we only warn if they differ.
    """
    threading = tf.config.threading
    wanted = (TF_INTRA_OP_THREADS, TF_INTER_OP_THREADS)
    current = (
        threading.get_intra_op_parallelism_threads(),
        threading.get_inter_op_parallelism_threads(),
    )
    if current == wanted:
        return
    try:
        threading.set_intra_op_parallelism_threads(TF_INTRA_OP_THREADS)
        threading.set_inter_op_parallelism_threads(TF_INTER_OP_THREADS)
    except RuntimeError as error:
        if "cannot be modified after initialization" not in str(error):
            raise
        warnings.warn(
            "TensorFlow was already running, so its thread counts could not be capped; "
            "restart the kernel and call notebook.setup(deep_learning=True) before using "
            "TensorFlow to get fully reproducible runs.",
            RuntimeWarning,
            stacklevel=3,
        )


def configure_deep_learning(seed: int) -> ModuleType:
    """Return the ``keras`` module after seeding it and making TensorFlow deterministic (ch. 05).

    Seeds Python, NumPy and the backend via ``keras.utils.set_random_seed``, enables
    TensorFlow op determinism, caps the thread pools and quiets TensorFlow/Keras/absl logs.
    """
    tf = _import_tensorflow()
    keras = importlib.import_module("keras")
    for name in ("tensorflow", "keras", "absl"):
        logging.getLogger(name).setLevel(logging.ERROR)
    _cap_tensorflow_threads(tf)
    tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(seed)
    return keras


def setup(*, seed: int = 0, fast: bool | None = None, deep_learning: bool = False) -> Session:
    """Return a :class:`Session` after seeding, quieting logs and styling plots (chapter 01).

    Args:
        seed: seed for Python ``random``, NumPy's global RNG and ``Session.rng``.
        fast: True for a quicker, smaller run; None means True iff ``COURSE_FAST=1``.
        deep_learning: also import TensorFlow/Keras, seed them and make ops deterministic
            (leave False in chapters without neural networks: importing TensorFlow is slow).
    """
    seed = _check_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    quiet_warnings()
    apply_plot_style()
    names = ("numpy", "librosa", "matplotlib")
    if deep_learning:
        configure_deep_learning(seed)
        names += ("tensorflow", "keras")
    return Session(
        seed=seed,
        fast=resolve_fast(fast),
        rng=np.random.default_rng(seed),
        deep_learning=deep_learning,
        versions=_package_versions(names),
    )
