"""Build a dataset folder atomically, with a completion marker (toy data, chapter 03).

A dataset is written into a hidden staging folder next to its target. A marker file with the
generator version and the parameters is written last, and only then is the staging folder
renamed into place. An interrupted run therefore never looks complete, and regenerating with
other parameters replaces the old dataset in one step.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

from course_lib import _files

#: Bumped whenever the simulator's sounds change, so stale toy data is regenerated.
GENERATOR_VERSION = "1.1"
MARKER_NAME = "toy_complete.json"


def read_marker(folder: str | Path) -> dict | None:
    """Return the completion marker of a toy dataset folder, or None if it is incomplete."""
    return _files.read_marker(Path(folder), MARKER_NAME)


def is_complete(folder: str | Path, parameters: dict | None = None) -> bool:
    """Return True if ``folder`` holds a finished toy dataset of the current generator version.

    With ``parameters``, they must also equal those the dataset was generated with.
    """
    marker = read_marker(folder)
    if marker is None or marker.get("version") != GENERATOR_VERSION:
        return False
    return parameters is None or marker.get("parameters") == parameters


def _remove_stale_staging(target: Path) -> None:
    """Delete staging folders of ``target`` left behind by dead processes (POSIX only)."""
    if os.name != "posix" or not target.parent.exists():
        return
    for folder in target.parent.glob(f".{target.name}.partial-*"):
        pid = folder.name.split("-")[1]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)  # signal 0 only asks whether the process exists
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


def _staging_folder(target: Path) -> Path:
    """Return a fresh, unique staging folder next to ``target`` (created)."""
    _remove_stale_staging(target)
    staging = target.parent / f".{target.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    staging.mkdir(parents=True)
    return staging


def _publish(staging: Path, target: Path, parameters: dict, n_files: int, force: bool) -> Path:
    """Return ``target`` after writing the marker into ``staging`` and renaming it into place.

    Without ``force``, a target that another process completed meanwhile with the same
    parameters is kept and the staging folder discarded.
    """
    marker = {"generator": "course_lib.synth", "version": GENERATOR_VERSION,
              "parameters": parameters, "files": n_files}
    _files.write_marker(staging, MARKER_NAME, marker)
    if not force and is_complete(target, parameters):
        shutil.rmtree(staging, ignore_errors=True)
        return target
    return _files.move_into_place(staging, target)


def build(target: Path, parameters: dict, force: bool, write: Callable[[Path], int]) -> Path:
    """Return ``target``, (re)built by ``write(staging) -> n_files`` unless already current."""
    if not force and is_complete(target, parameters):
        return target
    staging = _staging_folder(target)
    try:
        n_files = write(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return _publish(staging, target, parameters, n_files, force)
