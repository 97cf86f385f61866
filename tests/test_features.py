"""Tests for course_lib.features (chapter 02): librosa agreement, layouts and cached extraction."""

from __future__ import annotations

import dataclasses
import os

import librosa
import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from course_lib import audio, features, paths

SR = 16000


@pytest.fixture
def signal() -> np.ndarray:
    """Half a second of a seeded chirp plus noise, float32."""
    rng = np.random.default_rng(0)
    t = np.arange(SR // 2) / SR
    chirp = np.sin(2 * np.pi * (200 + 3000 * t) * t)
    return (0.3 * chirp + 0.05 * rng.standard_normal(t.size)).astype(np.float32)


def _reference_logmel(y, **kwargs) -> np.ndarray:
    """Return librosa's own log-mel spectrogram in absolute dB."""
    mel = librosa.feature.melspectrogram(y=y, **kwargs)
    return librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=None)


# --- single-signal features agree with librosa ---------------------------------------------


@pytest.mark.parametrize(
    "settings",
    [
        {"n_fft": 1024, "hop_length": 512, "n_mels": 64},
        {"n_fft": 512, "hop_length": 128, "n_mels": 40, "fmin": 50.0, "fmax": 7000.0},
    ],
)
def test_logmel_matches_librosa(signal, settings):
    ours = features.logmel(signal, sr=SR, **settings)
    expected = _reference_logmel(signal, sr=SR, **settings)
    assert ours.shape == (settings["n_mels"], 1 + signal.size // settings["hop_length"])
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-4)


def test_logmel_is_absolute_not_relative_to_max(signal):
    quiet = features.logmel(signal, sr=SR)
    loud = features.logmel(signal * 10, sr=SR)
    np.testing.assert_allclose(loud - quiet, 20.0, atol=1e-3)


def test_logmel_of_magnitude_is_amplitude_db(signal):
    mel = librosa.feature.melspectrogram(
        y=signal, sr=SR, n_fft=1024, hop_length=512, n_mels=64, power=1.0
    )
    expected = librosa.amplitude_to_db(mel, ref=1.0, amin=1e-5, top_db=None)
    ours = features.logmel(signal, sr=SR, power=1.0)
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-3)


def test_mfcc_matches_librosa(signal):
    log_mel = _reference_logmel(signal, sr=SR, n_fft=1024, hop_length=512, n_mels=64)
    expected = librosa.feature.mfcc(S=log_mel, n_mfcc=13)
    ours = features.mfcc(signal, sr=SR, n_mfcc=13)
    assert ours.shape == (13, log_mel.shape[1])
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-3)


def test_stft_db_matches_librosa(signal):
    spectrum = librosa.stft(signal, n_fft=256, hop_length=64)
    expected = librosa.power_to_db(np.abs(spectrum) ** 2, ref=1.0, amin=1e-10, top_db=None)
    ours = features.stft_db(signal, n_fft=256, hop_length=64)
    assert ours.shape == (129, 1 + signal.size // 64)
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("kind", features.KINDS)
def test_compute_dispatches_on_kind(signal, kind):
    config = features.FeatureConfig(kind=kind, n_mels=32, n_mfcc=10, fmax=6000.0)
    direct = {
        "logmel": lambda: features.logmel(signal, sr=SR, n_mels=32, fmax=6000.0),
        "mfcc": lambda: features.mfcc(signal, sr=SR, n_mels=32, n_mfcc=10, fmax=6000.0),
        "stft_db": lambda: features.stft_db(signal),
    }[kind]()
    np.testing.assert_array_equal(features.compute(signal, config), direct)


@pytest.mark.parametrize(
    "bad", [np.zeros((2, 100), np.float32), np.zeros(0, np.float32), np.array([0.1, np.nan])]
)
def test_features_reject_bad_signals(bad):
    with pytest.raises(ValueError, match="y "):
        features.logmel(bad, sr=SR)


def test_spectrum_reads_the_rms_level_of_a_sinusoid():
    n = 4096
    full_scale_sine = np.sin(2 * np.pi * 64 * np.arange(n) / n)  # exactly on a bin
    frequencies, level = features.spectrum_db(full_scale_sine, n)
    assert frequencies[np.argmax(level)] == pytest.approx(64)
    assert level.max() == pytest.approx(20 * np.log10(np.sqrt(0.5)), abs=0.05)  # -3.01 dBFS


# --- FeatureConfig --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"kind": "cqt"}, "logmel, mfcc, stft_db"),
        ({"n_fft": 0}, "n_fft"),
        ({"hop_length": 2048}, "1..1024"),
        ({"n_mels": 0}, "n_mels"),
        ({"sr": -1}, "sr"),
        ({"fmax": 9000.0}, "8000"),
        ({"fmin": 5000.0, "fmax": 4000.0}, "fmin"),
        ({"kind": "mfcc", "n_mfcc": 80}, "1..64"),
        ({"power": 0.0}, "power"),
        ({"n_fft": 1024.5}, "n_fft"),
        ({"channel": -1}, "channel"),
        ({"channel": "left"}, "channel"),
    ],
)
def test_feature_config_validates(changes, match):
    with pytest.raises(ValueError, match=match):
        features.FeatureConfig(**changes)


