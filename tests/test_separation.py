"""Tests for course_lib.separation (chapter 06): parts, meanings, rates, checks and stored parts."""

from __future__ import annotations

import dataclasses
import functools
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from course_lib import audio, clip_table, paths, separation
from course_lib.errors import AudioError

SR = 16000
CLICK_TIMES = (0.35, 0.75, 1.15)


def _energy(x: np.ndarray) -> float:
    """Return the sum of squares of ``x`` in float64."""
    return float(np.sum(np.square(np.asarray(x, dtype=np.float64))))


def _around(times, half_width: float, n: int, sr: int) -> np.ndarray:
    """Return a boolean mask of the samples within ``half_width`` seconds of ``times``."""
    t = np.arange(n) / sr
    return np.any([np.abs(t - c) < half_width for c in times], axis=0)


def _tone_and_clicks(sr: int = SR) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(y, tone, clicks)``: a steady 440 Hz tone plus three 2-ms noise clicks.

    1.5 s plus 7 samples (an odd length, not a whole number of hops), float32, seeded.
    """
    rng = np.random.default_rng(0)
    n = round(1.5 * sr) + 7
    tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(n) / sr)
    clicks = np.zeros(n)
    width = round(0.002 * sr)
    for c in CLICK_TIMES:
        start = round(c * sr)
        clicks[start:start + width] = 0.5 * rng.uniform(-1, 1, width)
    return (tone + clicks).astype(np.float32), tone, clicks


@functools.cache
def _separated(name: str) -> separation.Separated:
    """Return (computed once per session) the default method ``name`` on the tone and clicks."""
    return separation.METHODS[name].separate(_tone_and_clicks()[0], SR)


# --- every method: the parts add up, keep length and dtype, and are reproducible ------------


@pytest.mark.parametrize("name", sorted(separation.METHODS))
def test_foreground_plus_background_gives_back_the_input(name):
    y = _tone_and_clicks()[0]
    parts = _separated(name)
    np.testing.assert_allclose(parts.foreground + parts.background, y, rtol=0, atol=1e-5)


@pytest.mark.parametrize("name", sorted(separation.METHODS))
def test_both_parts_are_float32_and_as_long_as_the_input(name):
    y = _tone_and_clicks()[0]
    parts = _separated(name)
    for part in separation.PARTS:
        samples = parts.part(part)
        assert samples.shape == y.shape, part
        assert samples.dtype == np.float32, part


@pytest.mark.parametrize("name", sorted(separation.METHODS))
def test_separation_is_deterministic(name):
    y = _tone_and_clicks()[0]
    again = separation.method(name).separate(y.copy(), SR)
    np.testing.assert_array_equal(again.foreground, _separated(name).foreground)
    np.testing.assert_array_equal(again.background, _separated(name).background)


@pytest.mark.parametrize("name", sorted(separation.METHODS))
def test_separation_leaves_numpys_global_random_state_alone(name):
    """A separation neither draws from nor reseeds the global RNG a notebook has seeded."""
    np.random.seed(123)
    expected = np.random.random(3)
    np.random.seed(123)
    separation.method(name).separate(_tone_and_clicks()[0], SR)
    np.testing.assert_array_equal(np.random.random(3), expected)


def test_any_hop_shorter_than_the_window_still_reconstructs():
    y = _tone_and_clicks()[0]
    parts = separation.HarmonicPercussive(window_seconds=0.064, hop_seconds=0.06).separate(y, SR)
    np.testing.assert_allclose(parts.foreground + parts.background, y, rtol=0, atol=1e-5)


def test_silence_separates_into_two_silent_parts():
    silence = np.zeros(SR, np.float32)
    for name, separator in separation.METHODS.items():
        parts = separator.separate(silence, SR)
        for part in separation.PARTS:
            np.testing.assert_array_equal(parts.part(part), silence, err_msg=f"{name} {part}")


# --- what each method calls steady and what stands out ---------------------------------------


def test_hpss_puts_the_tone_in_the_background_and_the_clicks_in_the_foreground():
    y, tone, clicks = _tone_and_clicks()
    parts = _separated("hpss")
    near = _around(CLICK_TIMES, 0.03, y.size, SR)
    # most of the clicks' energy is foreground, and the foreground is mostly the clicks
    assert _energy(parts.foreground[near]) > 0.7 * _energy(clicks)
    assert _energy(parts.foreground[near]) > 0.8 * _energy(parts.foreground)
    # away from the clicks, where there is only the tone, nearly all is background
    assert _energy(parts.background[~near]) > 0.95 * _energy(tone[~near])
    assert _energy(parts.foreground[~near]) < 0.02 * _energy(tone[~near])


def _noise_and_tone_burst(sr: int = SR) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(y, in_burst)``: 1.5 s of stationary noise with a loud 1 kHz burst in 0.6-0.8 s."""
    rng = np.random.default_rng(1)
    t = np.arange(round(1.5 * sr)) / sr
    in_burst = (t > 0.6) & (t < 0.8)
    burst = np.where(in_burst, 0.5 * np.sin(2 * np.pi * 1000 * t), 0.0)
    return (0.05 * rng.standard_normal(t.size) + burst).astype(np.float32), in_burst


