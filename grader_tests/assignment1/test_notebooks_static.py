"""Structure of the source notebooks and the bug catalogue, checked without running anything."""
from __future__ import annotations

import ast

import nbformat
import pytest

from gradekit.authoring.submissions import apply_edit
from gradekit.core.cells import grade_id, is_solution_cell
from gradekit.core.layout import Course
from grader_tests.helpers import ASSIGNMENT, BUGS, NOTEBOOKS, ROOT


def _source(name):
    return nbformat.read(Course(ROOT).source(ASSIGNMENT) / f"{name}.ipynb", as_version=4)


def _meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_grade_ids_are_unique_and_tests_have_points(name):
    nb = _source(name)
    ids = [grade_id(c) for c in nb.cells if grade_id(c)]
    assert len(ids) == len(set(ids)), "duplicate grade_id"
    for cell in nb.cells:
        if _meta(cell).get("grade"):
            assert _meta(cell).get("points", 0) > 0, f"{grade_id(cell)} has no points"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_stub_is_taught_first(name):
    """Teach first, then ask: a markdown cell with math comes before each code stub."""
    nb = _source(name)
    for i, cell in enumerate(nb.cells):
        if is_solution_cell(cell) and cell.cell_type == "code":
            before = [c for c in nb.cells[:i] if c.cell_type == "markdown"]
            assert before and "$" in "".join(c.source for c in before[-1:]), \
                f"{grade_id(cell)}: no explanation with math before the stub"
            assert "### BEGIN SOLUTION" in cell.source, f"{grade_id(cell)} has no solution region"


def _returns_nothing(func: ast.FunctionDef) -> bool:
    return not any(isinstance(n, ast.Return) and n.value is not None for n in ast.walk(func))


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_test_cells_do_not_end_in_a_value(name):
    """A test cell whose last line displays a number is scored by nbgrader as partial credit."""
    def parse(cell):
        return ast.parse("\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith("%")))

    cells = _source(name).cells
    silent = {"print", "check_close"} | {
        f.name for c in cells if c.cell_type == "code" and _meta(c).get("grade")
        for f in ast.walk(parse(c)) if isinstance(f, ast.FunctionDef) and _returns_nothing(f)}
    for cell in cells:
        if _meta(cell).get("grade") and cell.cell_type == "code":
            body = parse(cell).body
            if body and isinstance(body[-1], ast.Expr):
                call = body[-1].value
                assert isinstance(call, ast.Call) and getattr(call.func, "id", "") in silent, \
                    f"{grade_id(cell)} ends in an expression whose value nbgrader would read as a score"


@pytest.mark.parametrize("bug", BUGS, ids=lambda b: b.name)
def test_bug_edits_apply_and_name_real_test_cells(bug):
    for edit in bug.edits:
        nb = _source(edit.notebook)
        apply_edit(nb, edit)  # raises unless the text occurs exactly once
        tests = {grade_id(c) for c in nb.cells if _meta(c).get("grade")}
        missing = set(bug.caught_by) - tests
        assert not missing, f"{bug.name}: caught_by names unknown test cells {missing}"
