"""Argument checks shared by the toy simulator (introduced in chapter 03).

Every check raises :class:`ValueError` with a message that says what is wrong and lists the
valid choices or range, so a typo in a notebook is easy to fix.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

MIN_SAMPLE_RATE = 8000


def check_choice(name: str, value: object, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``; else raise ValueError listing them."""
    options = tuple(choices)
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"unknown {name} {value!r}; choose one of: {', '.join(options)}.")
    return value


def check_number(
    name: str, value: object, *, low: float = -math.inf, high: float = math.inf,
    low_open: bool = False,
) -> float:
    """Return ``value`` as float if it is a finite number in range; else raise ValueError.

    The range is ``[low, high]``, or ``(low, high]`` when ``low_open`` is true.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name}={value!r} is not a number; pass a number.")
    number = float(value)
    too_low = number <= low if low_open else number < low
    if not math.isfinite(number) or too_low or number > high:
        bracket = "(" if low_open else "["
        raise ValueError(
            f"{name}={value!r} is out of range; pass a value in {bracket}{low}, {high}].")
    return number


def check_severity(severity: object) -> float:
    """Return the fault severity as float after checking it lies in ``[0, 1]``."""
    return check_number("severity", severity, low=0.0, high=1.0)


def check_duration(duration: object) -> float:
    """Return the clip duration in seconds after checking it is a finite number > 0."""
    return check_number("duration", duration, low=0.0, low_open=True)


def check_sample_rate(sr: object) -> int:
    """Return the sample rate as int after checking it is a whole number >= 8000 Hz."""
    rate = check_number("sr", sr, low=MIN_SAMPLE_RATE, high=384000)
    if not rate.is_integer():
        raise ValueError(f"sr={sr!r} is not a whole number of Hz; pass e.g. 16000.")
    return int(rate)


def check_snr(snr_db: object) -> float | None:
    """Return ``snr_db`` as float (or ``None`` for no background) after a range check."""
    if snr_db is None:
        return None
    return check_number("snr_db", snr_db, low=-60.0, high=100.0)