def test_gate_keeps_a_loud_tone_burst_over_stationary_noise_in_the_foreground():
    y, in_burst = _noise_and_tone_burst()
    parts = separation.SpectralGate().separate(y, SR)
    assert _energy(parts.foreground[in_burst]) > 0.5 * _energy(y[in_burst])
    # the stationary noise around the burst is (nearly all) background
    assert _energy(parts.foreground[~in_burst]) < 0.05 * _energy(y[~in_burst])
    assert _energy(parts.background[~in_burst]) > 0.9 * _energy(y[~in_burst])


def test_nmf_background_explains_most_of_a_steady_signal():
    rng = np.random.default_rng(2)
    t = np.arange(round(1.5 * SR)) / SR
    hum = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.2 * np.sin(2 * np.pi * 660 * t)
    y = (hum + 0.01 * rng.standard_normal(t.size)).astype(np.float32)
    parts = separation.LowRankNMF().separate(y, SR)
    assert _energy(parts.background) > 0.98 * _energy(y)
    assert _energy(parts.foreground) < 0.02 * _energy(y)


# --- the same method means the same at 16 kHz and 44.1 kHz -----------------------------------


def _scene() -> np.ndarray:
    """Return 1 s at 16 kHz: tone, noise, two clicks and a 0.1 s tone burst (seeded, float32)."""
    rng = np.random.default_rng(3)
    t = np.arange(SR) / SR
    y = 0.2 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(t.size)
    for c in (0.25, 0.8):  # Gaussian pulses: broadband up to about 6 kHz, below 8 kHz
        y += 0.6 * np.exp(-0.5 * ((t - c) / 0.00015) ** 2) * np.cos(2 * np.pi * 3000 * (t - c))
    y += np.where((t > 0.45) & (t < 0.55), 0.3 * np.sin(2 * np.pi * 1500 * t), 0.0)
    return y.astype(np.float32)


@pytest.mark.parametrize("name", sorted(separation.METHODS))
def test_method_splits_the_same_sound_alike_at_16_and_44_1_khz(name):
    """The 44.1 kHz copy of a band-limited scene splits like the 16 kHz original."""
    y16 = _scene()
    y44 = audio.resample(y16, orig_sr=SR, target_sr=44100)
    separator = separation.method(name)
    fg16 = separator.separate(y16, SR).foreground
    fg44 = audio.resample(separator.separate(y44, 44100).foreground, orig_sr=44100,
                          target_sr=SR)
    t = np.arange(SR) / SR
    clicks = _around((0.25, 0.8), 0.02, SR, SR)
    burst = (t > 0.43) & (t < 0.57)
    for region, mask in (("clicks", clicks), ("burst", burst), ("rest", ~(clicks | burst))):
        share16 = _energy(fg16[mask]) / _energy(y16[mask])
        share44 = _energy(fg44[mask]) / _energy(y16[mask])
        assert share44 == pytest.approx(share16, abs=0.02), region
    # and the foregrounds are (nearly) the same sound
    assert _energy(fg44 - fg16) < 0.25 * _energy(fg16)


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(separation.METHODS))
def test_too_short_signal_raises_audio_error_saying_what_to_do(name):
    window = round(0.064 * SR)
    with pytest.raises(AudioError, match="pass a longer clip or a shorter window_seconds"):
        separation.method(name).separate(np.zeros(window - 1, np.float32), SR)
    assert separation.method(name).separate(np.zeros(window, np.float32), SR).foreground.size


@pytest.mark.parametrize("name", sorted(separation.METHODS))
def test_nan_input_raises_audio_error(name):
    y = _tone_and_clicks()[0].copy()
    y[100] = np.nan
    with pytest.raises(AudioError, match="NaN"):
        separation.method(name).separate(y, SR)


