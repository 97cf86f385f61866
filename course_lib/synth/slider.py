"""Toy model of a motorised linear slide rail and its faults (introduced in chapter 03).

The carriage moves back and forth: it accelerates, travels, brakes and rests at each end.
While it moves, the drive motor whines at a pitch proportional to speed and the balls of the
carriage roll with a hiss; each stop ends with a thud. Each machine ID has its own stroke
period, speed and mechanics; every clip varies in timing, speed and level.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from course_lib.synth import dsp


@dataclass(frozen=True)
class SliderId:
    """Characteristic parameters of one slide rail (one machine ID)."""

    period_s: float             # one full cycle: out, rest, back, rest
    move_fraction: float        # fraction of each half cycle spent moving
    whine_hz: float             # motor whine fundamental at full speed
    rolling_band: tuple[float, float]  # band (Hz) of the ball-rolling noise
    stop_modes: tuple[float, float]    # modes (Hz) rung by the end stop
    level_db: float             # typical clip level (dBFS RMS) of a clean normal clip


IDS: dict[str, SliderId] = {
    "id_00": SliderId(1.2, 0.60, 520.0, (800.0, 3500.0), (310.0, 1450.0), -27.0),
    "id_02": SliderId(0.9, 0.70, 760.0, (1200.0, 4500.0), (420.0, 2100.0), -25.0),
    "id_04": SliderId(1.6, 0.50, 380.0, (600.0, 2800.0), (260.0, 1150.0), -28.0),
}


@dataclass(frozen=True)
class SliderState:
    """One clip's motion (speed and position tracks), stops and levels, plus fault sounds."""

    params: SliderId
    sr: int
    speed: np.ndarray           # carriage speed, 0..1 of full speed, per sample
    position: np.ndarray        # carriage position along the rail, 0..1, per sample
    stops: np.ndarray           # times (s) at which the carriage comes to rest
    whine_amps: np.ndarray      # motor whine harmonic amplitudes
    rolling: float              # ball-rolling noise level
    extras: tuple[np.ndarray, ...] = ()


