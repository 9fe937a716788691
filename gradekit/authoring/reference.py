"""Load the instructor's reference solution from a source notebook into a Python namespace.

Used by benchmarks and unit tests to call the reference functions directly (e.g. to train over many
seeds) without running the whole notebook through a kernel.
"""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import nbformat

from gradekit.core.cells import without_markers
from gradekit.core.layout import Course


def _is_definition_cell(cell) -> bool:
    """Setup and solution cells; not tests, not the cells that train or write files."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    if cell.cell_type != "code" or meta.get("grade"):
        return False
    return meta.get("solution", False) or meta.get("grade_id") == "setup"


def load_reference(course: Path, assignment: str, notebook: str) -> dict:
    """Execute the setup and solution cells of source/<assignment>/<notebook>.ipynb; return the namespace."""
    course = Course(course)
    folder = course.source(assignment)
    nb = nbformat.read(folder / f"{notebook}.ipynb", as_version=4)
    code = "\n\n".join(
        "\n".join(line for line in without_markers(cell.source).splitlines() if not line.startswith("%"))
        for cell in nb.cells if _is_definition_cell(cell))
    namespace: dict = {"__name__": f"reference_{notebook}"}
    sys.path.insert(0, str(folder))
    try:
        with contextlib.chdir(folder):
            exec(compile(code, f"<reference {notebook}>", "exec"), namespace)
    finally:
        sys.path.remove(str(folder))
    return namespace
