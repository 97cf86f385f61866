"""The committed chapter notebooks are clean and follow the course's cell conventions."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import nbval_refs
from notebook_checks import (
    SOLUTION_END,
    SOLUTION_START,
    chapter_notebooks,
    exercise_label,
    exercise_labels,
    is_solution,
    read,
    solution_runs,
    tags,
)

REQUIRED_PARAMETERS = {"dataset", "seed", "fast"}


def _heading_position(notebook: nbformat.NotebookNode, pattern: str) -> tuple[int, int] | None:
    """Return (cell index, offset in the cell) of the first markdown heading matching ``pattern``.

    Positions compare in reading order, also for two headings in the same cell.
    """
    heading = re.compile(pattern, re.MULTILINE | re.IGNORECASE)
    for index, cell in enumerate(notebook.cells):
        found = heading.search(cell.source) if cell.cell_type == "markdown" else None
        if found:
            return index, found.start()
    return None


def _parameters_index(notebook: nbformat.NotebookNode) -> int:
    """Return the index of the one cell tagged ``parameters`` (asserts there is exactly one)."""
    found = [i for i, cell in enumerate(notebook.cells) if "parameters" in tags(cell)]
    assert len(found) == 1, f"expected one cell tagged 'parameters', found {len(found)}"
    return found[0]


def _setup_calls(source: str) -> list[ast.Call]:
    """Return the calls of a function or method named ``setup`` in a code cell."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [
        node for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and getattr(node.func, "attr", getattr(node.func, "id", None)) == "setup"
    ]


def test_there_are_chapter_notebooks() -> None:
    assert chapter_notebooks(), "no notebooks/*.ipynb found: the book has no chapters"


def test_valid_nbformat_and_python3_kernel(notebook_path: Path) -> None:
    notebook = read(notebook_path)
    nbformat.validate(notebook)
    assert notebook.metadata.get("kernelspec", {}).get("name") == "python3"


def test_no_outputs_or_execution_counts(notebook_path: Path) -> None:
    notebook = read(notebook_path)
    dirty = [
        index for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, f"cells {dirty} have outputs or execution counts: strip them before commit"
    assert "widgets" not in notebook.metadata, "saved widget state in the notebook metadata"


def test_parameters_cell_defines_dataset_seed_fast(notebook_path: Path) -> None:
    notebook = read(notebook_path)
    cell = notebook.cells[_parameters_index(notebook)]
    assert cell.cell_type == "code"
    assigned = {
        target.id for node in ast.parse(cell.source).body if isinstance(node, ast.Assign)
        for target in node.targets if isinstance(target, ast.Name)
    }
    missing = REQUIRED_PARAMETERS - assigned
    assert not missing, f"parameters cell does not assign {sorted(missing)}"


def test_title_and_learning_objectives_come_first(notebook_path: Path) -> None:
    notebook = read(notebook_path)
    first = notebook.cells[0]
    assert first.cell_type == "markdown" and re.match(r"#\s+\S", first.source), (
        "the first cell must be markdown starting with the '# NN Title' heading"
    )
    objectives = _heading_position(notebook, r"^##\s+Learning objectives\s*$")
    assert objectives is not None, "no '## Learning objectives' heading"
    assert objectives[0] < _parameters_index(notebook), "learning objectives after the parameters"


def test_setup_called_with_the_parameters(notebook_path: Path) -> None:
    notebook = read(notebook_path)
    calls = [
        (index, call) for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"
        for call in _setup_calls(cell.source)
    ]
    assert calls, "no code cell calls setup(seed=seed, fast=fast)"
    index, call = calls[0]
    assert index > _parameters_index(notebook), "setup() is called before the parameters cell"
    keywords = {kw.arg: getattr(kw.value, "id", None) for kw in call.keywords}
    assert keywords.get("seed") == "seed" and keywords.get("fast") == "fast", (
        "call setup(seed=seed, fast=fast) so the papermill parameters take effect"
    )


def test_summary_then_exercises(notebook_path: Path) -> None:
    notebook = read(notebook_path)
    summary = _heading_position(notebook, r"^##\s+Summary\s*$")
    exercises = _heading_position(notebook, r"^##\s+Exercises\s*$")
    assert summary is not None, "no '## Summary' heading"
    assert exercises is not None, "no '## Exercises' heading"
    assert summary < exercises, "'## Summary' must come before '## Exercises'"
    labels = exercise_labels(notebook)
    assert 2 <= len(labels) <= 4, f"expected 2-4 exercises, found {len(labels)}"
    first = next(i for i, cell in enumerate(notebook.cells) if exercise_label(cell))
    assert first > exercises[0], "exercises must come after the '## Exercises' heading"


def test_every_exercise_has_a_gated_solution(notebook_path: Path) -> None:
    notebook = read(notebook_path)
    labels = exercise_labels(notebook)
    assert len(labels) == len(set(labels)), f"duplicate exercise labels: {labels}"
    runs = dict(solution_runs(notebook))
    for index, cell in enumerate(notebook.cells):
        label = exercise_label(cell)
        if label is None:
            continue
        assert not is_solution(cell), f"exercise {label}: the task itself is tagged 'solution'"
        run = runs.pop(index + 1, None)
        assert run, f"exercise {label}: not followed directly by cells tagged 'solution'"
        start, end = run[0], run[-1]
        found = SOLUTION_START.search(start.source) if start.cell_type == "markdown" else None
        assert found and found.group("label") == label, (
            f"exercise {label}: the solution must open with '```{{solution-start}} {label}'"
        )
        assert re.search(r"^:class:\s*dropdown\s*$", start.source, re.MULTILINE), (
            f"exercise {label}: the solution-start gate needs ':class: dropdown'"
        )
        assert end.cell_type == "markdown" and SOLUTION_END.search(end.source), (
            f"exercise {label}: the solution must close with a '```{{solution-end}}' cell"
        )
        assert any(c.cell_type == "code" for c in run), f"exercise {label}: no solution code"
    assert not runs, f"solution cells not attached to an exercise at cells {sorted(runs)}"


def test_every_checked_cell_has_a_recorded_reference():
    """nbval compares cells tagged `nbval-check-output` with their recorded references."""
    problems = [problem for path in nbval_refs.notebook_paths()
                for problem in nbval_refs.reference_problems(path)]
    assert not problems, "\n".join(problems)


CODE_WIDTH = 79  # a code box on the site holds about 81 characters at 1280 px


def test_code_fits_the_column(notebook_path: Path) -> None:
    notebook = read(notebook_path)
    wide = [
        f"cell {index} line {number}: {len(line)} characters"
        for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"
        for number, line in enumerate(cell.source.splitlines(), start=1)
        if len(line) > CODE_WIDTH
    ]
    assert not wide, (
        f"code wider than {CODE_WIDTH} characters scrolls sideways on the site; run "
        "`.venv/bin/ruff format notebooks` and wrap long strings and comments:\n"
        + "\n".join(wide)
    )


def test_nbval_markers_are_tags_not_comments(notebook_path: Path) -> None:
    notebook = read(notebook_path)
    marked = [
        index for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and re.search(r"^\s*#\s*NBVAL_", cell.source, re.M)
    ]
    assert not marked, (
        f"cells {marked} show an nbval marker comment to the reader: use the cell tag "
        "'nbval-check-output' (or 'nbval-ignore-output', 'nbval-skip') instead"
    )
