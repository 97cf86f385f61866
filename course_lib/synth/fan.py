"""Toy model of an industrial fan and its faults (introduced in chapter 03).

A fan sounds like turbulent airflow (broadband noise coloured by the housing's resonances),
modulated and accompanied by the blade-pass tone: ``blades * rotation`` Hz and its harmonics.
Each machine ID has its own speed, blade count, bearing and housing; every clip drifts a little
in speed, load and level, so normal sounds form a distribution rather than a template.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from course_lib.synth import dsp


@dataclass(frozen=True)
class FanId:
    """Characteristic parameters of one fan (one machine ID)."""

    rotation_hz: float          # shaft speed (rev/s)
    blades: int                 # blade count: blade-pass frequency = blades * rotation_hz
    bearing_balls: int          # rolling elements of the bearing
    ball_ratio: float           # ball diameter / pitch diameter of the bearing
    resonances: tuple[float, float, float]  # housing modes (Hz) that colour the airflow noise
    structure_hz: float         # stiff structural mode that rings when the bearing is struck
    noise_exponent: float       # spectral slope of the airflow noise (1 = pink)
    noise_cutoff: float         # upper corner (Hz) of the airflow noise
    tone_level: float           # blade-pass tone level relative to the airflow noise
    level_db: float             # typical clip level (dBFS RMS) of a clean normal clip


IDS: dict[str, FanId] = {
    "id_00": FanId(16.6, 7, 8, 0.22, (820.0, 2100.0, 4300.0), 3300.0, 1.0, 5000.0, 0.45, -27.0),
    "id_02": FanId(24.3, 5, 9, 0.20, (1150.0, 2600.0, 5200.0), 4100.0, 0.8, 6500.0, 0.35, -25.0),
    "id_04": FanId(13.1, 11, 7, 0.25, (640.0, 1800.0, 3600.0), 2700.0, 1.2, 4000.0, 0.6, -29.0),
}


@dataclass(frozen=True)
class FanState:
    """One clip's operating state: speed track, load and tone, plus fault contributions."""

    params: FanId
    sr: int
    rotation: np.ndarray        # instantaneous rotation frequency (Hz) per sample
    rotation_phase: np.ndarray  # shaft angle (rad) per sample
    load: float                 # airflow noise level factor
    tone_amps: np.ndarray       # blade-pass harmonic amplitudes
    tone_phases: np.ndarray
    resonance_shift: float      # relative shift of the housing modes (temperature, mounting)
    modulation: np.ndarray      # multiplicative envelope per sample (1 = none)
    extras: tuple[np.ndarray, ...] = ()           # additive fault sounds


def normal_state(params: FanId, rng: np.random.Generator, n: int, sr: int) -> FanState:
    """Return the random operating state of one normal clip of the fan ``params``."""
    speed = params.rotation_hz * (1 + 0.02 * rng.standard_normal())
    rotation = speed * (1 + 0.004 * dsp.slow_wander(rng, n, sr, rate_hz=0.5))
    harmonics = np.arange(1, 9)
    return FanState(
        params=params, sr=sr, rotation=rotation,
        rotation_phase=dsp.phase_of(rotation, n, sr, rng.uniform(0, 2 * np.pi)),
        load=float(dsp.db_to_gain(rng.normal(0.0, 1.5))),
        tone_amps=harmonics**-1.3 * np.exp(0.25 * rng.standard_normal(8)),
        tone_phases=rng.uniform(0, 2 * np.pi, 8),
        resonance_shift=1 + 0.02 * rng.standard_normal(),
        modulation=np.ones(n),
    )


def render(state: FanState, rng: np.random.Generator) -> np.ndarray:
    """Return the fan sound of ``state`` (airflow noise, blade-pass tones, fault sounds)."""
    p, sr, n = state.params, state.sr, state.rotation.size
    air = dsp.band_limit(dsp.coloured_noise(rng, n, exponent=p.noise_exponent), sr,
                         low=30.0, high=p.noise_cutoff)
    freqs = tuple(f * state.resonance_shift for f in p.resonances)
    air = dsp.unit_rms(air + 6 * dsp.modes(air, sr, freqs, (180.0, 260.0, 400.0),
                                           (1.0, 0.7, 0.4)))
    blade_phase = p.blades * state.rotation_phase
    air *= 1 + 0.25 * np.sin(blade_phase)
    tones = dsp.harmonic_tone(blade_phase, p.tone_level * state.tone_amps,
                              f0_max=p.blades * state.rotation.max(), sr=sr,
                              phases=state.tone_phases)
    y = (state.load * air + tones + 0.05 * np.sin(state.rotation_phase)) * state.modulation
    return y + sum(state.extras, np.zeros(n))


