"""Argument checks shared by the course modules: signals, spectrograms and whole numbers.

Each check returns its argument in the form the caller computes with, or raises an error whose
message names the argument and says what to pass instead.
"""

from __future__ import annotations

import numpy as np

from course_lib.errors import AudioError

_MONO_HINT = "use audio.to_mono(y) or pick a channel such as y[0]"


def signal(y: object, name: str = "y", *, mono: bool = False) -> np.ndarray:
    """Return ``y`` as a non-empty, finite float array, or raise AudioError saying what to pass.

    float32 and float64 input keep their dtype, any other input becomes float64. With ``mono``
    the signal must have shape ``(n,)``; otherwise any shape is accepted, e.g.
    ``(channels, n)``.
    """
    array = np.asarray(y)
    if array.dtype not in (np.float32, np.float64):
        array = array.astype(np.float64)
    if mono and array.ndim != 1:
        raise AudioError(
            f"{name} has shape {array.shape}; pass one mono signal of shape (n,) ({_MONO_HINT})."
        )
    if array.size == 0:
        raise AudioError(f"{name} is empty; pass at least one sample.")
    if not np.all(np.isfinite(array)):
        raise AudioError(f"{name} contains NaN or infinite values; fix the computation first.")
    return array


def spectrogram(spec: object, name: str = "spec") -> np.ndarray:
    """Return ``spec`` as a non-empty 2-D array ``(n_bins, n_frames)``, or raise ValueError."""
    array = np.asarray(spec)
    if array.ndim != 2 or 0 in array.shape:
        raise ValueError(
            f"{name} has shape {array.shape}; pass one non-empty spectrogram of shape "
            "(n_bins, n_frames), e.g. features.logmel(y, sr=sr)."
        )
    return array


def count(value: object, name: str, *, minimum: int = 1) -> int:
    """Return ``value`` as int if it is a whole number >= ``minimum``, else raise ValueError."""
    whole = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not whole or value < minimum:
        raise ValueError(f"{name}={value!r} is invalid; pass a whole number >= {minimum}.")
    return int(value)
