"""Helpers shared by the notebook tests: find chapters, read cells, parse exercise gates.

They re-implement the exercise conventions of ``book/how_to_use.md`` (*Writing an exercise*)
on their own, so the tests do not trust ``data_scripts.make_student`` to check itself.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
from nbformat import NotebookNode

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = REPO_ROOT / "notebooks"

EXERCISE = re.compile(r"^```\{exercise\}[^\n]*\n(?:.*\n)*?:label:\s*(?P<label>\S+)", re.MULTILINE)
SOLUTION_START = re.compile(r"^```\{solution-start\}\s+(?P<label>\S+)", re.MULTILINE)
SOLUTION_END = re.compile(r"^```\{solution-end\}", re.MULTILINE)
BEGIN = re.compile(r"^\s*#\s*BEGIN SOLUTION\b")
END = re.compile(r"^\s*#\s*END SOLUTION\b")


def chapter_notebooks() -> list[Path]:
    """Return the chapter notebooks in ``notebooks/``, sorted by name."""
    return sorted(NOTEBOOK_DIR.glob("*.ipynb"))


def read(path: Path) -> NotebookNode:
    """Return the notebook at ``path`` as nbformat v4."""
    return nbformat.read(path, as_version=4)


def tags(cell: NotebookNode) -> list[str]:
    """Return the tags of a cell (an empty list when it has none)."""
    return list(cell.get("metadata", {}).get("tags", []))


def is_solution(cell: NotebookNode) -> bool:
    """Return True if the cell is tagged ``solution``."""
    return "solution" in tags(cell)


def exercise_label(cell: NotebookNode) -> str | None:
    """Return the label of the ``{exercise}`` directive in a markdown cell, else None."""
    if cell.cell_type != "markdown":
        return None
    found = EXERCISE.search(cell.source)
    return found.group("label") if found else None


def exercise_labels(notebook: NotebookNode) -> list[str]:
    """Return the exercise labels of a notebook in cell order."""
    return [label for cell in notebook.cells if (label := exercise_label(cell))]


def solution_runs(notebook: NotebookNode) -> list[tuple[int, list[NotebookNode]]]:
    """Return ``(first index, cells)`` for each maximal run of consecutive solution cells."""
    runs: list[tuple[int, list[NotebookNode]]] = []
    for index, cell in enumerate(notebook.cells):
        if not is_solution(cell):
            continue
        if runs and runs[-1][0] + len(runs[-1][1]) == index:
            runs[-1][1].append(cell)
        else:
            runs.append((index, [cell]))
    return runs


def split_solution_code(source: str) -> tuple[list[str], list[str]]:
    """Return ``(kept, hidden)`` lines of a solution code cell.

    Hidden lines are those between BEGIN/END SOLUTION markers, or every line when the cell
    has no markers; kept lines are the others, without the marker lines themselves.
    """
    lines = source.splitlines()
    if not any(BEGIN.match(line) or END.match(line) for line in lines):
        return [], lines
    kept, hidden, inside = [], [], False
    for line in lines:
        if BEGIN.match(line):
            inside = True
        elif END.match(line):
            inside = False
        else:
            (hidden if inside else kept).append(line)
    return kept, hidden


def code_lines(cells: list[NotebookNode]) -> set[str]:
    """Return the stripped source lines of the code cells among ``cells``."""
    return {
        line.strip() for cell in cells if cell.cell_type == "code"
        for line in cell.source.splitlines()
    }
