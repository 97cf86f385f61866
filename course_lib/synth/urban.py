"""Urban sounds of the toy simulator: the ten UrbanSound8K classes (introduced in chapter 03).

Each class is a small parametric generator whose parameters (pitch, rate, timbre, rhythm...)
are drawn at random, so classes overlap the way real ones do: drilling, jackhammer, engine
idling and air conditioner are all noisy and periodic; siren, car horn and street music are
all harmonic tones. All generators draw their parameters first and then render, so one seed
describes one "source recording" (the same dog, the same siren) however long it is.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course_lib.synth import dsp
from course_lib.synth.noise import scale_to_snr, street_noise
from course_lib.synth.seeds import derive_seed, rng_for
from course_lib.synth.validation import check_choice, check_duration, check_sample_rate, check_snr

#: The ten UrbanSound8K classes; the class ID is the index (UrbanSound8K order).
URBAN_CLASSES: tuple[str, ...] = (
    "air_conditioner", "car_horn", "children_playing", "dog_bark", "drilling",
    "engine_idling", "gun_shot", "jackhammer", "siren", "street_music",
)
#: Peak level the mixtures are limited to.
PEAK_LIMIT = 0.98


def _gate(n: int, sr: int, starts: np.ndarray, lengths: np.ndarray, ramp_s: float) -> np.ndarray:
    """Return a 0..1 envelope that is on during ``[start, start + length)`` with soft ramps."""
    t = dsp.times(n, sr)
    out = np.zeros(n)
    for start, length in zip(starts, lengths, strict=True):
        on = np.clip(np.minimum(t - start, start + length - t) / ramp_s, 0, 1)
        out = np.maximum(out, on)
    return out


def _add_at(out: np.ndarray, start_s: float, segment: np.ndarray, sr: int) -> None:
    """Add ``segment`` into ``out`` starting at ``start_s`` seconds (cropped at the end)."""
    start = round(start_s * sr)
    if 0 <= start < out.size:
        stop = min(out.size, start + segment.size)
        out[start:stop] += segment[: stop - start]


def _events(rng: np.random.Generator, duration: float, gap: tuple[float, float],
            length: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Return event start times and lengths (s): events separated by random gaps."""
    starts, lengths = [], []
    at = rng.uniform(0.0, min(gap[0] + 0.2, duration / 2))  # the first event is always heard
    while at < duration:
        size = rng.uniform(*length)
        starts.append(at)
        lengths.append(size)
        at += size + rng.uniform(*gap)
    return np.array(starts), np.array(lengths)


