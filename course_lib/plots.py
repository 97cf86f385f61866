"""Plot helpers used throughout the book (each names the chapter that introduces it).

Every function draws into ``ax`` (or ``fig`` for multi-panel grids) when given, otherwise
into a new figure, labels its axes with units, and returns ``(fig, ax)`` or ``(fig, axes)``.
Nothing here calls ``plt.show()`` or closes a figure: notebooks display figures themselves.
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

from course_lib import audio, features

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
#: Height in inches of one row of a multi-panel grid, plus room for titles and labels.
ROW_HEIGHT = 1.8
GRID_MARGIN = 0.6
#: Matrices with at most this many cells get their values written into the cells.
MAX_ANNOTATED_CELLS = 400

TIME_LABEL = "Time (s)"
AMPLITUDE_LABEL = "Amplitude (full scale)"
FREQUENCY_LABEL = "Frequency (Hz)"
LEVEL_LABEL = "Level (dB)"


def _axes(ax: Axes | None) -> tuple[Figure, Axes]:
    """Return ``(fig, ax)``: ``ax`` and its figure if given, else a new single-axes figure."""
    if ax is not None:
        return ax.figure, ax
    fig, new_ax = plt.subplots(layout="constrained")
    return fig, new_ax


def _grid(
    fig: Figure | None, nrows: int, ncols: int, *, height: float, **subplot_kw: object
) -> tuple[Figure, np.ndarray]:
    """Return ``(fig, axes)`` with a 2-D ``axes`` array, on ``fig`` if given, else a new figure."""
    if fig is None:
        fig = plt.figure(figsize=(plt.rcParams["figure.figsize"][0], height), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **subplot_kw)
    return fig, axes


def _label(ax: Axes, *, xlabel: str, ylabel: str, title: str | None) -> None:
    """Return None after setting the axis labels and, when given, the title of ``ax``."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)


def _mono(y: np.ndarray, name: str = "y") -> np.ndarray:
    """Return ``y`` as a non-empty 1-D float array, or raise ValueError saying how to fix it."""
    signal = np.asarray(y, dtype=np.float64)
    if signal.ndim != 1 or signal.size == 0:
        raise ValueError(
            f"{name} has shape {signal.shape}; plot one non-empty mono signal of shape (n,) "
            "(use audio.to_mono(y) or pick a channel such as y[0])."
        )
    return signal


