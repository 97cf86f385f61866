"""Tests for course_lib.plots: return values, labelled axes with units, given axes, errors."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import QuadMesh

from course_lib import audio, features, plots
from course_lib.errors import AudioError

SR = 8000


@pytest.fixture(autouse=True)
def _agg_no_show(monkeypatch):
    """Draw off-screen, fail on plt.show() and close every figure after the test."""
    plt.switch_backend("Agg")
    monkeypatch.setattr(plt, "show", lambda *a, **k: pytest.fail("plots must not call show()"))
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def tone() -> np.ndarray:
    """One second of a 440 Hz tone with two harmonics at 8 kHz."""
    t = np.arange(SR) / SR
    return (0.5 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 1320 * t)).astype(
        np.float32
    )


@pytest.fixture
def clip_table(tmp_path, tone) -> pd.DataFrame:
    """A tiny clip table: 'normal' has two clips, 'anomaly' one."""
    rows = []
    for label, index, gain in [("normal", 0, 0.5), ("normal", 1, 0.4), ("anomaly", 0, 0.9)]:
        path = audio.save(tmp_path / label / f"{index:08d}.wav", gain * tone, SR)
        rows.append({"path": str(path), "label": label, "split": "test"})
    return pd.DataFrame(rows)


def _single_axes_plots(tone: np.ndarray) -> dict:
    """Return {name: callable(ax) -> (fig, ax)} for every single-axes plot function."""
    logmel = features.logmel(tone, sr=SR, n_fft=512, hop_length=128, n_mels=32)
    table = pd.DataFrame({"label": ["b", "a", "a"], "split": ["train", "test", "train"]})
    return {
        "waveform": lambda ax: plots.waveform(tone, SR, ax=ax, title="t", label="tone"),
        "spectrogram_mel": lambda ax: plots.spectrogram(logmel, sr=SR, hop_length=128, ax=ax),
        "spectrogram_linear": lambda ax: plots.spectrogram(
            features.stft_db(tone, n_fft=512, hop_length=128), sr=SR, hop_length=128,
            y_axis="linear", ax=ax, colorbar=False,
        ),
        "spectrum": lambda ax: plots.spectrum(tone, SR, ax=ax, log_freq=True, title="s"),
        "sample_points": lambda ax: plots.sample_points((tone, SR), (tone[::4], SR // 4), ax=ax),
        "mel_filterbank": lambda ax: plots.mel_filterbank(sr=SR, n_fft=512, n_mels=20, ax=ax),
        "class_balance": lambda ax: plots.class_balance(table, hue="split", ax=ax),
        "matrix": lambda ax: plots.matrix(np.array([[5, 1], [2, 7]]), labels=["a", "b"], ax=ax),
    }


@pytest.mark.parametrize("name", list(_single_axes_plots(np.zeros(SR, np.float32))))
def test_plot_returns_fig_and_labelled_axes(name, tone):
    draw = _single_axes_plots(tone)[name]
    fig, ax = draw(None)
    assert ax.figure is fig
    for label in (ax.get_xlabel(), ax.get_ylabel()):
        assert label, f"{name}: empty axis label"
    if name not in ("class_balance", "matrix"):  # counts and class names carry no unit
        assert "(" in ax.get_xlabel() and "(" in ax.get_ylabel(), f"{name}: no unit"


@pytest.mark.parametrize("name", list(_single_axes_plots(np.zeros(SR, np.float32))))
def test_plot_draws_into_a_given_axes(name, tone):
    fig, (left, right) = plt.subplots(1, 2)
    returned_fig, returned_ax = _single_axes_plots(tone)[name](right)
    assert returned_fig is fig and returned_ax is right
    assert not left.has_data()


def test_title_is_used(tone):
    _, ax = plots.spectrum(tone, SR, title="A tone")
    assert ax.get_title() == "A tone"


def test_waveforms_stacks_rows_with_one_amplitude_label(tone):
    fig, axes = plots.waveforms({"clean": (tone, SR), "quiet": (0.1 * tone, SR)}, title="x")
    assert len(axes) == 2 and axes[0].get_title() == "clean"
    assert axes[-1].get_xlabel() == plots.TIME_LABEL
    assert fig.get_supylabel() == plots.AMPLITUDE_LABEL


def test_spectrograms_share_one_colour_scale(tone):
    loud = features.logmel(tone, sr=SR)
    quiet = features.logmel(0.01 * tone, sr=SR)
    fig, axes = plots.spectrograms({"loud": loud, "quiet": quiet}, sr=SR, hop_length=512)
    limits = {ax.collections[0].get_clim() for ax in axes}
    assert len(limits) == 1
    assert limits.pop() == pytest.approx(plots.colour_limits([loud, quiet]))
    assert len(fig.axes) == 3  # two panels and one shared colour bar


def test_spectrograms_wrap_onto_rows_of_ncols(tone):
    spec = features.logmel(tone, sr=SR)
    specs = {name: spec for name in ("a", "b", "c")}
    fig, axes = plots.spectrograms(specs, sr=SR, hop_length=512, ncols=2)
    assert [ax.get_title() for ax in axes] == ["a", "b", "c"]
    assert len({ax.get_subplotspec().rowspan.start for ax in axes}) == 2
    assert fig.get_size_inches()[0] <= 8.5  # fits the page's text column
    with pytest.raises(ValueError, match="ncols"):
        plots.spectrograms(specs, sr=SR, hop_length=512, ncols=0)


def test_spectrogram_colour_bar_does_not_claim_full_scale(tone):
    fig, ax = plots.spectrogram(features.stft_db(tone), sr=SR, hop_length=512, y_axis="linear")
    label = fig.axes[-1].get_ylabel()
    assert label == plots.LEVEL_LABEL and "not dBFS" in label


def test_colour_limits_span_the_dynamic_range():
    assert plots.colour_limits([np.array([[-200.0, 0.0]])]) == (-80.0, 0.0)
    assert plots.colour_limits([np.array([[-10.0, 5.0]])]) == (-10.0, 5.0)
    with pytest.raises(ValueError, match="finite"):
        plots.colour_limits([np.full((2, 2), np.nan)])


def test_large_spectrogram_is_pooled_but_keeps_its_peak():
    spec = np.full((2049, 3000), -60.0)
    spec[1000, 1500] = 10.0  # one narrow peak
    _, ax = plots.spectrogram(spec, sr=16000, hop_length=64, y_axis="linear")
    mesh = next(c for c in ax.collections if isinstance(c, QuadMesh))
    rows, cols = mesh.get_array().shape
    assert rows <= plots.MAX_DRAWN_BINS and cols <= plots.MAX_DRAWN_FRAMES
    assert mesh.get_array().max() == 10.0
    assert ax.get_ylim()[1] == pytest.approx(8000, rel=0.01)


def test_clip_grid_has_one_row_per_group(clip_table):
    fig, axes = plots.clip_grid(clip_table, n_per_group=2, kind=("waveform", "logmel"))
    assert axes.shape == (2, 4)
    assert [axes[0, 0].get_title(), axes[1, 0].get_title()] == [
        "anomaly: 00000000.wav", "normal: 00000000.wav"]
    assert not axes[0, 2].axison  # 'anomaly' has only one clip
    assert axes[-1, 0].get_xlabel() == plots.TIME_LABEL
    assert axes[-1, 1].get_ylabel() == plots.FREQUENCY_LABEL
    meshes = [c for ax in axes.flat for c in ax.collections if isinstance(c, QuadMesh)]
    assert len({m.get_clim() for m in meshes}) == 1  # shared colour scale


def test_clip_grid_draws_into_a_given_figure(clip_table):
    fig = plt.figure()
    returned, axes = plots.clip_grid(
        clip_table, kind="logmel", config=features.FeatureConfig(sr=SR, n_mels=32), fig=fig
    )
    assert returned is fig and axes.shape == (2, 1)


@pytest.mark.parametrize(
    ("call", "error", "hint"),
    [
        (lambda t: plots.waveform(np.stack([t, t]), SR), AudioError, "to_mono"),
        (lambda t: plots.spectrum(np.array([0.1, np.nan]), SR), AudioError, "NaN"),
        (lambda t: plots.spectrogram(t, sr=SR, hop_length=512), ValueError, "n_bins, n_frames"),
        (lambda t: plots.spectrogram(np.zeros((4, 4)), sr=SR, hop_length=1, y_axis="bark"),
         ValueError, "y_axis"),
        (lambda t: plots.class_balance(pd.DataFrame({"x": [1]})), KeyError, "available"),
        (lambda t: plots.waveforms({}), ValueError, "mapping"),
        (lambda t: plots.matrix(np.eye(2), labels=["a"]), ValueError, "one per row"),
    ],
)
def test_bad_input_raises_with_a_hint(tone, call, error, hint):
    with pytest.raises(error, match=hint):
        call(tone)


def test_clip_grid_rejects_unknown_kind(clip_table):
    with pytest.raises(ValueError, match="waveform"):
        plots.clip_grid(clip_table, kind="mfcc")


def test_durations_counts_every_clip_from_zero_seconds():
    table = pd.DataFrame({"duration": [1.0, 2.5, 4.0, 4.0]})
    fig, ax = plots.durations(table, bins=8)
    assert sum(patch.get_height() for patch in ax.patches) == 4
    assert ax.get_xlim()[0] <= 0.0 and "(s)" in ax.get_xlabel()
    with pytest.raises(KeyError, match="available"):
        plots.durations(pd.DataFrame({"x": [1.0]}))


def test_score_spread_draws_one_row_per_evaluation():
    scores = {"random": [0.9, 0.8, 0.85], "grouped": [0.6, 0.7]}
    fig, ax = plots.score_spread(scores, xlabel="Accuracy")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["random", "grouped"]
    dots = [c.get_offsets() for c in ax.collections if len(c.get_offsets()) > 1]
    assert sorted(len(d) for d in dots) == [2, 3]
    assert ax.get_xlabel() == "Accuracy"
    with pytest.raises(ValueError, match="mapping"):
        plots.score_spread({})


# Anomaly-detection plots (chapters 04-05).
Y_TEST = np.array([0, 0, 0, 0, 1, 1, 1])
S_TEST = np.array([0.1, 0.4, 0.35, 0.8, 0.7, 0.9, 0.95])


def _anomaly_plots() -> dict:
    """Return name -> zero-argument call drawing each anomaly plot on small fixed data."""
    rng = np.random.default_rng(0)
    return {
        "roc_curves": lambda ax=None: plots.roc_curves(
            {"good": (Y_TEST, S_TEST), "chance": (Y_TEST, np.zeros(7))}, max_fpr=0.1, ax=ax),
        "score_histogram": lambda ax=None: plots.score_histogram(
            Y_TEST, S_TEST, threshold=0.5, ax=ax),
        "threshold_sweep": lambda ax=None: plots.threshold_sweep(Y_TEST, S_TEST, ax=ax),
        "confusion_matrix": lambda ax=None: plots.confusion_matrix(
            Y_TEST, S_TEST >= 0.5, ax=ax),
        "pca_scatter": lambda ax=None: plots.pca_scatter(
            {"train": rng.normal(size=(20, 5)), "test": rng.normal(size=(6, 5)) + 2}, ax=ax),
        "training_curves": lambda ax=None: plots.training_curves(
            {"loss": [3.0, 2.0, 1.5, 1.2], "val_loss": [3.1, 2.2, 2.0, 2.1]}, ax=ax),
    }


@pytest.mark.parametrize("name", list(_anomaly_plots()))
def test_anomaly_plots_label_axes_with_units_and_use_given_axes(name):
    fig, ax = _anomaly_plots()[name]()
    assert ax.figure is fig
    for label in (ax.get_xlabel(), ax.get_ylabel()):  # a unit, or a count of clips
        assert "(" in label or label == plots.CLIPS_LABEL, f"{name}: {label!r} has no unit"
    fig2, (left, right) = plt.subplots(1, 2)
    returned_fig, returned_ax = _anomaly_plots()[name](ax=right)
    assert returned_fig is fig2 and returned_ax is right and not left.has_data()


def test_roc_curves_legend_reports_auc_and_pauc():
    _, ax = plots.roc_curves({"perfect": ([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])}, max_fpr=0.1)
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "perfect (AUC 1.000, pAUC 1.000)" in texts
    with pytest.raises(ValueError, match="mapping"):
        plots.roc_curves({})


def test_threshold_sweep_counts_errors():
    _, ax = plots.threshold_sweep(Y_TEST, S_TEST)
    false_pos, false_neg = (line.get_ydata() for line in ax.get_lines()[:2])
    # Below every score all 4 normal clips are flagged; above every score all 3 anomalies missed.
    assert (false_pos[0], false_neg[0]) == (4, 0)
    assert (false_pos[-1], false_neg[-1]) == (0, 3)


def test_confusion_matrix_cells_are_counts():
    _, ax = plots.confusion_matrix(Y_TEST, S_TEST >= 0.5)
    assert ax.images[0].get_array().tolist() == [[3, 1], [0, 3]]  # tn fp / fn tp
    with pytest.raises(ValueError, match="0 \\(normal\\) and 1"):
        plots.confusion_matrix(["normal"], ["anomaly"])


def test_score_histogram_counts_both_classes_and_pca_checks_dims():
    _, ax = plots.score_histogram(Y_TEST, S_TEST)
    assert sum(patch.get_height() for patch in ax.patches) == 7
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["normal (4)", "anomaly (3)"]
    with pytest.raises(ValueError, match="same number of dimensions"):
        plots.pca_scatter({"a": np.ones((3, 2)), "b": np.ones((3, 4))})


@pytest.mark.parametrize("plot", [plots.score_histogram, plots.threshold_sweep])
def test_labelled_score_plots_take_labels_first(plot):
    with pytest.raises(ValueError, match="0 \\(normal\\) and 1"):  # scores passed as labels
        plot(S_TEST, Y_TEST)
    with pytest.raises(ValueError, match="one score per labelled clip"):
        plot(Y_TEST, S_TEST[:-1])


def test_intervals_draw_one_bar_per_method_between_its_ends():
    from course_lib import uncertainty

    values = {
        "GMM": uncertainty.Interval(0.9, 0.85, 0.95, 0.95),
        "mean": uncertainty.Interval(0.7, 0.6, 0.78, 0.95),
    }
    fig, ax = plots.intervals(values)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["GMM", "mean"]
    bars = [c for c in ax.collections if c.get_segments()]
    ends = sorted(tuple(np.round(seg[:, 0], 2)) for bar in bars for seg in bar.get_segments())
    assert ends == [(0.6, 0.78), (0.85, 0.95)]
    with pytest.raises(ValueError, match="empty"):
        plots.intervals({})