def test_feature_config_key_is_short_stable_and_field_sensitive():
    config = features.FeatureConfig()
    key = config.key()
    assert len(key) == 12 and all(c in "0123456789abcdef" for c in key)
    assert features.FeatureConfig(fmin=0, sr=16000.0).key() == key
    assert features.FeatureConfig(n_mels=40).key() != key
    assert features.FeatureConfig(kind="mfcc").key() != key
    assert features.FeatureConfig(channel="mean").key() != key
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.n_mels = 10


def test_for_rate_fixes_window_and_hop_in_seconds():
    # at 16 kHz the DCASE baseline's 1024/512 samples; at any rate the same 64 ms / 32 ms
    assert features.FeatureConfig.for_rate(16000) == features.FeatureConfig()
    for sr in (22050, 44100, 48000):
        config = features.FeatureConfig.for_rate(sr, n_mels=128, kind="mfcc")
        assert abs(config.n_fft / sr - 0.064) < 0.5 / sr
        assert abs(config.hop_length / sr - 0.032) < 0.5 / sr
        assert (config.sr, config.n_mels, config.kind) == (sr, 128, "mfcc")
    assert features.FeatureConfig.for_rate(8000, window_seconds=0.025,
                                           hop_seconds=0.01).n_fft == 200
    with pytest.raises(ValueError, match="hop_seconds"):
        features.FeatureConfig.for_rate(16000, hop_seconds=0)
    with pytest.raises(ValueError, match="sr"):
        features.FeatureConfig.for_rate(16000.5)


# --- layouts --------------------------------------------------------------------------------


def test_stack_frames_is_frame_major():
    spec = np.arange(64 * 10, dtype=float).reshape(64, 10)
    vectors = features.stack_frames(spec, n_frames=5)
    assert vectors.shape == (6, 320)
    for t in range(6):
        for j in range(5):
            np.testing.assert_array_equal(vectors[t, j * 64 : (j + 1) * 64], spec[:, t + j])
    with pytest.raises(ValueError, match="fewer than n_frames"):
        features.stack_frames(spec, n_frames=11)


def test_fixed_windows_cuts_complete_windows():
    spec = np.arange(3 * 23, dtype=float).reshape(3, 23)
    windows = features.fixed_windows(spec, window_frames=10, hop_frames=5)
    assert windows.shape == (3, 3, 10)
    for k in range(3):
        np.testing.assert_array_equal(windows[k], spec[:, 5 * k : 5 * k + 10])
    with pytest.raises(ValueError, match="pad"):
        features.fixed_windows(spec, window_frames=30, hop_frames=5)
    with pytest.raises(ValueError, match="hop_frames"):
        features.fixed_windows(spec, window_frames=10, hop_frames=0)