def _spectrogram_array(S_db: np.ndarray) -> np.ndarray:
    """Return ``S_db`` as a 2-D array ``(n_bins, n_frames)``, or raise ValueError."""
    spec = np.asarray(S_db)
    if spec.ndim != 2 or 0 in spec.shape:
        raise ValueError(
            f"S_db has shape {spec.shape}; pass one spectrogram of shape (n_bins, n_frames), "
            "e.g. features.logmel(y, sr=sr)."
        )
    return spec


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
    fig, ax = _axes(ax)
    samples = _mono(y)
    block = max(1, len(samples) // ENVELOPE_POINTS)
    if block == 1:
        ax.plot(np.arange(len(samples)) / sr, samples, label=label, color=color, linewidth=0.8)
    else:
        usable = samples[: len(samples) // block * block].reshape(-1, block)
        starts = np.arange(usable.shape[0]) * block / sr
        ax.fill_between(starts, usable.min(axis=1), usable.max(axis=1), label=label,
                        color=color, linewidth=0.4)
    ax.set_xlim(0, len(samples) / sr)
    _label(ax, xlabel=TIME_LABEL, ylabel=AMPLITUDE_LABEL, title=title)
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
    fig, axes = _grid(fig, len(signals), 1, height=height, sharex=True, sharey=sharey)
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
    spec = _spectrogram_array(S_db)
    if y_axis not in Y_AXES:
        raise ValueError(f"y_axis={y_axis!r} is not supported; use one of {Y_AXES}.")
    if vmin is None or vmax is None:
        default_min, default_max = colour_limits([spec])
        vmin = default_min if vmin is None else vmin
        vmax = default_max if vmax is None else vmax
    fig, ax = _axes(ax)
    drawn, x_coords, y_coords = _drawable(spec, sr=sr, hop_length=hop_length, y_axis=y_axis)
    mesh = librosa.display.specshow(
        drawn, x_coords=x_coords, y_coords=y_coords, sr=sr, hop_length=hop_length, x_axis="s",
        y_axis=y_axis, fmin=fmin, fmax=fmax, ax=ax, cmap=plt.rcParams["image.cmap"],
        vmin=vmin, vmax=vmax,
    )
    _label(ax, xlabel=TIME_LABEL, ylabel=FREQUENCY_LABEL, title=title)
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
) -> tuple[Figure, np.ndarray]:
    """Return ``(fig, axes)``: spectrograms side by side with one shared colour scale (ch. 02).

    A shared scale makes levels comparable, e.g. a normal and an abnormal machine clip.
    ``specs`` maps a panel title to ``S_db``; all share ``sr``, ``hop_length`` and ``y_axis``.
    """
    if not specs:
        raise ValueError("specs is empty; pass a mapping like {'normal': S_db}.")
    vmin, vmax = colour_limits(list(specs.values()), dynamic_range_db=dynamic_range_db)
    height = plt.rcParams["figure.figsize"][1]
    fig, axes = _grid(fig, 1, len(specs), height=height, sharey=True)
    for ax, (name, spec) in zip(axes[0], specs.items(), strict=True):
        spectrogram(
            spec, sr=sr, hop_length=hop_length, y_axis=y_axis, fmin=fmin, fmax=fmax, ax=ax,
            title=name, colorbar=False, vmin=vmin, vmax=vmax,
        )
        ax.label_outer()
    fig.colorbar(axes[0, 0].collections[0], ax=list(axes[0]), label=LEVEL_LABEL)
    if title is not None:
        fig.suptitle(title)
    return fig, axes[0]


def spectrum_db(y: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(frequencies_hz, level_dbfs)``: the Hann-windowed spectrum of the whole signal.

    Introduced in chapter 01. The scale matches :func:`course_lib.audio.dbfs` (RMS re full
    scale): the peak of a sinusoid reads its own RMS level, e.g. -3 dBFS for a full-scale
    sine. Levels are floored at -120 dBFS.
    """
    signal = _mono(y)
    window = np.hanning(signal.size + 2)[1:-1]  # no zero end points, also fine for tiny inputs
    rms = np.sqrt(2.0) * np.abs(np.fft.rfft(signal * window)) / window.sum()
    level = 20.0 * np.log10(np.maximum(rms, 1e-6))
    return np.fft.rfftfreq(signal.size, d=1.0 / sr), level


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

    One FFT over the whole signal (see :func:`spectrum_db`): good for stationary sounds such
    as tones; chapter 02 explains why changing sounds need a spectrogram instead.
    With ``label`` the curve gets a legend entry, so several spectra can share one ``ax``.
    """
    frequencies, level = spectrum_db(y, sr)
    fig, ax = _axes(ax)
    if log_freq:
        frequencies, level = frequencies[1:], level[1:]  # 0 Hz has no place on a log axis
        ax.set_xscale("log")
    ax.plot(frequencies, level, label=label, color=color)
    _label(ax, xlabel=FREQUENCY_LABEL, ylabel="Level (dBFS)", title=title)
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
    fig, ax = _axes(ax)
    for (y, sr), role in ((reference, "reference"), (sampled, "sampled")):
        signal = _mono(y, name=role)
        first = int(start * sr)
        indices = np.arange(first, min(int(np.ceil((start + duration) * sr)) + 1, signal.size))
        milliseconds, values = 1000.0 * indices / sr, signal[indices]
        if role == "reference":
            ax.plot(milliseconds, values, color="0.6", lw=1.0, label=f"original ({sr} Hz)")
        else:
            ax.vlines(milliseconds, 0.0, values, color="C0", lw=0.8)
            ax.plot(milliseconds, values, "o", color="C0", ms=3, label=f"samples ({sr} Hz)")
    ax.axhline(0.0, color="0.3", lw=0.6)
    _label(ax, xlabel="Time (ms)", ylabel=AMPLITUDE_LABEL, title=title)
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
    fig, ax = _axes(ax)
    ax.plot(frequencies, weights.T, lw=1.0)
    _label(ax, xlabel=FREQUENCY_LABEL, ylabel="Filter weight (1/Hz)", title=title)
    return fig, ax


def require_columns(table: pd.DataFrame, columns: Sequence[str]) -> None:
    """Return None if ``table`` has all ``columns``, else raise KeyError naming what exists.

    Chapter 03 (clip tables); shared by the plots and the dataset explorer.
    """
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise KeyError(
            f"The table has no column(s) {missing}; available: {list(table.columns)}. "
            "Pass a table from course_lib.datasets.load() or name an existing column."
        )


def class_balance(
    table: pd.DataFrame,
    *,
    column: str = "label",
    hue: str | None = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> tuple[Figure, Axes]:
    """Return ``(fig, ax)``: horizontal bars with the number of clips per class (chapter 03).

    Classes are sorted by name; each bar carries its count. With ``hue`` (e.g. ``"split"``)
    the bars are stacked by that column, e.g. to check that train and test hold every class.
    """
    require_columns(table, [column] + ([hue] if hue else []))
    if hue is None:
        counts = table[column].value_counts().sort_index().to_frame("clips")
    else:
        counts = table.groupby([column, hue]).size().unstack(fill_value=0).sort_index()
    fig, ax = _axes(ax)
    left = np.zeros(len(counts))
    names = counts.index.astype(str)
    for part in counts.columns:
        ax.barh(names, counts[part], left=left, label=str(part) if hue else None)
        left += counts[part].to_numpy()
    ax.bar_label(ax.containers[-1], labels=[str(int(n)) for n in left], padding=3)
    ax.invert_yaxis()
    _label(ax, xlabel="Number of clips", ylabel=column.replace("_", " ").capitalize(), title=title)
    if hue is not None:
        ax.legend(title=hue, loc="lower right")
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
        features.compute(_mono(y), settings), sr=sr, hop_length=settings.hop_length,
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
    require_columns(table, ["path", by])
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
    fig, axes = _grid(fig, len(rows), n_per_group * len(kinds), height=height)
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


def _annotate_cells(ax: Axes, values: np.ndarray, fmt: str, threshold: float) -> None:
    """Return None after writing each value into its cell (light text on dark cells)."""
    for (row, col), value in np.ndenumerate(values):
        colour = "white" if value < threshold else "black"
        ax.text(col, row, format(value, fmt), ha="center", va="center", color=colour)


def matrix(
    values: np.ndarray,
    *,
    labels: Sequence[str] | None = None,
    ax: Axes | None = None,
    title: str | None = None,
    xlabel: str = "Predicted class",
    ylabel: str = "True class",
    value_label: str = "Number of clips",
    fmt: str | None = None,
) -> tuple[Figure, Axes]:
    """Return ``(fig, ax)`` with a matrix drawn as coloured cells, e.g. a confusion matrix (ch. 06).

    Args:
        labels: names of the rows and columns (square matrices) in order.
        xlabel, ylabel, value_label: axis and colour-bar labels; change them for other
            matrices (e.g. a correlation matrix).
        fmt: number format of the cell texts (default ``"d"`` for integers, else ``".2f"``);
            cells are annotated when the matrix has at most 400 cells.
    """
    values = np.asarray(values)
    if values.ndim != 2 or 0 in values.shape:
        raise ValueError(f"values has shape {values.shape}; pass a non-empty 2-D array.")
    if labels is not None and len(labels) != values.shape[0]:
        raise ValueError(f"{len(labels)} labels for {values.shape[0]} rows; pass one per row.")
    fig, ax = _axes(ax)
    image = ax.imshow(values, cmap=plt.rcParams["image.cmap"], aspect="auto")
    fig.colorbar(image, ax=ax, label=value_label)
    if labels is not None:
        ax.set_yticks(range(values.shape[0]), labels=list(labels))
        if values.shape[1] == len(labels):
            ax.set_xticks(range(values.shape[1]), labels=list(labels), rotation=45, ha="right")
    if values.size <= MAX_ANNOTATED_CELLS:
        fmt = fmt or ("d" if np.issubdtype(values.dtype, np.integer) else ".2f")
        low, high = float(np.nanmin(values)), float(np.nanmax(values))
        _annotate_cells(ax, values, fmt, threshold=low + 0.6 * (high - low))
    _label(ax, xlabel=xlabel, ylabel=ylabel, title=title)
    return fig, ax


def correlation_matrix(
    values: np.ndarray,
    *,
    ax: Axes | None = None,
    title: str | None = None,
    label: str = "Feature index",
) -> tuple[Figure, Axes]:
    """Return ``(fig, ax)`` with a correlation matrix on a fixed -1..+1 diverging scale (ch. 02).

    ``values`` is square, e.g. ``np.corrcoef(spec)`` for the bands of a spectrogram (rows are
    features, columns are observations). Zero correlation is white, so blocks of features that
    move together stand out; cells carry no texts, which suits matrices of 20-128 features.
    """
    values = np.asarray(values, dtype=float)
    if values.ndim != 2 or values.shape[0] != values.shape[1] or values.size == 0:
        raise ValueError(
            f"values has shape {values.shape}; pass a square correlation matrix such as "
            "np.corrcoef(feats) for feats of shape (n_features, n_observations)."
        )
    fig, ax = _axes(ax)
    image = ax.imshow(values, cmap="RdBu_r", vmin=-1.0, vmax=1.0, interpolation="nearest")
    fig.colorbar(image, ax=ax, label="Correlation coefficient r")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(MaxNLocator(integer=True))
    _label(ax, xlabel=label, ylabel=label, title=title)
    return fig, ax


def durations(
    table: pd.DataFrame,
    *,
    bins: int = 40,
    ax: Axes | None = None,
    title: str | None = None,
) -> tuple[Figure, Axes]:
    """Return ``(fig, ax)`` with a histogram of the clip durations of a table (chapter 03).

    The time axis starts at 0 s, so a spike (every clip equally long) and a tail of short
    clips (which need padding or windowing) are both visible at a glance.
    """
    require_columns(table, ["duration"])
    seconds = table["duration"].dropna().to_numpy(dtype=float)
    if seconds.size == 0 or seconds.max() <= 0:
        raise ValueError("The table has no positive durations; pass a table from datasets.load().")
    fig, ax = _axes(ax)
    ax.hist(seconds, bins=bins, range=(0.0, float(seconds.max()) * 1.02))
    _label(ax, xlabel="Clip duration (s)", ylabel="Number of clips", title=title)
    return fig, ax


def score_spread(
    scores: Mapping[str, Sequence[float]],
    *,
    ax: Axes | None = None,
    xlabel: str = "Score",
    title: str | None = None,
) -> tuple[Figure, Axes]:
    """Return ``(fig, ax)``: one row of dots per evaluation with its mean ± 1 std (chapter 03).

    ``scores`` maps a name (a split strategy, a model, a setting) to its per-fold or per-seed
    scores. Each dot is one score; the black marker and bar show the mean and one standard
    deviation, so a difference between rows can be judged against the spread within a row.
    """
    if not scores:
        raise ValueError("scores is empty; pass a mapping like {'random split': [0.9, 0.8]}.")
    fig, ax = _axes(ax)
    for row, (name, values) in enumerate(scores.items()):
        values = np.sort(np.asarray(values, dtype=float))
        if values.ndim != 1 or values.size == 0:
            raise ValueError(f"scores[{name!r}] must be a non-empty 1-D list of numbers.")
        offsets = 0.08 * (np.arange(values.size) % 5 - 2)  # fixed jitter: no overlapping dots
        ax.scatter(values, row + offsets, color=f"C{row % 8}", alpha=0.7, zorder=2)
        ax.errorbar(values.mean(), row, xerr=values.std(), fmt="D", color="black", capsize=6,
                    zorder=3, label="mean ± 1 std" if row == 0 else None)
    ax.set_yticks(range(len(scores)), labels=list(scores))
    ax.set_ylim(len(scores) - 0.5, -0.5)
    ax.legend(loc="best")
    _label(ax, xlabel=xlabel, ylabel="", title=title)
    return fig, ax


# --------------------------------------------------------------------------- anomaly detection
# Plots of chapters 04-05. Labels: 1 = anomaly, 0 = normal; higher score = more anomalous.
# ``course_lib.evaluate`` is imported inside the functions that need it (this block was
# appended to the module without touching its import section).

FPR_LABEL = "False-positive rate (fraction of normal clips)"
TPR_LABEL = "True-positive rate (fraction of anomalies)"
SCORE_LABEL = "Anomaly score (higher = more anomalous)"
CLIPS_LABEL = "Number of clips"
CLASS_NAMES = ("normal", "anomaly")
#: Markers that tell groups apart without colour (pca_scatter).
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def _scored(y_true: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray) -> tuple:
    """Return ``(labels, scores)`` as checked arrays of equal length (0/1 labels, finite scores)."""
    from course_lib import evaluate

    labels = evaluate._binary_labels(y_true)
    values = evaluate._finite_scores(scores)
    if labels.size != values.size:
        raise ValueError(
            f"{labels.size} labels but {values.size} scores; pass one score per labelled clip."
        )
    return labels, values


def roc_curves(
    curves: Mapping[str, tuple[Sequence[int], Sequence[float]]],
    *,
    ax: Axes | None = None,
    max_fpr: float | None = None,
    title: str | None = None,
) -> tuple[Figure, Axes]:
    """Return ``(fig, ax)`` with one ROC curve per method, AUC (and pAUC) in the legend (ch. 04).

    Args:
        curves: method name -> ``(y_true, scores)`` on the same or different test clips.
        max_fpr: if given, shade the false-positive range of the partial AUC and add each
            method's standardised pAUC (:func:`course_lib.evaluate.pauc`) to its legend entry.
    """
    from course_lib import evaluate

    if not curves:
        raise ValueError("curves is empty; pass a mapping like {'GMM': (y_true, scores)}.")
    fig, ax = _axes(ax)
    if max_fpr is not None:
        ax.axvspan(0.0, max_fpr, color="0.9", zorder=0, label=f"pAUC range (FPR ≤ {max_fpr:g})")
    ax.plot([0, 1], [0, 1], linestyle="--", color="0.5", label="chance (AUC 0.5)")
    for index, (name, (y_true, scores)) in enumerate(curves.items()):
        fpr, tpr, _ = evaluate.roc(y_true, scores)
        label = f"{name} (AUC {evaluate.auc(y_true, scores):.3f}"
        if max_fpr is not None:
            label += f", pAUC {evaluate.pauc(y_true, scores, max_fpr=max_fpr):.3f}"
        ax.plot(fpr, tpr, drawstyle="steps-post", color=f"C{index % 8}", label=label + ")")
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 1.02)
    ax.legend(loc="lower right", fontsize="small")  # good detectors leave this corner empty
    _label(ax, xlabel=FPR_LABEL, ylabel=TPR_LABEL, title=title)
    return fig, ax


def score_histogram(
    scores: Sequence[float] | np.ndarray,
    y_true: Sequence[int] | np.ndarray,
    *,
    threshold: float | None = None,
    ax: Axes | None = None,
    title: str | None = None,
    bins: int = 30,
) -> tuple[Figure, Axes]:
    """Return ``(fig, ax)`` with overlaid score histograms of normal and anomalous clips (ch. 04).

    Both classes share the same bins, so their overlap is the region where any threshold makes
    mistakes; ``threshold`` draws the decision threshold as a vertical line.
    """
    labels, values = _scored(y_true, scores)
    fig, ax = _axes(ax)
    edges = np.histogram_bin_edges(values, bins=bins)
    for cls, name in enumerate(CLASS_NAMES):
        chosen = values[labels == cls]
        if chosen.size:
            ax.hist(chosen, bins=edges, alpha=0.6, color=f"C{cls}", label=f"{name} ({chosen.size})")
    if threshold is not None:
        ax.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:.3g}")
    ax.legend(loc="best")
    _label(ax, xlabel=SCORE_LABEL, ylabel=CLIPS_LABEL, title=title)
    return fig, ax


def threshold_sweep(
    y_true: Sequence[int] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    *,
    threshold: float | None = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> tuple[Figure, Axes]:
    """Return ``(fig, ax)`` with false positives and false negatives vs the threshold (ch. 04).

    A clip is flagged as anomalous when its score is at least the threshold. Raising the
    threshold trades false alarms (normal clips flagged) for missed anomalies; ``threshold``
    marks a chosen value.
    """
    labels, values = _scored(y_true, scores)
    candidates = np.unique(values)
    span = float(np.ptp(values)) or 1.0
    margin = 0.02 * span
    grid = np.concatenate([[candidates[0] - margin], candidates, [candidates[-1] + margin]])
    false_pos = [(values[labels == 0] >= t).sum() for t in grid]
    false_neg = [(values[labels == 1] < t).sum() for t in grid]
    fig, ax = _axes(ax)
    ax.plot(grid, false_pos, drawstyle="steps-post", color="C0",
            label="false positives (normal flagged)")
    ax.plot(grid, false_neg, drawstyle="steps-post", color="C5",
            label="false negatives (anomaly missed)")
    if threshold is not None:
        ax.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:.3g}")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="best")
    _label(ax, xlabel="Threshold (anomaly score)", ylabel=CLIPS_LABEL, title=title)
    return fig, ax


def confusion_matrix(
    y_true: Sequence[int] | np.ndarray,
    y_pred: Sequence[int] | np.ndarray,
    *,
    labels: Sequence[str] = CLASS_NAMES,
    ax: Axes | None = None,
    title: str | None = None,
) -> tuple[Figure, Axes]:
    """Return ``(fig, ax)`` with the 2 x 2 confusion matrix of anomaly decisions (ch. 04).

    Rows are the true class, columns the decision, both in the order of ``labels``
    (0 = normal, 1 = anomaly); each cell shows its number of clips.
    """
    from course_lib import evaluate

    if len(labels) != 2:
        raise ValueError(f"labels must name the two classes (normal, anomaly), got {labels!r}.")
    report = evaluate.classification_report(y_true, y_pred)
    counts = np.array([[report["tn"], report["fp"]], [report["fn"], report["tp"]]])
    return matrix(counts, labels=labels, ax=ax, title=title, xlabel="Decision (class)",
                  ylabel="True class (label)", value_label=CLIPS_LABEL)


def pca_scatter(
    points: Mapping[str, np.ndarray],
    *,
    ax: Axes | None = None,
    title: str | None = None,
) -> tuple[Figure, Axes]:
    """Return ``(fig, ax)`` with groups of feature vectors on their first two PCs (ch. 04).

    The principal components are fitted on the FIRST group only (e.g. the normal training
    clips, as the detector sees them) and every group is projected onto them; groups get
    different colours and markers. Axis labels give the share of the first group's variance.
    """
    if not points:
        raise ValueError("points is empty; pass a mapping like {'train': X_train, 'test': X}.")
    groups = {name: np.asarray(values, dtype=float) for name, values in points.items()}
    for name, values in groups.items():
        if values.ndim != 2 or values.shape[0] == 0:
            raise ValueError(f"points[{name!r}] has shape {values.shape}; pass (n_clips, dim).")
    if len({values.shape[1] for values in groups.values()}) > 1:
        raise ValueError("all groups need the same number of dimensions; use one feature setup.")
    reference = next(iter(groups.values()))
    if reference.shape[0] < 2 or reference.shape[1] < 2:
        raise ValueError("the first group needs at least two vectors of at least two dimensions.")
    centre = reference.mean(axis=0)
    _, singular, axes_t = np.linalg.svd(reference - centre, full_matrices=False)
    share = 100 * singular[:2] ** 2 / max(float(np.sum(singular**2)), np.finfo(float).tiny)
    fig, ax = _axes(ax)
    for index, (name, values) in enumerate(groups.items()):
        projected = (values - centre) @ axes_t[:2].T
        ax.scatter(projected[:, 0], projected[:, 1], color=f"C{index % 8}", alpha=0.75,
                   marker=MARKERS[index % len(MARKERS)], label=f"{name} ({values.shape[0]})")
    ax.legend(loc="best")
    _label(ax, xlabel=f"PC 1 ({share[0]:.0f}% of variance)",
           ylabel=f"PC 2 ({share[1]:.0f}% of variance)", title=title)
    return fig, ax


def training_curves(
    history: Mapping[str, Sequence[float]],
    *,
    ax: Axes | None = None,
    title: str | None = None,
    ylabel: str = "Loss (mean squared error)",
) -> tuple[Figure, Axes]:
    """Return ``(fig, ax)`` with each training metric per epoch, e.g. Keras ``history`` (ch. 05).

    ``history`` maps a name (``"loss"``, ``"val_loss"``) to one value per epoch
    (``model.fit(...).history``). When ``"val_loss"`` is present its lowest epoch is marked:
    the epoch that early stopping on validation data would keep.
    """
    if not history or any(len(values) == 0 for values in history.values()):
        raise ValueError("history must map each name to a non-empty list of per-epoch values.")
    fig, ax = _axes(ax)
    for index, (name, values) in enumerate(history.items()):
        epochs = np.arange(1, len(values) + 1)
        ax.plot(epochs, values, color=f"C{index % 8}", marker="." if len(values) < 40 else None,
                label=name)
    if "val_loss" in history:
        best = int(np.argmin(history["val_loss"]))
        ax.scatter([best + 1], [history["val_loss"][best]], color="black", zorder=3,
                   label=f"lowest val_loss (epoch {best + 1})")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="best")
    _label(ax, xlabel="Epoch (passes over the training data)", ylabel=ylabel, title=title)
    return fig, ax
