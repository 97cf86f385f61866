"""Deterministic random streams for the toy simulator (introduced in chapter 03).

Every clip gets its own seed derived from a base seed and a few keys (machine, ID, label,
index...). The derivation uses :class:`numpy.random.SeedSequence` and a stable hash of text
keys, so results never depend on Python's salted ``hash()`` or on any global random state.
"""

from __future__ import annotations

import zlib

import numpy as np

Key = str | int


def _key_entropy(key: Key) -> int:
    """Return a non-negative integer standing for ``key`` (CRC-32 of text, the int itself)."""
    if isinstance(key, str):
        return zlib.crc32(key.encode("utf-8"))
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool) and key >= 0:
        return int(key)
    raise ValueError(f"seed key {key!r} is invalid; use text or a non-negative integer.")


def derive_seed(seed: int, *keys: Key) -> int:
    """Return a 32-bit seed derived from ``seed`` and ``keys`` (chapter 03).

    The same inputs always give the same seed; changing any input gives an unrelated one, e.g.
    ``derive_seed(0, "fan", "id_00", "normal", 3)`` is the seed of the fourth normal fan clip.
    """
    entropy = [_key_entropy(seed), *(_key_entropy(key) for key in keys)]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


def rng_for(seed: int, *keys: Key) -> np.random.Generator:
    """Return a NumPy random generator seeded with :func:`derive_seed` of the inputs (ch. 03)."""
    return np.random.default_rng(derive_seed(seed, *keys))
