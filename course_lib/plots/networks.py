"""Pictures of neural networks and of what they reconstruct (introduced in chapter 05).

:func:`autoencoder_diagram` draws a dense autoencoder from the built Keras model itself: one
box per Dense layer, as tall as the layer is wide, so the bottleneck is visibly the narrow
point. :func:`reconstruction` shows what the model does to a clip: its input, the
reconstruction and the squared error of every time-frequency cell, for a few clips on shared
colour scales. It takes plain arrays, so it knows nothing of Keras.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Polygon, Rectangle

from course_lib.plots import _base

#: How activations are named on the diagram.
ACTIVATION_NAMES = {"relu": "ReLU", "linear": "linear", "sigmoid": "sigmoid", "tanh": "tanh"}
#: Face colours: input and output, hidden layers, the bottleneck.
LAYER_COLOURS = {"outer": "0.65", "hidden": "C0", "bottleneck": "C1"}


@dataclass(frozen=True)
class DenseBlock:
    """One Dense layer of a network and the layers that follow it up to the next Dense one.

    Attributes:
        units: the layer's output width.
        activation: the activation applied to it (a following ``Activation`` layer wins over
            the Dense layer's own linear one).
        weights: trainable and non-trainable parameters of the block (Dense + batch norm).
        batch_norm: True if a BatchNormalization layer belongs to the block.
    """

    units: int
    activation: str
    weights: int
    batch_norm: bool


def dense_blocks(model) -> list[DenseBlock]:
    """Return one :class:`DenseBlock` per Dense layer of the Keras ``model``, in order (ch. 05).

    The widths are read from the layers' output shapes, the weights from ``count_params``.
    Raises ValueError if the model has no Dense layer.
    """
    blocks: list[dict] = []
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "Dense":
            blocks.append({
                "units": int(layer.output.shape[-1]),
                "activation": layer.get_config()["activation"],
                "weights": int(layer.count_params()),
                "batch_norm": False,
            })
        elif blocks and kind == "BatchNormalization":
            blocks[-1]["weights"] += int(layer.count_params())
            blocks[-1]["batch_norm"] = True
        elif blocks and kind == "Activation" and blocks[-1]["activation"] == "linear":
            blocks[-1]["activation"] = layer.get_config()["activation"]
    if not blocks:
        raise ValueError(
            f"model {getattr(model, 'name', model)!r} has no Dense layer; autoencoder_diagram "
            "draws dense autoencoders such as models.dense_autoencoder(320)."
        )
    return [DenseBlock(**block) for block in blocks]


def _input_width(model) -> int:
    """Return the length of one input vector of ``model``."""
    return int(model.inputs[0].shape[-1])


def _spaced(number: int) -> str:
    """Return ``number`` with thin groups of three digits, e.g. ``20 544``."""
    return f"{number:,}".replace(",", "\u2009")


def autoencoder_diagram(
    model, *, ax: Axes | None = None, title: str | None = None, input_label: str = "input"
) -> tuple[Figure, Axes]:
    """Return ``(fig, ax)``: the layers of a dense autoencoder as boxes (chapter 05).

    Drawn from the built Keras ``model``: the input, then one box per Dense layer, each as tall
    as the layer has units (the tallest box is the widest layer), labelled with its units
    above and its activation and number of weights below. The narrowest hidden layer, the
    bottleneck, is highlighted. The boxes are the patches of ``ax`` in that order.
    """
    blocks = dense_blocks(model)
    widths = [_input_width(model), *(block.units for block in blocks)]
    tallest = max(widths)
    hidden = [block.units for block in blocks[:-1]]
    code = int(np.argmin(hidden)) + 1 if hidden else None  # box index of the bottleneck
    fig, ax = _base.axes(ax)
    box_width, top = 0.32, 0.5
    heights = [width / tallest for width in widths]
    for index in range(len(widths) - 1):  # grey bands: every unit feeds every next unit
        left, right = index + box_width / 2, index + 1 - box_width / 2
        ax.add_patch(Polygon(
            [(left, -heights[index] / 2), (left, heights[index] / 2),
             (right, heights[index + 1] / 2), (right, -heights[index + 1] / 2)],
            closed=True, facecolor="0.85", edgecolor="none", zorder=1,
        ))
    for index, (width, height) in enumerate(zip(widths, heights, strict=True)):
        outer = index in (0, len(widths) - 1)
        kind = "outer" if outer else "bottleneck" if index == code else "hidden"
        box = Rectangle((index - box_width / 2, -height / 2), box_width, height,
                        facecolor=LAYER_COLOURS[kind], edgecolor="0.2", linewidth=1.0,
                        zorder=3, gid=f"layer {index}")
        ax.add_patch(box)
        ax.text(index, height / 2 + 0.03, str(width), ha="center", va="bottom",
                fontweight="bold", zorder=4)
        if index == 0:
            below = f"{input_label}\n"
        else:
            block = blocks[index - 1]
            name = ACTIVATION_NAMES.get(block.activation, block.activation)
            norm = " + BN" if block.batch_norm else ""
            below = f"Dense{norm}, {name}\n{_spaced(block.weights)} weights"
        ax.text(index, -top - 0.06, below, ha="center", va="top", fontsize="small")
    if code is not None:
        ax.annotate("bottleneck", (code, heights[code] / 2 + 0.12), xytext=(code, top + 0.2),
                    ha="center", va="bottom", color=LAYER_COLOURS["bottleneck"],
                    fontweight="bold", arrowprops={"arrowstyle": "->", "color": "0.3"})
        for label, span in (("encoder", (0, code)), ("decoder", (code, len(widths) - 1))):
            ax.text(sum(span) / 2, top + 0.2, label, ha="center", va="bottom",
                    fontstyle="italic", color="0.3")
    ax.set_xlim(-0.5, len(widths) - 0.5)
    ax.set_ylim(-top - 0.32, top + 0.36)
    ax.set_axis_off()
    if title is not None:
        ax.set_title(title)
    return fig, ax


def _panels(
    inputs: Mapping[str, np.ndarray], outputs: Mapping[str, np.ndarray]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Return ``{clip: (input, output)}`` as float arrays; raise ValueError if they disagree."""
    if not inputs:
        raise ValueError("inputs is empty; pass {'normal clip': array of (bands, frames)}.")
    if list(inputs) != list(outputs):
        raise ValueError(
            f"inputs has the clips {list(inputs)} but outputs {list(outputs)}; pass the "
            "reconstruction of every input under the same name, in the same order."
        )
    panels = {}
    for name in inputs:
        given = np.asarray(inputs[name], dtype=float)
        rebuilt = np.asarray(outputs[name], dtype=float)
        if given.ndim != 2 or given.shape != rebuilt.shape:
            raise ValueError(
                f"clip {name!r}: input {given.shape} and output {rebuilt.shape}; pass two "
                "2-D arrays of the same shape (bands, frames)."
            )
        panels[name] = (given, rebuilt)
    return panels


def reconstruction(
    inputs: Mapping[str, np.ndarray],
    outputs: Mapping[str, np.ndarray],
    *,
    frame_seconds: float | None = None,
    centre: float | None = None,
    value_label: str = "Input value",
    error_label: str = "Squared error",
    percentile: float = 99.0,
    fig: Figure | None = None,
    title: str | None = None,
) -> tuple[Figure, np.ndarray]:
    """Return ``(fig, axes)``: input, reconstruction and squared error of each clip (ch. 05).

    ``inputs`` and ``outputs`` map a clip name to arrays of shape ``(bands, frames)``; one row
    per clip (named on its y-axis) shows the input, the output and ``(input - output) ** 2``
    per cell. Inputs and outputs of all clips share one colour scale, the errors another,
    both ending at the ``percentile`` of the values shown (brighter cells are drawn at the
    end colour), so the clips compare cell by cell. With ``centre`` the value scale is
    diverging and symmetric about it (e.g. 0 for standardised inputs). ``frame_seconds``
    puts time in seconds on the x-axis, else frames. ``axes`` has shape ``(clips, 3)``.
    """
    panels = _panels(inputs, outputs)
    if not 0 < percentile <= 100:
        raise ValueError(f"percentile={percentile!r}; pass a value in (0, 100], e.g. 99.")
    errors = {name: (given - rebuilt) ** 2 for name, (given, rebuilt) in panels.items()}
    values = np.concatenate([a.ravel() for pair in panels.values() for a in pair])
    if centre is None:
        low, high = np.percentile(values, [100 - percentile, percentile])
        value_scale = {"cmap": "magma", "vmin": low, "vmax": high}
    else:
        reach = np.percentile(np.abs(values - centre), percentile)
        value_scale = {"cmap": "RdBu_r", "vmin": centre - reach, "vmax": centre + reach}
    error_top = np.percentile(np.concatenate([e.ravel() for e in errors.values()]), percentile)
    error_scale = {"cmap": "viridis", "vmin": 0.0, "vmax": error_top}
    height = len(panels) * _base.ROW_HEIGHT + _base.GRID_MARGIN
    fig, axes = _base.grid(fig, len(panels), 3, height=height, sharex=True, sharey=True)
    xlabel = "Time (s)" if frame_seconds is not None else "Frame"
    for row, (name, (given, rebuilt)) in zip(axes, panels.items(), strict=True):
        bands, frames = given.shape
        extent = (0, frames * (frame_seconds or 1), 0, bands)
        shown = {"input": (given, value_scale), "reconstruction": (rebuilt, value_scale),
                 "squared error": (errors[name], error_scale)}
        for ax, (column, (array, scale)) in zip(row, shown.items(), strict=True):
            ax.imshow(array, origin="lower", aspect="auto", extent=extent,
                      interpolation="nearest", **scale)
            if row is axes[0]:
                ax.set_title(column)
        row[0].set_ylabel(f"{name}\nMel band")
    for ax in axes[-1]:
        ax.set_xlabel(xlabel)
    fig.colorbar(axes[0, 0].images[0], ax=list(axes[:, :2].ravel()), label=value_label,
                 extend="both")
    fig.colorbar(axes[0, 2].images[0], ax=list(axes[:, 2]), label=error_label, extend="max")
    if title is not None:
        fig.suptitle(title)
    return fig, axes


