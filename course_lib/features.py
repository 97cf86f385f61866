"""Spectra, time-frequency features and cached batch extraction (chapters 01-02).

All spectrograms have shape ``(n_bins, n_frames)`` (frequency first, like librosa) and are in
dB re 1.0: ``librosa.power_to_db(S, ref=1.0, amin=1e-10, top_db=None)``. The level is
absolute, not relative to the loudest bin, so quiet and loud clips stay comparable.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import librosa
import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from tqdm import tqdm  # text bar on stderr: live in Jupyter, dropped from the built site

from course_lib import _checks, _files, audio, clip_table, paths
from course_lib.errors import AudioError

#: Feature kinds understood by :class:`FeatureConfig` and :func:`compute`.
KINDS = ("logmel", "mfcc", "stft_db")
#: Per-band statistics understood by :func:`clip_statistics`.
STATISTICS = {
    "mean": np.mean,
    "std": np.std,
    "min": np.min,
    "max": np.max,
    "median": np.median,
}
#: Bumped whenever the feature code changes its output, so old caches are not reused.
CACHE_VERSION = 1
_AMIN = 1e-10


@dataclass(frozen=True)
class FeatureConfig:
    """Every setting of one feature extraction, validated on creation (chapter 02).

    ``fmax=None`` means ``sr / 2``. ``n_mels``/``fmin``/``fmax`` also apply to MFCCs (which are
    computed from the log-mel spectrogram); ``n_mfcc`` applies only to ``kind="mfcc"`` and
    ``power`` only to ``kind="logmel"`` (MFCCs always start from the power spectrum).

    ``channel`` says which microphone of a multichannel file is analysed: ``0`` (default)
    the first, as the MIMII baseline does with its 8-microphone array; ``"mean"`` the
    average of all channels (librosa's mono mix-down). Mono files give the same either way.
    Averaging microphones is a beamformer: it changes the spectrum and the SNR (chapter 03).

    :meth:`for_rate` builds a configuration whose window and hop are fixed in seconds, so that
    a method means the same at any sample rate.
    """

    kind: str = "logmel"
    sr: int = 16000
    n_fft: int = 1024
    hop_length: int = 512
    n_mels: int = 64
    fmin: float = 0.0
    fmax: float | None = None
    n_mfcc: int = 20
    power: float = 2.0
    channel: int | str = 0

    @classmethod
    def for_rate(cls, sr: int, *, window_seconds: float = 0.064, hop_seconds: float = 0.032,
                 **fields: object) -> FeatureConfig:
        """Return a config for ``sr`` whose window and hop last the given times (chapter 04).

        ``n_fft = round(window_seconds * sr)`` and ``hop_length = round(hop_seconds * sr)``:
        at 16 kHz the defaults give the DCASE baseline's 1024 and 512 samples (64 ms and
        32 ms); at 44.1 kHz they give 2822 and 1411, the same times. Other ``fields`` are
        passed on (``kind``, ``n_mels``, ``channel``, ...).
        """
        for name, value in (("window_seconds", window_seconds), ("hop_seconds", hop_seconds)):
            if not (isinstance(value, (int, float)) and value > 0):
                raise ValueError(f"{name}={value!r} is invalid; pass a duration > 0 seconds.")
        sr = _checks.count(sr, "sr")
        return cls(sr=sr, n_fft=max(1, round(window_seconds * sr)),
                   hop_length=max(1, round(hop_seconds * sr)), **fields)

    def __post_init__(self) -> None:
        """Check every field and normalise number types (so ``key()`` is stable)."""
        if self.kind not in KINDS:
            raise ValueError(f"kind={self.kind!r} is unknown; valid kinds: {', '.join(KINDS)}.")
        for name in ("sr", "n_fft", "hop_length", "n_mels", "n_mfcc"):
            value = getattr(self, name)
            if isinstance(value, bool) or not float(value).is_integer() or value <= 0:
                raise ValueError(f"{name}={value!r} is invalid; pass a positive whole number.")
            object.__setattr__(self, name, int(value))
        for name in ("fmin", "power") + (() if self.fmax is None else ("fmax",)):
            object.__setattr__(self, name, float(getattr(self, name)))
        self._check_ranges()

    def _check_ranges(self) -> None:
        """Raise ValueError when fields are inconsistent with each other."""
        nyquist = self.sr / 2
        if self.hop_length > self.n_fft:
            raise ValueError(
                f"hop_length={self.hop_length} > n_fft={self.n_fft} skips samples; "
                f"pass hop_length in 1..{self.n_fft}."
            )
        if self.fmax is not None and not 0 < self.fmax <= nyquist:
            raise ValueError(
                f"fmax={self.fmax} is invalid for sr={self.sr}; pass 0 < fmax <= {nyquist} "
                "(the Nyquist frequency) or None."
            )
        top = nyquist if self.fmax is None else self.fmax
        if not 0 <= self.fmin < top:
            raise ValueError(f"fmin={self.fmin} is invalid; pass 0 <= fmin < {top}.")
        if self.kind == "mfcc" and self.n_mfcc > self.n_mels:
            raise ValueError(
                f"n_mfcc={self.n_mfcc} > n_mels={self.n_mels}; pass n_mfcc in 1..{self.n_mels}."
            )
        if not self.power > 0:
            raise ValueError(f"power={self.power} is invalid; pass 1.0 (magnitude) or 2.0 (power).")
        channel_ok = self.channel == "mean" or (
            isinstance(self.channel, int) and not isinstance(self.channel, bool)
            and self.channel >= 0)
        if not channel_ok:
            raise ValueError(f"channel={self.channel!r} is invalid; pass 0 (the first "
                             "microphone), another channel index, or \"mean\".")

    def key(self) -> str:
        """Return a 12-character hex hash of all fields (the name of the cache folder)."""
        fields = dict(asdict(self), cache_version=CACHE_VERSION)
        text = json.dumps(fields, sort_keys=True)
        return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def _power_to_db(power: np.ndarray) -> np.ndarray:
    """Return ``power`` in dB re 1.0 with a floor of -100 dB (no relative top_db clipping)."""
    return librosa.power_to_db(power, ref=1.0, amin=_AMIN, top_db=None)


def spectrum_db(y: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(frequencies_hz, level_dbfs)``: the Hann-windowed spectrum of the whole signal.

    Introduced in chapter 01. The scale matches :func:`course_lib.audio.dbfs` (RMS re full
    scale): the peak of a sinusoid reads its own RMS level, e.g. -3 dBFS for a full-scale
    sine. Levels are floored at -120 dBFS.
    """
    signal = _checks.signal(y, mono=True)
    window = np.hanning(signal.size + 2)[1:-1]  # no zero end points, also fine for tiny inputs
    rms = np.sqrt(2.0) * np.abs(np.fft.rfft(signal * window)) / window.sum()
    level = 20.0 * np.log10(np.maximum(rms, 1e-6))
    return np.fft.rfftfreq(signal.size, d=1.0 / sr), level