def air_conditioner(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Return an air conditioner: steady broadband fan noise over compressor and fan hum."""
    hum_f0 = rng.uniform(45.0, 130.0)
    hum = dsp.harmonic_tone(dsp.phase_of(hum_f0, n, sr, rng.uniform(0, 6.3)),
                            rng.uniform(0.2, 1.0, 6) / np.arange(1, 7), f0_max=hum_f0, sr=sr)
    noise = dsp.coloured_noise(rng, n, exponent=rng.uniform(0.4, 1.6))
    noise = dsp.unit_rms(dsp.band_limit(noise, sr, low=40.0, high=rng.uniform(800.0, 5000.0)))
    blade = 1 + rng.uniform(0.0, 0.3) * np.sin(dsp.phase_of(rng.uniform(20.0, 90.0), n, sr))
    return noise * blade + rng.uniform(0.1, 1.2) * dsp.unit_rms(hum)


def car_horn(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Return car horn honks: one or two bright harmonic tones, on for a fraction of a second."""
    f1 = rng.uniform(330.0, 560.0)
    pitches = [f1, f1 * rng.uniform(1.15, 1.3)] if rng.random() < 0.6 else [f1]
    amps = np.arange(1, 16, dtype=float) ** -rng.uniform(0.6, 1.3)
    tone = np.zeros(n)
    for f0 in pitches:
        drift = f0 * (1 + 0.01 * dsp.slow_wander(rng, n, sr, rate_hz=0.5))
        tone += dsp.harmonic_tone(dsp.phase_of(drift, n, sr), amps, f0_max=1.05 * f0, sr=sr)
    tone += 0.5 * dsp.resonate(tone, sr, freq=rng.uniform(1500.0, 3000.0), bandwidth=400.0)
    starts, lengths = _events(rng, n / sr, gap=(0.15, 1.0), length=(0.15, 1.2))
    return tone * _gate(n, sr, starts, lengths, 0.015)


def _voice(rng: np.random.Generator, n: int, sr: int, f0: float) -> np.ndarray:
    """Return one child's babble: voiced syllables with gliding pitch and vowel formants."""
    out = np.zeros(n)
    starts, lengths = _events(rng, n / sr, gap=(0.05, 0.8), length=(0.08, 0.45))
    for start, length in zip(starts, lengths, strict=True):
        m = dsp.n_samples(length, sr)
        pitch = f0 * rng.uniform(0.85, 1.2) * np.linspace(1.0, rng.uniform(0.8, 1.25), m)
        syllable = dsp.harmonic_tone(dsp.phase_of(pitch, m, sr), np.arange(1, 13) ** -1.0,
                                     f0_max=float(pitch.max()), sr=sr)
        _add_at(out, start, syllable * np.sin(np.pi * np.arange(m) / m) ** 0.5, sr)
    formants = (rng.uniform(400.0, 1000.0), rng.uniform(1200.0, 2800.0))
    voiced = out + dsp.modes(out, sr, formants, (120.0, 200.0), (4.0, 3.0))
    return dsp.unit_rms(voiced) * rng.uniform(0.3, 1.0)


def children_playing(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Return children playing: several high-pitched voices chattering and shouting at once."""
    out = np.zeros(n)
    for _ in range(rng.integers(2, 6)):
        out += _voice(rng, n, sr, rng.uniform(220.0, 480.0))
    crowd = dsp.band_noise(rng, n, sr, low=300.0, high=4000.0)
    return out + rng.uniform(0.05, 0.4) * crowd


def dog_bark(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Return a dog barking in bouts: short, harsh, falling harmonic bursts (size sets pitch)."""
    f0 = rng.uniform(250.0, 900.0)
    formant = rng.uniform(600.0, 2500.0)
    harshness = rng.uniform(0.2, 0.8)
    out = np.zeros(n)
    bouts, _ = _events(rng, n / sr, gap=(0.3, 0.9), length=(0.0, 0.0))
    for bout in bouts:
        for at in bout + np.cumsum(np.r_[0.0, rng.uniform(0.12, 0.4, rng.integers(0, 4))]):
            m = dsp.n_samples(rng.uniform(0.08, 0.3), sr)
            pitch = f0 * np.linspace(1.2, 0.8, m)
            voiced = dsp.harmonic_tone(dsp.phase_of(pitch, m, sr), np.arange(1, 12) ** -0.8,
                                       f0_max=1.2 * f0, sr=sr)
            shape = np.sin(np.pi * np.arange(m) / m) ** 0.5
            bark = shape * (voiced + harshness * rng.standard_normal(m))
            _add_at(out, at, bark * rng.uniform(0.6, 1.0), sr)
    return out + 3 * dsp.resonate(out, sr, freq=formant, bandwidth=300.0)


def drilling(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Return a power drill: a motor whine and the screech of the bit, started and stopped."""
    f0 = rng.uniform(100.0, 900.0)
    starts, lengths = _events(rng, n / sr, gap=(0.1, 0.8), length=(0.8, 3.5))
    gate = _gate(n, sr, starts, lengths, rng.uniform(0.05, 0.3))
    speed = f0 * (0.7 + 0.3 * gate) * (1 + 0.02 * dsp.slow_wander(rng, n, sr, rate_hz=2.0))
    whine = dsp.harmonic_tone(dsp.phase_of(speed, n, sr), rng.uniform(0.2, 1.0, 8),
                              f0_max=1.1 * f0, sr=sr)
    screech = dsp.band_noise(rng, n, sr, low=rng.uniform(1500.0, 3000.0),
                             high=rng.uniform(5000.0, 9000.0))
    chatter = 1 + 0.5 * np.sin(dsp.phase_of(speed / rng.integers(2, 6), n, sr))
    return gate * (dsp.unit_rms(whine) + rng.uniform(0.0, 1.5) * screech * chatter)


def engine_idling(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Return an idling engine: low firing pulses at rpm/60 * cylinders/2 with exhaust rumble."""
    firing = rng.uniform(600.0, 1100.0) / 60 * rng.choice([2, 3, 4])
    rate = firing * (1 + 0.015 * dsp.slow_wander(rng, n, sr, rate_hz=1.0))
    phase = dsp.phase_of(rate, n, sr)
    pulses = dsp.harmonic_tone(phase, rng.uniform(0.3, 1.0, 12) / np.arange(1, 13) ** 0.7,
                               f0_max=1.05 * firing, sr=sr)
    rumble = dsp.band_noise(rng, n, sr, low=30.0, high=rng.uniform(300.0, 1500.0))
    rumble *= 1 + 0.6 * np.sin(phase)
    body = dsp.resonate(pulses, sr, freq=rng.uniform(100.0, 400.0), bandwidth=80.0)
    return dsp.unit_rms(pulses + 3 * body) + rng.uniform(0.3, 1.2) * rumble


def gun_shot(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Return gun shots: a sharp broadband crack, a low boom and a long echoing tail."""
    out = np.zeros(n)
    starts, _ = _events(rng, n / sr, gap=(0.15, 1.0), length=(0.0, 0.0))
    crack_tau, tail_tau = rng.uniform(0.005, 0.04), rng.uniform(0.1, 0.6)
    boom_hz, tail_hz = rng.uniform(60.0, 220.0), rng.uniform(1500.0, 5000.0)
    m = dsp.n_samples(6 * tail_tau, sr)
    since = dsp.times(m, sr)
    kick = dsp.impulses(m, sr, np.array([0.0]))
    boom = 40 * dsp.resonate(kick, sr, freq=boom_hz, bandwidth=30.0)
    for at in starts:
        crack = rng.standard_normal(m) * np.exp(-since / crack_tau)
        tail = dsp.band_limit(rng.standard_normal(m), sr, high=tail_hz) * np.exp(-since / tail_tau)
        _add_at(out, at, rng.uniform(0.5, 1.0) * (crack + 0.2 * tail + boom), sr)
    return out


def jackhammer(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Return a jackhammer: rapid metallic impacts (12-30 per second), exhaust hiss, pauses."""
    rate = rng.uniform(12.0, 30.0)
    starts, lengths = _events(rng, n / sr, gap=(0.2, 1.0), length=(0.6, 3.0))
    gate = _gate(n, sr, starts, lengths, 0.02)
    at = np.arange(0.0, n / sr, 1 / rate) + 0.004 * rng.standard_normal(int(n / sr * rate) + 1)
    index = np.clip(np.round(at * sr).astype(int), 0, n - 1)
    kicks = dsp.impulses(n, sr, at, gate[index] * rng.uniform(0.6, 1.0, at.size))
    freqs = tuple(rng.uniform(700.0, 4500.0, 3))
    hits = dsp.modes(kicks, sr, freqs, tuple(rng.uniform(150.0, 600.0, 3)), (1.0, 0.7, 0.5))
    thud = dsp.resonate(kicks, sr, freq=rng.uniform(80.0, 250.0), bandwidth=60.0)
    hiss = dsp.band_noise(rng, n, sr, low=1000.0, high=6000.0) * gate
    return dsp.unit_rms(hits + 0.5 * thud) + rng.uniform(0.1, 0.6) * hiss


def siren(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Return an emergency siren: a wail, a yelp or a two-tone hi-lo, with distance changes."""
    low, high = rng.uniform(450.0, 800.0), rng.uniform(1000.0, 1700.0)
    t = dsp.times(n, sr)
    kind = rng.choice(["wail", "yelp", "hi-lo"])
    if kind == "hi-lo":
        step = rng.uniform(0.3, 0.8)
        pitch = np.where(np.mod(t / step, 2) < 1, high, low)
    else:
        rate = rng.uniform(0.12, 0.5) if kind == "wail" else rng.uniform(2.0, 5.0)
        pitch = low + (high - low) * 0.5 * (1 - np.cos(2 * np.pi * rate * t + rng.uniform(0, 6.3)))
    amps = np.arange(1, 10, dtype=float) ** -rng.uniform(0.8, 2.0)
    tone = dsp.harmonic_tone(dsp.phase_of(pitch, n, sr), amps, f0_max=high, sr=sr)
    distance = np.exp(0.5 * dsp.slow_wander(rng, n, sr, rate_hz=0.2))
    return tone * distance


def street_music(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Return street music: a melody on a harmonic instrument, sometimes with a drum beat."""
    tonic = rng.uniform(110.0, 440.0)
    scale = np.array([0, 2, 4, 7, 9, 12, 14, 16])
    beat = 60.0 / rng.uniform(70.0, 160.0)
    amps = np.arange(1, 13, dtype=float) ** -rng.uniform(0.7, 2.0)
    plucked = rng.random() < 0.5
    out = np.zeros(n)
    at = 0.0
    while at < n / sr:
        length = beat * rng.choice([0.5, 1.0, 1.0, 2.0])
        f0 = tonic * 2 ** (rng.choice(scale) / 12)
        m = dsp.n_samples(length, sr)
        since = dsp.times(m, sr)
        shape = np.exp(-since / (0.3 * length)) if plucked else np.minimum(since / 0.03, 1.0)
        note = dsp.harmonic_tone(dsp.phase_of(f0, m, sr), amps, f0_max=f0, sr=sr)
        _add_at(out, at, shape * note, sr)
        at += length
    if rng.random() < 0.5:
        kicks = dsp.impulses(n, sr, np.arange(0.0, n / sr, beat))
        out += 30 * dsp.resonate(kicks, sr, freq=rng.uniform(60.0, 120.0), bandwidth=25.0)
    return out


GENERATORS: dict[str, Callable[[np.random.Generator, int, int], np.ndarray]] = {
    "air_conditioner": air_conditioner, "car_horn": car_horn,
    "children_playing": children_playing, "dog_bark": dog_bark, "drilling": drilling,
    "engine_idling": engine_idling, "gun_shot": gun_shot, "jackhammer": jackhammer,
    "siren": siren, "street_music": street_music,
}


def urban_sound(label: str, *, duration: float = 4.0, sr: int = 22050, seed: int = 0,
                snr_db: float | None = 20.0) -> np.ndarray:
    """Return one float32 toy urban clip of class ``label`` over street noise (chapter 03).

    Args:
        label: one of :data:`URBAN_CLASSES`.
        duration: clip length in seconds.
        sr: sample rate in Hz (>= 8000; UrbanSound8K-style data uses 22050).
        seed: the source's seed; it fixes the sound's parameters (the same dog, the same
            siren) and the street. The toy dataset cuts several slices from one such clip.
        snr_db: foreground-to-street-noise ratio in dB (foreground sounds are loud, background
            ones quiet); ``None`` = no street noise.

    Raises:
        ValueError: unknown class or an out-of-range number.
    """
    label = check_choice("urban class", label, URBAN_CLASSES)
    sr = check_sample_rate(sr)
    n = dsp.n_samples(check_duration(duration), sr)
    snr_db = check_snr(snr_db)
    rng = rng_for(seed, "urban", label)
    sound = dsp.unit_rms(GENERATORS[label](rng, n, sr))
    sound *= dsp.db_to_gain(rng.uniform(-32.0, -20.0))
    if snr_db is not None:
        street = street_noise(duration=n / sr, sr=sr, seed=derive_seed(seed, "street"))
        sound = sound + scale_to_snr(sound, street[:n].astype(np.float64), snr_db=snr_db)
    peak = float(np.max(np.abs(sound)))
    return (sound * min(1.0, PEAK_LIMIT / peak) if peak > 0 else sound).astype(np.float32)
