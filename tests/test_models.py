"""Tests for course_lib.models: shapes, bad input, determinism and early stopping."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import notebook

notebook.setup(seed=0, deep_learning=True)

import keras  # noqa: E402

from course_lib import models  # noqa: E402


def _data(n: int = 64, dim: int = 20, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)


def test_dense_autoencoder_shapes_and_layers() -> None:
    model = models.dense_autoencoder(320)
    assert model.input_shape == (None, 320) and model.output_shape == (None, 320)
    widths = [layer.units for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert widths == [64, 64, 8, 64, 64, 320]
    assert model.layers[-1].activation.__name__ == "linear"
    dcase = models.dense_autoencoder(640, hidden=(128,) * 4, batch_norm=True)
    norms = [layer for layer in dcase.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(norms) == 9 and dcase.output_shape == (None, 640)


def test_conv_autoencoder_shape_and_sigmoid_output() -> None:
    model = models.conv_autoencoder((16, 12))
    assert model.output_shape == (None, 16, 12, 1)
    out = model.predict(np.random.default_rng(0).random((2, 16, 12, 1)), verbose=0)
    assert out.min() >= 0.0 and out.max() <= 1.0


@pytest.mark.parametrize("shape", [(15, 12), (16, 12, 3), (16,)])
def test_conv_autoencoder_rejects_bad_shapes(shape) -> None:
    with pytest.raises(ValueError, match="input_shape"):
        models.conv_autoencoder(shape)


def test_bad_arguments_raise_clear_errors() -> None:
    with pytest.raises(ValueError, match="bottleneck"):
        models.dense_autoencoder(10, bottleneck=0)
    with pytest.raises(ValueError, match="validation_data"):
        models.fit(models.dense_autoencoder(20), _data(), epochs=1, batch_size=8, patience=2,
                   seed=0)
    with pytest.raises(ValueError, match="non-empty"):
        models.reconstruction_errors(models.dense_autoencoder(20), np.zeros((0, 20)))


def _trained_weights(seed: int) -> list[np.ndarray]:
    keras.utils.set_random_seed(seed)
    model = models.dense_autoencoder(20, hidden=(16,), bottleneck=4)
    models.fit(model, _data(), epochs=3, batch_size=16, seed=seed)
    return model.get_weights()


def test_fit_is_deterministic_for_a_seed() -> None:
    first, second, other = _trained_weights(1), _trained_weights(1), _trained_weights(2)
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))


def test_training_lowers_reconstruction_error_and_errors_have_one_value_per_example() -> None:
    x = _data(256)
    keras.utils.set_random_seed(0)
    model = models.dense_autoencoder(20, hidden=(32,), bottleneck=16)
    before = models.reconstruction_errors(model, x)
    history = models.fit(model, x, epochs=20, batch_size=32, learning_rate=1e-2, seed=0)
    after = models.reconstruction_errors(model, x)
    assert before.shape == after.shape == (256,)
    assert after.mean() < 0.8 * before.mean()
    assert len(history.history["loss"]) == 20
    np.testing.assert_allclose(after.mean(), history.history["loss"][-1], rtol=0.3)


def test_clip_errors_split_per_clip() -> None:
    model = models.dense_autoencoder(20)
    clips = [_data(5, seed=1), _data(3, seed=2)]
    errors = models.clip_errors(model, clips)
    assert [len(e) for e in errors] == [5, 3]
    np.testing.assert_allclose(errors[1], models.reconstruction_errors(model, clips[1]),
                               rtol=1e-5)


def test_early_stopping_restores_the_best_weights() -> None:
    # Train on noise and validate on other noise with a large learning rate: the validation
    # loss soon stops improving, so training halts early and the best epoch's weights return.
    x, v = _data(128, seed=3), _data(64, seed=4)
    keras.utils.set_random_seed(0)
    model = models.dense_autoencoder(20, hidden=(64,), bottleneck=32)
    history = models.fit(model, x, validation_data=v, epochs=60, batch_size=16,
                         learning_rate=3e-2, patience=2, seed=0)
    val_loss = history.history["val_loss"]
    assert len(val_loss) < 60, "early stopping never triggered"
    best = min(val_loss)
    assert val_loss[-1] > best  # the last epoch was worse than the best one ...
    restored = models.reconstruction_errors(model, v).mean()
    np.testing.assert_allclose(restored, best, rtol=1e-3)  # ... but its weights came back


def _clips(n_clips: int = 6, seed: int = 0) -> list[np.ndarray]:
    """Return clips of 10 vectors with 12 dims whose bands differ in level and spread."""
    rng = np.random.default_rng(seed)
    scale = np.linspace(0.5, 20.0, 12)
    return [(50.0 + scale * rng.normal(size=(10, 12))).astype(np.float32) for _ in range(n_clips)]


def test_train_standardised_uses_training_statistics_and_scores_clips() -> None:
    clips = _clips()
    train = [True, True, True, True, False, False]
    validation = [False, False, False, False, True, False]
    detector = models.train_standardised(clips, train, validation, hidden=(8,), bottleneck=2,
                                         epochs=3, batch_size=8, seed=0)
    stacked = np.concatenate(clips[:4])
    np.testing.assert_allclose(detector.mean, stacked.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(detector.std, stacked.std(axis=0) + 1e-6, rtol=1e-5)
    scaled = np.concatenate(detector.scale(clips[:4]))
    np.testing.assert_allclose(scaled.std(axis=0), 1.0, atol=1e-3)
    errors = detector.clip_errors(clips)
    assert [e.shape for e in errors] == [(10,)] * 6
    assert 1 <= len(detector.history.history["val_loss"]) <= 3


def test_train_standardised_is_deterministic_and_seed_dependent() -> None:
    clips = _clips()
    masks = ([True] * 4 + [False] * 2, [False] * 4 + [True, False])
    runs = [models.train_standardised(clips, *masks, hidden=(8,), bottleneck=2, epochs=2,
                                      batch_size=8, seed=seed).clip_errors(clips)
            for seed in (3, 3, 4)]
    np.testing.assert_array_equal(np.concatenate(runs[0]), np.concatenate(runs[1]))
    assert not np.allclose(np.concatenate(runs[0]), np.concatenate(runs[2]))


@pytest.mark.parametrize(("train", "validation", "message"), [
    ([True] * 5, [False] * 5 + [True], "train has 5 entries for 6 clips"),
    ([False] * 6, [True] * 6, "train selects no clip"),
    ([True] * 6, [False] * 6, "validation selects no clip"),
])
def test_train_standardised_rejects_bad_masks(train, validation, message) -> None:
    with pytest.raises(ValueError, match=message):
        models.train_standardised(_clips(), train, validation, epochs=1, seed=0)


def test_autoencoder_scorer_holds_out_the_last_fifth_like_training_parts() -> None:
    clips = _clips() + _clips()[:4]  # 10 training clips: the last 2 are validation clips
    scorer = models.AutoencoderScorer(hidden=(8,), bottleneck=2, epochs=2, batch_size=8,
                                      seed=5).fit(clips)
    train, validation = [True] * 8 + [False] * 2, [False] * 8 + [True] * 2
    same = models.train_standardised(clips, train, validation, hidden=(8,), bottleneck=2,
                                     epochs=2, batch_size=8, seed=5)
    expected = np.array([np.percentile(e, 90) for e in same.clip_errors(clips[:3])])
    np.testing.assert_array_equal(scorer.score(clips[:3]), expected)
    with pytest.raises(ValueError, match="at least two"):
        models.AutoencoderScorer(seed=0).fit(clips[:1])
    with pytest.raises(ValueError, match="before score"):
        models.AutoencoderScorer(seed=0).score(clips)


def test_stack_selected_stacks_the_chosen_clips_in_order() -> None:
    clips = _clips()
    stacked = models.stack_selected(clips, [False, True, False, True, False, False])
    np.testing.assert_array_equal(stacked, np.concatenate([clips[1], clips[3]]))
    assert stacked.dtype == np.float32
