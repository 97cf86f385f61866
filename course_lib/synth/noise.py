"""Background noise for the toy simulator: factory and street ambience, SNR scaling (ch. 03).

The SNR of a mixture is the ratio of the *clip-average* powers of the foreground (machine or
urban sound) and the background, in dB: ``10 * log10(P_signal / P_noise)``. MIMII mixed its
machines with factory noise at 6, 0 and -6 dB in the same way.
"""

from __future__ import annotations

import numpy as np

from course_lib.synth import dsp
from course_lib.synth.seeds import rng_for
from course_lib.synth.validation import check_duration, check_sample_rate


def scale_to_snr(signal: np.ndarray, noise: np.ndarray, *, snr_db: float) -> np.ndarray:
    """Return ``noise`` scaled so that ``signal`` over it has an SNR of ``snr_db`` dB (ch. 03).

    Both arrays must have the same length; ``signal + scale_to_snr(signal, noise, snr_db=s)``
    is the mixture. Raises ValueError if either input is silent.
    """
    signal_power = np.mean(np.square(signal, dtype=np.float64))
    noise_power = np.mean(np.square(noise, dtype=np.float64))
    if signal_power == 0 or noise_power == 0:
        raise ValueError("cannot set an SNR with a silent signal or noise; pass audible inputs.")
    return noise * np.sqrt(signal_power / (noise_power * 10.0 ** (snr_db / 10.0)))


def snr_db(signal: np.ndarray, noise: np.ndarray) -> float:
    """Return the signal-to-noise ratio ``10 log10(P_signal / P_noise)`` in dB (chapter 03)."""
    return float(10 * np.log10(np.mean(np.square(signal, dtype=np.float64))
                                / np.mean(np.square(noise, dtype=np.float64))))


def _distant_hum(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Return mains hum plus one far-away machine tone, both slowly fluctuating in level."""
    mains = rng.choice([50.0, 60.0])
    hum = dsp.harmonic_tone(dsp.phase_of(mains, n, sr, rng.uniform(0, 6.3)),
                            np.array([0.5, 1.0, 0.4, 0.25]), f0_max=mains, sr=sr,
                            phases=rng.uniform(0, 2 * np.pi, 4))
    far_f0 = rng.uniform(140.0, 420.0)
    far = dsp.harmonic_tone(dsp.phase_of(far_f0, n, sr), rng.uniform(0.2, 1.0, 5),
                            f0_max=far_f0, sr=sr, phases=rng.uniform(0, 2 * np.pi, 5))
    wobble = 1 + 0.3 * np.tanh(dsp.slow_wander(rng, n, sr, rate_hz=0.7))
    return dsp.unit_rms(hum + rng.uniform(0.3, 1.0) * far * wobble)


def _impacts(rng: np.random.Generator, n: int, sr: int, *, rate_hz: float) -> np.ndarray:
    """Return occasional metallic impacts (dropped parts, hammering), each with peak <= 1."""
    out = np.zeros(n)
    kick = dsp.impulses(dsp.n_samples(0.25, sr), sr, np.array([0.0]))  # rings < 0.25 s
    for at in dsp.poisson_times(rng, n / sr, rate_hz):
        freqs = tuple(rng.uniform(300.0, 3500.0, 3))
        ring = dsp.modes(kick, sr, freqs, tuple(rng.uniform(20.0, 80.0, 3)), (1.0, 0.6, 0.4))
        start = round(at * sr)
        stop = min(n, start + ring.size)
        out[start:stop] += rng.uniform(0.3, 1.0) * dsp.unit_peak(ring)[: stop - start]
    return out


def factory_noise(*, duration: float, sr: int, seed: int) -> np.ndarray:
    """Return float32 factory background noise with unit RMS (introduced in chapter 03).

    A mix of coloured (pink to brown) ventilation noise with a random spectral tilt, distant
    hum (mains harmonics and another machine's tone) and occasional impacts. Every seed gives a
    different factory moment, so the background varies from clip to clip as in MIMII.
    """
    sr = check_sample_rate(sr)
    n = dsp.n_samples(check_duration(duration), sr)
    rng = rng_for(seed, "factory_noise")
    hiss = dsp.coloured_noise(rng, n, exponent=rng.uniform(0.8, 1.6))
    hiss = dsp.unit_rms(dsp.band_limit(hiss, sr, low=20.0, high=rng.uniform(4000.0, 7000.0)))
    level = 1 + 0.25 * np.tanh(dsp.slow_wander(rng, n, sr, rate_hz=0.5))
    hum = _distant_hum(rng, n, sr)
    impacts = _impacts(rng, n, sr, rate_hz=rng.uniform(0.0, 1.0))
    mix = hiss * level + rng.uniform(0.2, 0.5) * hum + rng.uniform(2.0, 5.0) * impacts
    return dsp.unit_rms(mix).astype(np.float32)


def _passing_cars(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Return the swelling and fading rumble of cars passing by."""
    t = dsp.times(n, sr)
    swells = np.zeros(n)
    for centre in dsp.poisson_times(rng, n / sr + 4.0, rng.uniform(0.1, 0.6)) - 2.0:
        width = rng.uniform(0.8, 2.5)
        swells += rng.uniform(0.5, 1.5) * np.exp(-0.5 * ((t - centre) / (width / 2)) ** 2)
    return swells * dsp.band_noise(rng, n, sr, low=40.0, high=rng.uniform(600.0, 2000.0))


def street_noise(*, duration: float, sr: int, seed: int) -> np.ndarray:
    """Return float32 street background noise with unit RMS (introduced in chapter 03).

    Brownish traffic rumble, cars passing by, a babble of distant voices, wind-like hiss, a
    far-away engine or music tone and occasional knocks (doors, footsteps), mixed with random
    weights so every street sounds different.
    """
    sr = check_sample_rate(sr)
    n = dsp.n_samples(check_duration(duration), sr)
    rng = rng_for(seed, "street_noise")
    rumble = dsp.coloured_noise(rng, n, exponent=rng.uniform(1.4, 2.0))
    babble = dsp.band_noise(rng, n, sr, low=300.0, high=3000.0)
    babble *= 1 + 0.6 * np.tanh(dsp.slow_wander(rng, n, sr, rate_hz=4.0))
    hiss = dsp.band_noise(rng, n, sr, low=2000.0, high=9000.0)
    cars = dsp.unit_rms(_passing_cars(rng, n, sr))
    knocks = _impacts(rng, n, sr, rate_hz=rng.uniform(0.0, 1.5))
    mix = (rumble + rng.uniform(0.3, 1.2) * cars + rng.uniform(0.05, 0.6) * babble
           + rng.uniform(0.02, 0.3) * hiss + rng.uniform(0.5, 3.0) * knocks)
    if rng.random() < 0.5:
        mix += rng.uniform(0.1, 0.6) * _distant_hum(rng, n, sr)
    return dsp.unit_rms(mix).astype(np.float32)