def test_standardise_axis_semantics():
    rng = np.random.default_rng(3)
    windows = rng.normal(5.0, 3.0, size=(4, 8, 20)) + np.arange(4)[:, None, None]
    whole = features.standardise(windows)
    assert whole.mean() == pytest.approx(0, abs=1e-9) and whole.std() == pytest.approx(1, 1e-6)
    per_window = features.standardise(windows, axis=(1, 2))
    np.testing.assert_allclose(per_window.mean(axis=(1, 2)), 0, atol=1e-9)
    np.testing.assert_allclose(per_window.std(axis=(1, 2)), 1, rtol=1e-6)
    per_band = features.standardise(windows[0], axis=-1)
    np.testing.assert_allclose(per_band.mean(axis=1), 0, atol=1e-9)
    assert np.all(np.isfinite(features.standardise(np.ones((3, 3)))))


def test_clip_statistics_concatenates_per_band_stats():
    spec = np.array([[1.0, 3.0], [2.0, 6.0]])
    np.testing.assert_allclose(features.clip_statistics(spec), [2.0, 4.0, 1.0, 2.0])
    np.testing.assert_allclose(
        features.clip_statistics(spec, stats=("max", "min")), [3.0, 6.0, 1.0, 2.0]
    )
    with pytest.raises(ValueError, match="mean, std"):
        features.clip_statistics(spec, stats=("kurtosis",))


# --- extract --------------------------------------------------------------------------------

CONFIG = features.FeatureConfig(n_fft=256, hop_length=128, n_mels=16)


@pytest.fixture
def clips(tmp_path, monkeypatch) -> list:
    """Four short, different WAV files; COURSE_DATA points into tmp_path."""
    monkeypatch.setenv("COURSE_DATA", str(tmp_path / "data"))
    rng = np.random.default_rng(4)
    return [
        audio.save(tmp_path / "audio" / f"clip_{i}.wav", 0.2 * rng.uniform(-1, 1, 4000), SR)
        for i in range(4)
    ]


@pytest.fixture
def compute_calls(monkeypatch) -> list:
    """Record every call of features.compute (in this process)."""
    calls = []
    original = features.compute

    def counting(y, config):
        calls.append(config)
        return original(y, config)

    monkeypatch.setattr(features, "compute", counting)
    return calls


def _expected(path, config=CONFIG):
    return features.compute(audio.load(path, sr=config.sr)[0], config)


def test_extract_returns_features_in_input_order(clips):
    results = features.extract(clips[::-1], CONFIG, progress=False)
    assert len(results) == 4
    for path, result in zip(clips[::-1], results, strict=True):
        np.testing.assert_array_equal(result, _expected(path))


def test_extract_caches_atomically_under_the_config_key(clips):
    features.extract(clips, CONFIG, progress=False)
    folder = paths.cache_root() / "features" / CONFIG.key()
    assert folder == features.feature_cache_dir(CONFIG)
    assert len(list(folder.glob("*.npy"))) == 4
    assert (folder / "config.json").is_file()
    assert not list(folder.glob("*.tmp"))


def test_cache_hit_does_not_recompute(clips, compute_calls):
    first = features.extract(clips, CONFIG, progress=False)
    assert len(compute_calls) == 4
    second = features.extract(clips, CONFIG, progress=False)
    assert len(compute_calls) == 4
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


