"""The generated student edition hides every solution and runs up to its first stub."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from notebook_checks import (
    NOTEBOOK_DIR,
    chapter_notebooks,
    code_lines,
    exercise_labels,
    is_solution,
    read,
    solution_runs,
    split_solution_code,
)

from data_scripts.make_student import StudentEditionError, write_student_edition

STUB = re.compile(r'raise NotImplementedError\("Exercise (?P<label>[^:"]+): ')


@pytest.fixture(scope="session")
def student_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a folder holding a freshly generated student edition."""
    out = tmp_path_factory.mktemp("student")
    write_student_edition(NOTEBOOK_DIR, out)
    return out


def _stub_labels(cell: nbformat.NotebookNode) -> set[str]:
    """Return the exercise labels named by the stub ``raise`` lines of a code cell."""
    if cell.cell_type != "code":
        return set()
    return {found.group("label") for found in STUB.finditer(cell.source)}


def _hidden_lines(notebook: nbformat.NotebookNode) -> set[str]:
    """Return the stripped solution lines that must not reach students."""
    hidden: set[str] = set()
    for _, run in solution_runs(notebook):
        for cell in run:
            if cell.cell_type == "code":
                hidden.update(line.strip() for line in split_solution_code(cell.source)[1])
    return hidden


def _public_lines(notebook: nbformat.NotebookNode) -> set[str]:
    """Return the stripped code lines students may see: non-solution cells and kept lines."""
    public = code_lines([cell for cell in notebook.cells if not is_solution(cell)])
    for _, run in solution_runs(notebook):
        for cell in run:
            if cell.cell_type == "code":
                public.update(line.strip() for line in split_solution_code(cell.source)[0])
    return public | {""}


def test_one_student_notebook_per_chapter(student_dir: Path) -> None:
    written = sorted(path.name for path in student_dir.iterdir())
    assert written == [path.name for path in chapter_notebooks()]


def test_no_solution_survives(notebook_path: Path, student_dir: Path) -> None:
    source = read(notebook_path)
    student = read(student_dir / notebook_path.name)
    nbformat.validate(student)
    assert not [cell for cell in student.cells if is_solution(cell)], "a solution cell survived"
    for cell in student.cells:
        assert "solution-start" not in cell.source and "solution-end" not in cell.source
    solution_markdown = {
        cell.source for _, run in solution_runs(source) for cell in run
        if cell.cell_type == "markdown"
    }
    assert not [c for c in student.cells if c.cell_type == "markdown" and c.source in
                solution_markdown], "solution explanations survived"
    leaked = (_hidden_lines(source) - _public_lines(source)) & code_lines(student.cells)
    assert not leaked, f"solution lines in the student edition: {sorted(leaked)}"
    assert all(
        not cell.outputs and cell.execution_count is None
        for cell in student.cells if cell.cell_type == "code"
    ), "the student edition has outputs"


def test_one_stub_per_exercise_right_after_it(notebook_path: Path, student_dir: Path) -> None:
    labels = exercise_labels(read(notebook_path))
    student = read(student_dir / notebook_path.name)
    stubs = [(index, _stub_labels(cell)) for index, cell in enumerate(student.cells)]
    stubs = [(index, found) for index, found in stubs if found]
    assert [found for _, found in stubs] == [{label} for label in labels], (
        f"expected one stub cell per exercise {labels}, got {[sorted(f) for _, f in stubs]}"
    )
    for (index, _), label in zip(stubs, labels, strict=True):
        assert f":label: {label}" in student.cells[index - 1].source, (
            f"the stub of {label} does not follow its exercise"
        )
        compile(student.cells[index].source, f"stub {label}", "exec")


def test_other_cells_are_unchanged(notebook_path: Path, student_dir: Path) -> None:
    source = read(notebook_path)
    student = read(student_dir / notebook_path.name)
    expected = [(c.cell_type, c.source) for c in source.cells if not is_solution(c)]
    kept = [(c.cell_type, c.source) for c in student.cells[1:] if not _stub_labels(c)]
    assert kept == expected
    assert "student edition" in student.cells[0].source.lower()


