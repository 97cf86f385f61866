"""Toy model of a centrifugal pump and its faults (introduced in chapter 03).

A pump sounds like its electric motor (magnetic hum at twice the mains frequency), the
vane-pass tone of the impeller (``vanes * shaft speed`` Hz and harmonics) and low-frequency
flow noise that swells and fades with turbulence. Each machine ID has its own speed, vane
count, mains frequency and casing; every clip varies in speed, flow and level.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from course_lib.synth import dsp


@dataclass(frozen=True)
class PumpId:
    """Characteristic parameters of one pump (one machine ID)."""

    shaft_hz: float             # shaft speed (rev/s)
    vanes: int                  # impeller vanes: vane-pass frequency = vanes * shaft_hz
    mains_hz: float             # supply frequency; the motor hums at 2 * mains_hz
    flow_cutoff: float          # upper corner (Hz) of the flow noise
    casing: tuple[float, float]  # casing modes (Hz) excited by the flow
    tone_level: float           # vane-pass tone level relative to the flow noise
    level_db: float             # typical clip level (dBFS RMS) of a clean normal clip


IDS: dict[str, PumpId] = {
    "id_00": PumpId(24.4, 6, 50.0, 1200.0, (680.0, 1900.0), 0.5, -26.0),
    "id_02": PumpId(29.2, 5, 60.0, 1800.0, (900.0, 2500.0), 0.4, -28.0),
    "id_04": PumpId(48.6, 7, 50.0, 900.0, (520.0, 1500.0), 0.6, -24.0),
}


@dataclass(frozen=True)
class PumpState:
    """One clip's operating state: speed, tones and flow, plus fault contributions."""

    params: PumpId
    sr: int
    shaft: np.ndarray           # instantaneous shaft frequency (Hz) per sample
    shaft_phase: np.ndarray     # shaft angle (rad) per sample
    vane_amps: np.ndarray       # vane-pass harmonic amplitudes
    shaft_amps: np.ndarray      # 1x, 2x shaft harmonic amplitudes
    hum_amps: np.ndarray        # motor hum harmonics of 2 * mains
    flow: np.ndarray            # flow-noise level per sample (turbulence swells)
    extras: tuple[np.ndarray, ...] = ()


def normal_state(params: PumpId, rng: np.random.Generator, n: int, sr: int) -> PumpState:
    """Return the random operating state of one normal clip of the pump ``params``."""
    speed = params.shaft_hz * (1 + 0.01 * rng.standard_normal())
    shaft = speed * (1 + 0.002 * dsp.slow_wander(rng, n, sr, rate_hz=0.5))
    load = float(dsp.db_to_gain(rng.normal(0.0, 1.5)))
    swell = 1 + 0.2 * np.tanh(dsp.slow_wander(rng, n, sr, rate_hz=rng.uniform(1.0, 3.0)))
    return PumpState(
        params=params, sr=sr, shaft=shaft,
        shaft_phase=dsp.phase_of(shaft, n, sr, rng.uniform(0, 2 * np.pi)),
        vane_amps=np.array([1.0, 0.5, 0.3, 0.15, 0.08, 0.04]) * np.exp(
            0.2 * rng.standard_normal(6)),
        shaft_amps=np.array([0.08, 0.04]) * np.exp(0.3 * rng.standard_normal(2)),
        hum_amps=np.array([0.3, 0.12, 0.06]) * np.exp(0.3 * rng.standard_normal(3)),
        flow=load * swell,
    )


