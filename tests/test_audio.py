"""Tests for course_lib.audio (chapter 01): loading, saving, levels, mixing and players."""

from __future__ import annotations

import base64
import io
import re
import warnings
from html.parser import HTMLParser

import numpy as np
import pytest
import soundfile as sf
import soxr

from course_lib import audio

SR = 16000


@pytest.fixture
def sine() -> np.ndarray:
    """One second of a 440 Hz sine at half full scale, float32."""
    t = np.arange(SR) / SR
    return (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


@pytest.fixture
def noise() -> np.ndarray:
    """A short burst of seeded white noise (shorter than the sine)."""
    return np.random.default_rng(0).standard_normal(3000) * 0.1


# --- load / save / info ---------------------------------------------------------------------


def test_wav_round_trip_keeps_samples_rate_and_dtype(tmp_path, sine):
    path = audio.save(tmp_path / "sine.wav", sine, SR)
    y, sr = audio.load(path)
    assert sr == SR
    assert y.dtype == np.float32 and y.shape == sine.shape
    np.testing.assert_allclose(y, sine, atol=1 / 32768)


def test_save_returns_path_creates_folders_and_writes_pcm16(tmp_path, sine):
    target = tmp_path / "a" / "b" / "clip.wav"
    result = audio.save(str(target), sine, SR)
    assert result == target and target.is_file()
    meta = audio.info(target)
    assert meta == audio.AudioInfo(target, SR, 1, SR, 1.0, "WAV", "PCM_16")


@pytest.mark.parametrize(
    ("suffix", "fmt", "atol"), [(".flac", "FLAC", 1e-4), (".ogg", "OGG", 0.05)]
)
def test_save_picks_format_from_suffix(tmp_path, sine, suffix, fmt, atol):
    path = audio.save(tmp_path / f"sine{suffix}", sine, SR)
    assert audio.info(path).format == fmt
    y, _ = audio.load(path)
    assert y.shape == sine.shape
    np.testing.assert_allclose(y, sine, atol=atol)


def test_save_honours_subtype(tmp_path, sine):
    path = audio.save(tmp_path / "float.wav", sine, SR, subtype="FLOAT")
    assert audio.info(path).subtype == "FLOAT"
    np.testing.assert_array_equal(audio.load(path)[0], sine)


def test_stereo_mixdown_and_channel_first_layout(tmp_path, sine):
    stereo = np.stack([sine, np.zeros_like(sine)])
    path = audio.save(tmp_path / "stereo.wav", stereo, SR, subtype="FLOAT")
    both, _ = audio.load(path, mono=False)
    mono, _ = audio.load(path)
    assert both.shape == (2, SR)
    np.testing.assert_allclose(mono, sine / 2, atol=1e-7)


def test_mono_false_on_mono_file_is_two_dimensional(tmp_path, sine):
    path = audio.save(tmp_path / "mono.wav", sine, SR)
    assert audio.load(path, mono=False)[0].shape == (1, SR)


def test_load_resamples_with_soxr(tmp_path, sine):
    path = audio.save(tmp_path / "sine.wav", sine, SR, subtype="FLOAT")
    y, sr = audio.load(path, sr=8000)
    assert sr == 8000 and y.dtype == np.float32
    np.testing.assert_allclose(y, soxr.resample(sine, SR, 8000), atol=1e-6)


def test_offset_and_duration_select_the_right_samples(tmp_path):
    ramp = np.linspace(-0.9, 0.9, SR, dtype=np.float32)
    path = audio.save(tmp_path / "ramp.wav", ramp, SR, subtype="FLOAT")
    y, _ = audio.load(path, offset=0.25, duration=0.5)
    np.testing.assert_array_equal(y, ramp[4000:12000])
    tail, _ = audio.load(path, offset=0.75)
    np.testing.assert_array_equal(tail, ramp[12000:])


@pytest.mark.skipif("MP3" not in sf.available_formats(), reason="libsndfile without MP3")
def test_load_reads_mp3(tmp_path, sine):
    path = tmp_path / "sine.mp3"
    sf.write(path, sine, SR, format="MP3", subtype="MPEG_LAYER_III")
    y, sr = audio.load(path, offset=0.25, duration=0.5)
    assert sr == SR and y.shape == (SR // 2,) and y.dtype == np.float32


def _write_bad_file(tmp_path, kind: str):
    """Write one kind of broken audio file and return (path, expected advice substring)."""
    replace = "intact copy"
    good = io.BytesIO()
    sf.write(good, np.zeros(100), SR, format="WAV", subtype="PCM_16")
    if kind == "missing":
        return tmp_path / "missing.wav", "$COURSE_DATA"
    if kind == "empty":
        path = tmp_path / "empty.wav"
        path.write_bytes(b"")
        return path, replace
    if kind == "random_bytes":
        path = tmp_path / "random.wav"
        path.write_bytes(np.random.default_rng(1).bytes(2000))
        return path, "convert it to WAV or FLAC"
    if kind == "truncated_header":
        path = tmp_path / "truncated.wav"
        path.write_bytes(good.getvalue()[:20])
        return path, replace
    if kind == "text_renamed_wav":
        path = tmp_path / "notes.wav"
        path.write_text("these are notes, not audio\n" * 20)
        return path, "convert it to WAV or FLAC"
    if kind == "txt_suffix":
        path = tmp_path / "notes.txt"
        path.write_text("hello")
        return path, "convert it to WAV or FLAC"
    if kind == "unknown_suffix":
        path = tmp_path / "clip.xyz"
        path.write_bytes(good.getvalue())
        return path, "convert it to WAV or FLAC"
    if kind == "nan_samples":
        path = tmp_path / "nan.wav"
        sf.write(path, np.array([0.0, np.nan, 0.1, np.inf]), SR, subtype="FLOAT")
        return path, replace
    if kind == "zero_frames":
        path = tmp_path / "zero.wav"
        sf.write(path, np.zeros(0), SR, subtype="PCM_16")
        return path, replace
    if kind == "folder":
        path = tmp_path / "folder.wav"
        path.mkdir()
        return path, "one file"
    raise AssertionError(kind)


BAD_FILES = [
    "missing",
    "empty",
    "random_bytes",
    "truncated_header",
    "text_renamed_wav",
    "txt_suffix",
    "unknown_suffix",
    "nan_samples",
    "zero_frames",
    "folder",
]


@pytest.mark.parametrize("kind", BAD_FILES)
def test_load_rejects_bad_files_with_helpful_message(tmp_path, kind):
    path, advice = _write_bad_file(tmp_path, kind)
    with pytest.raises(audio.AudioError) as caught:
        audio.load(path)
    message = str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert path.name in message
    assert advice in message


@pytest.mark.parametrize("kind", ["missing", "empty", "random_bytes", "txt_suffix"])
def test_info_rejects_bad_files(tmp_path, kind):
    path, _ = _write_bad_file(tmp_path, kind)
    with pytest.raises(audio.AudioError, match=re.escape(path.name)):
        audio.info(path)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"sr": 0},
        {"sr": -16000},
        {"sr": 1.5},
        {"sr": "16k"},
        {"offset": -1.0},
        {"offset": 5.0},
        {"duration": 0.0},
        {"duration": float("nan")},
        {"channel": -1},
        {"channel": 1},
        {"channel": True},
    ],
)
def test_load_rejects_bad_parameters(tmp_path, sine, kwargs):
    path = audio.save(tmp_path / "ok.wav", sine, SR)
    with pytest.raises(audio.AudioError, match="ok.wav"):
        audio.load(path, **kwargs)


