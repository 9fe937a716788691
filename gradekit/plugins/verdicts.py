"""The grader's verdict on every graded cell, written so that nbgrader's scoring reads nothing else.

nbgrader scores a test cell from its outputs and stops at the first error, stderr stream or
`execute_result` (a number there is partial credit). Everything in those outputs came from the student's
kernel, so, after execution and before nbgrader scores:

- every `execute_result` of a graded cell becomes `display_data` (shown, never partial credit);
- a cell passes only when the grader's own check passed (`gradekit.plugins.trusted`) *and* the kernel reported no
  error for it (an error output, or an error reply, which nbgrader records as one): the kernel's report can
  take points away, never give them;
- a cell that does not pass gets the grader's error as its first output, so nbgrader gives it 0.

A notebook without probes is graded "unverified": no grader-side check, so honest work is scored as
plain nbgrader scores it, and forged outputs still cannot raise a score (no partial credit, any error 0).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # names in annotations only
    from nbformat import NotebookNode

FAILED_ENAME = "TrustedCheckFailed"  # the error the grader writes first into a cell that does not pass
NO_CHECK = "this cell has no grader-side check"
KERNEL_FAILED = "a test of this cell failed in your notebook"


def graded_test_cells(nb: NotebookNode):
    """(grade_id, cell) for every autograded test cell."""
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            yield meta.get("grade_id"), cell


def fail_cell(cell: NotebookNode, message: str) -> None:
    """Put the grader's failure first in a graded cell's outputs, which nbgrader scores as 0."""
    import nbformat

    cell.outputs.insert(0, nbformat.v4.new_output(
        "error", ename=FAILED_ENAME, evalue=message, traceback=[f"{FAILED_ENAME}: {message}"]))


def kernel_failed(cell: NotebookNode) -> bool:
    return any(o.get("output_type") == "error" for o in cell.get("outputs", []))


def no_partial_credit(cell: NotebookNode) -> None:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "execute_result":
            output["output_type"] = "display_data"
            output.pop("execution_count", None)


def award(nb: NotebookNode, checks: dict[str, str | None] | None) -> dict[str, str]:
    """Write the grader's verdict into every graded cell; returns {grade_id: "passed" or the reason}.

    `checks`: the trusted re-check's verdict per grade_id (None: passed), or None for an unverified notebook.
    """
    verdicts = {}
    for grade_id, cell in graded_test_cells(nb):
        no_partial_credit(cell)
        failed_in_kernel = kernel_failed(cell)
        if checks is None:
            reason = KERNEL_FAILED if failed_in_kernel else None
        elif grade_id not in checks:
            reason = NO_CHECK
        else:
            reason = checks[grade_id] or (KERNEL_FAILED if failed_in_kernel else None)
        if reason is None:
            verdicts[grade_id] = "passed"
        else:
            verdicts[grade_id] = reason
            fail_cell(cell, reason)
    return verdicts
