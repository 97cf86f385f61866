"""Tests for course_lib.plots.networks: the autoencoder diagram and the reconstruction figure."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.patches import Rectangle

from course_lib.plots import networks

keras = pytest.importorskip("keras")
from course_lib import models  # noqa: E402  (needs keras)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _boxes(ax):
    """Return the layer boxes of a diagram, in drawing order."""
    return [p for p in ax.patches if isinstance(p, Rectangle) and p.get_gid()]


def test_one_box_per_dense_layer_plus_the_input():
    model = models.dense_autoencoder(320, hidden=(64, 64), bottleneck=8)
    _, ax = networks.autoencoder_diagram(model)
    # 320 -> 64 -> 64 -> 8 -> 64 -> 64 -> 320: five hidden Dense layers and the output layer
    assert len(_boxes(ax)) == 1 + 6


def test_box_heights_follow_the_layer_widths():
    model = models.dense_autoencoder(640, hidden=(128, 32), bottleneck=4)
    _, ax = networks.autoencoder_diagram(model)
    heights = np.array([box.get_height() for box in _boxes(ax)])
    widths = np.array([640, 128, 32, 4, 32, 128, 640])
    np.testing.assert_allclose(heights / heights.max(), widths / widths.max())


def test_the_bottleneck_is_highlighted_and_only_it():
    model = models.dense_autoencoder(100, hidden=(50,), bottleneck=5)
    _, ax = networks.autoencoder_diagram(model)
    colours = [box.get_facecolor() for box in _boxes(ax)]  # 100 50 [5] 50 100
    assert [i for i, c in enumerate(colours) if c == colours[2]] == [2]
    assert colours[0] == colours[-1] and colours[1] == colours[3]


def test_blocks_read_units_activation_and_weights_from_the_model():
    model = models.dense_autoencoder(20, hidden=(10,), bottleneck=3, batch_norm=True)
    blocks = networks.dense_blocks(model)
    assert [b.units for b in blocks] == [10, 3, 10, 20]
    assert [b.activation for b in blocks] == ["relu", "relu", "relu", "linear"]
    assert [b.batch_norm for b in blocks] == [True, True, True, False]
    # Dense 20->10 has 210 weights, its batch norm 4 x 10
    assert blocks[0].weights == 20 * 10 + 10 + 4 * 10
    assert sum(b.weights for b in blocks) == model.count_params()


def test_labels_show_units_and_weights():
    model = models.dense_autoencoder(320)
    _, ax = networks.autoencoder_diagram(model, title="Reference B")
    texts = [t.get_text() for t in ax.texts]
    assert "320" in texts and "8" in texts
    first = networks.dense_blocks(model)[0].weights
    assert any(f"{first:,}".replace(",", "\u2009") in t for t in texts)
    assert ax.get_title() == "Reference B"


def test_a_model_without_dense_layers_is_refused():
    inputs = keras.Input(shape=(4,))
    model = keras.Model(inputs, keras.layers.Activation("relu")(inputs))
    with pytest.raises(ValueError, match="no Dense layer"):
        networks.dense_blocks(model)


def _arrays(seed=0):
    rng = np.random.default_rng(seed)
    given = {"normal": rng.normal(size=(6, 9)), "anomaly": rng.normal(size=(6, 9)) + 1}
    rebuilt = {name: 0.5 * array for name, array in given.items()}
    return given, rebuilt


def test_error_panel_is_the_squared_difference():
    given, rebuilt = _arrays()
    _, axes = networks.reconstruction(given, rebuilt, centre=0.0)
    assert axes.shape == (2, 3)
    for row, name in zip(axes, given, strict=True):
        np.testing.assert_allclose(row[0].images[0].get_array(), given[name])
        np.testing.assert_allclose(row[1].images[0].get_array(), rebuilt[name])
        np.testing.assert_allclose(row[2].images[0].get_array(),
                                   (given[name] - rebuilt[name]) ** 2)


def test_colour_scales_are_shared_between_clips():
    given, rebuilt = _arrays()
    _, axes = networks.reconstruction(given, rebuilt, centre=0.0, percentile=100)
    value_limits = {axes[r, c].images[0].get_clim() for r in range(2) for c in range(2)}
    error_limits = {axes[r, 2].images[0].get_clim() for r in range(2)}
    assert len(value_limits) == 1 and len(error_limits) == 1
    low, high = value_limits.pop()
    reach = max(np.abs(a).max() for a in [*given.values(), *rebuilt.values()])
    assert low == pytest.approx(-reach) and high == pytest.approx(reach)
    errors = [(given[n] - rebuilt[n]) ** 2 for n in given]
    assert error_limits.pop() == pytest.approx((0.0, max(e.max() for e in errors)))


def test_time_axis_in_seconds():
    given, rebuilt = _arrays()
    _, axes = networks.reconstruction(given, rebuilt, frame_seconds=0.032)
    assert axes[-1, 0].get_xlabel() == "Time (s)"
    assert axes[0, 0].images[0].get_extent()[1] == pytest.approx(9 * 0.032)


def test_mismatched_arrays_are_refused():
    given, rebuilt = _arrays()
    with pytest.raises(ValueError, match="same shape"):
        networks.reconstruction(given, {"normal": rebuilt["normal"][:, :3],
                                        "anomaly": rebuilt["anomaly"]})
    with pytest.raises(ValueError, match="same name"):
        networks.reconstruction(given, {"normal": rebuilt["normal"]})
