"""Open source separation: split a clip into a foreground and a background (chapter 06).

Every method here answers the same question with one interface, ``separate(y, sr)`` ->
:class:`Separated`, and the same meaning of its two parts:

* **background**: the steady part of the sound, what continues unchanged through the clip
  (a motor's hum, the stationary noise of the hall);
* **foreground**: what stands out of it (clicks, bursts, events, anything the steady model
  does not explain).

The three methods differ in what they call steady:

* :class:`HarmonicPercussive`: the harmonic part of harmonic-percussive separation
  (median filtering of the spectrogram along time vs along frequency, Fitzgerald 2010,
  :func:`librosa.decompose.hpss`) is the background, the percussive part the foreground;
* :class:`LowRankNMF`: a non-negative matrix factorisation of the magnitude spectrogram with a
  few components (:func:`librosa.decompose.decompose`) models the repeating spectra as the
  background; what it leaves over is the foreground;
* :class:`SpectralGate`: stationary spectral gating (``noisereduce``) keeps the time-frequency
  cells that rise above each band's noise floor as the foreground; what it removes is the
  background.

Each method builds two soft masks that add up to one in every time-frequency cell and applies
them to the same STFT, so ``foreground + background`` gives back the input up to rounding
(spectral gating: exactly, because its background is defined as the difference). Window and hop
are fixed in seconds, so a method means the same at 16 kHz and at 44.1 kHz.

:func:`separate_files` separates every clip of a table once and stores both parts as audio
files, so that :func:`course_lib.features.extract` computes (and caches) any feature of a
separated signal exactly as it does for the raw clips, and a player can play them.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import ClassVar, Protocol

import librosa
import noisereduce
import numpy as np
import pandas as pd
import soundfile as sf
from joblib import Parallel, delayed
from sklearn.decomposition import NMF
from sklearn.exceptions import ConvergenceWarning
from tqdm.auto import tqdm

from course_lib import _checks, _files, audio, clip_table, paths
from course_lib.errors import AudioError

#: Bumped whenever a method changes its output, so stored parts of old code are not reused.
CACHE_VERSION = 1
#: The two parts every method returns.
PARTS = ("foreground", "background")
_EPS = 1e-10
#: Spectral gating smooths its mask over this many milliseconds (or one hop, if longer).
_GATE_SMOOTH_MS = 50.0


@dataclass(frozen=True)
class Separated:
    """The two parts of a separated signal, each as long as the input (chapter 06).

    Attributes:
        foreground: what stands out of the steady sound (float32).
        background: the steady sound (float32).
    """

    foreground: np.ndarray
    background: np.ndarray

    def part(self, name: str) -> np.ndarray:
        """Return the part ``name`` (``"foreground"`` or ``"background"``)."""
        if name not in PARTS:
            raise ValueError(f"part={name!r} is unknown; choose one of {', '.join(PARTS)}.")
        return getattr(self, name)


class Separator(Protocol):
    """What every separation method offers (chapter 06)."""

    name: ClassVar[str]

    def separate(self, y: np.ndarray, sr: int) -> Separated:
        """Return the foreground and background of the mono signal ``y``."""

    def key(self) -> str:
        """Return a short hash of the method and its settings (for caches)."""


def _real(value: object, name: str, *, unit: str, positive: bool = True) -> float:
    """Return ``value`` as float if it is a finite number (> 0 with ``positive``), else raise."""
    number = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not (number and math.isfinite(value) and (value > 0 or not positive)):
        wanted = f"a finite number > 0 {unit}" if positive else f"a finite number {unit}"
        raise ValueError(f"{name}={value!r} is invalid; pass {wanted}.")
    return float(value)


def _frames(sr: int, window_seconds: float, hop_seconds: float) -> tuple[int, int]:
    """Return ``(n_fft, hop_length)`` in samples for a window and hop given in seconds.

    The hop must be shorter than the window: frames that do not overlap leave samples the
    inverse STFT cannot restore, and ``foreground + background`` would no longer be the input.
    """
    sr = _checks.count(sr, "sr")
    window = _real(window_seconds, "window_seconds", unit="seconds")
    hop_seconds = _real(hop_seconds, "hop_seconds", unit="seconds")
    n_fft = max(16, round(window * sr))
    hop = max(1, round(hop_seconds * sr))
    if hop >= n_fft:
        raise ValueError(f"hop_seconds={hop_seconds!r} is invalid: frames must overlap; pass a "
                         f"hop shorter than window_seconds={window_seconds!r} (e.g. half).")
    return n_fft, hop


def _checked_signal(y: np.ndarray, n_fft: int) -> np.ndarray:
    """Return ``y`` as a mono float32 signal at least one window long, or raise AudioError."""
    signal = _checks.signal(y, mono=True).astype(np.float32)
    if signal.size < n_fft:
        raise AudioError(
            f"y has {signal.size} samples, fewer than one analysis window ({n_fft}); pass a "
            "longer clip or a shorter window_seconds."
        )
    return signal


def _spectrogram(y: np.ndarray, sr: int, window_seconds: float,
                 hop_seconds: float) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Return ``(signal, stft, n_fft, hop_length)``: the checked signal and its STFT."""
    n_fft, hop = _frames(sr, window_seconds, hop_seconds)
    signal = _checked_signal(y, n_fft)
    return signal, librosa.stft(signal, n_fft=n_fft, hop_length=hop), n_fft, hop


