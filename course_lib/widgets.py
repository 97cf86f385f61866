"""Interactive explorers that also work on the static site (chapters 01-03).

Each explorer is an :class:`Explorer`: in JupyterLab, Colab or VS Code it shows live
ipywidgets controls; its display bundle also carries a PNG preview (a grid of representative
settings) that the built book shows instead, because the book's ``_config.yml`` drops the
widget view for HTML (``nb_mime_priority_overrides``) and loads no widget JavaScript
(``nb_ipywidgets_js: {}``). So the site never shows a blank widget.
"""

from __future__ import annotations

import base64
import traceback
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import ipywidgets
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from course_lib import audio, clip_table, features, plots
from course_lib.figure_output import figure_png, sharp_png

STATIC_NOTE = "Static preview: run the notebook to use the sliders"
#: Resolution of the live figures (the static previews are sharp 2x PNGs, see figure_output).
LIVE_DPI = 80
#: Width (inches) of every explorer figure: the book's text column holds 8.5 in (688 px).
FIGURE_WIDTH = 8.0
#: Audio players inside explorers are short: they are re-created on every slider move.
PLAYER_SECONDS = 2.0

SAMPLE_RATES = (2000, 4000, 8000, 11025, 16000, 22050, 32000, 44100)
N_FFTS = (256, 512, 1024, 2048, 4096)
HOPS = (64, 128, 256, 512, 1024)
N_MELS = (16, 32, 64, 128)
#: Height (inches) of the dataset preview grid: many classes share it (keeps the PNG small).
MAX_PREVIEW_GRID_HEIGHT = 12.0
#: Columns the dataset explorer offers as drop-downs (when they hold two or more values).
FILTER_COLUMNS = ("label", "machine", "machine_id")
#: Columns printed under the selected clip when present and not missing.
INFO_COLUMNS = ("split", "fold", "fault", "severity", "snr_db", "duration", "sample_rate")

_SLIDER_STYLE = {"description_width": "initial"}


def _output_item(item: object) -> dict:
    """Return the Output-widget entry (nbformat output dict) that displays ``item``.

    ``item`` is a Matplotlib figure, an object with ``_repr_html_`` (an audio player) or text.
    """
    if isinstance(item, Figure):
        png = base64.b64encode(figure_png(item, dpi=LIVE_DPI)).decode("ascii")
        data = {"image/png": png, "text/plain": "<Figure>"}
        return {"output_type": "display_data", "data": data, "metadata": {}}
    if hasattr(item, "_repr_html_"):
        data = {"text/html": item._repr_html_(), "text/plain": "<Audio player>"}
        return {"output_type": "display_data", "data": data, "metadata": {}}
    return {"output_type": "stream", "name": "stdout", "text": f"{item}\n"}


