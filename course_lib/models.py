"""Small Keras 3 autoencoders and a quiet training helper (introduced in chapter 05).

Import this module after ``notebook.setup(deep_learning=True)`` so that TensorFlow is seeded,
deterministic and limited to a few threads before the first model is built.

* :func:`dense_autoencoder`: fully connected autoencoder on stacked log-mel frames (the
  64-64-8-64-64 network of chapter 05's reference system B and the DCASE 2020 Task 2
  baseline, ``koizumi2020dcase`` in ``book/references.bib``).
* :func:`conv_autoencoder`: small convolutional autoencoder on whole, min-max-scaled log-mel
  spectrograms (chapter 05b's reference system A).
* :func:`fit`: Adam + mean squared error, silent, optional early stopping.
* :func:`reconstruction_errors`: mean squared error per input example.
* :func:`clip_errors`: those errors for many clips at once, one array per clip.
* :func:`train_standardised`: chapter 05's recommended detector in one call: standardise the
  context vectors with training statistics, train a dense autoencoder with early stopping,
  and keep the statistics with the model (:class:`StandardisedAutoencoder`).
* :class:`AutoencoderScorer`: that detector with the ``fit``/``score`` interface of
  :mod:`course_lib.anomaly`, so :func:`course_lib.anomaly.fit_per_group` can train one per
  machine ID (chapter 05b).
* :func:`stack_selected`: the context vectors of selected clips as one training matrix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from course_lib import _checks, anomaly
from course_lib.notebook import configure_deep_learning

#: Training batches that Keras runs per call into TensorFlow. Numerically the same as one at a
#: time (same batches, same order, same weights); it only saves Python overhead per batch,
#: about a fifth of the training time of these small networks on a 2-core machine.
STEPS_PER_EXECUTION = 16

__all__ = [
    "AutoencoderScorer", "StandardisedAutoencoder", "clip_errors", "conv_autoencoder",
    "dense_autoencoder", "fit", "reconstruction_errors", "stack_selected", "train_standardised",
]


def _keras():
    """Return the ``keras`` module (TensorFlow backend, quiet logs), imported on first use."""
    import importlib
    import sys

    if "keras" not in sys.modules:
        # Keras was never imported: configure TensorFlow once (seed 0) so logs stay quiet.
        configure_deep_learning(0)
    return importlib.import_module("keras")


def dense_autoencoder(
    input_dim: int,
    *,
    hidden: Sequence[int] = (64, 64),
    bottleneck: int = 8,
    batch_norm: bool = False,
):
    """Return an uncompiled dense autoencoder ``input -> hidden -> bottleneck -> hidden -> input``.

    Introduced in chapter 05. Every hidden layer (and the bottleneck) is Dense + ReLU, with
    batch normalisation before the ReLU when ``batch_norm`` is True; the output layer is
    linear, so the network can reproduce standardised or raw dB inputs.

    * chapter 05's reference system B: ``dense_autoencoder(320)`` (64 mels x 5 frames,
      64-64-8-64-64);
    * DCASE 2020 Task 2 baseline (``koizumi2020dcase``): ``dense_autoencoder(640,
      hidden=(128,) * 4, bottleneck=8, batch_norm=True)`` (128 mels x 5 frames).

    Args:
        input_dim: length of one input vector (n_mels * n_frames for stacked frames).
        hidden: widths of the encoder's hidden layers; the decoder mirrors them.
        bottleneck: width of the code layer in the middle.
        batch_norm: add BatchNormalization after each hidden Dense layer.
    """
    keras = _keras()
    input_dim = _checks.count(input_dim, "input_dim")
    widths = [_checks.count(w, "hidden width") for w in hidden]
    code = _checks.count(bottleneck, "bottleneck")
    inputs = keras.Input(shape=(input_dim,), name="frames")
    x = inputs
    for width in [*widths, code, *reversed(widths)]:
        x = keras.layers.Dense(width)(x)
        if batch_norm:
            x = keras.layers.BatchNormalization()(x)
        x = keras.layers.Activation("relu")(x)
    outputs = keras.layers.Dense(input_dim, name="reconstruction")(x)
    name = "dense_ae_" + "-".join(str(w) for w in [*widths, code, *reversed(widths)])
    return keras.Model(inputs, outputs, name=name)


def conv_autoencoder(input_shape: tuple[int, int] | tuple[int, int, int]):
    """Return an uncompiled convolutional autoencoder for min-max-scaled spectrograms.

    Introduced in chapter 05b (its reference system A): Conv2D 8 -> MaxPool 2x2 -> Conv2D 16
    -> Conv2D 8 -> UpSampling 2x2 -> Conv2D 1 with a sigmoid, so the inputs must lie in
    [0, 1] (scale with the training data's minimum and maximum).

    Args:
        input_shape: ``(n_mels, n_frames)`` or ``(n_mels, n_frames, 1)``; both sides must be
            even so that pooling and upsampling give back the input shape (crop the frames).
    """
    keras = _keras()
    shape = tuple(int(s) for s in input_shape)
    if len(shape) == 2:
        shape = (*shape, 1)
    if len(shape) != 3 or shape[2] != 1 or min(shape) < 1:
        raise ValueError(
            f"input_shape={input_shape!r} is invalid; pass (n_mels, n_frames) or "
            "(n_mels, n_frames, 1)."
        )
    if shape[0] % 2 or shape[1] % 2:
        raise ValueError(
            f"input_shape={input_shape!r} has an odd side; crop the spectrogram to an even "
            "number of bands and frames so 2x2 pooling and upsampling restore its shape."
        )
    conv = keras.layers.Conv2D
    inputs = keras.Input(shape=shape, name="spectrogram")
    x = conv(8, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.MaxPooling2D(2)(x)
    x = conv(16, 3, padding="same", activation="relu")(x)
    x = conv(8, 3, padding="same", activation="relu")(x)
    x = keras.layers.UpSampling2D(2)(x)
    outputs = conv(1, 3, padding="same", activation="sigmoid", name="reconstruction")(x)
    return keras.Model(inputs, outputs, name="conv_ae_8-16-8")


def fit(
    model,
    x: np.ndarray,
    *,
    validation_data: np.ndarray | None = None,
    epochs: int,
    batch_size: int,
    learning_rate: float = 1e-3,
    patience: int | None = None,
    min_delta: float = 0.0,
    seed: int,
):
    """Return the ``keras.callbacks.History`` of training ``model`` to reconstruct ``x``.

    Introduced in chapter 05. Compiles with Adam(``learning_rate``) and mean squared error and
    trains silently (``verbose=0``) on shuffled batches. ``validation_data`` holds NORMAL
    examples only (e.g. clips split off the training set); with ``patience`` training stops
    when their loss has not improved for ``patience`` epochs and the weights of the best epoch
    are restored. Calling ``fit`` twice with the same seed on a freshly built model (after
    ``notebook.setup(deep_learning=True)``) gives the same weights.

    Args:
        model: an uncompiled (or compiled) Keras model whose output has the input's shape.
        x: training inputs (normal examples only).
        validation_data: normal validation inputs, or None.
        epochs: maximum number of passes over ``x``.
        batch_size: examples per gradient step.
        learning_rate: Adam's step size.
        patience: epochs without validation improvement before stopping; needs
            ``validation_data``. None trains for all ``epochs``.
        min_delta: the smallest drop of the validation loss that counts as an improvement
            (in the loss's units), so that a long, flat tail of tiny gains also stops.
        seed: seeds Keras (weight initialisation already happened when the model was built:
            build it after ``keras.utils.set_random_seed`` for reproducible starts).
    """
    keras = _keras()
    x = np.asarray(x, dtype=np.float32)
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(f"x has shape {x.shape}; pass a non-empty batch (n_examples, ...).")
    if patience is not None and validation_data is None:
        raise ValueError("patience needs validation_data: pass normal validation examples.")
    callbacks = []
    if patience is not None:
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=_checks.count(patience, "patience"),
            min_delta=float(min_delta), restore_best_weights=True))
    keras.utils.set_random_seed(seed)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss="mse",
                  steps_per_execution=STEPS_PER_EXECUTION)
    validation = None
    if validation_data is not None:
        v = np.asarray(validation_data, dtype=np.float32)
        validation = (v, v)
    return model.fit(x, x, validation_data=validation, epochs=_checks.count(epochs, "epochs"),
                     batch_size=_checks.count(batch_size, "batch_size"), shuffle=True,
                     callbacks=callbacks, verbose=0)


def reconstruction_errors(model, x: np.ndarray, *, batch_size: int = 1024) -> np.ndarray:
    """Return the mean squared reconstruction error of each example, shape ``(n_examples,)``.

    Introduced in chapter 05: the anomaly score of one context vector (dense model) or one
    spectrogram (convolutional model); average them per clip for a clip score.
    """
    x = np.asarray(x, dtype=np.float32)
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(f"x has shape {x.shape}; pass a non-empty batch (n_examples, ...).")
    reconstruction = np.asarray(model.predict(x, batch_size=batch_size, verbose=0))
    squared = (reconstruction.reshape(x.shape) - x) ** 2
    return squared.reshape(len(x), -1).mean(axis=1)


def clip_errors(model, items: Sequence[np.ndarray], *, batch_size: int = 4096) -> list[np.ndarray]:
    """Return one array of per-example reconstruction errors per clip (chapter 05).

    ``items`` holds one array per clip (e.g. its context vectors, ``(n_vectors, dims)``). All
    clips are reconstructed in one :func:`reconstruction_errors` call (much faster than one
    call per clip) and the errors are split back per clip, ready for aggregation (mean, max,
    a percentile) into one clip score.
    """
    if len(items) == 0:
        raise ValueError("items is empty; pass one array of examples per clip.")
    arrays = [np.asarray(item, dtype=np.float32) for item in items]
    errors = reconstruction_errors(model, np.concatenate(arrays), batch_size=batch_size)
    return np.split(errors, np.cumsum([len(a) for a in arrays])[:-1])


@dataclass(frozen=True)
class StandardisedAutoencoder:
    """A trained autoencoder and the statistics that standardise its inputs (chapter 05).

    Attributes:
        model: the trained Keras model.
        history: its ``keras.callbacks.History`` (``history.history["val_loss"]`` per epoch).
        mean: per-dimension mean of the training vectors.
        std: per-dimension standard deviation of the training vectors (plus 1e-6).
    """

    model: Any
    history: Any
    mean: np.ndarray
    std: np.ndarray

    def scale(self, items: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Return each clip's vectors standardised with the training statistics."""
        return [(np.asarray(item, dtype=np.float32) - self.mean) / self.std for item in items]

    def clip_errors(self, items: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Return one array of reconstruction errors per clip (standardised units squared)."""
        return clip_errors(self.model, self.scale(items))


def stack_selected(items: Sequence[np.ndarray], mask: Sequence[bool], name: str = "mask"
                   ) -> np.ndarray:
    """Return the vectors of the clips selected by ``mask``, stacked into one float32 matrix.

    ``items`` holds one ``(n_vectors, dims)`` array per clip and ``mask`` one bool per clip;
    ``name`` names the mask in error messages (chapter 05).
    """
    keep = np.asarray(mask, dtype=bool)
    if keep.shape != (len(items),):
        raise ValueError(
            f"{name} has {keep.size} entries for {len(items)} clips; pass one True/False per "
            "clip, in the order of the clip vectors."
        )
    if not keep.any():
        raise ValueError(f"{name} selects no clip; select at least one normal clip.")
    return np.concatenate([np.asarray(items[i], dtype=np.float32) for i in np.flatnonzero(keep)])


def train_standardised(
    clip_vectors: Sequence[np.ndarray],
    train: Sequence[bool],
    validation: Sequence[bool],
    *,
    hidden: Sequence[int] = (128, 128),
    bottleneck: int = 8,
    epochs: int = 30,
    batch_size: int = 128,
    learning_rate: float = 1e-3,
    patience: int = 3,
    min_delta: float = 0.002,
    seed: int,
) -> StandardisedAutoencoder:
    """Return a dense autoencoder trained on standardised context vectors (chapter 05).

    The defaults are chapter 05's recommended detector. Every input dimension is standardised
    with the mean and standard deviation of the ``train`` clips' vectors; the network
    (:func:`dense_autoencoder` with ``hidden`` and ``bottleneck``) is built after seeding with
    ``seed`` and trained by :func:`fit`, stopping early on the loss of the ``validation``
    clips. Score clips with the returned object's ``clip_errors``.

    Args:
        clip_vectors: one ``(n_vectors, dims)`` array per clip, e.g. stacked log-mel frames.
        train: one bool per clip: the normal clips to train on.
        validation: one bool per clip: normal clips held out for early stopping.
        hidden, bottleneck: layer widths (see :func:`dense_autoencoder`).
        epochs, batch_size, learning_rate, patience, min_delta: passed to :func:`fit`.
        seed: seeds the initial weights and the batch order.
    """
    keras = _keras()
    fit_rows = stack_selected(clip_vectors, train, "train")
    check_rows = stack_selected(clip_vectors, validation, "validation")
    mean = fit_rows.mean(axis=0)
    std = fit_rows.std(axis=0) + np.float32(1e-6)
    keras.utils.set_random_seed(seed)
    model = dense_autoencoder(fit_rows.shape[1], hidden=hidden, bottleneck=bottleneck)
    history = fit(model, (fit_rows - mean) / std, validation_data=(check_rows - mean) / std,
                  epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                  patience=patience, min_delta=min_delta, seed=seed)
    return StandardisedAutoencoder(model=model, history=history, mean=mean, std=std)


class AutoencoderScorer:
    """Chapter 05's recommended detector as a scorer with ``fit`` and ``score`` (chapter 05b).

    ``fit(train_items)`` keeps the last ``validation_fraction`` of the clips (at least one) for
    early stopping, the same clips that :func:`course_lib.clip_table.training_parts` marks as
    validation clips of a machine ID, and trains :func:`train_standardised` on the others.
    ``score(items)`` aggregates each clip's reconstruction errors (default: their 90th
    percentile). Other keyword arguments go to :func:`train_standardised`.
    """

    def __init__(self, *, seed: int, aggregate: str = "p90", validation_fraction: float = 0.2,
                 **training: Any) -> None:
        if not 0.0 < validation_fraction < 1.0:
            raise ValueError(f"validation_fraction={validation_fraction!r} must lie between 0 "
                             "and 1 (e.g. 0.2).")
        self.seed, self.aggregate = seed, aggregate
        self.validation_fraction, self.training = validation_fraction, training
        self.detector: StandardisedAutoencoder | None = None

    def fit(self, train_items: Sequence[np.ndarray]) -> AutoencoderScorer:
        """Return ``self`` after training on ``train_items`` (one vector matrix per clip)."""
        n_clips = len(train_items)
        if n_clips < 2:
            raise ValueError(f"{n_clips} training clip(s): an autoencoder needs at least two, "
                             "one of them for validation.")
        n_validation = max(1, int(np.floor(n_clips * self.validation_fraction)))
        validation = np.arange(n_clips) >= n_clips - n_validation
        self.detector = train_standardised(train_items, ~validation, validation, seed=self.seed,
                                           **self.training)
        return self

    def score(self, items: Sequence[np.ndarray]) -> np.ndarray:
        """Return one score per clip: the aggregated reconstruction errors of its vectors."""
        if self.detector is None:
            raise ValueError("call fit(train_items) before score(items).")
        errors = self.detector.clip_errors(items)
        return anomaly.clip_scores(errors, [self.aggregate])[self.aggregate]