@pytest.mark.parametrize("name", sorted(separation.METHODS))
def test_stereo_input_raises_audio_error_asking_for_mono(name):
    stereo = np.zeros((2, SR), np.float32)
    with pytest.raises(AudioError, match=r"shape \(2, 16000\).*mono"):
        separation.method(name).separate(stereo, SR)


def test_unknown_method_name_raises_value_error_listing_the_choices():
    assert separation.method("gate") is separation.METHODS["gate"]
    with pytest.raises(ValueError, match="'ica' is unknown; choose one of hpss, nmf, gate"):
        separation.method("ica")


def test_unknown_part_name_raises_value_error_listing_the_choices():
    parts = _separated("hpss")
    assert parts.part("foreground") is parts.foreground
    assert parts.part("background") is parts.background
    with pytest.raises(ValueError, match="'noise' is unknown; choose one of foreground, back"):
        parts.part("noise")


INVALID_SETTINGS = [
    (separation.HarmonicPercussive(window_seconds=0), "window_seconds=0 "),
    (separation.HarmonicPercussive(window_seconds=-0.1), "window_seconds=-0.1 "),
    (separation.LowRankNMF(window_seconds=float("nan")), "window_seconds=nan "),
    (separation.LowRankNMF(window_seconds=float("inf")), "window_seconds=inf "),
    (separation.HarmonicPercussive(window_seconds=True), "window_seconds=True "),
    (separation.SpectralGate(window_seconds="0.064"), "window_seconds='0.064' "),
    (separation.SpectralGate(window_seconds=None), "window_seconds=None "),
    (separation.HarmonicPercussive(hop_seconds=0), "hop_seconds=0 "),
    (separation.HarmonicPercussive(hop_seconds=0.064), "frames must overlap"),
    (separation.LowRankNMF(hop_seconds=0.1), "frames must overlap"),
    (separation.HarmonicPercussive(kernel_seconds=0), "kernel_seconds=0 "),
    (separation.HarmonicPercussive(kernel_hz=-250.0), "kernel_hz=-250.0 "),
    (separation.LowRankNMF(rank=0), "rank=0 "),
    (separation.LowRankNMF(max_iter=0), "max_iter=0 "),
    (separation.SpectralGate(n_std=float("nan")), "n_std=nan "),
]


@pytest.mark.parametrize(("separator", "match"), INVALID_SETTINGS,
                         ids=[f"{type(s).__name__}:{m.strip()}" for s, m in INVALID_SETTINGS])
def test_invalid_settings_raise_value_error_naming_the_setting(separator, match):
    with pytest.raises(ValueError, match=match):
        separator.separate(_tone_and_clicks()[0], SR)


@pytest.mark.parametrize("sr", [16000, 20019, 44100])
def test_gate_accepts_a_window_whose_hop_exceeds_the_mask_smoothing(sr):
    """A 0.5 s window (hop 125 ms > 50 ms smoothing) works, even at an odd rate."""
    y = np.random.default_rng(6).uniform(-0.1, 0.1, sr).astype(np.float32)
    parts = separation.SpectralGate(window_seconds=0.5).separate(y, sr)
    assert parts.foreground.shape == y.shape and 0 < _energy(parts.foreground) < _energy(y)


@pytest.mark.parametrize("sr", [0, -16000, 16000.5, True])
def test_invalid_sample_rate_raises_value_error(sr):
    for separator in separation.METHODS.values():
        with pytest.raises(ValueError, match="sr="):
            separator.separate(_tone_and_clicks()[0], sr)


# --- key() ----------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [type(m) for m in separation.METHODS.values()])
def test_key_is_stable_across_instances_with_equal_settings(cls):
    settings = {f.name: f.default for f in dataclasses.fields(cls)}
    key = cls().key()
    assert key == cls().key() == cls(**settings).key() == separation.METHODS[cls.name].key()
    assert len(key) == 12 and int(key, 16) >= 0
    assert separation.separated_dir(cls(**settings)) == separation.separated_dir(cls())


@pytest.mark.parametrize("cls", [type(m) for m in separation.METHODS.values()])
def test_key_changes_when_any_setting_changes(cls):
    default = cls()
    keys = {default.key()}
    for field in dataclasses.fields(cls):
        changed = dataclasses.replace(default, **{field.name: getattr(default, field.name) * 2})
        keys.add(changed.key())
        assert separation.separated_dir(changed) != separation.separated_dir(default)
    assert len(keys) == 1 + len(dataclasses.fields(cls))