@pytest.mark.parametrize(
    ("samples", "match"),
    [
        (np.array([0.0, np.nan]), "NaN"),
        (np.array([0.0, np.inf]), "NaN"),
        (np.array([0.0, 1.5]), "normalise"),
        (np.zeros(0), "empty"),
    ],
)
def test_save_refuses_bad_samples_and_writes_nothing(tmp_path, samples, match):
    target = tmp_path / "bad.wav"
    with pytest.raises(audio.AudioError, match=match):
        audio.save(target, samples, SR)
    assert not target.exists()


def test_save_accepts_full_scale_peak(tmp_path):
    path = audio.save(tmp_path / "full.wav", np.array([1.0, -1.0, 0.0]), SR)
    assert audio.info(path).frames == 3


@pytest.mark.parametrize(
    ("name", "kwargs", "match"),
    [
        ("clip.mp4", {}, r"\.wav, \.flac, \.ogg"),
        ("clip.wav", {"subtype": "VORBIS"}, "PCM_16"),
        ("clip.wav", {"sr": 0}, "sr=0"),
    ],
)
def test_save_rejects_bad_target(tmp_path, sine, name, kwargs, match):
    arguments = {"sr": SR, **kwargs}
    with pytest.raises(audio.AudioError, match=match):
        audio.save(tmp_path / name, sine, **arguments)


# --- signal helpers -------------------------------------------------------------------------