class Explorer:
    """A live ipywidgets explorer plus a static PNG preview for the built site (chapter 01).

    Args:
        controls: ``{name: ipywidgets control}``; their values are passed to ``show`` by name.
        show: returns what to display for one setting of the controls: Matplotlib figures,
            audio players (objects with ``_repr_html_``) and lines of text, in order.
        preview: draws the static fallback (a few representative settings) into an empty
            figure of size ``preview_size`` (inches).
        description: one line saying what the explorer shows (used in both renderings).
        on_change: optional hook called with the changed control before redrawing, e.g. to
            update the options of dependent controls; its own changes do not redraw.

    The live output is drawn at once, so every frontend (JupyterLab, Colab, VS Code) shows it
    without waiting for a slider move.
    """

    def __init__(
        self,
        *,
        controls: Mapping[str, ipywidgets.ValueWidget],
        show: Callable[..., Sequence[object]],
        preview: Callable[[Figure], None],
        description: str,
        preview_size: tuple[float, float] = (FIGURE_WIDTH, 6.0),
        on_change: Callable[[ipywidgets.ValueWidget], None] | None = None,
    ) -> None:
        self.controls = dict(controls)
        self.description = description
        self.output = ipywidgets.Output()
        controls_box = ipywidgets.HBox(
            list(self.controls.values()), layout=ipywidgets.Layout(flex_flow="row wrap")
        )
        self.widget = ipywidgets.VBox([controls_box, self.output])
        self._show = show
        self._preview = preview
        self._preview_size = preview_size
        self._on_change = on_change
        self._updating = False
        for control in self.controls.values():
            control.observe(self._handle_change, names="value")
        self.refresh()

    def values(self) -> dict[str, object]:
        """Return the current control values by name."""
        return {name: control.value for name, control in self.controls.items()}

    def refresh(self) -> None:
        """Return None after redrawing the live output for the current control values.

        An error is shown in the output (with the traceback) rather than lost in the kernel log.
        """
        try:
            items = self._show(**self.values())
        except Exception as error:  # shown to the student instead of vanishing into a log
            message = "".join(traceback.format_exception(error))
            text = f"These settings could not be drawn:\n{message}"
            self.output.outputs = ({"output_type": "stream", "name": "stderr", "text": text},)
        else:
            self.output.outputs = tuple(_output_item(item) for item in items)

    def _handle_change(self, change: dict) -> None:
        """Run the ``on_change`` hook (its own changes ignored), then redraw once."""
        if self._updating:
            return
        self._updating = True
        try:
            if self._on_change is not None:
                self._on_change(change["owner"])
        finally:
            self._updating = False
        self.refresh()

    def static_figure(self) -> Figure:
        """Return the static preview figure (not registered with pyplot, so never auto-shown)."""
        fig = Figure(figsize=self._preview_size, layout="constrained")
        self._preview(fig)
        fig.suptitle(f"{STATIC_NOTE}\n{self.description}", fontsize="medium")
        return fig

    def static_png(self) -> tuple[bytes, dict[str, int]]:
        """Return ``(png, size)``: the static preview drawn at 2x and its page size in pixels."""
        return sharp_png(self.static_figure())

    def _repr_mimebundle_(self, include=None, exclude=None) -> tuple[dict, dict]:
        """Return ``(bundle, metadata)``: the widget's own view, text and the static preview.

        JupyterLab renders the widget view; the static site renders the PNG, at the page
        size given in ``metadata`` (it holds twice as many pixels, so it stays sharp).
        """
        bundle = dict(self.widget._repr_mimebundle_(include=include, exclude=exclude) or {})
        bundle["text/plain"] = f"{self.description} ({STATIC_NOTE})"
        png, size = self.static_png()
        bundle["image/png"] = base64.b64encode(png).decode("ascii")
        kept = {
            mime: data
            for mime, data in bundle.items()
            if (include is None or mime in include) and (exclude is None or mime not in exclude)
        }
        return kept, ({"image/png": size} if "image/png" in kept else {})


def _slider(description: str, options: Sequence[object], value: object) -> ipywidgets.Widget:
    """Return a SelectionSlider that redraws on release (keeps the kernel responsive)."""
    return ipywidgets.SelectionSlider(
        options=list(options), value=value, description=description,
        continuous_update=False, style=_SLIDER_STYLE,
    )


def _rows(fig: Figure, n_rows: int) -> np.ndarray:
    """Return an ``(n_rows, 2)`` array of axes on ``fig``."""
    return fig.subplots(n_rows, 2, squeeze=False)


# ---- sampling and bit depth (chapter 01) ------------------------------------------------


def resample_naive(y: np.ndarray, *, orig_sr: int, target_sr: int) -> np.ndarray:
    """Return ``y`` read at the instants of ``target_sr`` with NO anti-alias filter (chapter 01).

    Components above ``target_sr / 2`` therefore fold back (alias) to lower frequencies,
    unlike :func:`course_lib.audio.resample`, which low-pass filters first.
    """
    signal = np.asarray(y, dtype=np.float64)
    n_out = max(1, int(signal.size * target_sr / orig_sr))
    times = np.arange(n_out) / target_sr
    return np.interp(times, np.arange(signal.size) / orig_sr, signal).astype(np.float32)


def _sampled(y: np.ndarray, sr: int, rate: int, bits: int, anti_alias: bool) -> np.ndarray:
    """Return ``y`` resampled to ``rate`` (filtered or naive) and quantised to ``bits``."""
    if rate == sr:
        resampled = y
    elif anti_alias:
        resampled = audio.resample(y, orig_sr=sr, target_sr=rate)
    else:
        resampled = resample_naive(y, orig_sr=sr, target_sr=rate)
    return audio.quantise(resampled, bits=bits)