def test_keys_and_folders_differ_between_methods(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA", str(tmp_path))
    keys = {m.key() for m in separation.METHODS.values()}
    assert len(keys) == len(separation.METHODS)
    for name, separator in separation.METHODS.items():
        folder = separation.separated_dir(separator)
        assert folder == tmp_path / "cache" / "separated" / f"{name}-{separator.key()}"


# --- separate_files -------------------------------------------------------------------------

HPSS = separation.HarmonicPercussive()


def _clip(seed: int, seconds: float = 1.0, sr: int = SR) -> np.ndarray:
    """Return a seeded clip: a tone (frequency by seed) with clicks and a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * sr)) / sr
    y = 0.3 * np.sin(2 * np.pi * (300 + 100 * seed) * t) + 0.02 * rng.standard_normal(t.size)
    for c in (0.3, 0.6):
        start = round(c * sr)
        y[start:start + 32] += 0.5 * rng.uniform(-1, 1, 32)
    return np.clip(y, -1, 1)


@pytest.fixture
def table(tmp_path, monkeypatch) -> pd.DataFrame:
    """Three 1-s 16-bit WAV clips in a table with a label and a non-default index.

    COURSE_DATA points into tmp_path.
    """
    monkeypatch.setenv("COURSE_DATA", str(tmp_path / "data"))
    files = [audio.save(tmp_path / "audio" / f"clip_{i}.wav", _clip(i), SR) for i in range(3)]
    return pd.DataFrame({"path": [str(p) for p in files], "label": ["a", "b", "c"]},
                        index=[10, 11, 12])


@pytest.fixture
def separate_calls(monkeypatch) -> list:
    """Record every call of HarmonicPercussive.separate (in this process)."""
    calls = []
    original = separation.HarmonicPercussive.separate

    def counting(self, y, sr):
        calls.append(y.size)
        return original(self, y, sr)

    monkeypatch.setattr(separation.HarmonicPercussive, "separate", counting)
    return calls


def _stamps(parts: dict[str, pd.DataFrame]) -> dict[str, tuple[int, int]]:
    """Return ``path -> (mtime_ns, inode)`` of every stored part."""
    return {p: (os.stat(p).st_mtime_ns, os.stat(p).st_ino)
            for frame in parts.values() for p in frame["path"]}


def test_separate_files_returns_a_table_per_part_pointing_at_float_wavs(table):
    parts = separation.separate_files(table, HPSS, sr=SR, progress=False)
    assert set(parts) == set(separation.PARTS)
    folder = separation.separated_dir(HPSS)
    assert folder.is_relative_to(paths.cache_root())
    sources = [str(Path(p).resolve()) for p in table["path"]]
    for part, frame in parts.items():
        assert list(frame.index) == [10, 11, 12]
        assert list(frame.columns) == ["path", "label", "source_path"]
        assert list(frame["label"]) == ["a", "b", "c"]
        assert list(frame["source_path"]) == sources
        for path in frame["path"]:
            assert Path(path).parent == folder and path.endswith(f"-{part}.wav")
            header = sf.info(path)
            assert (header.format, header.subtype, header.samplerate) == ("WAV", "FLOAT", SR)
    assert set(parts["foreground"]["path"]).isdisjoint(parts["background"]["path"])
    assert list(table.columns) == ["path", "label"]  # the input table is left as it was


def test_stored_parts_hold_the_samples_of_separating_the_loaded_clip(table):
    parts = separation.separate_files(table, HPSS, sr=SR, progress=False)
    for row, source in enumerate(table["path"]):
        expected = HPSS.separate(audio.load(source, sr=SR, channel=0)[0], SR)
        for part in separation.PARTS:
            stored, rate = audio.load(parts[part]["path"].iloc[row])
            assert rate == SR
            np.testing.assert_array_equal(stored, expected.part(part))


def test_stored_parts_are_at_the_requested_rate(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA", str(tmp_path / "data"))
    source = audio.save(tmp_path / "cd.wav", _clip(4, sr=44100), 44100)
    parts = separation.separate_files(pd.DataFrame({"path": [str(source)]}), HPSS, sr=SR,
                                      progress=False)
    loaded = audio.load(source, sr=SR)[0]
    for frame in parts.values():
        stored, rate = audio.load(frame["path"].iloc[0])
        assert rate == SR and stored.shape == loaded.shape


def test_second_call_reuses_the_stored_parts(table, separate_calls):
    first = separation.separate_files(table, HPSS, sr=SR, progress=False)
    assert len(separate_calls) == 3
    stamps = _stamps(first)
    second = separation.separate_files(table, HPSS, sr=SR, progress=False)
    assert len(separate_calls) == 3
    assert _stamps(second) == stamps
    for part in separation.PARTS:
        pd.testing.assert_frame_equal(second[part], first[part])


def test_rewritten_source_is_separated_again(table, separate_calls):
    first = separation.separate_files(table, HPSS, sr=SR, progress=False)
    stamps = _stamps(first)
    edited = Path(table["path"].iloc[1])
    audio.save(edited, _clip(7), SR)  # same length, so the same size: only the mtime tells
    stat = edited.stat()
    os.utime(edited, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    second = separation.separate_files(table, HPSS, sr=SR, progress=False)
    assert len(separate_calls) == 4  # only the edited clip
    expected = HPSS.separate(audio.load(edited, sr=SR)[0], SR)
    for part in separation.PARTS:
        new_path = second[part]["path"].iloc[1]
        assert new_path != first[part]["path"].iloc[1]
        np.testing.assert_array_equal(audio.load(new_path)[0], expected.part(part))
        for row in (0, 2):  # the others are reused as they were
            path = second[part]["path"].iloc[row]
            assert path == first[part]["path"].iloc[row]
            assert (os.stat(path).st_mtime_ns, os.stat(path).st_ino) == stamps[path]


@pytest.mark.parametrize("name", sorted(separation.METHODS))
def test_two_workers_store_the_same_files_as_one(table, tmp_path, monkeypatch, name):
    separator = separation.method(name)
    parallel = separation.separate_files(table, separator, sr=SR, n_jobs=2, progress=False)
    monkeypatch.setenv("COURSE_DATA", str(tmp_path / "serial"))
    serial = separation.separate_files(table, separator, sr=SR, n_jobs=1, progress=False)
    for part in separation.PARTS:
        for a, b in zip(parallel[part]["path"], serial[part]["path"], strict=True):
            assert a != b and Path(a).name == Path(b).name
            np.testing.assert_array_equal(audio.load(a)[0], audio.load(b)[0])


def test_missing_file_raises_audio_error_naming_it(table, tmp_path):
    gone = tmp_path / "audio" / "gone.wav"
    bad = pd.concat([table, pd.DataFrame({"path": [str(gone)], "label": ["d"]})])
    with pytest.raises(AudioError, match="1 of 4 clips do not exist") as caught:
        separation.separate_files(bad, HPSS, sr=SR, progress=False)
    assert str(gone) in str(caught.value)
    assert not separation.separated_dir(HPSS).exists()  # nothing separated before the check


@pytest.mark.parametrize("dataset", ["toy_pump", "folder:/my/recordings", "mimii:fan:6dB"])
def test_corrupt_file_error_gives_the_advice_of_its_source(tmp_path, monkeypatch, dataset):
    monkeypatch.setenv("COURSE_DATA", str(tmp_path / "data"))
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"this is not a RIFF file " * 40)
    with_source = pd.DataFrame({"path": [str(corrupt)], "dataset": [dataset]})
    with pytest.raises(AudioError, match="cannot decode") as caught:
        separation.separate_files(with_source, HPSS, sr=SR, progress=False)
    message = str(caught.value)
    assert str(corrupt) in message and clip_table.source_advice(dataset) in message
    with pytest.raises(AudioError, match="cannot decode") as plain:
        separation.separate_files(with_source.drop(columns="dataset"), HPSS, sr=SR,
                                  progress=False)
    assert clip_table.source_advice(dataset) not in str(plain.value)


def test_too_short_clip_error_names_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA", str(tmp_path / "data"))
    short = audio.save(tmp_path / "blip.wav", _clip(5)[:500], SR)
    with pytest.raises(AudioError, match="fewer than one analysis window") as caught:
        separation.separate_files(pd.DataFrame({"path": [str(short)]}), HPSS, sr=SR,
                                  progress=False)
    assert str(short.resolve()) in str(caught.value)
    assert "longer clip" in str(caught.value)


def test_separate_files_rejects_bad_arguments(table):
    for bad in ({"n_jobs": 0}, {"n_jobs": -2}, {"n_jobs": 1.5}, {"channel": -1},
                {"sr": 0}):
        arguments = {"sr": SR, **bad}
        with pytest.raises(ValueError, match=next(iter(bad))):
            separation.separate_files(table, HPSS, progress=False, **arguments)
    with pytest.raises(KeyError, match="path"):
        separation.separate_files(table.drop(columns="path"), HPSS, sr=SR)
    assert not separation.separated_dir(HPSS).exists()
