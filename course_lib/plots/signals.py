"""Plots of signals: waveforms, spectra, spectrograms, mel filters and clip grids (ch. 01-03).

Every function draws into ``ax`` (or ``fig`` for multi-panel grids) when given, otherwise into
a new figure, labels its axes with units, and returns ``(fig, ax)`` or ``(fig, axes)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import librosa
import librosa.display
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from course_lib import _checks, audio, clip_table, features
from course_lib.plots import _base
from course_lib.plots._base import GRID_MARGIN, ROW_HEIGHT

Y_AXES = ("mel", "linear", "log")
CLIP_KINDS = ("waveform", "logmel")
#: Default colour range of spectrograms: the loudest value and this many dB below it.
DYNAMIC_RANGE_DB = 80.0
#: Larger spectrograms are max-pooled to this many frequency bins / frames before drawing: a
#: panel has fewer pixels anyway, drawing stays fast and narrow peaks stay visible.
MAX_DRAWN_BINS = 512
MAX_DRAWN_FRAMES = 1000
#: Waveforms longer than this many samples are drawn as a min/max envelope of this many blocks.
ENVELOPE_POINTS = 4000

TIME_LABEL = "Time (s)"
AMPLITUDE_LABEL = "Amplitude (full scale)"
FREQUENCY_LABEL = "Frequency (Hz)"
#: Spectrogram levels from :mod:`course_lib.features` are dB re a power of 1 in the STFT's own
#: units, not dBFS: a full-scale sine reads about +48 dB with ``n_fft=1024`` (chapter 02).
LEVEL_LABEL = "Level (dB re 1, not dBFS)"


def _pooled(values: np.ndarray, factor: int, *, axis: int, mean: bool = False) -> np.ndarray:
    """Return the max (or mean) of consecutive groups of ``factor`` entries along ``axis``."""
    starts = np.arange(0, values.shape[axis], factor)
    if not mean:
        return np.maximum.reduceat(values, starts, axis=axis)
    counts = np.diff(np.append(starts, values.shape[axis]))
    return np.add.reduceat(values, starts, axis=axis) / counts


def _drawable(
    spec: np.ndarray, *, sr: int, hop_length: int, y_axis: str
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Return ``(spec, x_coords, y_coords)`` max-pooled to at most MAX_DRAWN_* cells.

    Coordinates are None where nothing was pooled (specshow then infers them). Mel axes are
    never pooled along frequency (they have few bands).
    """
    n_bins, n_frames = spec.shape
    time_factor = -(-n_frames // MAX_DRAWN_FRAMES)
    bin_factor = 1 if y_axis == "mel" else -(-n_bins // MAX_DRAWN_BINS)
    x_coords = y_coords = None
    if time_factor > 1:
        times = librosa.frames_to_time(np.arange(n_frames), sr=sr, hop_length=hop_length)
        x_coords = _pooled(times, time_factor, axis=0, mean=True)
        spec = _pooled(spec, time_factor, axis=1)
    if bin_factor > 1:
        frequencies = librosa.fft_frequencies(sr=sr, n_fft=2 * (n_bins - 1))
        y_coords = _pooled(frequencies, bin_factor, axis=0, mean=True)
        spec = _pooled(spec, bin_factor, axis=0)
    return spec, x_coords, y_coords


def colour_limits(
    arrays: Sequence[np.ndarray], *, dynamic_range_db: float = DYNAMIC_RANGE_DB
) -> tuple[float, float]:
    """Return ``(vmin, vmax)`` shared by ``arrays``: the loudest value and a range below it.

    Chapter 02 uses it so that several spectrograms share one colour scale. ``vmin`` never
    goes below the quietest value present.
    """
    finite = [a[np.isfinite(a)] for a in map(np.asarray, arrays)]
    finite = [a for a in finite if a.size]
    if not finite:
        raise ValueError("No finite values to scale; pass spectrograms in dB without NaN/inf.")
    vmax = float(max(a.max() for a in finite))
    vmin = float(min(a.min() for a in finite))
    return max(vmin, vmax - dynamic_range_db), vmax


def waveform(
    y: np.ndarray,
    sr: int,
    *,
    ax: Axes | None = None,
    title: str | None = None,
    label: str | None = None,
    color: str | None = None,
) -> tuple[Figure, Axes]:
    """Return ``(fig, ax)`` with the waveform of mono ``y`` against time (chapter 01).

    Long signals are drawn as their min/max envelope over short blocks (fast, and every peak
    stays visible). With ``label`` the curve gets a legend entry, so several waveforms can
    share one ``ax``.
    """
    fig, ax = _base.axes(ax)
    samples = _checks.signal(y, mono=True)
    block = max(1, len(samples) // ENVELOPE_POINTS)
    if block == 1:
        ax.plot(np.arange(len(samples)) / sr, samples, label=label, color=color, linewidth=0.8)
    else:
        usable = samples[: len(samples) // block * block].reshape(-1, block)
        starts = np.arange(usable.shape[0]) * block / sr
        ax.fill_between(starts, usable.min(axis=1), usable.max(axis=1), label=label,
                        color=color, linewidth=0.4)
    ax.set_xlim(0, len(samples) / sr)
    _base.label(ax, xlabel=TIME_LABEL, ylabel=AMPLITUDE_LABEL, title=title)
    if label is not None:
        ax.legend(loc="upper right")
    return fig, ax


def waveforms(
    signals: Mapping[str, tuple[np.ndarray, int]],
    *,
    fig: Figure | None = None,
    title: str | None = None,
    sharey: bool = True,
) -> tuple[Figure, np.ndarray]:
    """Return ``(fig, axes)``: waveforms stacked one per row on a shared time axis (chapter 01).

    Args:
        signals: ``{"name": (y, sr)}``; each name becomes the title of its row.
        sharey: same amplitude scale for every row (compare loudness at a glance).
    """
    if not signals:
        raise ValueError("signals is empty; pass a mapping like {'clean': (y, sr)}.")
    height = GRID_MARGIN + ROW_HEIGHT * len(signals)
    fig, axes = _base.grid(fig, len(signals), 1, height=height, sharex=True, sharey=sharey)
    for index, (ax, (name, (y, sr))) in enumerate(zip(axes[:, 0], signals.items(), strict=True)):
        waveform(y, sr, ax=ax, title=name, color=f"C{index % 8}")
        ax.label_outer()
        ax.set_ylabel("")
    fig.supylabel(AMPLITUDE_LABEL, fontsize=plt.rcParams["axes.labelsize"])
    if title is not None:
        fig.suptitle(title)
    return fig, axes[:, 0]


def spectrogram(
    S_db: np.ndarray,
    *,
    sr: int,
    hop_length: int,
    y_axis: str = "mel",
    fmin: float = 0.0,
    fmax: float | None = None,
    ax: Axes | None = None,
    title: str | None = None,
    colorbar: bool = True,
    vmin: float | None = None,
    vmax: float | None = None,
) -> tuple[Figure, Axes]:
    """Return ``(fig, ax)`` with a spectrogram in dB drawn by ``librosa.display.specshow`` (ch. 02).

    Args:
        S_db: ``(n_bins, n_frames)`` in dB, e.g. ``features.logmel`` or ``features.stft_db``.
        y_axis: ``"mel"`` for log-mel input (give the ``fmin``/``fmax`` used to compute it),
            ``"linear"`` or ``"log"`` for STFT input.
        vmin, vmax: colour range in dB; by default the loudest value and 80 dB below it.

    Very large spectrograms are drawn max-pooled to at most 512 bins x 1000 frames.
    """
    spec = _checks.spectrogram(S_db, "S_db")
    if y_axis not in Y_AXES:
        raise ValueError(f"y_axis={y_axis!r} is not supported; use one of {Y_AXES}.")
    if vmin is None or vmax is None:
        default_min, default_max = colour_limits([spec])
        vmin = default_min if vmin is None else vmin
        vmax = default_max if vmax is None else vmax
    fig, ax = _base.axes(ax)
    drawn, x_coords, y_coords = _drawable(spec, sr=sr, hop_length=hop_length, y_axis=y_axis)
    mesh = librosa.display.specshow(
        drawn, x_coords=x_coords, y_coords=y_coords, sr=sr, hop_length=hop_length, x_axis="s",
        y_axis=y_axis, fmin=fmin, fmax=fmax, ax=ax, cmap=plt.rcParams["image.cmap"],
        vmin=vmin, vmax=vmax,
    )
    _base.label(ax, xlabel=TIME_LABEL, ylabel=FREQUENCY_LABEL, title=title)
    if colorbar:
        fig.colorbar(mesh, ax=ax, label=LEVEL_LABEL)
    return fig, ax


def spectrograms(
    specs: Mapping[str, np.ndarray],
    *,
    sr: int,
    hop_length: int,
    y_axis: str = "mel",
    fmin: float = 0.0,
    fmax: float | None = None,
    fig: Figure | None = None,
    title: str | None = None,
    dynamic_range_db: float = DYNAMIC_RANGE_DB,
    ncols: int | None = None,
) -> tuple[Figure, np.ndarray]:
    """Return ``(fig, axes)``: spectrograms in a grid with one shared colour scale (ch. 02).

    A shared scale makes levels comparable, e.g. a normal and an abnormal machine clip.
    ``specs`` maps a panel title to ``S_db``; all share ``sr``, ``hop_length`` and ``y_axis``.
    ``ncols`` panels go in a row (default: all in one row); more panels wrap onto further
    rows, so four spectrograms fit a page as 2 x 2. ``axes`` is flat, in the order of
    ``specs``.
    """
    if not specs:
        raise ValueError("specs is empty; pass a mapping like {'normal': S_db}.")
    ncols = len(specs) if ncols is None else ncols
    if ncols < 1:
        raise ValueError(f"ncols={ncols}; put at least 1 spectrogram in a row.")
    ncols = min(ncols, len(specs))
    nrows = -(-len(specs) // ncols)
    vmin, vmax = colour_limits(list(specs.values()), dynamic_range_db=dynamic_range_db)
    height = plt.rcParams["figure.figsize"][1] * (1 if nrows == 1 else 0.75 * nrows)
    fig, grid = _base.grid(fig, nrows, ncols, height=height, sharey=True)
    axes = grid.ravel()
    for ax, (name, spec) in zip(axes, specs.items(), strict=False):
        spectrogram(
            spec, sr=sr, hop_length=hop_length, y_axis=y_axis, fmin=fmin, fmax=fmax, ax=ax,
            title=name, colorbar=False, vmin=vmin, vmax=vmax,
        )
        ax.label_outer()
    for ax in axes[len(specs):]:
        ax.set_axis_off()
    fig.colorbar(axes[0].collections[0], ax=list(axes), label=LEVEL_LABEL)
    if title is not None:
        fig.suptitle(title)
    return fig, axes[: len(specs)]


def spectrum(
    y: np.ndarray,
    sr: int,
    *,
    ax: Axes | None = None,
    log_freq: bool = False,
    title: str | None = None,
    label: str | None = None,
    color: str | None = None,
) -> tuple[Figure, Axes]:
    """Return ``(fig, ax)`` with the magnitude spectrum of ``y`` in dBFS (chapter 01).

    One FFT over the whole signal (:func:`course_lib.features.spectrum_db`): good for
    stationary sounds such as tones; chapter 02 explains why changing sounds need a
    spectrogram instead.
    With ``label`` the curve gets a legend entry, so several spectra can share one ``ax``.
    """
    frequencies, level = features.spectrum_db(y, sr)
    fig, ax = _base.axes(ax)
    if log_freq:
        frequencies, level = frequencies[1:], level[1:]  # 0 Hz has no place on a log axis
        ax.set_xscale("log")
    ax.plot(frequencies, level, label=label, color=color)
    _base.label(ax, xlabel=FREQUENCY_LABEL, ylabel="Level (dBFS)", title=title)
    if label is not None:
        ax.legend(loc="upper right")
    return fig, ax


def sample_points(
    reference: tuple[np.ndarray, int],
    sampled: tuple[np.ndarray, int],
    *,
    start: float = 0.0,
    duration: float = 0.005,
    ax: Axes | None = None,
    title: str | None = None,
    legend: bool = True,
) -> tuple[Figure, Axes]:
    """Return ``(fig, ax)``: a zoomed reference waveform and the samples of a copy (ch. 01).

    Args:
        reference: ``(y, sr)`` at a high rate, drawn as a thin grey line.
        sampled: ``(y, sr)`` after resampling and/or quantisation, drawn as stems with dots.
        start, duration: the time window in seconds (a few periods of the sound).
        legend: add a legend (outside the axes, on the right).
    """
    fig, ax = _base.axes(ax)
    for (y, sr), role in ((reference, "reference"), (sampled, "sampled")):
        signal = _checks.signal(y, role, mono=True)
        first = int(start * sr)
        indices = np.arange(first, min(int(np.ceil((start + duration) * sr)) + 1, signal.size))
        milliseconds, values = 1000.0 * indices / sr, signal[indices]
        if role == "reference":
            ax.plot(milliseconds, values, color="0.6", lw=1.0, label=f"original ({sr} Hz)")
        else:
            ax.vlines(milliseconds, 0.0, values, color="C0", lw=0.8)
            ax.plot(milliseconds, values, "o", color="C0", ms=3, label=f"samples ({sr} Hz)")
    ax.axhline(0.0, color="0.3", lw=0.6)
    _base.label(ax, xlabel="Time (ms)", ylabel=AMPLITUDE_LABEL, title=title)
    if legend:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))  # outside: samples fill the axes
    return fig, ax


def mel_filterbank(
    *,
    sr: int,
    n_fft: int,
    n_mels: int,
    fmin: float = 0.0,
    fmax: float | None = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> tuple[Figure, Axes]:
    """Return ``(fig, ax)`` with the triangular mel filters against frequency (chapter 02).

    The weights are librosa's defaults (Slaney area normalisation, so wider filters are lower),
    the same ones :func:`course_lib.features.logmel` applies.
    """
    weights = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    frequencies = librosa.fft_frequencies(sr=sr, n_fft=n_fft)
    fig, ax = _base.axes(ax)
    ax.plot(frequencies, weights.T, lw=1.0)
    _base.label(ax, xlabel=FREQUENCY_LABEL, ylabel="Filter weight (1/Hz)", title=title)
    return fig, ax


def _clip_rows(table: pd.DataFrame, by: str, n_per_group: int) -> list[tuple[object, list]]:
    """Return ``[(group, [path, ...]), ...]``: the first ``n_per_group`` paths of each group."""
    groups = sorted(table[by].dropna().unique())
    if not groups:
        raise ValueError(f"Column {by!r} holds no values; pick a column with class labels.")
    return [(g, table.loc[table[by] == g, "path"].head(n_per_group).tolist()) for g in groups]


def _logmel_config(config: features.FeatureConfig | None, sr: int) -> features.FeatureConfig:
    """Return log-mel settings for a clip sampled at ``sr``: ``config``'s, or the defaults."""
    return replace(config or features.FeatureConfig(), kind="logmel", sr=sr)


def clip_logmel(
    y: np.ndarray,
    sr: int,
    *,
    config: features.FeatureConfig | None = None,
    ax: Axes | None = None,
    title: str | None = None,
    colorbar: bool = True,
) -> tuple[Figure, Axes]:
    """Return ``(fig, ax)`` with the log-mel spectrogram of ``y``, computed here (chapter 03).

    ``config`` gives the log-mel settings (:class:`course_lib.features.FeatureConfig`; None
    means the defaults); ``y`` must already be sampled at ``sr``.
    """
    settings = _logmel_config(config, sr)
    return spectrogram(
        features.compute(y, settings), sr=sr, hop_length=settings.hop_length,
        fmin=settings.fmin, fmax=settings.fmax, ax=ax, title=title, colorbar=colorbar,
    )


def clip_grid(
    table: pd.DataFrame,
    *,
    by: str = "label",
    n_per_group: int = 1,
    kind: str | Sequence[str] = "waveform",
    config: features.FeatureConfig | None = None,
    fig: Figure | None = None,
    title: str | None = None,
) -> tuple[Figure, np.ndarray]:
    """Return ``(fig, axes)``: one row per group of ``by`` with its first clips (chapter 03).

    Args:
        table: a clip table with a ``path`` column (``datasets.load``); clips are taken in
            table order, so the grid is deterministic.
        kind: ``"waveform"``, ``"logmel"`` or both as a tuple (two panels per clip).
        config: sample rate and log-mel settings; None keeps each file's rate and uses the
            :func:`course_lib.features.logmel` defaults. Log-mels share one colour scale.
    """
    clip_table.require_columns(table, ["path", by])
    kinds = (kind,) if isinstance(kind, str) else tuple(kind)
    if not kinds or any(k not in CLIP_KINDS for k in kinds):
        raise ValueError(f"kind={kind!r} is not supported; use one or both of {CLIP_KINDS}.")
    if n_per_group < 1:
        raise ValueError(f"n_per_group={n_per_group}; show at least 1 clip per group.")
    rows = _clip_rows(table, by, n_per_group)
    clips = {
        path: audio.load(path, sr=None if config is None else config.sr)
        for _, paths in rows for path in paths
    }
    settings = {path: _logmel_config(config, sr) for path, (_, sr) in clips.items()}
    logmels = {
        path: features.compute(y, settings[path])
        for path, (y, _) in clips.items()
        if "logmel" in kinds
    }
    vmin, vmax = colour_limits(list(logmels.values())) if logmels else (None, None)
    height = GRID_MARGIN + ROW_HEIGHT * len(rows)
    fig, axes = _base.grid(fig, len(rows), n_per_group * len(kinds), height=height)
    meshes = []
    for row_index, (group, paths) in enumerate(rows):
        for index, ax in enumerate(axes[row_index]):
            path_index, kind_index = divmod(index, len(kinds))
            if path_index >= len(paths):
                ax.set_axis_off()
                continue
            path = paths[path_index]
            y, sr = clips[path]
            name = f"{group}: {Path(path).name}"
            if kinds[kind_index] == "waveform":
                waveform(y, sr, ax=ax, title=name)
            else:
                spectrogram(
                    logmels[path], sr=sr, hop_length=settings[path].hop_length,
                    fmin=settings[path].fmin, fmax=settings[path].fmax, ax=ax, title=name,
                    colorbar=False, vmin=vmin, vmax=vmax,
                )
                meshes.append(ax.collections[-1])
            _tidy_grid_cell(ax, last_row=row_index == len(rows) - 1, first_clip=path_index == 0)
    if meshes:
        fig.colorbar(meshes[0], ax=axes.ravel().tolist(), label=LEVEL_LABEL, shrink=0.6)
    if title is not None:
        fig.suptitle(title)
    return fig, axes


def _tidy_grid_cell(ax: Axes, *, last_row: bool, first_clip: bool) -> None:
    """Return None after thinning a grid cell: small title, 3 time ticks, fewer labels.

    Axis labels stay only on the bottom row's first clip: grid rows are too short for them.
    """
    ax.title.set_fontsize("small")
    ax.xaxis.set_major_locator(MaxNLocator(nbins=3))
    if not last_row:
        ax.set_xlabel("")
    if not (last_row and first_clip):
        ax.set_ylabel("")