@pytest.mark.notebooks
def test_runs_until_the_first_stub(
    notebook_path: Path, student_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("COURSE_FAST", "1")
    monkeypatch.setenv("COURSE_RESULTS", str(tmp_path))  # quick runs never reach the book's table
    student = read(student_dir / notebook_path.name)
    first_stub = next(i for i, cell in enumerate(student.cells) if _stub_labels(cell))
    label = sorted(_stub_labels(student.cells[first_stub]))[0]
    client = NotebookClient(
        student, timeout=600, kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    with client.setup_kernel():
        for index, cell in enumerate(student.cells[:first_stub]):
            if cell.cell_type == "code":
                client.execute_cell(cell, index)
        with pytest.raises(CellExecutionError) as stopped:
            client.execute_cell(student.cells[first_stub], first_stub)
    assert stopped.value.ename == "NotImplementedError"
    assert f"Exercise {label}:" in stopped.value.evalue


def _exercise_notebook(solution_code: list[str], *, gate: bool = True) -> nbformat.NotebookNode:
    """Return a tiny chapter with one exercise whose solution holds ``solution_code`` cells."""
    new_md, new_code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    run = [new_md("```{solution-start} ex-demo\n:class: dropdown\n```")] if gate else []
    run += [new_code(source) for source in solution_code]
    run += [new_md("Why it works."), new_md("```{solution-end}\n```")]
    for cell in run:
        cell.metadata["tags"] = ["solution"]
    cells = [new_md("# 00 Demo"), new_md("```{exercise}\n:label: ex-demo\n\nDo it.\n```"), *run]
    return nbformat.v4.new_notebook(cells=cells)


def _write(tmp_path: Path, notebook: nbformat.NotebookNode) -> Path:
    """Return the folder holding ``notebook`` saved as ``00_demo.ipynb``."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    nbformat.write(notebook, folder / "00_demo.ipynb")
    return folder


def test_markers_keep_the_outside_lines(tmp_path: Path) -> None:
    solution = (
        "def double(x):\n    # BEGIN SOLUTION\n    return 2 * x\n    # END SOLUTION\n\n"
        "print(double(4))"
    )
    folder = _write(tmp_path, _exercise_notebook([solution, "print('marker-less cell')"]))
    (stub_path,) = write_student_edition(folder, tmp_path / "student")
    cells = read(stub_path).cells
    assert len(cells) == 4  # note, title, exercise, one stub
    message = '"Exercise ex-demo: write your solution here, then run the cell."'
    assert cells[3].source == (
        f"def double(x):\n    raise NotImplementedError({message})\n\nprint(double(4))\n"
        f"raise NotImplementedError({message})"
    )


@pytest.mark.parametrize("source", [
    "# BEGIN SOLUTION\nx = 1",
    "x = 1\n# END SOLUTION",
    "# BEGIN SOLUTION\n# BEGIN SOLUTION\nx = 1\n# END SOLUTION",
])
def test_bad_markers_are_rejected(tmp_path: Path, source: str) -> None:
    folder = _write(tmp_path, _exercise_notebook([source]))
    with pytest.raises(StudentEditionError, match="SOLUTION"):
        write_student_edition(folder, tmp_path / "student")


def test_a_solution_without_its_gate_is_rejected(tmp_path: Path) -> None:
    folder = _write(tmp_path, _exercise_notebook(["x = 1"], gate=False))
    with pytest.raises(StudentEditionError, match="solution-start"):
        write_student_edition(folder, tmp_path / "student")


def test_never_writes_into_the_notebook_folder(tmp_path: Path) -> None:
    folder = _write(tmp_path, _exercise_notebook(["x = 1"]))
    with pytest.raises(StudentEditionError, match="notebook folder"):
        write_student_edition(folder, folder)


def test_stale_student_notebooks_are_removed(tmp_path: Path) -> None:
    folder = _write(tmp_path, _exercise_notebook(["x = 1"]))
    out = tmp_path / "student"
    out.mkdir()
    (out / "99_old_chapter.ipynb").write_text("{}", encoding="utf8")
    write_student_edition(folder, out)
    assert sorted(path.name for path in out.iterdir()) == ["00_demo.ipynb"]
