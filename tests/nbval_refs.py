"""Reference outputs for the notebooks' cells tagged ``nbval-check-output``.

nbval reads the tag from the cell metadata, so the reader never sees a marker comment.

Committed notebooks carry no outputs (a test enforces it), so nbval would have nothing to
compare a checked cell with. The expected outputs of the checked cells live instead in
``tests/nbval_reference/<notebook stem>.json`` (cell id -> list of outputs). Two commands:

    python tests/nbval_refs.py update [NAME ...]  # execute notebooks, record checked outputs
    python tests/nbval_refs.py prepare DIR   # copies of the notebooks with those outputs, for nbval

``make test`` runs ``prepare`` and then ``pytest --nbval-lax`` on the copies, so every checked
cell is compared with its recorded output and every other cell must simply run. Run ``update``
after changing a checked cell on purpose, and review the JSON diff before committing it.
References are recorded with ``COURSE_FAST=1``, the setting ``make test`` uses.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
REFERENCE_DIR = Path(__file__).resolve().parent / "nbval_reference"
CHECK_TAG = "nbval-check-output"
CELL_TIMEOUT = 600


def notebook_paths() -> list[Path]:
    """Return the chapter notebooks, sorted by file name."""
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def checked_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """Return the code cells tagged ``nbval-check-output``."""
    return [cell for cell in notebook.cells if cell.cell_type == "code"
            and CHECK_TAG in cell.get("metadata", {}).get("tags", [])]


def reference_path(notebook_path: Path) -> Path:
    """Return the JSON file holding the reference outputs of ``notebook_path``."""
    return REFERENCE_DIR / f"{notebook_path.stem}.json"


def _comparable(outputs: list) -> list:
    """Return ``outputs`` without stderr streams and execution counts (nbval ignores both)."""
    kept = []
    for output in outputs:
        if output.get("output_type") == "stream" and output.get("name") == "stderr":
            continue
        output = dict(output)
        output.pop("execution_count", None)
        kept.append(output)
    return kept


def record(notebook_path: Path) -> dict[str, list]:
    """Return ``{cell id: outputs}`` of the checked cells after executing ``notebook_path``."""
    notebook = nbformat.read(notebook_path, as_version=4)
    os.environ["COURSE_FAST"] = "1"
    os.environ["COURSE_RESULTS"] = tempfile.mkdtemp(prefix="nbval-results-")  # not the book's
    NotebookClient(
        notebook, timeout=CELL_TIMEOUT, kernel_name="python3",
        resources={"metadata": {"path": str(notebook_path.parent)}},
    ).execute()
    return {cell.id: _comparable(cell.outputs) for cell in checked_cells(notebook)}


def load_reference(notebook_path: Path) -> dict[str, list]:
    """Return the recorded reference outputs of ``notebook_path`` (empty if none recorded)."""
    path = reference_path(notebook_path)
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def reference_problems(notebook_path: Path) -> list[str]:
    """Return what is wrong between a notebook's checked cells and its reference file."""
    notebook = nbformat.read(notebook_path, as_version=4)
    wanted = {cell.id for cell in checked_cells(notebook)}
    recorded = set(load_reference(notebook_path))
    advice = "run `python tests/nbval_refs.py update` and review the diff"
    problems = [f"{notebook_path.name}: checked cell {cell_id} has no reference ({advice})"
                for cell_id in sorted(wanted - recorded)]
    problems += [f"{notebook_path.name}: reference for cell {cell_id}, which is no longer a "
                 f"checked cell ({advice})" for cell_id in sorted(recorded - wanted)]
    return problems


def prepare(out_dir: Path) -> list[Path]:
    """Return the notebook copies written to ``out_dir`` with reference outputs filled in.

    Raises:
        SystemExit: when a checked cell has no reference or a reference is stale.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in notebook_paths():
        problems = reference_problems(path)
        if problems:
            raise SystemExit("\n".join(problems))
        notebook = nbformat.read(path, as_version=4)
        reference = load_reference(path)
        for count, cell in enumerate(checked_cells(notebook), start=1):
            cell.outputs = [nbformat.from_dict(output) for output in reference[cell.id]]
            cell.execution_count = count  # nbval skips cells that were never executed
        target = out_dir / path.name
        nbformat.write(notebook, target)
        written.append(target)
    return written


def update(names: list[str] | None = None) -> None:
    """Return None after re-recording the reference outputs of the notebooks.

    ``names`` are notebook stems such as ``"05_autoencoders"``; none means every notebook.
    """
    paths = notebook_paths()
    if names:
        unknown = sorted(set(names) - {path.stem for path in paths})
        if unknown:
            raise SystemExit(f"no notebooks named {unknown}; choose from "
                             f"{[path.stem for path in paths]}")
        paths = [path for path in paths if path.stem in names]
    REFERENCE_DIR.mkdir(exist_ok=True)
    for path in paths:
        outputs = record(path)
        reference_path(path).write_text(json.dumps(outputs, indent=1, sort_keys=True) + "\n",
                                        encoding="utf-8")
        print(f"{path.name}: recorded {len(outputs)} checked cells")


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and run ``update`` or ``prepare``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    update_parser = commands.add_parser("update",
                                        help="execute the notebooks and record checked outputs")
    update_parser.add_argument("names", nargs="*", help="notebook stems (default: all)")
    prepare_parser = commands.add_parser("prepare", help="write notebooks with reference outputs")
    prepare_parser.add_argument("out_dir", type=Path)
    args = parser.parse_args(argv)
    if args.command == "update":
        update(args.names)
    else:
        for path in prepare(args.out_dir):
            print(path)


if __name__ == "__main__":
    main(sys.argv[1:])
