"""Tests for course_lib.widgets: display bundle, static preview, live callbacks."""

from __future__ import annotations

import base64
import io

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import PIL.Image
import pytest

from course_lib import audio, features, widgets

SR = 16000
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(autouse=True)
def _agg():
    """Draw off-screen and close every pyplot figure after the test."""
    plt.switch_backend("Agg")
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def harmonic() -> np.ndarray:
    """Half a second of a 500 Hz tone with harmonics up to 7.5 kHz, at 16 kHz."""
    t = np.arange(SR // 2) / SR
    tone = sum(np.sin(2 * np.pi * 500 * k * t) / k for k in range(1, 16))
    return (0.3 * tone).astype(np.float32)


@pytest.fixture
def machine_table(tmp_path, harmonic) -> pd.DataFrame:
    """Clips of two machine IDs, 'normal' and 'anomaly', in the datasets.load() style."""
    rows = []
    for machine_id in ("id_00", "id_02"):
        for label, count in (("normal", 3), ("anomaly", 1)):
            for index in range(count):
                path = tmp_path / machine_id / label / f"{index:08d}.wav"
                audio.save(path, (0.5 + 0.1 * index) * harmonic, SR)
                rows.append({"path": str(path), "label": label, "machine": "fan",
                             "machine_id": machine_id, "split": "test", "fold": pd.NA})
    return pd.DataFrame(rows).sort_values("path", ignore_index=True)


def _shown(explorer: widgets.Explorer) -> list[str]:
    """Return the kind of each live output: 'image', 'html', 'stdout' or 'stderr'."""
    kinds = []
    for output in explorer.output.outputs:
        if output["output_type"] == "stream":
            kinds.append(output["name"])
        else:
            kinds.append("image" if "image/png" in output["data"] else "html")
    return kinds


def _text(explorer: widgets.Explorer) -> str:
    """Return the text printed in the live output."""
    return "".join(o.get("text", "") for o in explorer.output.outputs)


def _tiny_explorer(show=lambda value: [f"value {value}"]) -> widgets.Explorer:
    """Return an Explorer with one slider and a one-line preview (fast to render)."""
    return widgets.Explorer(
        controls={"value": widgets.ipywidgets.IntSlider(value=1)}, show=show,
        preview=lambda fig: fig.subplots().plot([0, 1]), description="tiny",
    )


def test_bundle_has_widget_view_text_and_png():
    explorer = _tiny_explorer()
    bundle, metadata = explorer._repr_mimebundle_()
    assert set(bundle) == {WIDGET_MIME, "text/plain", "image/png"}
    assert bundle[WIDGET_MIME]["model_id"] == explorer.widget.model_id
    assert widgets.STATIC_NOTE in bundle["text/plain"]
    assert set(metadata) == {"image/png"}
    assert set(explorer._repr_mimebundle_(include=["image/png"])[0]) == {"image/png"}
    assert explorer._repr_mimebundle_(exclude=["image/png"]) == (
        {k: v for k, v in bundle.items() if k != "image/png"}, {})


def test_static_preview_is_a_small_decodable_png(harmonic):
    explorer = widgets.stft_explorer(harmonic, SR)
    figures_before = plt.get_fignums()
    bundle, metadata = explorer._repr_mimebundle_()
    png = base64.b64decode(bundle["image/png"])
    image = PIL.Image.open(io.BytesIO(png))
    assert image.format == "PNG" and len(png) < 150_000
    assert image.size[0] >= 1.9 * metadata["image/png"]["width"]  # sharp on the page
    assert plt.get_fignums() == figures_before  # the preview never reaches pyplot


def test_figures_fit_the_text_column(harmonic, machine_table):
    """The book's text column holds 8.5 in; wider figures are shrunk until ticks blur."""
    for explorer in (widgets.sampling_explorer(harmonic, SR), widgets.stft_explorer(harmonic, SR),
                     widgets.dataset_explorer(machine_table)):
        assert explorer.static_figure().get_size_inches()[0] <= 8.5
        live = [o for o in explorer.output.outputs if "image/png" in o.get("data", {})]
        image = PIL.Image.open(io.BytesIO(base64.b64decode(live[0]["data"]["image/png"])))
        assert image.width <= 8.5 * widgets.LIVE_DPI


def test_live_output_is_drawn_on_creation(harmonic):
    explorer = widgets.sampling_explorer(harmonic, SR)
    assert _shown(explorer) == ["image", "stdout", "html"]


@pytest.mark.parametrize(("control", "value"), [("rate", 2000), ("bits", 3), ("anti_alias", True)])
def test_sampling_explorer_updates(harmonic, control, value):
    explorer = widgets.sampling_explorer(harmonic, SR)
    explorer.controls[control].value = value
    assert _shown(explorer) == ["image", "stdout", "html"]
    rate = explorer.controls["rate"].value
    assert f"Nyquist frequency {rate / 2:g} Hz" in _text(explorer)
    assert "<audio" in explorer.output.outputs[2]["data"]["text/html"]


def test_sampling_rates_do_not_exceed_the_input_rate(harmonic):
    explorer = widgets.sampling_explorer(harmonic, SR)
    assert max(explorer.controls["rate"].options) == SR == explorer.controls["rate"].value


def test_naive_resampling_aliases_and_filtered_resampling_does_not():
    t = np.arange(SR) / SR
    tone = np.sin(2 * np.pi * 3000 * t)  # above the 2 kHz Nyquist frequency of 4 kHz
    naive = widgets.resample_naive(tone, orig_sr=SR, target_sr=4000)
    frequencies, level = features.spectrum_db(naive, 4000)
    assert frequencies[np.argmax(level)] == pytest.approx(1000, abs=2)  # folded to 4000 - 3000
    filtered = audio.resample(tone, orig_sr=SR, target_sr=4000)
    assert audio.rms(filtered) < 0.01 < audio.rms(naive)


def test_stft_explorer_reports_resolution_and_problems(harmonic):
    explorer = widgets.stft_explorer(harmonic, SR)
    explorer.controls["n_fft"].value = 256
    assert "frequency bin spacing 62.5 Hz" in _text(explorer)
    explorer.controls["n_mels"].value = 128  # too many bands for 129 FFT bins
    assert "Empty filters" in _text(explorer)
    explorer.controls["hop_length"].value = 1024
    assert "hop > n_fft" in _text(explorer)
    assert _shown(explorer)[-1] == "image" and "stderr" not in _shown(explorer)


def test_resolution_text():
    text = widgets.resolution_text(sr=16000, n_fft=1024, hop_length=256)
    assert text == ("window 64.0 ms, hop 16.0 ms (62.5 frames/s), "
                    "frequency bin spacing 15.6 Hz")


def test_dataset_explorer_filters_cascade(machine_table):
    explorer = widgets.dataset_explorer(machine_table)
    controls = explorer.controls
    assert list(controls) == ["label", "machine_id", "clip"]  # one machine: no machine menu
    assert controls["label"].value == "anomaly" and controls["clip"].max == 0
    controls["label"].value = "normal"
    assert controls["clip"].max == 2
    controls["machine_id"].value = "id_02"
    controls["clip"].value = 2
    assert _shown(explorer) == ["stdout", "image", "html"]
    assert _text(explorer).startswith("id_02/normal/00000002.wav: split=test")
    assert "id_02/normal/00000002.wav" in explorer.output.outputs[2]["data"]["text/html"]


def test_dataset_explorer_keeps_a_still_valid_choice(machine_table):
    explorer = widgets.dataset_explorer(machine_table)
    explorer.controls["machine_id"].value = "id_02"
    explorer.controls["label"].value = "normal"  # id_02 also has normal clips: keep it
    assert explorer.controls["machine_id"].value == "id_02"
    assert _text(explorer).startswith("id_02/normal/00000000.wav")


def test_dataset_explorer_needs_path_and_label():
    with pytest.raises(KeyError, match="available"):
        widgets.dataset_explorer(pd.DataFrame({"path": ["a.wav"]}))


def test_errors_in_callbacks_are_shown_not_lost():
    def broken(value: int) -> list:
        raise ValueError(f"cannot draw {value}")

    explorer = _tiny_explorer(show=broken)
    explorer.controls["value"].value = 2
    assert _shown(explorer) == ["stderr"] and "cannot draw 2" in _text(explorer)