def test_dbfs_of_full_scale_sine_is_minus_three(sine):
    assert audio.dbfs(2 * sine) == pytest.approx(-3.0103, abs=0.01)
    assert audio.rms(2 * sine) == pytest.approx(1 / np.sqrt(2), rel=1e-4)
    assert audio.peak_dbfs(sine) == pytest.approx(-6.0206, abs=0.01)


def test_silence_is_minus_infinity_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert audio.dbfs(np.zeros(10)) == -np.inf
        assert audio.peak_dbfs(np.zeros(10)) == -np.inf


def test_level_helpers_reject_empty_and_nan():
    with pytest.raises(audio.AudioError, match="empty"):
        audio.rms(np.zeros(0))
    with pytest.raises(audio.AudioError, match="NaN"):
        audio.dbfs(np.array([0.1, np.nan]))


@pytest.mark.parametrize("target", [-1.0, -12.0, 0.0])
def test_normalise_sets_the_peak(sine, target):
    result = audio.normalise(sine, peak_dbfs=target)
    assert result.dtype == sine.dtype
    assert audio.peak_dbfs(result) == pytest.approx(target, abs=1e-4)


def test_normalise_rejects_silence_and_clipping_targets(sine):
    with pytest.raises(audio.AudioError, match="silence"):
        audio.normalise(np.zeros(5))
    with pytest.raises(audio.AudioError, match="<= 0"):
        audio.normalise(sine, peak_dbfs=3.0)


@pytest.mark.parametrize("snr_db", [-10.0, 0.0, 6.0, 30.0])
@pytest.mark.parametrize("noise_length", [3000, 40000])
def test_mix_at_snr_hits_the_target(sine, snr_db, noise_length):
    noise = np.random.default_rng(2).standard_normal(noise_length)
    mixture = audio.mix_at_snr(sine, noise, snr_db=snr_db)
    assert mixture.shape == sine.shape and mixture.dtype == sine.dtype
    measured = audio.dbfs(sine) - audio.dbfs(mixture - sine)
    assert measured == pytest.approx(snr_db, abs=0.01)


def test_mix_at_snr_tiles_short_noise(sine, noise):
    added = audio.mix_at_snr(sine, noise, snr_db=0.0) - sine
    np.testing.assert_allclose(added[:3000], added[3000:6000], atol=1e-6)


@pytest.mark.parametrize("which", ["signal", "noise"])
def test_mix_at_snr_rejects_silence(sine, noise, which):
    signal, interference = (np.zeros(100), noise) if which == "signal" else (sine, np.zeros(50))
    with pytest.raises(audio.AudioError, match=f"{which} is silent"):
        audio.mix_at_snr(signal, interference, snr_db=10.0)


def test_mix_at_snr_rejects_stereo_and_bad_snr(sine, noise):
    with pytest.raises(audio.AudioError, match="to_mono"):
        audio.mix_at_snr(np.stack([sine, sine]), noise, snr_db=0.0)
    with pytest.raises(audio.AudioError, match="snr_db"):
        audio.mix_at_snr(sine, noise, snr_db=float("inf"))


def test_quantise_uses_pcm_levels():
    y = np.linspace(-1, 1, 1001)
    q = audio.quantise(y, bits=3)
    np.testing.assert_array_equal(np.unique(q), np.arange(-4, 4) / 4)
    assert np.max(np.abs(audio.quantise(y, bits=16) - y)[:-1]) <= 2.0**-16 + 1e-12


def test_quantise_noise_follows_six_db_per_bit():
    t = np.arange(SR) / SR
    y = 0.99 * np.sin(2 * np.pi * 441.3 * t)
    error = audio.quantise(y, bits=8) - y
    snr = audio.dbfs(y) - audio.dbfs(error)
    assert snr == pytest.approx(6.02 * 8 + 1.76, abs=1.0)


@pytest.mark.parametrize("bits", [0, 33, 2.5, True, "8"])
def test_quantise_validates_bits(sine, bits):
    with pytest.raises(audio.AudioError, match="1 to 32"):
        audio.quantise(sine, bits=bits)


def test_to_mono_and_resample(sine):
    stereo = np.stack([sine, -sine * 0])
    np.testing.assert_allclose(audio.to_mono(stereo), sine / 2)
    with pytest.raises(audio.AudioError, match="y.T"):
        audio.to_mono(stereo.T)
    assert audio.resample(sine, orig_sr=SR, target_sr=8000).shape == (8000,)
    assert audio.resample(stereo, orig_sr=SR, target_sr=32000).shape == (2, 32000)


