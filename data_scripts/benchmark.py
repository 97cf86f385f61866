"""Time every chapter notebook in a fresh kernel and write a table to ``_build/benchmark.md``.

Usage (from the repository root)::

    python -m data_scripts.benchmark [--fast] [--limit 120] [--notebooks notebooks]
                                     [--out _build/benchmark.md]

Each notebook runs top to bottom with its default parameters (``COURSE_FAST`` is removed
from the kernel's environment unless ``--fast`` is given, which sets it to 1). The exit status
is 1 if any notebook fails; a notebook slower than ``--limit`` seconds only gets a warning.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

CELL_TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class Timing:
    """How one notebook run went: its name, wall-clock seconds and error (None if it ran)."""

    notebook: str
    seconds: float
    error: str | None = None


def kernel_environment(*, fast: bool) -> dict[str, str]:
    """Return the environment for the notebook kernel: ``COURSE_FAST=1`` only when ``fast``.

    Quick runs record their results in a temporary folder, so they never replace the
    default-parameter numbers that the book's Results page shows.
    """
    env = {key: value for key, value in os.environ.items() if key != "COURSE_FAST"}
    if fast:
        env["COURSE_FAST"] = "1"
        env["COURSE_RESULTS"] = tempfile.mkdtemp(prefix="benchmark-fast-results-")
    return env


def run_notebook(path: Path, *, fast: bool = False) -> Timing:
    """Return the timing of executing the notebook at ``path`` in a fresh ``python3`` kernel."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=CELL_TIMEOUT_SECONDS, kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    try:
        client.execute(env=kernel_environment(fast=fast))
    except CellExecutionError as error:
        return Timing(path.stem, time.perf_counter() - start, f"{error.ename}: {error.evalue}")
    except Exception as error:  # timeouts, dead kernels: report them, keep benchmarking
        return Timing(path.stem, time.perf_counter() - start, f"{type(error).__name__}: {error}")
    return Timing(path.stem, time.perf_counter() - start)


def status(timing: Timing, *, limit: float | None) -> str:
    """Return the status cell of a table row: ok, over budget, or the error."""
    if timing.error:
        return f"error ({timing.error.splitlines()[0][:80]})"
    if limit is not None and timing.seconds > limit:
        return f"WARNING: over the {limit:g} s budget"
    return "ok"


def table(timings: Sequence[Timing], *, limit: float | None, fast: bool) -> str:
    """Return the benchmark as a Markdown document with one row per notebook and a total."""
    mode = "fast settings (COURSE_FAST=1)" if fast else "default parameters"
    lines = [
        "# Notebook benchmark",
        "",
        f"{len(timings)} notebooks, {mode}, fresh kernel each; Python "
        f"{platform.python_version()} on {os.cpu_count()} CPU cores.",
        "",
        "| notebook | seconds | status |",
        "|---|---:|---|",
    ]
    lines += [f"| {t.notebook} | {t.seconds:.1f} | {status(t, limit=limit)} |" for t in timings]
    lines.append(f"| **total** | {sum(t.seconds for t in timings):.1f} | |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Return the exit status after benchmarking every notebook (1 if any failed)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks", type=Path, default=Path("notebooks"),
                        help="folder with the chapter notebooks (default: notebooks)")
    parser.add_argument("--out", type=Path, default=Path("_build/benchmark.md"),
                        help="where to write the Markdown table (default: _build/benchmark.md)")
    parser.add_argument("--fast", action="store_true", help="run with COURSE_FAST=1")
    parser.add_argument("--limit", type=float, default=None,
                        help="seconds per notebook; slower ones get a warning (no failure)")
    args = parser.parse_args(argv)
    paths = sorted(args.notebooks.glob("*.ipynb"))
    if not paths:
        print(f"benchmark: no notebooks in {args.notebooks}; run from the repository root "
              "or pass --notebooks PATH.", file=sys.stderr)
        return 1
    timings = []
    for path in paths:
        print(f"running {path} ...", flush=True)
        timings.append(run_notebook(path, fast=args.fast))
    report = table(timings, limit=args.limit, fast=args.fast)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report, encoding="utf8")
    print(report)
    print(f"written to {args.out}")
    return 1 if any(t.error for t in timings) else 0


if __name__ == "__main__":
    sys.exit(main())