def stft_db(y: np.ndarray, *, n_fft: int = 1024, hop_length: int = 512) -> np.ndarray:
    """Return the power spectrogram of ``y`` in dB re 1.0, shape ``(1 + n_fft//2, frames)``.

    Introduced in chapter 02. Hann window, centred frames (``librosa.stft`` defaults).
    """
    spectrum = librosa.stft(_checks.signal(y, mono=True), n_fft=n_fft, hop_length=hop_length)
    return _power_to_db(np.abs(spectrum) ** 2)


def logmel(
    y: np.ndarray,
    *,
    sr: int,
    n_fft: int = 1024,
    hop_length: int = 512,
    n_mels: int = 64,
    fmin: float = 0.0,
    fmax: float | None = None,
    power: float = 2.0,
) -> np.ndarray:
    """Return the log-mel spectrogram of ``y`` in dB re 1.0, shape ``(n_mels, frames)`` (ch. 02).

    ``power=2.0`` uses the power spectrum, ``1.0`` the magnitude; both give true dB.
    """
    mel = librosa.feature.melspectrogram(
        y=_checks.signal(y, mono=True),
        sr=sr,
        n_fft=n_fft,
        hop_length=hop_length,
        n_mels=n_mels,
        fmin=fmin,
        fmax=fmax,
        power=power,
    )
    return _power_to_db(mel if power == 2.0 else mel ** (2.0 / power))


def mfcc(
    y: np.ndarray,
    *,
    sr: int,
    n_mfcc: int = 20,
    n_fft: int = 1024,
    hop_length: int = 512,
    n_mels: int = 64,
    fmin: float = 0.0,
    fmax: float | None = None,
) -> np.ndarray:
    """Return MFCCs of ``y``, shape ``(n_mfcc, frames)``: the DCT of :func:`logmel` (ch. 02)."""
    log_mel = logmel(
        y, sr=sr, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels, fmin=fmin, fmax=fmax
    )
    return librosa.feature.mfcc(S=log_mel, n_mfcc=n_mfcc)