# --- players --------------------------------------------------------------------------------


def _decode_players(markup: str) -> list[tuple[np.ndarray, int]]:
    """Return the (samples, rate) of every embedded WAV data URI in ``markup``."""
    uris = re.findall(r'src="data:audio/wav;base64,([A-Za-z0-9+/=]+)"', markup)
    return [sf.read(io.BytesIO(base64.b64decode(uri))) for uri in uris]


class _TagBalance(HTMLParser):
    """Count open minus closed tags, to check the player HTML is well formed."""

    def __init__(self) -> None:
        super().__init__()
        self.depth: dict[str, int] = {}

    def handle_starttag(self, tag, attrs):
        self.depth[tag] = self.depth.get(tag, 0) + 1

    def handle_endtag(self, tag):
        self.depth[tag] = self.depth.get(tag, 0) - 1


@pytest.mark.parametrize(("sr", "expected_sr"), [(4000, 8000), (16000, 16000), (48000, 22050)])
def test_player_embeds_short_normalised_wav(sr, expected_sr):
    t = np.arange(8 * sr) / sr
    y = 0.1 * np.sin(2 * np.pi * 300 * t)
    markup = audio.player(np.stack([y, y]), sr, max_seconds=2.0)._repr_html_()
    assert markup.startswith('<audio controls preload="metadata" src="data:audio/wav;base64,')
    [(clip, rate)] = _decode_players(markup)
    assert rate == expected_sr and clip.ndim == 1
    assert len(clip) == pytest.approx(2.0 * expected_sr, abs=2)
    assert audio.peak_dbfs(clip) == pytest.approx(-1.0, abs=0.05)


def test_player_caption_is_escaped_and_html_is_small(sine):
    markup = audio.player(sine, SR, title="fan <id_00>")._repr_html_()
    assert "<figcaption>fan &lt;id_00&gt;</figcaption>" in markup
    parser = _TagBalance()
    parser.feed(markup)
    assert all(count == 0 for count in parser.depth.values())
    assert len(markup) < 50_000


def test_player_plays_silence_without_error():
    [(clip, _)] = _decode_players(audio.player(np.zeros(800), 8000)._repr_html_())
    assert np.all(clip == 0)


def test_players_wrap_captioned_clips_with_the_title_above(sine):
    markup = audio.players({"clean": sine, "noisy": sine + 0.01}, SR).data
    assert "flex-wrap:wrap" in markup and "<table" not in markup
    assert markup.count('class="course-player"') == 2
    caption, player = markup.index("<figcaption>clean</figcaption>"), markup.index("<audio")
    assert caption < player and "noisy" in markup
    assert len(_decode_players(markup)) == 2
    with pytest.raises(audio.AudioError, match="empty"):
        audio.players({}, SR)


@pytest.mark.parametrize("subtype,bits", [("PCM_16", 16), ("PCM_24", 24)])
def test_wav_and_flac_store_the_same_rounded_samples(tmp_path, subtype, bits):
    y = (0.8 * np.sin(np.linspace(0, 300, 4000)) + 1e-5).astype(np.float32)
    wav = audio.save(tmp_path / "x.wav", y, 16000, subtype=subtype)
    flac = audio.save(tmp_path / "x.flac", y, 16000, subtype=subtype)
    from_wav, _ = audio.load(wav)
    from_flac, _ = audio.load(flac)
    np.testing.assert_array_equal(from_wav, from_flac)
    np.testing.assert_allclose(from_wav, audio.quantise(y, bits=bits), atol=1e-7)


def test_load_picks_one_channel_of_a_microphone_array(tmp_path):
    # MIMII files hold 8 microphones (WAVE_FORMAT_EXTENSIBLE); its baseline uses channel 0
    rng = np.random.default_rng(3)
    array = 0.1 * rng.standard_normal((800, 8)).astype(np.float32)
    path = tmp_path / "array.wav"
    sf.write(path, array, SR, format="WAVEX", subtype="FLOAT")
    first, _ = audio.load(path, channel=0)
    last, _ = audio.load(path, channel=7)
    mixed, _ = audio.load(path)
    np.testing.assert_array_equal(first, array[:, 0])
    np.testing.assert_array_equal(last, array[:, 7])
    np.testing.assert_allclose(mixed, array.mean(axis=1), atol=1e-7)
    assert audio.load(path, channel=3, mono=False)[0].shape == (800,)  # channel wins
    with pytest.raises(audio.AudioError, match="from 0 to 7"):
        audio.load(path, channel=8)
