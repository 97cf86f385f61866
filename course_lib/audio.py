"""Read, write, measure and play audio (introduced in chapter 01, *Digital audio*).

Conventions used throughout the course:

* samples are floating point numbers in ``[-1, 1]`` ("full scale" is 1.0);
* :func:`load` returns ``float32``; mono audio has shape ``(n,)`` and multichannel audio has
  shape ``(channels, n)`` (the librosa convention);
* every problem with an audio file or signal raises :class:`course_lib.errors.AudioError`,
  whose message names the file and says what to do about it.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
from IPython.display import HTML

from course_lib import _checks, paths
from course_lib.errors import AudioError

#: File suffixes :func:`load` and :func:`info` accept (all decoded by libsndfile).
READABLE_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif")
#: File suffix -> (libsndfile format, default subtype) used by :func:`save`.
WRITABLE_FORMATS = {
    ".wav": ("WAV", "PCM_16"),
    ".flac": ("FLAC", "PCM_16"),
    ".ogg": ("OGG", "VORBIS"),
}
#: Sample-rate range of the clips embedded by :func:`player` (small pages, plays everywhere).
PLAYER_MIN_SR = 8000
PLAYER_MAX_SR = 22050

#: Advice for a damaged file; loaders that know where it came from add how to get a copy
#: (:func:`course_lib.clip_table.source_advice`).
_REPLACE = "replace the file with an intact copy"
_CONVERT = "convert it to WAV or FLAC (e.g. `ffmpeg -i in.xyz out.wav`)"


@dataclass(frozen=True)
class AudioInfo:
    """Header facts about an audio file, as returned by :func:`info` (chapter 01)."""

    path: Path
    sample_rate: int
    channels: int
    frames: int
    duration: float
    format: str
    subtype: str


def _error(path: Path | str, problem: str, advice: str) -> AudioError:
    """Return an :class:`AudioError` whose message is ``"<path>: <problem>; <advice>."``."""
    return AudioError(f"{path}: {problem}; {advice}.")


def _check_file(path: str | Path) -> Path:
    """Return ``path`` as a :class:`Path` after checking it exists, is non-empty and readable."""
    path = Path(path).expanduser()
    if not path.exists():
        raise _error(
            path,
            "no such file",
            f"check the path; datasets live under $COURSE_DATA (now {paths.data_root()})",
        )
    if path.is_dir():
        raise _error(path, "this is a folder, not an audio file", "pass the path of one file")
    if path.suffix.lower() not in READABLE_SUFFIXES:
        raise _error(
            path,
            f"unsupported audio format {path.suffix or '(no suffix)'!r} "
            f"(readable: {', '.join(READABLE_SUFFIXES)})",
            _CONVERT,
        )
    if path.stat().st_size == 0:
        raise _error(path, "the file is empty (0 bytes)", _REPLACE)
    return path


def _open(path: Path) -> sf.SoundFile:
    """Return an open :class:`soundfile.SoundFile`, turning decoder errors into AudioError."""
    try:
        return sf.SoundFile(path)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise _error(
            path,
            f"cannot decode the file (corrupt header or not really a {path.suffix} file: {exc})",
            f"{_REPLACE}; if it plays elsewhere, {_CONVERT}",
        ) from None


def _check_rate(sr: object, path: Path | str, name: str = "sr") -> int:
    """Return ``sr`` as an ``int`` after checking it is a positive whole number of Hz."""
    if isinstance(sr, bool) or not isinstance(sr, (int, float, np.integer, np.floating)):
        raise _error(path, f"{name}={sr!r} is not a number", f"pass {name} in Hz, e.g. 16000")
    if not (math.isfinite(sr) and sr > 0 and float(sr).is_integer()):
        raise _error(path, f"{name}={sr!r} is invalid", f"pass a positive whole {name} in Hz")
    return int(sr)


def info(path: str | Path) -> AudioInfo:
    """Return the :class:`AudioInfo` of an audio file, read from its header only (chapter 01).

    Raises:
        AudioError: missing, empty, unsupported or undecodable file.
    """
    path = _check_file(path)
    with _open(path) as handle:
        return AudioInfo(
            path=path,
            sample_rate=int(handle.samplerate),
            channels=int(handle.channels),
            frames=int(handle.frames),
            duration=handle.frames / handle.samplerate,
            format=handle.format,
            subtype=handle.subtype,
        )


def _frame_range(
    path: Path, native_sr: int, frames: int, offset: float, duration: float | None
) -> tuple[int, int]:
    """Return ``(start, count)`` in frames for ``offset``/``duration`` given in seconds."""
    if not (math.isfinite(offset) and offset >= 0):
        raise _error(path, f"offset={offset!r} s is invalid", "pass an offset >= 0 seconds")
    if duration is not None and not (math.isfinite(duration) and duration > 0):
        raise _error(path, f"duration={duration!r} s is invalid", "pass duration > 0 or None")
    start = round(offset * native_sr)
    if start >= frames:
        raise _error(
            path,
            f"offset={offset} s is at or past the end of the file ({frames / native_sr:.3f} s)",
            "pass a smaller offset",
        )
    count = -1 if duration is None else max(1, round(duration * native_sr))
    return start, count


def load(
    path: str | Path,
    *,
    sr: int | None = None,
    mono: bool = True,
    channel: int | None = None,
    offset: float = 0.0,
    duration: float | None = None,
) -> tuple[np.ndarray, int]:
    """Return ``(y, sr)``: the samples of an audio file as float32 and their sample rate (ch. 01).

    Args:
        path: a WAV, FLAC, OGG or MP3 file.
        sr: target sample rate in Hz (resampled with soxr), or ``None`` to keep the file's rate.
        mono: average the channels into shape ``(n,)``; with ``False`` the result always has
            shape ``(channels, n)``, even for a one-channel file.
        channel: read only this channel (0 = the first), shape ``(n,)``; overrides ``mono``.
            MIMII's baseline uses channel 0 of its 8 microphones (chapter 03).
        offset: start reading this many seconds into the file.
        duration: read at most this many seconds (``None`` = to the end).

    Raises:
        AudioError: missing, empty, corrupt, unsupported or zero-length file, NaN/inf samples,
            or invalid ``sr``/``channel``/``offset``/``duration``.
    """
    path = _check_file(path)
    target_sr = None if sr is None else _check_rate(sr, path)
    if channel is not None and (isinstance(channel, bool) or not isinstance(channel, int)
                                or channel < 0):
        raise _error(path, f"channel={channel!r} is invalid",
                     "pass a channel index 0, 1, ... or None")
    with _open(path) as handle:
        native_sr = int(handle.samplerate)
        if handle.frames == 0:
            raise _error(path, "the file holds no samples (zero frames)", _REPLACE)
        if channel is not None and channel >= handle.channels:
            raise _error(path, f"channel={channel} does not exist: the file has "
                         f"{handle.channels} channel(s)",
                         f"pass a channel from 0 to {handle.channels - 1}")
        start, count = _frame_range(path, native_sr, handle.frames, offset, duration)
        try:
            handle.seek(start)
            data = handle.read(frames=count, dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise _error(path, f"decoding failed ({exc})", _REPLACE) from None
    if not np.all(np.isfinite(data)):
        raise _error(path, "the file contains NaN or infinite samples", _REPLACE)
    y = data.T  # (channels, n)
    if channel is not None:
        y = y[channel]
    elif mono:
        y = y.mean(axis=0)
    if target_sr is not None and target_sr != native_sr:
        y = resample(y, orig_sr=native_sr, target_sr=target_sr)
    return np.ascontiguousarray(y, dtype=np.float32), target_sr or native_sr


def load_with_advice(path: str | Path, *, sr: int | None, channel: int | None,
                     advice: str | None) -> tuple[np.ndarray, int]:
    """Return :func:`load` ``(y, sr)``; a failure's AudioError ends with ``To fix it: advice``.

    ``advice`` says what to do given where the file came from
    (:func:`course_lib.clip_table.source_advice`); ``None`` keeps the error as it is.
    Chapters 02 and 06 read the clips of a dataset table through it.
    """
    try:
        return load(path, sr=sr, channel=channel)
    except AudioError as exc:
        if advice is None:
            raise
        raise AudioError(f"{exc} To fix it: {advice}.") from None


#: PCM subtypes that save() rounds itself (bits per sample).
_PCM_BITS = {"PCM_16": 16, "PCM_24": 24}


def save(path: str | Path, y: np.ndarray, sr: int, *, subtype: str | None = None) -> Path:
    """Return the path written: ``y`` saved as WAV (16-bit PCM), FLAC or OGG by suffix (ch. 01).

    Args:
        path: destination; parent folders are created.
        y: samples in ``[-1, 1]``, shape ``(n,)`` or ``(channels, n)``.
        sr: sample rate in Hz.
        subtype: libsndfile subtype such as ``"PCM_24"`` or ``"FLOAT"``; default PCM_16
            (VORBIS for .ogg).

    Raises:
        AudioError: unknown suffix or subtype, bad ``sr``, empty/NaN/inf samples, or peaks
            above 1.0 (which would clip: normalise first).
    """
    path = Path(path).expanduser()
    suffix = path.suffix.lower()
    if suffix not in WRITABLE_FORMATS:
        raise _error(
            path,
            f"cannot write {suffix or 'files without a suffix'!r}",
            f"use one of {', '.join(WRITABLE_FORMATS)}",
        )
    rate = _check_rate(sr, path)
    file_format, default_subtype = WRITABLE_FORMATS[suffix]
    subtype = subtype or default_subtype
    if not sf.check_format(file_format, subtype):
        valid = ", ".join(sorted(sf.available_subtypes(file_format)))
        raise _error(path, f"subtype {subtype!r} is not valid for {file_format}", f"use {valid}")
    samples = _checks.signal(y)
    if samples.ndim not in (1, 2):
        raise _error(path, f"y has shape {samples.shape}", "pass shape (n,) or (channels, n)")
    peak = float(np.max(np.abs(samples)))
    if peak > 1.0:
        raise _error(
            path,
            f"peak amplitude {peak:.3f} exceeds 1.0 and would clip",
            "normalise first, e.g. `audio.normalise(y)`",
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    if subtype in _PCM_BITS:  # round once, as quantise() does, so WAV and FLAC hold the same
        samples = _pcm_integers(samples, _PCM_BITS[subtype])
    sf.write(path, samples.T, rate, format=file_format, subtype=subtype)
    return path


def _pcm_integers(samples: np.ndarray, bits: int) -> np.ndarray:
    """Return ``samples`` as the integers ``bits``-bit PCM stores (int16, or int32 left-aligned).

    Rounding matches :func:`quantise`; libsndfile then writes the integers unchanged, whereas
    its own float conversion differs between WAV and FLAC by one step on some samples.
    """
    scale = 2.0 ** (bits - 1)
    levels = np.clip(np.round(samples.astype(np.float64) * scale), -scale, scale - 1)
    if bits == 16:
        return levels.astype(np.int16)
    return levels.astype(np.int32) << (32 - bits)


def resample(y: np.ndarray, *, orig_sr: int, target_sr: int) -> np.ndarray:
    """Return ``y`` resampled from ``orig_sr`` to ``target_sr`` Hz with soxr (chapter 01).

    ``y`` has shape ``(n,)`` or ``(channels, n)``; the dtype is kept for float input.
    """
    orig_sr = _check_rate(orig_sr, "resample", "orig_sr")
    target_sr = _check_rate(target_sr, "resample", "target_sr")
    samples = _checks.signal(y)
    if orig_sr == target_sr:
        return samples.copy()
    if samples.ndim == 1:
        return soxr.resample(samples, orig_sr, target_sr)
    return np.ascontiguousarray(soxr.resample(samples.T, orig_sr, target_sr).T)


def to_mono(y: np.ndarray) -> np.ndarray:
    """Return a mono signal of shape ``(n,)``: the mean over the channels of ``y`` (chapter 01).

    ``y`` has shape ``(n,)`` (returned as a copy) or ``(channels, n)``.
    """
    samples = _checks.signal(y)
    if samples.ndim == 1:
        return samples.copy()
    if samples.ndim != 2:
        raise AudioError(f"y has shape {samples.shape}; pass shape (n,) or (channels, n).")
    if samples.shape[0] > 64:
        raise AudioError(
            f"y has shape {samples.shape}, which looks like (n, channels); pass y.T instead."
        )
    return samples.mean(axis=0)


def rms(y: np.ndarray) -> float:
    """Return the root-mean-square amplitude of ``y`` (chapter 01)."""
    samples = _checks.signal(y)
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


def _to_db(amplitude: float) -> float:
    """Return ``20 * log10(amplitude)``, or ``-inf`` for zero (no warning)."""
    return 20.0 * math.log10(amplitude) if amplitude > 0 else -math.inf


def dbfs(y: np.ndarray) -> float:
    """Return the RMS level of ``y`` in dB re full scale 1.0 (chapter 01).

    A full-scale sine is about -3.01 dBFS; digital silence is ``-inf``.
    """
    return _to_db(rms(y))


def peak_dbfs(y: np.ndarray) -> float:
    """Return the peak level ``20 * log10(max |y|)`` in dBFS; ``-inf`` for silence (chapter 01)."""
    return _to_db(float(np.max(np.abs(_checks.signal(y)))))


def normalise(y: np.ndarray, *, peak_dbfs: float = -1.0) -> np.ndarray:
    """Return ``y`` scaled so that its peak sits at ``peak_dbfs`` dBFS (chapter 01).

    Raises:
        AudioError: silent input (nothing to scale) or a target above 0 dBFS (would clip).
    """
    if not (math.isfinite(peak_dbfs) and peak_dbfs <= 0):
        raise AudioError(f"peak_dbfs={peak_dbfs!r} is invalid; pass a level <= 0 dBFS.")
    samples = _checks.signal(y)
    peak = float(np.max(np.abs(samples)))
    if peak == 0:
        raise AudioError("y is digital silence (all zeros); there is nothing to normalise.")
    gain = 10.0 ** (peak_dbfs / 20.0) / peak
    return (samples * gain).astype(samples.dtype)


def _fit_length(noise: np.ndarray, n: int) -> np.ndarray:
    """Return ``noise`` repeated (tiled) or cropped to exactly ``n`` samples."""
    repeats = -(-n // noise.size)
    return np.tile(noise, repeats)[:n]


def mix_at_snr(signal: np.ndarray, noise: np.ndarray, *, snr_db: float) -> np.ndarray:
    """Return ``signal + g * noise`` with ``g`` chosen so the SNR is ``snr_db`` dB (chapter 01).

    Both inputs are mono ``(n,)``. The noise is tiled or cropped to the signal's length first;
    the SNR is the ratio of RMS levels, ``dbfs(signal) - dbfs(g * noise)``. The mixture may
    peak above 1.0: :func:`normalise` it before saving.

    Raises:
        AudioError: silent signal or noise, non-mono input, or a non-finite ``snr_db``.
    """
    if not math.isfinite(snr_db):
        raise AudioError(f"snr_db={snr_db!r} is invalid; pass a finite number of dB.")
    clean = _checks.signal(signal, "signal", mono=True)
    interference = _checks.signal(noise, "noise", mono=True)
    interference = _fit_length(interference, clean.size)
    signal_rms, noise_rms = rms(clean), rms(interference)
    if signal_rms == 0 or noise_rms == 0:
        silent = "signal" if signal_rms == 0 else "noise"
        raise AudioError(f"the {silent} is silent, so no SNR can be set; pass a non-silent one.")
    gain = signal_rms / (noise_rms * 10.0 ** (snr_db / 20.0))
    return (clean + gain * interference).astype(clean.dtype)


def quantise(y: np.ndarray, *, bits: int) -> np.ndarray:
    """Return ``y`` rounded to the ``2**bits`` levels of ``bits``-bit PCM, as float (chapter 01).

    The levels are ``k / 2**(bits-1)`` for integers ``k`` in ``[-2**(bits-1), 2**(bits-1) - 1]``
    (the integers a PCM file stores); values outside that range are clipped.
    """
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not 1 <= bits <= 32:
        raise AudioError(f"bits={bits!r} is invalid; pass a whole number from 1 to 32.")
    samples = _checks.signal(y)
    scale = 2.0 ** (int(bits) - 1)
    levels = np.clip(np.round(samples.astype(np.float64) * scale), -scale, scale - 1)
    return (levels / scale).astype(samples.dtype)


def _player_rate(sr: int) -> int:
    """Return the embedding sample rate: ``sr`` clamped into [PLAYER_MIN_SR, PLAYER_MAX_SR]."""
    return min(max(sr, PLAYER_MIN_SR), PLAYER_MAX_SR)


def _wav_data_uri(y: np.ndarray, sr: int, max_seconds: float) -> str:
    """Return a ``data:audio/wav;base64,...`` URI of a short, mono, normalised 16-bit clip."""
    if not (math.isfinite(max_seconds) and max_seconds > 0):
        raise AudioError(f"max_seconds={max_seconds!r} is invalid; pass a positive duration.")
    rate = _check_rate(sr, "player")
    clip = to_mono(y)[: max(1, round(max_seconds * rate))]
    out_rate = _player_rate(rate)
    clip = resample(clip, orig_sr=rate, target_sr=out_rate)
    if np.max(np.abs(clip)) > 0:
        clip = normalise(clip, peak_dbfs=-1.0)
    buffer = io.BytesIO()
    sf.write(buffer, clip, out_rate, format="WAV", subtype="PCM_16")
    return "data:audio/wav;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _player_html(y: np.ndarray, sr: int, title: str | None, max_seconds: float) -> str:
    """Return the HTML of one (optionally captioned) ``<audio controls>`` element."""
    uri = _wav_data_uri(y, sr, max_seconds)
    audio = f'<audio controls preload="metadata" src="{uri}"></audio>'
    if title is None:
        return audio
    caption = f"<figcaption>{html.escape(str(title))}</figcaption>"
    return f'<figure style="margin:0">{caption}{audio}</figure>'


def player(y: np.ndarray, sr: int, *, title: str | None = None, max_seconds: float = 5.0) -> HTML:
    """Return an embeddable audio player for ``y`` (an ``IPython.display.HTML``) (chapter 01).

    The clip is mixed to mono, cut to ``max_seconds``, resampled into 8000-22050 Hz,
    peak-normalised to -1 dBFS and embedded as a 16-bit WAV data URI, so it also plays on the
    static site. ``title`` becomes a caption above the player.
    """
    return HTML(_player_html(y, sr, title, max_seconds))


def players(clips: Mapping[str, np.ndarray], sr: int, *, max_seconds: float = 5.0) -> HTML:
    """Return an ``IPython.display.HTML`` block of captioned players, one per clip (ch. 01).

    Use it for side-by-side listening, e.g. ``players({"clean": y, "noisy": y_noisy}, sr)``.
    All clips share the sample rate ``sr``. The players sit in a wrapping row, each with its
    title above it, so on a narrow page the later ones move to the next line instead of
    leaving the page.
    """
    if not clips:
        raise AudioError("clips is empty; pass a mapping like {'title': samples}.")
    items = "".join(
        f'<div class="course-player">{_player_html(y, sr, title, max_seconds)}</div>'
        for title, y in clips.items()
    )
    row = "display:flex;flex-wrap:wrap;gap:0.5rem 1.5rem;align-items:flex-end"
    return HTML(f'<div class="course-players" style="{row}">{items}</div>')