def _setting_name(rate: int, bits: int, anti_alias: bool) -> str:
    """Return a short caption such as ``8 kHz, 16 bit, no anti-alias filter``."""
    return f"{rate / 1000:g} kHz, {bits} bit, {'with' if anti_alias else 'no'} anti-alias filter"


def _draw_sampling(
    axes: np.ndarray,
    y: np.ndarray,
    sr: int,
    setting: tuple[int, int, bool],
    *,
    legend: bool = True,
) -> np.ndarray:
    """Return the sampled signal after drawing zoomed samples and spectra on ``axes`` (2 axes).

    ``setting`` is ``(rate, bits, anti_alias)``.
    """
    rate, bits, anti_alias = setting
    sampled = _sampled(y, sr, rate, bits, anti_alias)
    start = min(0.1, 0.5 * y.size / sr)
    plots.sample_points(  # same colours as the spectrum, whose legend explains them
        (y, sr), (sampled, rate), start=start, ax=axes[0], legend=False,
        title=_setting_name(rate, bits, anti_alias),
    )
    labels = ("original", "sampled", "new Nyquist") if legend else (None, None, None)
    plots.spectrum(y, sr, ax=axes[1], label=labels[0], color="0.7")
    plots.spectrum(sampled, rate, ax=axes[1], label=labels[1], color="C0")
    axes[1].axvline(rate / 2, color="C5", ls="--", lw=1.2, label=labels[2])
    axes[1].set_ylim(-110.0, 5.0)
    if legend:
        axes[1].legend(loc="upper right", fontsize="small")
    return sampled


def _sampling_facts(rate: int, bits: int) -> str:
    """Return one line of numbers that follow from the rate and bit depth."""
    return (
        f"{rate} samples/s x {bits} bit = {rate * bits / 1000:g} kbit/s per channel; "
        f"Nyquist frequency {rate / 2:g} Hz; {2**bits} levels, step {2 / 2**bits:.2g}; "
        f"best-case SNR of a full-scale sine {6.02 * bits + 1.76:.0f} dB"
    )