def test_changed_file_is_recomputed(clips, compute_calls):
    features.extract(clips, CONFIG, progress=False)
    audio.save(clips[1], np.full(4000, 0.5), SR)
    stat = clips[1].stat()
    os.utime(clips[1], ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    results = features.extract(clips, CONFIG, progress=False)
    assert len(compute_calls) == 5
    np.testing.assert_array_equal(results[1], _expected(clips[1]))


def test_changed_config_uses_another_folder(clips, compute_calls):
    other = dataclasses.replace(CONFIG, n_mels=8)
    features.extract(clips, CONFIG, progress=False)
    results = features.extract(clips, other, progress=False)
    assert len(compute_calls) == 8 and results[0].shape[0] == 8
    assert features.feature_cache_dir(other) != features.feature_cache_dir(CONFIG)
    assert len(list(features.feature_cache_dir(other).glob("*.npy"))) == 4


def test_no_cache_writes_nothing(clips, compute_calls):
    features.extract(clips, CONFIG, cache=False, progress=False)
    features.extract(clips, CONFIG, cache=False, progress=False)
    assert len(compute_calls) == 8
    assert not paths.cache_root().exists()


def test_corrupt_cache_entry_is_recomputed(clips, compute_calls):
    features.extract(clips[:1], CONFIG, progress=False)
    [entry] = features.feature_cache_dir(CONFIG).glob("*.npy")
    entry.write_bytes(b"\x93NUMPY garbage")
    [result] = features.extract(clips[:1], CONFIG, progress=False)
    assert len(compute_calls) == 2
    np.testing.assert_array_equal(result, _expected(clips[0]))


def test_parallel_workers_give_identical_results_and_fill_the_cache(clips, compute_calls):
    serial = features.extract(clips, CONFIG, cache=False, progress=False)
    parallel = features.extract(clips, CONFIG, n_jobs=2, progress=False)
    for a, b in zip(serial, parallel, strict=True):
        np.testing.assert_array_equal(a, b)
    assert len(list(features.feature_cache_dir(CONFIG).glob("*.npy"))) == 4
    features.extract(clips, CONFIG, n_jobs=2, progress=False)
    assert len(compute_calls) == 4  # serial run only: workers ran, then all cache hits


def test_extract_accepts_a_table_with_a_path_column(clips):
    table = pd.DataFrame({"path": [str(p) for p in clips], "label": list("abcd")})
    results = features.extract(table, CONFIG, progress=False)
    np.testing.assert_array_equal(results[2], _expected(clips[2]))
    with pytest.raises(ValueError, match="'path' column"):
        features.extract(table.drop(columns="path"), CONFIG)


def test_extract_reports_missing_files_and_bad_arguments(clips, tmp_path):
    with pytest.raises(audio.AudioError, match="gone.wav"):
        features.extract([*clips, tmp_path / "gone.wav"], CONFIG, progress=False)
    with pytest.raises(ValueError, match="n_jobs"):
        features.extract(clips, CONFIG, n_jobs=0)
    with pytest.raises(ValueError, match="list of paths"):
        features.extract(clips[0], CONFIG)


def test_progress_bar_can_be_switched_off(clips, capsys):
    features.extract(clips, CONFIG, progress=False)
    assert capsys.readouterr().err == ""
    features.extract(clips, CONFIG, progress=True)
    assert "features (logmel)" in capsys.readouterr().err


def test_extract_analyses_channel_0_unless_asked_to_mix(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA", str(tmp_path / "data"))
    rng = np.random.default_rng(5)
    array = np.stack([0.5 * rng.uniform(-1, 1, 4000), 0.01 * rng.uniform(-1, 1, 4000)], 1)
    path = audio.save(tmp_path / "two_mics.wav", array.T, SR)
    first = features.extract([path], CONFIG, progress=False)[0]
    mixed = features.extract([path], dataclasses.replace(CONFIG, channel="mean"),
                             progress=False)[0]
    np.testing.assert_allclose(first, features.compute(audio.load(path, channel=0)[0], CONFIG))
    assert mixed.mean() < first.mean() - 3  # the quiet second microphone halves the level


def test_extract_advice_fits_where_the_clip_came_from(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA", str(tmp_path / "data"))
    bad = tmp_path / "nan.wav"
    sf.write(bad, np.array([0.0, np.nan, 0.1]), SR, subtype="FLOAT")
    expected = {"toy_fan": "make_toy", "folder:/my/rec": "remove this file in your folder",
                "mimii:fan:6dB": "data_scripts.download mimii:fan:6dB"}
    for dataset, advice in expected.items():
        table = pd.DataFrame({"path": [str(bad)], "dataset": [dataset]})
        with pytest.raises(audio.AudioError, match="NaN") as caught:
            features.extract(table, CONFIG, progress=False)
        assert advice in str(caught.value), dataset
        if dataset.startswith("folder:"):
            assert "download" not in str(caught.value) and "toy" not in str(caught.value)
