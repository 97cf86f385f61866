"""Build the student edition of the chapter notebooks: worked solutions become stubs.

Usage (from the repository root)::

    python -m data_scripts.make_student [--notebooks notebooks] [--out _build/student]

Each maximal run of consecutive cells tagged ``solution`` (the gated solution of one
exercise) becomes ONE code cell. It keeps the lines of the run's code cells that lie outside
``# BEGIN SOLUTION`` / ``# END SOLUTION`` marker pairs (a code cell without markers keeps
nothing) and stops with ``NotImplementedError`` naming the exercise label taken from the
``{solution-start} <label>`` directive. A removed block is replaced by that ``raise`` at the
block's indentation, so a stubbed function body raises when called; a stub that has no
top-level ``raise`` yet gets one as its last line. Outputs and execution counts are dropped
and a note at the top says that this is the student edition. Only the notebooks are written.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from course_lib.errors import CourseError

SOLUTION_TAG = "solution"
BEGIN_MARKER = re.compile(r"^(?P<indent>\s*)#\s*BEGIN SOLUTION\b")
END_MARKER = re.compile(r"^\s*#\s*END SOLUTION\b")
SOLUTION_START = re.compile(r"^```\{solution-start\}\s+(?P<label>\S+)", re.MULTILINE)
STUB_MESSAGE = "Exercise {label}: write your solution here, then run the cell."
NOTE_CELL_ID = "student-edition-note"
STUDENT_NOTE = """\
**Student edition.** The worked solutions are removed from this copy of the chapter. Each
exercise has a code cell that stops with `NotImplementedError`: replace that `raise` line with
your own code and run the cell. Run the cells from the top, in order; the instructor version
with solutions lives in the course repository."""


class StudentEditionError(CourseError, ValueError):
    """A chapter notebook does not follow the exercise conventions of the course."""


def raise_line(label: str, indent: str = "") -> str:
    """Return the ``raise NotImplementedError(...)`` line of a stub for exercise ``label``."""
    message = json.dumps(STUB_MESSAGE.format(label=label))
    return f"{indent}raise NotImplementedError({message})"


def kept_lines(source: str, *, label: str, where: str) -> list[str]:
    """Return the lines of a solution code cell that the student edition keeps.

    Introduced for the student edition (see ``book/how_to_use.md``). Lines between
    ``# BEGIN SOLUTION`` and ``# END SOLUTION`` are replaced by one ``raise`` line at the
    indentation of the BEGIN marker; a cell without markers keeps nothing.

    Raises:
        StudentEditionError: if the markers are unbalanced or nested (``where`` names the cell).
    """
    lines = source.splitlines()
    if not any(BEGIN_MARKER.match(line) or END_MARKER.match(line) for line in lines):
        return []
    kept: list[str] = []
    inside = False
    for number, line in enumerate(lines, start=1):
        begin = BEGIN_MARKER.match(line)
        if begin:
            if inside:
                raise StudentEditionError(
                    f"{where}, line {number}: '# BEGIN SOLUTION' inside another solution block; "
                    "close the first block with '# END SOLUTION' before opening a new one."
                )
            inside = True
            kept.append(raise_line(label, begin.group("indent")))
        elif END_MARKER.match(line):
            if not inside:
                raise StudentEditionError(
                    f"{where}, line {number}: '# END SOLUTION' without a matching "
                    "'# BEGIN SOLUTION'; add the BEGIN marker or delete this line."
                )
            inside = False
        elif not inside:
            kept.append(line)
    if inside:
        raise StudentEditionError(
            f"{where}: '# BEGIN SOLUTION' is never closed; add '# END SOLUTION' after the "
            "solution lines."
        )
    return kept


def solution_label(cells: Sequence[NotebookNode], *, where: str) -> str:
    """Return the exercise label named by the ``{solution-start}`` directive of a solution run.

    Raises:
        StudentEditionError: if the run has no markdown cell with a ``solution-start`` directive.
    """
    for cell in cells:
        if cell.cell_type == "markdown":
            found = SOLUTION_START.search(cell.source)
            if found:
                return found.group("label")
    raise StudentEditionError(
        f"{where}: cells tagged 'solution' without a '```{{solution-start}} <label>' markdown "
        "cell; start every solution with the gate that book/how_to_use.md describes."
    )


def stub_source(cells: Sequence[NotebookNode], *, label: str, where: str) -> str:
    """Return the source of the one stub cell that replaces a run of solution cells.

    Raises:
        StudentEditionError: if markers are malformed or the stub is not valid Python.
    """
    parts: list[list[str]] = []
    for index, cell in enumerate(cells):
        if cell.cell_type == "code":
            lines = kept_lines(cell.source, label=label, where=f"{where}, solution cell {index}")
            if any(line.strip() for line in lines):
                parts.append(_trim_blank_lines(lines))
    body = "\n\n".join("\n".join(part) for part in parts)
    if raise_line(label) not in body.splitlines():
        body = f"{body}\n{raise_line(label)}" if body else raise_line(label)
    try:
        compile(body, where, "exec")
    except SyntaxError as error:
        raise StudentEditionError(
            f"{where}: the stub for exercise {label} is not valid Python ({error.msg}, line "
            f"{error.lineno}); put the BEGIN/END SOLUTION markers around whole statements."
        ) from error
    return body


def _trim_blank_lines(lines: list[str]) -> list[str]:
    """Return ``lines`` without leading and trailing blank lines."""
    start = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
    end = len(lines) - next((i for i, line in enumerate(reversed(lines)) if line.strip()), 0)
    return lines[start:end]


def _is_solution(cell: NotebookNode) -> bool:
    """Return True if the cell carries the ``solution`` tag."""
    return SOLUTION_TAG in cell.get("metadata", {}).get("tags", [])


def _clean_copy(cell: NotebookNode) -> NotebookNode:
    """Return a copy of ``cell`` without outputs, execution count or execution metadata."""
    copy = nbformat.from_dict(cell)
    copy.metadata.pop("execution", None)
    if copy.cell_type == "code":
        copy.outputs = []
        copy.execution_count = None
    return copy


def _cell_id(label: str) -> str:
    """Return a valid, deterministic notebook cell id for the stub of exercise ``label``."""
    return ("stub-" + re.sub(r"[^A-Za-z0-9_-]", "-", label))[:64]


def student_notebook(notebook: NotebookNode, *, name: str) -> NotebookNode:
    """Return the student edition of one chapter notebook (the input is not modified).

    Raises:
        StudentEditionError: if a solution run breaks the exercise conventions.
    """
    note = nbformat.v4.new_markdown_cell(STUDENT_NOTE)
    note.id = NOTE_CELL_ID
    cells: list[NotebookNode] = [note]
    run: list[NotebookNode] = []
    for index, cell in enumerate([*notebook.cells, None]):
        if cell is not None and _is_solution(cell):
            run.append(cell)
            continue
        if run:
            where = f"{name}, cells {index - len(run)}-{index - 1}"
            label = solution_label(run, where=where)
            stub = nbformat.v4.new_code_cell(stub_source(run, label=label, where=where))
            stub.id = _cell_id(label)
            stub.metadata["tags"] = ["exercise-stub"]
            cells.append(stub)
            run = []
        if cell is not None:
            cells.append(_clean_copy(cell))
    student = nbformat.v4.new_notebook(cells=cells, metadata=nbformat.from_dict(notebook.metadata))
    student.metadata.pop("widgets", None)
    nbformat.validate(student)
    return student


def write_student_edition(notebook_dir: Path, out_dir: Path) -> list[Path]:
    """Return the paths of the student notebooks written to ``out_dir`` (one per chapter).

    Earlier ``*.ipynb`` files in ``out_dir`` are removed first, so a deleted chapter does
    not linger.

    Raises:
        StudentEditionError: if there are no notebooks, ``out_dir`` is the notebook folder,
            or a notebook breaks the exercise conventions.
    """
    sources = sorted(Path(notebook_dir).glob("*.ipynb"))
    if not sources:
        raise StudentEditionError(
            f"no notebooks found in {notebook_dir}; run from the repository root or pass "
            "--notebooks PATH."
        )
    out_dir = Path(out_dir)
    if out_dir.resolve() == Path(notebook_dir).resolve():
        raise StudentEditionError(
            f"--out {out_dir} is the notebook folder itself; choose another folder, e.g. "
            "_build/student, so the instructor notebooks are not overwritten."
        )
    students = [
        student_notebook(nbformat.read(path, as_version=4), name=path.name) for path in sources
    ]
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in sorted(out_dir.glob("*.ipynb")):
        stale.unlink()
    written = []
    for path, student in zip(sources, students, strict=True):
        target = out_dir / path.name
        nbformat.write(student, target)
        written.append(target)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Return the exit status after writing the student edition (0 = success)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks", type=Path, default=Path("notebooks"),
                        help="folder with the instructor notebooks (default: notebooks)")
    parser.add_argument("--out", type=Path, default=Path("_build/student"),
                        help="output folder (default: _build/student)")
    args = parser.parse_args(argv)
    try:
        written = write_student_edition(args.notebooks, args.out)
    except StudentEditionError as error:
        print(f"make_student: {error}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