def _masked(y: np.ndarray, stft: np.ndarray, background_mask: np.ndarray,
            hop_length: int, n_fft: int) -> Separated:
    """Return the parts given a background mask in [0, 1] (the foreground gets 1 - mask)."""
    def inverse(mask: np.ndarray) -> np.ndarray:
        return librosa.istft(stft * mask, hop_length=hop_length, n_fft=n_fft,
                             length=y.size).astype(np.float32)

    return Separated(foreground=inverse(1.0 - background_mask),
                     background=inverse(background_mask))


class _Keyed:
    """Mixin: a stable key and a readable description from the dataclass fields."""

    name: ClassVar[str]

    def key(self) -> str:
        """Return a 12-character hash of the method's name, settings and the code version."""
        fields = {"method": self.name, "cache_version": CACHE_VERSION, **asdict(self)}
        text = json.dumps(fields, sort_keys=True)
        return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class HarmonicPercussive(_Keyed):
    """Harmonic-percussive separation: background = harmonic, foreground = percussive (ch. 06).

    A spectrogram cell belongs to the harmonic part when it resembles its neighbours in time
    (a steady tone: median over ``kernel_seconds`` of frames) more than its neighbours in
    frequency (a click: median over ``kernel_hz``). ``margin=1`` gives soft masks that sum to
    one, so nothing is thrown away.
    """

    name: ClassVar[str] = "hpss"
    kernel_seconds: float = 0.25
    kernel_hz: float = 250.0
    window_seconds: float = 0.064
    hop_seconds: float = 0.032

    def separate(self, y: np.ndarray, sr: int) -> Separated:
        """Return the percussive part as foreground and the harmonic part as background."""
        kernel_seconds = _real(self.kernel_seconds, "kernel_seconds", unit="seconds")
        kernel_hz = _real(self.kernel_hz, "kernel_hz", unit="Hz")
        signal, stft, n_fft, hop = _spectrogram(y, sr, self.window_seconds, self.hop_seconds)
        time_kernel = max(3, round(kernel_seconds * sr / hop)) | 1  # odd lengths
        freq_kernel = max(3, round(kernel_hz * n_fft / sr)) | 1
        harmonic, percussive = librosa.decompose.hpss(
            np.abs(stft), kernel_size=(time_kernel, freq_kernel), mask=True, margin=1.0
        )
        return _masked(signal, stft, harmonic, hop, n_fft)


