"""Build student submissions from the release and the reference solution (for samples and tests)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat

from gradekit.core.cells import grade_id, is_solution_cell, without_markers
from gradekit.core.layout import Course

if TYPE_CHECKING:  # names in annotations only
    from collections.abc import Sequence

    from nbformat import NotebookNode


@dataclass(frozen=True)
class Edit:
    """Replace `old` by `new` in the cell with grade_id `cell` of notebook `notebook` (cell None: the one
    code cell that contains `old`); `old` must occur exactly once."""
    notebook: str
    cell: str | None
    old: str
    new: str


@dataclass(frozen=True)
class Bug:
    """A classic mistake: edits of the reference solution, and the test cells that must catch it."""
    name: str
    why: str
    edits: tuple[Edit, ...]
    caught_by: tuple[str, ...]  # grade_ids of the test cells that must lose points

    @property
    def notebooks(self) -> set[str]:
        return {e.notebook for e in self.edits}


def solved_notebook(course: Path, assignment: str, notebook: str):
    """The released notebook with every stub filled in with the reference solution."""
    course = Course(course)
    release = nbformat.read(course.release(assignment) / f"{notebook}.ipynb", as_version=4)
    source = nbformat.read(course.source(assignment) / f"{notebook}.ipynb", as_version=4)
    solutions = {grade_id(c): c.source for c in source.cells if is_solution_cell(c)}
    for cell in release.cells:
        if is_solution_cell(cell) and grade_id(cell) in solutions:
            cell.source = without_markers(solutions[grade_id(cell)])
    return release


def apply_edit(nb: NotebookNode, edit: Edit) -> None:
    if edit.cell is None:
        cells = [c for c in nb.cells if c.cell_type == "code" and edit.old in c.source]
    else:
        cells = [c for c in nb.cells if grade_id(c) == edit.cell]
    if len(cells) != 1:
        raise ValueError(f"{edit.notebook}: no single cell {edit.cell or 'containing ' + repr(edit.old)}")
    count = cells[0].source.count(edit.old)
    if count != 1:
        raise ValueError(f"{edit.notebook}/{edit.cell}: the text to replace occurs {count} times, "
                         f"expected once:\n{edit.old}")
    cells[0].source = cells[0].source.replace(edit.old, edit.new)


def write_submission(course: Path, assignment: str, student: str, notebooks: dict) -> Path:
    """Write notebooks {name: notebook} as `submitted/<student>/<assignment>/<name>.ipynb`."""
    course = Course(course)
    folder = course.submitted(student, assignment)
    folder.mkdir(parents=True, exist_ok=True)
    for name, nb in notebooks.items():
        nbformat.write(nb, folder / f"{name}.ipynb")
    return folder


def submission_with_edits(course: Path, assignment: str, notebooks: list[str], edits: Sequence[Edit] = ()) -> dict:
    """Reference-solved notebooks with `edits` applied: {name: notebook}."""
    result = {name: solved_notebook(course, assignment, name) for name in notebooks}
    for edit in edits:
        apply_edit(result[edit.notebook], edit)
    return result


def untouched_release(course: Path, assignment: str, notebooks: list[str]) -> dict:
    course = Course(course)
    return {name: nbformat.read(course.release(assignment) / f"{name}.ipynb", as_version=4)
            for name in notebooks}
