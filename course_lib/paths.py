"""Where the course keeps data on disk (used by every chapter)."""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV_VAR = "COURSE_DATA"
DEFAULT_DATA_ROOT = Path("~/.cache/machine-listening")


def data_root() -> Path:
    """Return the course data root: ``$COURSE_DATA`` if set, else ``~/.cache/machine-listening``.

    The directory is not created here; writers create what they need below it.
    """
    configured = os.environ.get(DATA_ENV_VAR, "").strip()
    return Path(configured).expanduser() if configured else DEFAULT_DATA_ROOT.expanduser()


def toy_root() -> Path:
    """Return the folder that holds the generated toy datasets (``<data root>/toy``)."""
    return data_root() / "toy"


def cache_root() -> Path:
    """Return the folder for cached features and other derived files (``<data root>/cache``)."""
    return data_root() / "cache"