def render(state: PumpState, rng: np.random.Generator) -> np.ndarray:
    """Return the pump sound of ``state`` (motor hum, vane-pass tones, flow noise, faults)."""
    p, sr, n = state.params, state.sr, state.shaft.size
    flow = dsp.band_limit(dsp.coloured_noise(rng, n, exponent=0.7), sr, low=20.0,
                          high=p.flow_cutoff)
    flow = dsp.unit_rms(flow + 5 * dsp.modes(flow, sr, p.casing, (120.0, 200.0), (1.0, 0.6)))
    vane_phase = p.vanes * state.shaft_phase
    top = float(state.shaft.max())
    tones = p.tone_level * dsp.harmonic_tone(vane_phase, state.vane_amps,
                                             f0_max=p.vanes * top, sr=sr)
    tones += dsp.harmonic_tone(state.shaft_phase, state.shaft_amps, f0_max=top, sr=sr)
    hum_phase = dsp.phase_of(2 * p.mains_hz, n, sr, rng.uniform(0, 2 * np.pi))
    tones += dsp.harmonic_tone(hum_phase, state.hum_amps, f0_max=2 * p.mains_hz, sr=sr)
    return state.flow * flow + tones + sum(state.extras, np.zeros(n))


def cavitation(state: PumpState, severity: float, rng: np.random.Generator) -> PumpState:
    """Return the state with cavitation.

    Where the pressure at the impeller eye drops below the vapour pressure, vapour bubbles
    form and then collapse violently downstream. Each collapse is a tiny shock wave: the pump
    crackles with random, short, broadband bursts strongest at high frequencies, arriving in
    clouds, on top of a raised high-frequency noise floor.
    """
    sr, n = state.sr, state.shaft.size
    clouds = np.clip(dsp.slow_wander(rng, n, sr, rate_hz=4.0) + 0.3, 0, None)
    at = dsp.poisson_times(rng, n / sr, 300.0)
    index = np.clip(np.round(at * sr).astype(int), 0, n - 1)
    kicks = dsp.impulses(n, sr, at, clouds[index] * rng.exponential(1.0, at.size))
    crackle = dsp.modes(kicks, sr, (2600.0, 4200.0, 5800.0), (600.0, 900.0, 1200.0),
                        (1.0, 1.0, 0.8))
    floor = dsp.band_noise(rng, n, sr, low=2500.0, high=7000.0)
    sound = 0.35 * dsp.unit_rms(crackle) + 0.05 * floor
    return replace(state, extras=(*state.extras, severity * sound))


def impeller_wear(state: PumpState, severity: float, rng: np.random.Generator) -> PumpState:
    """Return the state with a worn impeller.

    Eroded vane tips widen the gap to the casing: the vane-pass fundamental weakens while its
    higher harmonics grow (less regular pressure pulses), the worn rotor is hydraulically
    unbalanced (stronger 1x and 2x), and flow recirculation makes the flow noise surge.
    """
    sr, n = state.sr, state.shaft.size
    reshape = np.array([1 - 0.5 * severity, 1.0, *(1 + 1.5 * severity * np.ones(4))])
    surge = 1 + 0.9 * severity * np.tanh(dsp.slow_wander(rng, n, sr, rate_hz=1.5))
    return replace(state, vane_amps=state.vane_amps * reshape,
                   shaft_amps=state.shaft_amps * (1 + 5 * severity), flow=state.flow * surge)


def air_leak(state: PumpState, severity: float, rng: np.random.Generator) -> PumpState:
    """Return the state with an air leak on the suction side.

    Air sucked in through a worn seal hisses (a broadband high-frequency jet noise) and
    travels through the pump as bubbles, which gurgle: each bubble rings briefly at its
    Minnaert resonance (a few hundred Hz for millimetre bubbles).
    """
    sr, n = state.sr, state.shaft.size
    hiss = dsp.band_noise(rng, n, sr, low=3000.0, high=7000.0)
    hiss *= 1 + 0.5 * np.tanh(dsp.slow_wander(rng, n, sr, rate_hz=2.0))
    gurgle = np.zeros(n)
    for freq in rng.uniform(250.0, 1100.0, 4):
        at = dsp.poisson_times(rng, n / sr, 8.0)
        gurgle += dsp.resonate(dsp.impulses(n, sr, at, rng.uniform(0.5, 1.0, at.size)), sr,
                               freq=freq, bandwidth=60.0)
    sound = 0.08 * hiss + 0.6 * dsp.unit_rms(gurgle)
    return replace(state, extras=(*state.extras, severity * sound))


FAULTS = {"cavitation": cavitation, "impeller_wear": impeller_wear, "air_leak": air_leak}