def _motion(period: float, move_fraction: float, offset: float, n: int, sr: int,
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return speed and position tracks and stop times of a carriage moving back and forth.

    Each half cycle starts with a move whose speed rises and falls as ``sin^2`` (smooth
    acceleration and braking), followed by a rest; odd half cycles travel back.
    """
    t = dsp.times(n, sr) + offset
    half = period / 2
    move = move_fraction * half
    cycle_pos = np.mod(t, half)
    moving = cycle_pos < move
    speed = np.where(moving, np.sin(np.pi * cycle_pos / move) ** 2, 0.0)
    progress = np.where(moving, (cycle_pos / move - np.sin(2 * np.pi * cycle_pos / move)
                                 / (2 * np.pi)), 1.0)
    outbound = np.mod(np.floor(t / half), 2) == 0
    position = np.where(outbound, progress, 1 - progress)
    first = np.floor(offset / half) * half + move
    stops = np.arange(first, offset + n / sr + half, half) - offset
    return speed, position, stops[(stops >= 0) & (stops < n / sr)]


def normal_state(params: SliderId, rng: np.random.Generator, n: int, sr: int) -> SliderState:
    """Return the random operating state of one normal clip of the slide ``params``."""
    period = params.period_s * (1 + 0.03 * rng.standard_normal())
    speed, position, stops = _motion(period, params.move_fraction,
                                     rng.uniform(0, period), n, sr)
    return SliderState(
        params=params, sr=sr, speed=speed * (1 + 0.03 * rng.standard_normal()),
        position=position, stops=stops,
        whine_amps=np.array([1.0, 0.6, 0.35, 0.2, 0.1]) * np.exp(
            0.2 * rng.standard_normal(5)),
        rolling=float(dsp.db_to_gain(rng.normal(0.0, 1.5))),
    )


def render(state: SliderState, rng: np.random.Generator) -> np.ndarray:
    """Return the slider sound of ``state`` (whine, rolling hiss, stop thuds, faults)."""
    p, sr, n = state.params, state.sr, state.speed.size
    whine_phase = dsp.phase_of(p.whine_hz * state.speed, n, sr, rng.uniform(0, 2 * np.pi))
    whine = dsp.harmonic_tone(whine_phase, state.whine_amps, f0_max=1.2 * p.whine_hz, sr=sr)
    whine *= np.sqrt(state.speed)
    low, high = p.rolling_band
    rolling = state.rolling * state.speed * dsp.band_noise(rng, n, sr, low=low, high=high)
    kicks = dsp.impulses(n, sr, state.stops, rng.uniform(0.8, 1.2, state.stops.size))
    thuds = dsp.modes(kicks, sr, p.stop_modes, (40.0, 150.0), (1.0, 0.5))
    hold = 0.03 * np.sin(dsp.phase_of(2 * p.whine_hz / 3, n, sr))
    normal = 1.25 * whine + 1.5 * rolling + 150.0 * thuds + 2.5 * hold
    return normal + sum(state.extras, np.zeros(n))


def rail_damage(state: SliderState, severity: float, rng: np.random.Generator) -> SliderState:
    """Return the state with a damaged rail.

    A dent or spall on the guide rail makes the balls of the carriage drop into it whenever
    the carriage passes the same spot, so a click sounds at a fixed position of every stroke,
    in both directions, louder when the carriage passes faster.
    """
    sr, n = state.sr, state.speed.size
    spot = rng.uniform(0.2, 0.8)
    crossing = np.nonzero(np.diff(np.sign(state.position - spot)) != 0)[0]
    kicks = dsp.impulses(n, sr, crossing / sr, 0.3 + state.speed[crossing])
    clicks = dsp.modes(kicks, sr, (2900.0, 4700.0), (50.0, 80.0), (1.0, 0.6))
    return replace(state, extras=(*state.extras, 25.0 * severity * dsp.unit_peak(clicks)))


def no_lubrication(state: SliderState, severity: float, rng: np.random.Generator
                   ) -> SliderState:
    """Return the state with missing lubrication.

    Without lubricant the balls slide instead of rolling: stick-slip friction excites a squeal
    (a tone whose pitch wavers) in bursts while the carriage moves, and the broadband friction
    noise of the moving carriage grows.
    """
    sr, n = state.sr, state.speed.size
    squeal_hz = rng.uniform(1800.0, 3500.0) * (1 + 0.01 * dsp.slow_wander(rng, n, sr,
                                                                           rate_hz=6.0))
    squeal = np.sin(dsp.phase_of(squeal_hz, n, sr))
    bursts = np.clip(dsp.slow_wander(rng, n, sr, rate_hz=5.0) - 0.3, 0, None)
    friction = dsp.band_noise(rng, n, sr, low=400.0, high=6000.0)
    sound = (1.0 * dsp.unit_rms(state.speed * squeal * bursts)
             + 0.2 * dsp.unit_rms(state.speed * friction))
    return replace(state, extras=(*state.extras, severity * sound))


def belt_slip(state: SliderState, severity: float, rng: np.random.Generator) -> SliderState:
    """Return the state with a slipping drive belt.

    A worn or loose belt slips under load: the carriage speed sags and jerks irregularly, so
    the motor whine wavers and no two strokes sound alike; each slip of the teeth adds a short
    rubbing burst.
    """
    sr, n = state.sr, state.speed.size
    t = dsp.times(n, sr)
    slips = dsp.poisson_times(rng, n / sr, 6.0)
    sag = np.zeros(n)
    for at in slips:
        sag += np.exp(-0.5 * ((t - at) / rng.uniform(0.03, 0.12)) ** 2)
    speed = state.speed * (1 - 0.9 * severity * np.clip(sag, 0, 1))
    index = np.clip(np.round(slips * sr).astype(int), 0, n - 1)
    kicks = dsp.impulses(n, sr, slips, state.speed[index])
    rubs = dsp.modes(kicks, sr, (700.0, 1600.0), (200.0, 350.0), (1.0, 0.7))
    return replace(state, speed=speed, extras=(*state.extras, 3.0 * severity * dsp.unit_peak(rubs)))


FAULTS = {"rail_damage": rail_damage, "no_lubrication": no_lubrication, "belt_slip": belt_slip}
