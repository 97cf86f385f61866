"""Toy model of a solenoid valve and its faults (introduced in chapter 03).

A solenoid valve is quiet most of the time. The controller opens and closes it in a rhythm:
each actuation is a sharp click (the armature hitting its stop rings a few metal modes) with
a low thump, and while the valve is open the fluid rushes through with a soft noise; the
pipework murmurs faintly all the time. Each machine ID has its own rhythm and mechanics;
every clip varies in timing, force and flow.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from course_lib.synth import dsp


@dataclass(frozen=True)
class ValveId:
    """Characteristic parameters of one valve (one machine ID)."""

    period_s: float             # time between openings set by the controller
    open_fraction: float        # fraction of the period the valve stays open
    click_modes: tuple[float, float, float]  # metal modes (Hz) rung by each actuation
    thump_hz: float             # low armature/body mode (Hz)
    close_gain: float           # closing click level relative to the opening click
    flow_band: tuple[float, float]  # band (Hz) of the flow noise while open
    level_db: float             # typical clip level (dBFS RMS) of a clean normal clip


IDS: dict[str, ValveId] = {
    "id_00": ValveId(0.45, 0.35, (2400.0, 3900.0, 5600.0), 180.0, 1.4, (500.0, 3000.0), -38.0),
    "id_02": ValveId(0.60, 0.50, (1900.0, 3300.0, 6100.0), 230.0, 1.2, (700.0, 4000.0), -39.0),
    "id_04": ValveId(0.35, 0.40, (2800.0, 4500.0, 6600.0), 150.0, 1.6, (400.0, 2500.0), -37.0),
}


@dataclass(frozen=True)
class ValveState:
    """One clip's actuation times, click strengths and flow level, plus fault sounds."""

    params: ValveId
    sr: int
    n: int
    opens: np.ndarray           # opening times (s)
    closes: np.ndarray          # closing times (s)
    open_gains: np.ndarray      # click strength of each opening
    close_gains: np.ndarray     # click strength of each closing
    flow: float                 # flow-noise level while open
    extras: tuple[np.ndarray, ...] = ()


def normal_state(params: ValveId, rng: np.random.Generator, n: int, sr: int) -> ValveState:
    """Return the random operating state of one normal clip of the valve ``params``."""
    period = params.period_s * (1 + 0.01 * rng.standard_normal())
    count = int(n / sr / period) + 2
    opens = (np.arange(count) - rng.uniform(0, 1)) * period
    opens += 0.01 * period * rng.standard_normal(count)
    closes = opens + params.open_fraction * period * (1 + 0.03 * rng.standard_normal(count))
    return ValveState(
        params=params, sr=sr, n=n, opens=opens, closes=closes,
        open_gains=np.exp(0.1 * rng.standard_normal(count)),
        close_gains=params.close_gain * np.exp(0.1 * rng.standard_normal(count)),
        flow=float(dsp.db_to_gain(rng.normal(0.0, 1.5))),
    )


def _open_mask(state: ValveState) -> np.ndarray:
    """Return a per-sample 0..1 mask of when the valve is open (10 ms smooth edges)."""
    t = dsp.times(state.n, state.sr)
    mask = np.zeros(state.n)
    for start, stop in zip(state.opens, state.closes, strict=True):
        mask = np.maximum(mask, np.clip(np.minimum(t - start, stop - t) / 0.01, 0, 1))
    return mask


def _clicks(state: ValveState, at: np.ndarray, gains: np.ndarray) -> np.ndarray:
    """Return actuation clicks at times ``at``: ringing metal modes plus a low thump."""
    p, sr = state.params, state.sr
    kicks = dsp.impulses(state.n, sr, at, gains)
    metal = dsp.modes(kicks, sr, p.click_modes, (60.0, 90.0, 130.0), (1.0, 0.7, 0.5))
    return 360.0 * metal + 135.0 * dsp.resonate(kicks, sr, freq=p.thump_hz, bandwidth=40.0)


def render(state: ValveState, rng: np.random.Generator) -> np.ndarray:
    """Return the valve sound of ``state`` (clicks, flow noise while open, fault sounds)."""
    low, high = state.params.flow_band
    flow = state.flow * _open_mask(state) * dsp.band_noise(rng, state.n, state.sr,
                                                           low=low, high=high)
    clicks = (_clicks(state, state.opens, state.open_gains)
              + _clicks(state, state.closes, state.close_gains))
    pipe = dsp.band_noise(rng, state.n, state.sr, low=100.0, high=2000.0)  # never silent
    return clicks + 0.7 * flow + 0.01 * pipe + sum(state.extras, np.zeros(state.n))


def timing_jitter(state: ValveState, severity: float, rng: np.random.Generator) -> ValveState:
    """Return the state with irregular actuation timing.

    A sticking armature, dirt in the pilot channel or an unstable supply voltage delays the
    valve by different amounts each time: openings and closings wander away from the
    controller's rhythm, the open time varies from cycle to cycle, an armature released late
    slams harder (louder clicks) and now and then it sticks and the valve misses a cycle
    altogether (no clicks, no flow).
    """
    period = state.params.period_s
    count = state.opens.size
    shift = severity * 0.3 * period * rng.standard_normal(count)
    stretch = np.expm1(severity * 0.8 * rng.standard_normal(count))
    opens = state.opens + shift
    closes = state.closes + shift + (state.closes - state.opens) * stretch
    working = rng.random(count) >= 0.5 * severity
    slam = np.exp(severity * np.abs(shift) / (0.25 * period))
    return replace(state, opens=opens, closes=np.where(working, closes, opens),
                   open_gains=state.open_gains * working * slam,
                   close_gains=state.close_gains * working * slam)


def bounce(state: ValveState, severity: float, rng: np.random.Generator) -> ValveState:
    """Return the state with armature bounce (extra clicks).

    A weak return spring or a worn damper lets the armature bounce off its seat: many closing
    clicks are followed by a rattle of three to six quick, weaker clicks, ever closer
    together, within a few tens of milliseconds.
    """
    delays, gains = [], []
    for at, gain in zip(state.closes, state.close_gains, strict=True):
        if rng.random() < 0.25:
            continue
        delay, gap = at, rng.uniform(0.008, 0.015)
        for k in range(rng.integers(3, 7)):
            delay += gap
            gap *= 0.8
            delays.append(delay)
            gains.append(gain * 0.85 ** (k + 1) * rng.uniform(0.7, 1.0))
    extra = _clicks(state, np.array(delays), np.array(gains))
    return replace(state, extras=(*state.extras, severity * 3.0 * extra))


def leakage(state: ValveState, severity: float, rng: np.random.Generator) -> ValveState:
    """Return the state with a leaking seat.

    A worn or dirty seat no longer seals: fluid hisses through the closed valve. The jet is
    strongest right after closing, when the pressure difference across the seat is largest,
    and fades as it equalises, so the quiet gaps between actuations fill with fading hiss.
    """
    t = dsp.times(state.n, state.sr)
    since_close = np.full(state.n, np.inf)
    for close in np.sort(state.closes):
        since_close = np.where(t >= close, t - close, since_close)
    fading = np.exp(-since_close / rng.uniform(0.08, 0.2)) * (1 - _open_mask(state))
    hiss = dsp.band_noise(rng, state.n, state.sr, low=1500.0, high=6500.0)
    return replace(state, extras=(*state.extras, 2.0 * severity * fading * hiss))


FAULTS = {"timing_jitter": timing_jitter, "bounce": bounce, "leakage": leakage}
