"""Signal building blocks of the toy simulator: tones, noise, resonances, envelopes (chapter 03).

All functions are pure: randomness comes in through an explicit ``numpy.random.Generator``.
Frequencies are in Hz, times in seconds, and components above 0.45 * ``sr`` are dropped so
nothing aliases at low sample rates.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

#: Highest frequency any component may have, as a fraction of the sample rate.
MAX_FREQ_FRACTION = 0.45
#: Points per period of the wavetable used by :func:`harmonic_tone`.
WAVETABLE_SIZE = 4096


def n_samples(duration: float, sr: int) -> int:
    """Return the number of samples in ``duration`` seconds at ``sr`` Hz (at least 1)."""
    return max(1, round(duration * sr))


def times(n: int, sr: int) -> np.ndarray:
    """Return the sample times ``0, 1/sr, ...`` of an ``n``-sample signal in seconds."""
    return np.arange(n) / sr


def rms(x: np.ndarray) -> float:
    """Return the root-mean-square value of ``x`` (0.0 for silence)."""
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def unit_rms(x: np.ndarray) -> np.ndarray:
    """Return ``x`` scaled to RMS 1 (silence is returned unchanged)."""
    level = rms(x)
    return x / level if level > 0 else x


def slow_wander(rng: np.random.Generator, n: int, sr: int, *, rate_hz: float) -> np.ndarray:
    """Return a smooth random curve (zero mean, unit variance) fluctuating at about ``rate_hz``.

    White noise is low-pass filtered in the frequency domain with a Gaussian taper of width
    ``rate_hz``, computed at a coarse control rate (40 points per ``1 / rate_hz``) over twice
    the length (so the curve does not wrap around) and interpolated to ``n`` samples. Use it
    for speed drift, load changes and other slow fluctuations.
    """
    control_sr = min(float(sr), 40.0 * rate_hz)
    m = 2 * (int(n * control_sr / sr) + 2)
    freqs = np.fft.rfftfreq(m, d=1 / control_sr)
    weights = np.exp(-0.5 * (freqs / rate_hz) ** 2)
    weights[0] = 0.0
    spectrum = weights * (rng.standard_normal(freqs.size) + 1j * rng.standard_normal(freqs.size))
    curve = np.fft.irfft(spectrum, n=m) * m / (2 * np.sqrt(np.sum(weights**2)))
    return np.interp(np.arange(n) * (control_sr / sr), np.arange(m), curve)


def phase_of(frequency: np.ndarray | float, n: int, sr: int, phase0: float = 0.0) -> np.ndarray:
    """Return the instantaneous phase (radians) of a tone following ``frequency`` (Hz)."""
    freq = np.broadcast_to(np.asarray(frequency, dtype=np.float64), (n,))
    return phase0 + 2 * np.pi * np.cumsum(freq) / sr


def harmonic_tone(
    phase: np.ndarray, amplitudes: np.ndarray, *, f0_max: float, sr: int,
    phases: np.ndarray | None = None,
) -> np.ndarray:
    """Return the sum of harmonics ``a_k sin(k * phase + phi_k)``, k = 1, 2, ...

    Harmonics whose frequency could exceed 0.45 * ``sr`` (given the highest fundamental
    ``f0_max``) are skipped. One period of the waveform is tabulated once and read out along
    ``phase`` with linear interpolation (a wavetable oscillator), so the cost does not grow
    with the number of harmonics.
    """
    offsets = np.zeros(len(amplitudes)) if phases is None else np.asarray(phases)
    keep = np.arange(1, len(amplitudes) + 1) * f0_max < MAX_FREQ_FRACTION * sr
    grid = np.linspace(0.0, 2 * np.pi, WAVETABLE_SIZE + 1)
    orders = np.arange(1, len(amplitudes) + 1)[keep]
    table = np.sin(np.outer(grid, orders) + offsets[keep]) @ np.asarray(amplitudes)[keep]
    position = np.mod(phase / (2 * np.pi), 1.0) * WAVETABLE_SIZE
    index = np.minimum(position.astype(np.int64), WAVETABLE_SIZE - 1)
    fraction = position - index
    return table[index] * (1 - fraction) + table[index + 1] * fraction


def coloured_noise(rng: np.random.Generator, n: int, *, exponent: float) -> np.ndarray:
    """Return unit-RMS noise whose power spectrum falls as ``1 / f**exponent``.

    ``exponent`` 0 is white, 1 pink, 2 brown (red) noise.
    """
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n)
    freqs[0] = freqs[1] if n > 1 else 1.0
    shaped = np.fft.irfft(spectrum * freqs ** (-exponent / 2), n=n)
    return unit_rms(shaped - shaped.mean())


def unit_peak(x: np.ndarray) -> np.ndarray:
    """Return ``x`` scaled to peak amplitude 1 (silence is returned unchanged)."""
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    return x / peak if peak > 0 else x


def band_limit(x: np.ndarray, sr: int, *, low: float | None = None, high: float | None = None,
               order: int = 2) -> np.ndarray:
    """Return ``x`` Butterworth-filtered to the band ``[low, high]`` Hz (either may be None)."""
    top = MAX_FREQ_FRACTION * sr
    high = None if high is None or high >= top else high
    if low is not None and high is not None:
        sos = signal.butter(order, [low, high], btype="bandpass", fs=sr, output="sos")
    elif low is not None:
        sos = signal.butter(order, min(low, 0.9 * top), btype="highpass", fs=sr, output="sos")
    elif high is not None:
        sos = signal.butter(order, high, btype="lowpass", fs=sr, output="sos")
    else:
        return x.copy()
    return signal.sosfilt(sos, x)


def band_noise(rng: np.random.Generator, n: int, sr: int, *, low: float | None = None,
               high: float | None = None, order: int = 2) -> np.ndarray:
    """Return unit-RMS white noise band-limited to ``[low, high]`` Hz."""
    return unit_rms(band_limit(rng.standard_normal(n), sr, low=low, high=high, order=order))


def resonate(x: np.ndarray, sr: int, *, freq: float, bandwidth: float) -> np.ndarray:
    """Return ``x`` passed through a two-pole resonator (a ringing mode) at ``freq`` Hz.

    The gain at the resonance is about 1; ``bandwidth`` (Hz) sets how fast it rings down
    (decay time constant about ``1 / (pi * bandwidth)`` seconds). Modes above 0.45 * ``sr``
    return silence.
    """
    if freq >= MAX_FREQ_FRACTION * sr:
        return np.zeros_like(x)
    radius = np.exp(-np.pi * bandwidth / sr)
    theta = 2 * np.pi * freq / sr
    gain = (1 - radius) * np.sqrt(1 - 2 * radius * np.cos(2 * theta) + radius**2)
    return signal.lfilter([gain], [1.0, -2 * radius * np.cos(theta), radius**2], x)


def impulses(n: int, sr: int, at: np.ndarray, amplitudes: np.ndarray | float = 1.0) -> np.ndarray:
    """Return an ``n``-sample signal of unit spikes at times ``at`` (s) scaled by ``amplitudes``.

    Spikes falling outside the signal are dropped; coinciding spikes add up.
    """
    out = np.zeros(n)
    index = np.round(np.asarray(at, dtype=np.float64) * sr).astype(int)
    weights = np.broadcast_to(np.asarray(amplitudes, dtype=np.float64), index.shape)
    inside = (index >= 0) & (index < n)
    np.add.at(out, index[inside], weights[inside])
    return out


def modes(x: np.ndarray, sr: int, freqs: tuple[float, ...], bandwidths: tuple[float, ...],
          gains: tuple[float, ...]) -> np.ndarray:
    """Return ``x`` exciting several resonant modes (summed with the given gains)."""
    out = np.zeros_like(x)
    for freq, bandwidth, gain in zip(freqs, bandwidths, gains, strict=True):
        out += gain * resonate(x, sr, freq=freq, bandwidth=bandwidth)
    return out


def poisson_times(rng: np.random.Generator, duration: float, rate_hz: float) -> np.ndarray:
    """Return sorted event times (s) of a Poisson process with ``rate_hz`` events per second."""
    count = rng.poisson(max(rate_hz, 0.0) * duration)
    return np.sort(rng.uniform(0.0, duration, size=count))


def db_to_gain(db: float | np.ndarray) -> float | np.ndarray:
    """Return the amplitude factor ``10 ** (db / 20)`` of a level change in dB."""
    return 10.0 ** (np.asarray(db) / 20.0)
