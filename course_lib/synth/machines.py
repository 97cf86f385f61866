"""Machine sounds of the toy simulator: fan, pump, slider, valve (introduced in chapter 03).

:func:`machine_sound` renders one clip: a machine ID's normal operation with natural
clip-to-clip variation, optionally a fault of a given ``severity`` (0 = normal, 1 = strong),
mixed with factory noise at ``snr_db``. The physics of each fault is described in the
docstring of its function in the machine's module (see :func:`fault_description`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType

import numpy as np

from course_lib.synth import dsp, fan, pump, slider, valve
from course_lib.synth.noise import factory_noise, scale_to_snr
from course_lib.synth.seeds import derive_seed, rng_for
from course_lib.synth.validation import (
    check_choice,
    check_duration,
    check_sample_rate,
    check_severity,
    check_snr,
)

_MODELS: dict[str, ModuleType] = {"fan": fan, "pump": pump, "slider": slider, "valve": valve}

#: Machine type -> names of its fault types (MIMII machine names).
MACHINES: dict[str, tuple[str, ...]] = {name: tuple(m.FAULTS) for name, m in _MODELS.items()}
#: Machine type -> its machine IDs (MIMII style), each with its own characteristic sound.
MACHINE_IDS: dict[str, tuple[str, ...]] = {name: tuple(m.IDS) for name, m in _MODELS.items()}
#: Peak level the mixtures are limited to, leaving a little headroom below full scale.
PEAK_LIMIT = 0.98
#: Duration (s) of the normal clip used to calibrate each machine ID's level.
_CALIBRATION_S = 3.0


@dataclass(frozen=True)
class MachineParts:
    """The two float32 parts of a machine clip; their sum is :func:`machine_sound` (ch. 03)."""

    machine: np.ndarray       # the machine itself (normal or faulty)
    background: np.ndarray    # factory noise at the requested SNR (zeros if snr_db is None)
    sr: int


def check_machine(machine: object, machine_id: object = "id_00",
                  fault: object = None) -> tuple[str, str, str | None]:
    """Return ``(machine, machine_id, fault)`` after checking each against the valid names.

    ``fault`` may be None (normal operation).
    """
    machine = check_choice("machine", machine, MACHINES)
    machine_id = check_choice(f"machine_id for {machine}", machine_id, MACHINE_IDS[machine])
    if fault is not None:
        fault = check_choice(f"fault for {machine}", fault, MACHINES[machine])
    return machine, machine_id, fault


#: RST inline markup in docstrings: ``literal``, :role:`content` and `interpreted text`.
_RST_MARKUP = re.compile(r"``(?P<literal>.+?)``|:[\w:.-]+:`(?P<role>[^`]+)`|`(?P<text>[^`]+)`")
#: Role content written as ``title <target>``.
_TITLED = re.compile(r"^(?P<title>.*?)\s*<[^<>]+>$", re.DOTALL)


def _visible(match: re.Match[str]) -> str:
    """Return what a reader should see of one piece of inline RST markup."""
    role = match["role"]
    if role is None:
        return match["literal"] if match["literal"] is not None else match["text"]
    titled = _TITLED.match(role)
    if titled and titled["title"]:
        return titled["title"]
    return role[1:].rsplit(".", 1)[-1] if role.startswith("~") else role


def plain_text(rst: str) -> str:
    """Return ``rst`` with its inline RST markup removed, as plain readable text (chapter 03).

    Double-backtick literals and single-backtick text lose their backticks,
    ``:func:`~pkg.name``` becomes ``name`` and ``:ref:`the title <label>``` becomes
    ``the title``; everything else, including ``*`` in formulas, is kept as written.
    """
    return _RST_MARKUP.sub(_visible, rst)


def fault_description(machine: str, fault: str) -> str:
    """Return the physics behind ``fault`` of ``machine`` as one plain-text paragraph (ch. 03).

    The paragraph comes from the docstring of the fault's function, with its RST markup
    removed (see :func:`plain_text`) so that it reads well in tables and printed output.
    """
    machine = check_choice("machine", machine, MACHINES)
    fault = check_choice(f"fault for {machine}", fault, MACHINES[machine])
    doc = _MODELS[machine].FAULTS[fault].__doc__ or ""
    paragraphs = [" ".join(part.split()) for part in doc.split("\n\n")]
    return plain_text(paragraphs[1] if len(paragraphs) > 1 else paragraphs[0])


def _render(machine: str, machine_id: str, fault: str | None, severity: float, n: int,
            sr: int, seed: int) -> np.ndarray:
    """Return the raw (uncalibrated) machine signal of one clip."""
    model = _MODELS[machine]
    base_rng = rng_for(seed, "machine")
    state = model.normal_state(model.IDS[machine_id], base_rng, n, sr)
    if fault is not None:
        state = model.FAULTS[fault](state, severity, rng_for(seed, "fault"))
    return model.render(state, base_rng)


@lru_cache(maxsize=64)
def _reference_rms(machine: str, machine_id: str, sr: int) -> float:
    """Return the RMS of a fixed normal clip of the machine ID, used to calibrate its level."""
    n = dsp.n_samples(_CALIBRATION_S, sr)
    return dsp.rms(_render(machine, machine_id, None, 0.0, n, sr, seed=0))


def _clip_gain(machine: str, machine_id: str, sr: int, seed: int) -> float:
    """Return the clip's gain: the ID's level, randomly varied (sd 1.5 dB) from clip to clip.

    The variation stands for mounting, microphone distance and operating pressure.
    """
    level_db = _MODELS[machine].IDS[machine_id].level_db + rng_for(seed, "gain").normal(0, 1.5)
    return float(dsp.db_to_gain(level_db)) / _reference_rms(machine, machine_id, sr)


def machine_parts(
    machine: str, *, machine_id: str = "id_00", fault: str | None = None,
    severity: float = 0.5, snr_db: float | None = 6.0, duration: float = 3.0,
    sr: int = 16000, seed: int = 0,
) -> MachineParts:
    """Return the machine and background parts of a toy machine clip (chapter 03).

    Same arguments as :func:`machine_sound`. Use it to listen to the machine without the
    factory, or to check the SNR: ``10 log10(P_machine / P_background) == snr_db``.
    """
    machine, machine_id, fault = check_machine(machine, machine_id, fault)
    severity = check_severity(severity)
    snr_db = check_snr(snr_db)
    sr = check_sample_rate(sr)
    n = dsp.n_samples(check_duration(duration), sr)
    sound = _render(machine, machine_id, fault, severity, n, sr, seed)
    sound *= _clip_gain(machine, machine_id, sr, seed)
    if snr_db is None:
        background = np.zeros(n)
    else:
        noise = factory_noise(duration=n / sr, sr=sr, seed=derive_seed(seed, "background"))
        background = scale_to_snr(sound, noise[:n].astype(np.float64), snr_db=snr_db)
    peak = float(np.max(np.abs(sound + background)))
    limit = min(1.0, PEAK_LIMIT / peak) if peak > 0 else 1.0
    return MachineParts((sound * limit).astype(np.float32),
                        (background * limit).astype(np.float32), sr)


def machine_sound(
    machine: str, *, machine_id: str = "id_00", fault: str | None = None,
    severity: float = 0.5, snr_db: float | None = 6.0, duration: float = 3.0,
    sr: int = 16000, seed: int = 0,
) -> np.ndarray:
    """Return one float32 toy machine clip (peak <= 1), as in MIMII (introduced in chapter 03).

    Args:
        machine: ``"fan"``, ``"pump"``, ``"slider"`` or ``"valve"`` (see :data:`MACHINES`).
        machine_id: ``"id_00"``, ``"id_02"`` or ``"id_04"``; each ID sounds different.
        fault: ``None`` for normal operation, else one of ``MACHINES[machine]``.
        severity: fault strength in ``[0, 1]``; 0 sounds exactly like the normal clip of the
            same seed. Ignored when ``fault`` is None.
        snr_db: machine-to-factory-noise ratio in dB (MIMII: 6, 0, -6); ``None`` = no noise.
        duration: clip length in seconds.
        sr: sample rate in Hz (>= 8000).
        seed: clip seed; the same arguments always give bit-identical samples.

    Raises:
        ValueError: unknown machine, machine ID or fault, or an out-of-range number.
    """
    parts = machine_parts(machine, machine_id=machine_id, fault=fault, severity=severity,
                          snr_db=snr_db, duration=duration, sr=sr, seed=seed)
    return parts.machine + parts.background