def _preview_sampling_settings(rates: Sequence[int]) -> list[tuple[int, int, bool]]:
    """Return (rate, bits, anti_alias) rows: original, aliased, filtered, coarse quantiser."""
    low = 8000 if 8000 in rates[:-1] else rates[len(rates) // 2]
    return [(rates[-1], 16, False), (low, 16, False), (low, 16, True), (low, 4, False)]


def sampling_explorer(y: np.ndarray, sr: int, *, max_seconds: float = PLAYER_SECONDS) -> Explorer:
    """Return an :class:`Explorer` with sample-rate and bit-depth sliders (chapter 01).

    Use a harmonic test sound with energy above a few kHz, so aliasing is audible. The
    sound is mixed to mono, cut to ``max_seconds`` and peak-normalised to -1 dBFS (so all
    quantiser levels are used). Without the anti-alias filter, frequencies above the new
    Nyquist frequency fold back; with it they are removed by :func:`audio.resample`.
    """
    reference = audio.normalise(audio.to_mono(y)[: max(1, int(max_seconds * sr))])
    rates = sorted({rate for rate in SAMPLE_RATES if rate < sr} | {sr})
    controls = {
        "rate": _slider("sample rate (Hz)", rates, rates[-1]),
        "bits": ipywidgets.IntSlider(
            value=16, min=2, max=16, description="bit depth", continuous_update=False,
            style=_SLIDER_STYLE,
        ),
        "anti_alias": ipywidgets.Checkbox(value=False, description="anti-alias filter"),
    }

    def show(rate: int, bits: int, anti_alias: bool) -> list[object]:
        fig = Figure(figsize=(FIGURE_WIDTH, 3.2), layout="constrained")
        setting = (rate, bits, anti_alias)
        sampled = _draw_sampling(fig.subplots(1, 2), reference, sr, setting)
        title = _setting_name(rate, bits, anti_alias)
        return [fig, _sampling_facts(rate, bits), audio.player(sampled, rate, title=title)]

    def preview(fig: Figure) -> None:
        settings = _preview_sampling_settings(rates)
        rows = zip(_rows(fig, len(settings)), settings, strict=True)
        for index, (axes, setting) in enumerate(rows):
            _draw_sampling(axes, reference, sr, setting, legend=index == 0)

    return Explorer(
        controls=controls, show=show, preview=preview, preview_size=(FIGURE_WIDTH, 8.5),
        description="Sampling and quantising a sound: zoomed samples (left), spectrum (right).",
    )


# ---- STFT settings (chapter 02) ---------------------------------------------------------


def resolution_text(*, sr: int, n_fft: int, hop_length: int) -> str:
    """Return one line with the time and frequency resolution of an STFT setting (chapter 02)."""
    return (
        f"window {1000 * n_fft / sr:.1f} ms, hop {1000 * hop_length / sr:.1f} ms "
        f"({sr / hop_length:.1f} frames/s), frequency bin spacing {sr / n_fft:.1f} Hz"
    )


def _draw_stft(
    axes: np.ndarray, y: np.ndarray, sr: int, n_fft: int, hop_length: int, n_mels: int
) -> list[str]:
    """Return warnings raised while drawing the linear STFT and log-mel of ``y`` on ``axes``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        linear = features.stft_db(y, n_fft=n_fft, hop_length=hop_length)
        mel = features.logmel(y, sr=sr, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels)
    common = dict(sr=sr, hop_length=hop_length)
    plots.spectrogram(
        linear, y_axis="linear", ax=axes[0], title=f"STFT: n_fft={n_fft}, hop={hop_length}",
        **common,
    )
    plots.spectrogram(mel, y_axis="mel", ax=axes[1], title=f"log-mel: {n_mels} bands", **common)
    return [str(warning.message) for warning in caught]


def stft_explorer(y: np.ndarray, sr: int, *, max_seconds: float = 2.0) -> Explorer:
    """Return an :class:`Explorer` with n_fft, hop and n_mels sliders (chapter 02).

    Shows the linear-frequency STFT and the log-mel spectrogram side by side, with the time
    and frequency resolution of the setting. Only the first ``max_seconds`` are analysed.
    """
    clip = audio.to_mono(y)[: max(1, int(max_seconds * sr))]
    controls = {
        "n_fft": _slider("n_fft (samples)", N_FFTS, 1024),
        "hop_length": _slider("hop (samples)", HOPS, 256),
        "n_mels": _slider("mel bands", N_MELS, 64),
    }

    def show(n_fft: int, hop_length: int, n_mels: int) -> list[object]:
        fig = Figure(figsize=(FIGURE_WIDTH, 3.2), layout="constrained")
        problems = _draw_stft(fig.subplots(1, 2), clip, sr, n_fft, hop_length, n_mels)
        lines = [resolution_text(sr=sr, n_fft=n_fft, hop_length=hop_length)]
        if hop_length > n_fft:
            lines.append("hop > n_fft: some samples fall between frames and are never analysed.")
        lines += [f"Note: {problem}" for problem in problems]
        return [*lines, fig]

    def preview(fig: Figure) -> None:
        settings = [(256, 64, 32), (1024, 256, 64), (4096, 1024, 64)]
        for axes, (n_fft, hop, n_mels) in zip(_rows(fig, len(settings)), settings, strict=True):
            _draw_stft(axes, clip, sr, n_fft, hop, n_mels)
            axes[0].set_title(
                f"n_fft={n_fft}, hop={hop}: {1000 * n_fft / sr:.0f} ms, {sr / n_fft:.0f} Hz bins",
                fontsize="small",
            )

    return Explorer(
        controls=controls, show=show, preview=preview, preview_size=(FIGURE_WIDTH, 8.0),
        description="STFT settings: linear spectrogram (left) and log-mel (right).",
    )


# ---- browsing a clip table (chapter 03) -------------------------------------------------


def _filter_columns(table: pd.DataFrame) -> list[str]:
    """Return the drop-down columns: ``label`` plus machine columns with two or more values."""
    return ["label"] + [
        column
        for column in FILTER_COLUMNS[1:]
        if column in table.columns and table[column].dropna().nunique() >= 2
    ]


def _matching(table: pd.DataFrame, selection: Mapping[str, object]) -> pd.DataFrame:
    """Return the rows of ``table`` whose columns equal every value in ``selection``."""
    mask = np.ones(len(table), dtype=bool)
    for column, value in selection.items():
        mask &= (table[column] == value).to_numpy(dtype=bool, na_value=False)
    return table[mask]


def _options(table: pd.DataFrame, column: str) -> list[object]:
    """Return the sorted distinct non-missing values of ``column``."""
    return sorted(table[column].dropna().unique().tolist())


def _short_path(path: str) -> str:
    """Return the last three parts of ``path``, e.g. ``id_00/normal/00000000.wav``."""
    return Path(*Path(path).parts[-3:]).as_posix()


def _clip_info(row: pd.Series) -> str:
    """Return one line naming the clip and its metadata that is present."""
    facts = [
        f"{column}={row[column]}"
        for column in INFO_COLUMNS
        if column in row.index and not pd.isna(row[column])
    ]
    return f"{_short_path(row['path'])}: " + ", ".join(facts)


def _selected(controls: Mapping[str, ipywidgets.ValueWidget], columns: Sequence[str]) -> dict:
    """Return ``{column: chosen value}`` for the drop-downs of ``columns``."""
    return {column: controls[column].value for column in columns}


def _update_choices(
    table: pd.DataFrame, controls: Mapping[str, ipywidgets.ValueWidget], columns: list[str],
    start: int,
) -> None:
    """Return None after narrowing later drop-downs and the clip slider to what is available.

    Drop-downs from ``columns[start]`` on offer only values that the earlier choices leave;
    a choice that is still valid is kept, and the clip slider restarts at 0.
    """
    for position in range(start, len(columns)):
        menu = controls[columns[position]]
        subset = _matching(table, _selected(controls, columns[:position]))
        current, menu.options = menu.value, _options(subset, columns[position])
        menu.value = current if current in menu.options else menu.options[0]
    controls["clip"].value = 0
    controls["clip"].max = len(_matching(table, _selected(controls, columns))) - 1


def dataset_explorer(
    table: pd.DataFrame, *, config: features.FeatureConfig | None = None
) -> Explorer:
    """Return an :class:`Explorer` to browse a clip table by label, machine and ID (chapter 03).

    Args:
        table: from ``course_lib.datasets.load``; needs ``path`` and ``label`` columns.
            Drop-downs are offered for ``label`` and for ``machine``/``machine_id`` when they
            hold two or more values; a slider picks the clip within the selection.
        config: sample rate and log-mel settings (None: each file's rate, default log-mel).
    """
    clip_table.require_columns(table, ["path", "label"])
    if table.empty:
        raise ValueError("The table has no rows; load a dataset with course_lib.datasets.load.")
    table = table.reset_index(drop=True)
    columns = _filter_columns(table)
    controls = {column: ipywidgets.Dropdown(description=column) for column in columns}
    controls["clip"] = ipywidgets.IntSlider(description="clip", continuous_update=False)
    _update_choices(table, controls, columns, start=0)

    def on_change(changed: ipywidgets.ValueWidget) -> None:
        if changed is not controls["clip"]:
            position = [controls[column] for column in columns].index(changed)
            _update_choices(table, controls, columns, start=position + 1)

    def show(clip: int, **selection: object) -> list[object]:
        row = _matching(table, selection).iloc[clip]
        y, sr = audio.load(row["path"], sr=None if config is None else config.sr)
        fig = Figure(figsize=(FIGURE_WIDTH, 2.8), layout="constrained")
        waveform_ax, logmel_ax = fig.subplots(1, 2)
        plots.waveform(y, sr, ax=waveform_ax, title=str(row["label"]))
        plots.clip_logmel(y, sr, config=config, ax=logmel_ax, title="log-mel spectrogram")
        name = _short_path(row["path"])
        return [_clip_info(row), fig, audio.player(y, sr, title=name, max_seconds=PLAYER_SECONDS)]

    n_labels = table["label"].nunique()

    def preview(fig: Figure) -> None:
        plots.clip_grid(table, by="label", kind=("waveform", "logmel"), config=config, fig=fig)

    return Explorer(
        controls=controls, show=show, preview=preview, on_change=on_change,
        preview_size=(
            FIGURE_WIDTH, 0.8 + min(plots.ROW_HEIGHT * n_labels, MAX_PREVIEW_GRID_HEIGHT)
        ),
        description="Clips of the dataset: waveform and log-mel spectrogram per class.",
    )