def compute(y: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Return the feature ``config.kind`` of ``y`` (sampled at ``config.sr``) (chapter 02)."""
    if config.kind == "stft_db":
        return stft_db(y, n_fft=config.n_fft, hop_length=config.hop_length)
    mel_args = dict(
        sr=config.sr,
        n_fft=config.n_fft,
        hop_length=config.hop_length,
        n_mels=config.n_mels,
        fmin=config.fmin,
        fmax=config.fmax,
    )
    if config.kind == "mfcc":
        return mfcc(y, n_mfcc=config.n_mfcc, **mel_args)
    return logmel(y, power=config.power, **mel_args)


def stack_frames(spec: np.ndarray, *, n_frames: int) -> np.ndarray:
    """Return context vectors of ``n_frames`` consecutive frames, shape ``(n_vectors, dims)``.

    Introduced in chapter 02 (the DCASE autoencoder input). Vector ``t`` concatenates frames
    ``t .. t+n_frames-1`` frame-major: ``out[t, j*n_bins + b] == spec[b, t + j]``. So 64 mel
    bands and 5 frames give 320 dimensions and ``n_vectors = n_frames_total - n_frames + 1``.
    """
    spec = _checks.spectrogram(spec)
    n_frames = _checks.count(n_frames, "n_frames")
    n_bins, total = spec.shape
    if total < n_frames:
        raise ValueError(
            f"spec has {total} frames, fewer than n_frames={n_frames}; use a longer clip "
            "or fewer frames."
        )
    windows = np.lib.stride_tricks.sliding_window_view(spec, n_frames, axis=1)
    # windows: (n_bins, n_vectors, n_frames) -> (n_vectors, n_frames, n_bins), frame-major.
    return windows.transpose(1, 2, 0).reshape(total - n_frames + 1, n_frames * n_bins)


def fixed_windows(spec: np.ndarray, *, window_frames: int, hop_frames: int) -> np.ndarray:
    """Return fixed-length patches of ``spec``, shape ``(n_windows, n_bins, window_frames)``.

    Introduced in chapter 02 (CNN inputs). Windows start at frames ``0, hop_frames, ...`` and
    only complete windows are kept; the tail shorter than a window is dropped.
    """
    spec = _checks.spectrogram(spec)
    window_frames = _checks.count(window_frames, "window_frames")
    hop_frames = _checks.count(hop_frames, "hop_frames")
    total = spec.shape[1]
    if total < window_frames:
        raise ValueError(
            f"spec has {total} frames, fewer than window_frames={window_frames}; pad the "
            "spectrogram (e.g. np.pad with its minimum) or use shorter windows."
        )
    windows = np.lib.stride_tricks.sliding_window_view(spec, window_frames, axis=1)
    return np.ascontiguousarray(windows[:, ::hop_frames].transpose(1, 0, 2))


def standardise(
    x: np.ndarray, *, axis: int | tuple[int, ...] | None = None, eps: float = 1e-8
) -> np.ndarray:
    """Return ``(x - mean) / (std + eps)`` with mean and std taken over ``axis`` (chapter 02).

    ``axis`` names the axes that are pooled into one mean/std:

    * ``axis=None``: one mean/std for the whole array (one spectrogram -> per recording);
    * ``axis=-1`` on ``(n_bins, n_frames)``: per frequency band over time, per recording;
    * ``axis=(1, 2)`` on windows ``(n_windows, n_bins, frames)``: per window;
    * ``axis=0`` on a feature matrix ``(n_examples, dims)``: per dimension across examples
      (compute the statistics on training data only and reuse them for test data).
    """
    values = np.asarray(x)
    if not np.issubdtype(values.dtype, np.floating):
        values = values.astype(np.float32)
    mean = values.mean(axis=axis, keepdims=True)
    std = values.std(axis=axis, keepdims=True)
    return (values - mean) / (std + eps)


def clip_statistics(spec: np.ndarray, *, stats: tuple[str, ...] = ("mean", "std")) -> np.ndarray:
    """Return one vector per clip: per-band statistics over time, concatenated (chapter 02).

    For ``stats=("mean", "std")`` and 64 bands the result has 128 values: the 64 band means
    followed by the 64 band standard deviations. Valid names: see :data:`STATISTICS`.
    """
    spec = _checks.spectrogram(spec)
    unknown = [name for name in stats if name not in STATISTICS]
    if unknown or not stats:
        raise ValueError(
            f"stats={stats!r} is invalid; choose one or more of {', '.join(STATISTICS)}."
        )
    return np.concatenate([STATISTICS[name](spec, axis=1) for name in stats])


def feature_cache_dir(config: FeatureConfig) -> Path:
    """Return the cache folder of ``config``: ``cache_root()/features/<config.key()>``."""
    return paths.cache_root() / "features" / config.key()


def _cache_file(path: Path, config: FeatureConfig) -> Path:
    """Return the cache file of ``path``, named by a hash of its resolved path, size and mtime."""
    return feature_cache_dir(config) / f"{path.stem}-{_files.file_digest(path)}.npy"


def _read_cached(target: Path) -> np.ndarray | None:
    """Return the cached array at ``target``, or ``None`` if it is absent or unreadable."""
    try:
        return np.load(target, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None


def _compute_file(path: Path, config: FeatureConfig, target: Path | None,
                  advice: str | None = None) -> np.ndarray:
    """Return the features of one file, computed now and stored at ``target`` when given.

    Raises:
        AudioError: the file cannot be used; ``advice`` (what to do, given where the file
            came from) is added to the message.
    """
    channel = None if config.channel == "mean" else int(config.channel)
    y, _ = audio.load_with_advice(path, sr=config.sr, channel=channel, advice=advice)
    result = compute(y, config)
    if target is not None:
        _files.write_atomically(target, lambda handle: np.save(handle, result, allow_pickle=False))
    return result


def _as_paths(paths_or_table: pd.DataFrame | Iterable[str | Path]) -> list[Path]:
    """Return the input files as resolved paths; raise AudioError listing any missing ones."""
    if isinstance(paths_or_table, pd.DataFrame):
        if "path" not in paths_or_table.columns:
            raise ValueError(
                f"the table has no 'path' column (columns: {list(paths_or_table.columns)}); "
                "pass a table from course_lib.datasets.load or a list of paths."
            )
        paths_or_table = paths_or_table["path"]
    if isinstance(paths_or_table, (str, Path)):
        raise ValueError("pass a list of paths (or a table), not a single path.")
    files = [Path(p).expanduser().resolve() for p in paths_or_table]
    missing = [str(p) for p in files if not p.is_file()]
    if missing:
        raise AudioError(
            f"{len(missing)} of {len(files)} files do not exist, e.g. {missing[0]}; check the "
            f"paths; datasets live under $COURSE_DATA (now {paths.data_root()})."
        )
    return files


def _advice(paths_or_table: pd.DataFrame | Iterable[str | Path], count: int) -> list[str | None]:
    """Return per file what to do if it is damaged: from a table's ``dataset``, else None."""
    if isinstance(paths_or_table, pd.DataFrame):
        return clip_table.advice_per_row(paths_or_table)
    return [None] * count


def _write_config(config: FeatureConfig) -> None:
    """Write ``config.json`` into the cache folder so a human can tell what it holds."""
    target = feature_cache_dir(config) / "config.json"
    if not target.exists():
        _files.write_json_atomically(target, asdict(config))


def extract(
    paths_or_table: pd.DataFrame | Iterable[str | Path],
    config: FeatureConfig,
    *,
    cache: bool = True,
    n_jobs: int = 1,
    progress: bool = True,
) -> list[np.ndarray]:
    """Return the features of every file, one array per file in input order (chapter 02).

    Args:
        paths_or_table: audio file paths, or a DataFrame with a ``path`` column.
        config: what to compute; files are loaded at ``config.sr``, channel
            ``config.channel``.
        cache: reuse/store ``.npy`` files under :func:`feature_cache_dir`. An entry is keyed by
            the file's resolved path, size and modification time, so editing a file or changing
            the config recomputes. Cache hits are read in this process; only the misses are
            computed (in parallel when ``n_jobs`` > 1). Entries are written atomically.
        n_jobs: parallel worker processes (joblib); ``-1`` = all cores. Same results as 1.
        progress: show a ``tqdm`` progress bar.

    Raises:
        AudioError: a file is missing or unreadable. For a table from
            :func:`course_lib.datasets.load`, the message says what to do given where the
            file came from (regenerate, re-download, or fix your own file).
    """
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"n_jobs={n_jobs!r} is invalid; pass 1, a larger number, or -1.")
    files = _as_paths(paths_or_table)
    advice = _advice(paths_or_table, len(files))
    targets = [_cache_file(path, config) if cache else None for path in files]
    results = [None if target is None else _read_cached(target) for target in targets]
    todo = [i for i, result in enumerate(results) if result is None]
    if cache and todo:
        _write_config(config)
    if n_jobs == 1 or len(todo) < 2:
        outputs = (_compute_file(files[i], config, targets[i], advice[i]) for i in todo)
    else:
        jobs = (delayed(_compute_file)(files[i], config, targets[i], advice[i])
                for i in todo)
        outputs = Parallel(n_jobs=n_jobs, return_as="generator")(jobs)
    done = len(files) - len(todo)
    label = f"features ({config.kind})"
    with tqdm(total=len(files), initial=done, desc=label, disable=not progress) as bar:
        for i, result in zip(todo, outputs, strict=True):
            results[i] = result
            bar.update()
    return results