def imbalance(state: FanState, severity: float, rng: np.random.Generator) -> FanState:
    """Return the state with rotor imbalance.

    A heavy spot on the rotor creates a centrifugal force turning with the shaft: the housing
    shakes once per revolution (a strong 1x component) and the radiated sound is
    amplitude-modulated at the rotation frequency, so sidebands appear around every tone.
    """
    angle = state.rotation_phase + rng.uniform(0, 2 * np.pi)
    modulation = state.modulation * (1 + 0.5 * severity * np.sin(angle))
    shake = 0.5 * severity * dsp.unit_rms(np.sin(angle) + 0.4 * np.sin(2 * angle + 1.0))
    return replace(state, modulation=modulation, extras=(*state.extras, shake))


def bearing(state: FanState, severity: float, rng: np.random.Generator) -> FanState:
    """Return the state with an outer-race bearing defect.

    Each rolling element that passes a spall on the outer race strikes it, at the ball-pass
    frequency ``BPFO = balls / 2 * (1 - d/D) * rotation``. Every strike rings the stiff
    structure at a high resonance; slip and a changing lubricant film make the strike
    spacing jitter and the rattling come and go.
    """
    p, sr, n = state.params, state.sr, state.rotation.size
    bpfo = p.bearing_balls / 2 * (1 - p.ball_ratio) * float(np.mean(state.rotation))
    count = int(n / sr * bpfo) + 2
    gaps = (1 + 0.02 * rng.standard_normal(count)) / bpfo
    strikes = np.cumsum(gaps) - rng.uniform(0, 1 / bpfo)
    intermittency = np.clip(0.6 + 0.7 * dsp.slow_wander(rng, n, sr, rate_hz=3.0), 0, None)
    at = np.round(strikes * sr).astype(int).clip(0, n - 1)
    kicks = dsp.impulses(n, sr, strikes, intermittency[at] * rng.uniform(0.6, 1.0, count))
    ring = dsp.modes(kicks, sr, (p.structure_hz, 1.6 * p.structure_hz), (250.0, 400.0),
                     (1.0, 0.5))
    return replace(state, extras=(*state.extras, 0.35 * severity * dsp.unit_rms(ring)))


def blade_damage(state: FanState, severity: float, rng: np.random.Generator) -> FanState:
    """Return the state with one damaged blade.

    A chipped or bent blade pushes the air differently from its neighbours, so the blade-pass
    pattern only repeats once per revolution: energy appears at every multiple of the rotation
    frequency (sub-harmonics of the blade-pass tone), and the damaged blade sheds an irregular
    turbulent puff each time it passes.
    """
    p, sr, n = state.params, state.sr, state.rotation.size
    orders = np.arange(1, 3 * p.blades + 1)
    amps = np.where(orders % p.blades == 0, 0.0, 0.12 * np.exp(-orders / (2 * p.blades)))
    subharmonics = dsp.harmonic_tone(state.rotation_phase, amps, f0_max=state.rotation.max(),
                                     sr=sr, phases=rng.uniform(0, 2 * np.pi, orders.size))
    passing = np.exp(8 * (np.cos(state.rotation_phase - rng.uniform(0, 2 * np.pi)) - 1))
    per_rev = np.exp(0.8 * rng.standard_normal(int(n / sr * p.rotation_hz * 1.2) + 2))
    revolution = (state.rotation_phase - state.rotation_phase[0]) // (2 * np.pi)
    strength = per_rev[np.clip(revolution.astype(int), 0, per_rev.size - 1)]
    puffs = dsp.band_noise(rng, n, sr, low=300.0, high=3000.0) * passing * strength
    sound = 0.25 * dsp.unit_rms(subharmonics) + 0.35 * dsp.unit_rms(puffs)
    return replace(state, extras=(*state.extras, severity * sound))


FAULTS = {"imbalance": imbalance, "bearing": bearing, "blade_damage": blade_damage}