@dataclass(frozen=True)
class LowRankNMF(_Keyed):
    """Background = a rank-``rank`` NMF model of the magnitude spectrogram (chapter 06).

    ``rank`` spectral templates with their activations over time reproduce what repeats in the
    clip; the cells they fail to explain (magnitude above the model) are the foreground. The
    masks are Wiener-style: the background's share ``model**2 / (model**2 + rest**2)``.
    The factorisation starts from an SVD (``init="nndsvd"``; scikit-learn computes it with a
    randomized SVD, hence the fixed ``random_state``), so it is deterministic. It runs
    a fixed ``max_iter`` coordinate-descent steps: on the toy pump the relative fit error
    changes by less than 0.1 % between 50 and 200 steps, so scikit-learn's warning that the
    tolerance was not reached is silenced on purpose.
    """

    name: ClassVar[str] = "nmf"
    rank: int = 8
    max_iter: int = 50
    window_seconds: float = 0.064
    hop_seconds: float = 0.032

    def separate(self, y: np.ndarray, sr: int) -> Separated:
        """Return what the low-rank model leaves over as foreground, the model as background."""
        rank = _checks.count(self.rank, "rank")
        max_iter = _checks.count(self.max_iter, "max_iter")
        signal, stft, n_fft, hop = _spectrogram(y, sr, self.window_seconds, self.hop_seconds)
        magnitude = np.abs(stft).astype(np.float64)
        model = np.zeros_like(magnitude)
        if magnitude.max() > 0:
            transformer = NMF(n_components=min(rank, *magnitude.shape), init="nndsvd",
                              solver="cd", max_iter=max_iter, tol=1e-4, random_state=0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", category=ConvergenceWarning)
                templates, activations = librosa.decompose.decompose(
                    magnitude, transformer=transformer
                )
            model = templates @ activations
        rest = np.maximum(magnitude - model, 0.0)
        mask = (model ** 2 + _EPS) / (model ** 2 + rest ** 2 + 2 * _EPS)
        return _masked(signal, stft, mask, hop, n_fft)


@dataclass(frozen=True)
class SpectralGate(_Keyed):
    """Stationary spectral gating with ``noisereduce``: foreground = the gated signal (ch. 06).

    Each frequency band's noise floor is its mean plus ``n_std`` standard deviations (in dB)
    over the clip; cells below it are muted. The mask is smoothed over 50 ms (or one hop, a
    quarter of the window, if that is longer) and the adjacent frequency bins only (not
    noisereduce's default of 500 Hz, which would keep only about a tenth of a loud pure
    tone's energy), so a narrow tone that stands out stays in the foreground. The background
    is what the gate removed, ``y - foreground``.
    """

    name: ClassVar[str] = "gate"
    n_std: float = 1.5
    window_seconds: float = 0.064

    def separate(self, y: np.ndarray, sr: int) -> Separated:
        """Return the gated signal as foreground and the removed part as background."""
        window = _real(self.window_seconds, "window_seconds", unit="seconds")
        n_fft, _ = _frames(sr, window, window / 4)
        # noisereduce's hop in ms, computed as it does: it refuses smoothing shorter than that
        smooth_ms = max(_GATE_SMOOTH_MS, (n_fft // 4) / sr * 1000)
        n_std = _real(self.n_std, "n_std", unit="standard deviations", positive=False)
        signal = _checked_signal(y, n_fft)
        gated = noisereduce.reduce_noise(
            y=signal, sr=sr, stationary=True, n_std_thresh_stationary=n_std,
            n_fft=n_fft, prop_decrease=1.0, freq_mask_smooth_hz=None,
            time_mask_smooth_ms=smooth_ms, use_tqdm=False, n_jobs=1,
        ).astype(np.float32)
        return Separated(foreground=gated, background=signal - gated)


#: The methods of chapter 06 with their default settings, by name.
METHODS: dict[str, Separator] = {
    method.name: method for method in (HarmonicPercussive(), LowRankNMF(), SpectralGate())
}


def method(name: str) -> Separator:
    """Return the separation method ``name`` (a key of :data:`METHODS`) (chapter 06)."""
    if name not in METHODS:
        raise ValueError(f"method={name!r} is unknown; choose one of {', '.join(METHODS)}.")
    return METHODS[name]


def separated_dir(separator: Separator) -> Path:
    """Return the folder of ``separator``'s stored parts: ``cache_root()/separated/<name-key>``."""
    return paths.cache_root() / "separated" / f"{separator.name}-{separator.key()}"


def _part_files(path: Path, separator: Separator, sr: int, channel: int) -> dict[str, Path]:
    """Return the stored file of each part of ``path``, named by its identity and the rate."""
    digest = _files.file_digest(path, sr, channel)
    folder = separated_dir(separator)
    return {part: folder / f"{path.stem}-{digest}-{part}.wav" for part in PARTS}


def _separate_file(path: Path, separator: Separator, sr: int, channel: int,
                   targets: dict[str, Path], advice: str | None) -> None:
    """Load one clip, separate it and store both parts as 32-bit float WAV files."""
    y, _ = audio.load_with_advice(path, sr=sr, channel=channel, advice=advice)
    try:
        separated = separator.separate(y, sr)
    except AudioError as exc:
        raise AudioError(f"{path}: {exc}") from None
    for part, target in targets.items():
        samples = separated.part(part)
        # float WAV: a part may peak above 1.0 without clipping
        _files.write_atomically(target, lambda handle, x=samples: sf.write(
            handle, x, sr, format="WAV", subtype="FLOAT"))


def separate_files(
    table: pd.DataFrame,
    separator: Separator,
    *,
    sr: int,
    channel: int = 0,
    n_jobs: int = 1,
    progress: bool = True,
) -> dict[str, pd.DataFrame]:
    """Return, per part, a copy of ``table`` whose ``path`` points at that part (chapter 06).

    Every clip is loaded at ``sr`` (channel ``channel``), separated once, and its foreground
    and background are stored as 32-bit float WAV files under :func:`separated_dir`. Later
    calls reuse them; a stored part is keyed by the clip's resolved path, size, modification
    time, ``sr`` and ``channel``, so an edited clip is separated again. The copies keep every
    other column and add ``source_path`` (the original file), so the parts go straight into
    :func:`course_lib.features.extract` and players.

    Raises:
        AudioError: a clip is missing or unreadable; for a table from
            :func:`course_lib.datasets.load` the message says what to do.
    """
    clip_table.require_columns(table, ["path"])
    sr = _checks.count(sr, "sr")
    channel = _checks.count(channel, "channel", minimum=0)
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"n_jobs={n_jobs!r} is invalid; pass 1, a larger number, or -1.")
    sources = [Path(p).expanduser().resolve() for p in table["path"]]
    missing = [str(p) for p in sources if not p.is_file()]
    if missing:
        raise AudioError(f"{len(missing)} of {len(sources)} clips do not exist, e.g. "
                         f"{missing[0]}; load the table again with datasets.load.")
    advice = clip_table.advice_per_row(table)
    targets = [_part_files(p, separator, sr, channel) for p in sources]
    todo = [i for i, t in enumerate(targets) if not all(f.is_file() for f in t.values())]
    jobs = [delayed(_separate_file)(sources[i], separator, sr, channel, targets[i],
                                    advice[i]) for i in todo]
    runner = Parallel(n_jobs=1 if len(todo) < 2 else n_jobs, return_as="generator")
    label = f"separating ({separator.name})"
    with tqdm(total=len(sources), initial=len(sources) - len(todo), desc=label,
              disable=not progress) as bar:
        for _ in runner(jobs):
            bar.update()
    return {
        part: table.assign(source_path=[str(p) for p in sources],
                           path=[str(t[part]) for t in targets])
        for part in PARTS
    }
