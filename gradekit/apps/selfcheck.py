"""Student self-check with an honest exit code (`gradekit check NOTEBOOK`).

nbgrader's `validate` prints VALIDATION FAILED but exits 0. This runs the notebook from the top in a
fresh kernel (in a temporary copy of its folder, so the student's file is never modified), then prints
one line per test cell (pass, FAIL, or hidden: a cell whose tests are all hidden, which the check cannot
judge) and exits 1 when any visible test fails, 2 when the notebook cannot be read or run.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat

if TYPE_CHECKING:  # names in annotations only
    from typing import TextIO


def _test_cells(nb):
    for index, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            yield index, meta.get("grade_id", f"cell {index}"), float(meta.get("points", 0))


def _has_visible_tests(source: str) -> bool:
    """False for a test cell whose tests are all hidden: in the release it holds comments only."""
    import ast

    try:
        return bool(ast.parse("\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))).body)
    except SyntaxError:
        return True  # the kernel will report it


def _first_error(cell) -> str | None:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            message = (out.get("evalue") or "").strip().splitlines()
            return f"{out.get('ename')}: {message[0] if message else ''}"[:300]
    return None


def check(path: Path, timeout: int = 120, out: TextIO | None = None) -> int:
    from nbclient import NotebookClient

    from gradekit.core.nbgrader_run import nbgrader_env

    out = out or sys.stdout
    path = Path(path)
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as err:  # noqa: BLE001 - any unreadable file is reported the same way
        print(f"cannot read {path}: {type(err).__name__}: {err}", file=out)
        return 2
    tests = list(_test_cells(nb))
    if not tests:
        print(f"{path.name}: no test cells found", file=out)
        return 2
    os.environ.update({k: v for k, v in nbgrader_env().items() if k.endswith("_THREADS") or k == "MPLBACKEND"})
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "work"
        shutil.copytree(path.parent, work, ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints"))
        client = NotebookClient(nb, timeout=timeout, allow_errors=True, kernel_name="python3",
                                resources={"metadata": {"path": str(work)}})
        try:
            client.execute(stderr=subprocess.DEVNULL)  # the kernel's start-up warnings are not the student's
        except Exception as err:  # noqa: BLE001 - a dead kernel or a timeout ends the check
            print(f"{path.name}: the notebook could not run to the end: {type(err).__name__}: {err}", file=out)
            return 2
    failed = hidden_only = 0
    for index, name, points in tests:
        error = _first_error(nb.cells[index])
        pts = f"{name} ({points:g} pt{'s' if points != 1 else ''})"
        if error is None and not _has_visible_tests(nb.cells[index].source):
            hidden_only += 1  # nothing ran here: no verdict until the notebook is graded
            print(f"hidden  {pts}: hidden tests only, run when the notebook is graded", file=out)
            continue
        failed += error is not None
        print(f"{'FAIL' if error else 'pass'}  {pts}" + (f": {error}" if error else ""), file=out)
    visible = len(tests) - hidden_only
    print(f"{path.name}: {visible - failed} of {visible} cells with visible tests pass; {hidden_only} cells have "
          "hidden tests only; hidden tests run when the notebook is graded", file=out)
    return 1 if failed else 0
