"""Shared pytest set-up: every test that takes ``notebook_path`` runs once per chapter."""

from __future__ import annotations

from pathlib import Path

import pytest
from notebook_checks import NOTEBOOK_DIR, REPO_ROOT, chapter_notebooks


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``notebook_path`` with the chapter notebooks, named by file stem."""
    if "notebook_path" in metafunc.fixturenames:
        paths = chapter_notebooks()
        metafunc.parametrize("notebook_path", paths, ids=[path.stem for path in paths])


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """Return the repository root (the folder with ``_config.yml``)."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def notebook_dir() -> Path:
    """Return the folder with the chapter notebooks."""
    return NOTEBOOK_DIR
