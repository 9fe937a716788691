"""Feedback for students that keeps the hidden tests hidden."""
import re

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor

from .. import trusted

HIDDEN_BEGIN, HIDDEN_END, HINT_PREFIX = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS", "# HINT:"


def split_hidden(source: str) -> tuple[list[str], list[str], list[str]]:
    """(visible lines with a placeholder per hidden block, hidden lines, instructor hints)."""
    visible, hidden, hints, inside = [], [], [], False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped == HIDDEN_BEGIN:
            inside = True
            visible.append("# [hidden tests: not shown]")
        elif stripped == HIDDEN_END:
            inside = False
        elif inside:
            hidden.append(line)
            if stripped.startswith(HINT_PREFIX):
                hints.append(stripped[len(HINT_PREFIX):].strip())
        else:
            visible.append(line)
    return visible, hidden, hints


def _failing_line(output) -> int | None:
    """The cell line an IPython traceback points at (`----> 12 ...`), if any."""
    for frame in output.get("traceback", [])[1:2]:
        match = re.search(r"-+> *(\d+)", re.sub(r"\x1b\[[0-9;]*m", "", frame))
        if match:
            return int(match.group(1))
    return None


class HideHiddenTests(NbGraderPreprocessor):
    """Feedback for students without the hidden tests (nbgrader shows them in full, nbgrader #917).

    In every cell with hidden tests the hidden lines are replaced by a placeholder, and the outputs by a
    summary: passed, or failed with the test's points and the instructor's hint (the `# HINT:` lines of
    the hidden block), plus the reason when it is safe to show: a failure in the visible part (which the
    student can reproduce) or the grader's trusted re-check (whose messages hold no reference values).
    A hidden test's own message, traceback and printed values may hold reference values: never shown.
    """

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type != "code" or HIDDEN_BEGIN not in cell.source:
            return cell, resources
        visible, _, hints = split_hidden(cell.source)
        first_hidden = 1 + next(i for i, line in enumerate(cell.source.splitlines()) if line.strip() == HIDDEN_BEGIN)
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        points = cell.metadata.get("nbgrader", {}).get("points")
        lines = []
        if not errors:
            lines.append("All tests of this cell passed.")
        else:
            lines.append(f"A test of this cell failed ({points:g} points lost)." if points else "A test failed.")
            for error in errors:
                line = _failing_line(error)
                if error.get("ename") == trusted.FAILED_ENAME:
                    lines.append(f"The grader's re-check failed: {error.get('evalue', '')}")
                elif line is not None and line < first_hidden:
                    lines.append(f"Visible test: {error.get('ename')}: {error.get('evalue', '')}")
                else:
                    lines.append("A hidden test failed.")
            lines += [f"Hint: {hint}" for hint in hints]
        cell.source = "\n".join(visible)
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="\n".join(lines) + "\n")]
        return cell, resources
