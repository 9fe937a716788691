"""nbgrader preprocessors used by the course's nbgrader_config.py."""
from nbgrader.preprocessors import NbGraderPreprocessor


class StderrToStdout(NbGraderPreprocessor):
    """Re-label stderr stream outputs as stdout, keeping their text visible.

    nbgrader's scoring gives a test cell 0 when any output is on stderr. Warnings are not failures: a
    failing test raises, and the error output still scores 0. Runs after Execute, before SaveAutoGrades.
    """

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code":
            for output in cell.get("outputs", []):
                if output.get("output_type") == "stream" and output.get("name") == "stderr":
                    output["name"] = "stdout"
                    output["text"] = "[stderr] " + output.get("text", "")
        return cell, resources


import json  # noqa: E402
from pathlib import Path  # noqa: E402

import nbformat  # noqa: E402
from nbgrader.preprocessors import Execute  # noqa: E402
from traitlets import Bool, Float, Unicode  # noqa: E402

from . import trusted  # noqa: E402

OUTPUT_LIMIT_MESSAGE = "output limit exceeded"
TRUSTED_OVERRULED = "trusted re-check failed where the notebook's own test passed"
SHIPPED_PROBE_FILE = "the submission shipped a results file for the trusted re-check (ignored)"


class BoundedExecute(Execute):
    """nbgrader's Execute with a cap on the total output a notebook may produce.

    A submission that prints gigabytes would otherwise fill the grader's memory and the autograded file.
    Past the cap, further display and stream output of the notebook is dropped (errors are still kept,
    so a failing test still fails), one note is added to the cell, and a warning naming
    OUTPUT_LIMIT_MESSAGE is logged, which the batch command reports as a flag.
    """

    max_output_mb = Float(20.0, help="Total output (MB) one notebook may produce.").tag(config=True)
    trusted_checks = Bool(True, help="Run the notebook's probes and judge them in the grader "
                                     "(gradekit.trusted).").tag(config=True)
    course_root = Unicode("", help="Course directory (for source/<assignment>/probes and the reference "
                                   "cache); default: three levels above the notebook's folder.").tag(config=True)

    def __init__(self, *args, **kwargs):
        from .kernel import SandboxedKernelManager

        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(*args, **kwargs)

    def preprocess(self, nb, resources=None, *args, **kwargs):
        self._output_bytes = 0
        self._output_truncated = False
        info = (resources or {}).get("nbgrader", {})
        folder = Path(resources["metadata"]["path"]) if resources else None
        course = Path(self.course_root) if self.course_root else (folder.parents[2] if folder else None)
        probes = (trusted.probe_path(course, info["assignment"], info["notebook"])
                  if self.trusted_checks and course and "assignment" in info else None)
        if not (probes and probes.is_file()):
            return super().preprocess(nb, resources, *args, **kwargs)

        reference = trusted.reference_arrays(course, info["assignment"], info["notebook"])
        out_file = folder / trusted.PROBE_FILE
        flags = [SHIPPED_PROBE_FILE] if out_file.exists() or out_file.is_symlink() else []
        out_file.unlink(missing_ok=True)  # a stale or student-shipped file is never evidence
        nb.cells.append(trusted.probe_cell(probes.read_text(), trusted.PROBE_FILE))
        try:
            nb, resources = super().preprocess(nb, resources, *args, **kwargs)
        finally:
            nb.cells = [c for c in nb.cells if trusted.PROBE_CELL_TAG not in c.metadata.get("tags", [])]
        student = None if out_file.is_symlink() else trusted.load_arrays(out_file)
        out_file.unlink(missing_ok=True)
        verdicts = trusted.judge(trusted.load_checks(probes), student, reference)
        kernel = self._kernel_verdicts(nb, verdicts)
        flags += self._apply_verdicts(nb, verdicts)
        # both judges' verdicts, per graded cell: the batch command and the strength report compare them
        nb.metadata["gradekit"] = {"flags": flags,
                                   "kernel_tests": kernel,
                                   "trusted_checks": {g: m or "passed" for g, m in verdicts.items()}}
        return nb, resources

    @staticmethod
    def _kernel_verdicts(nb, verdicts: dict) -> dict[str, str]:
        """"passed" or "failed" for every graded cell the re-check judges, as the notebook's own tests ran."""
        result = {}
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if cell.cell_type == "code" and grade_id in verdicts:
                failed = any(o.get("output_type") == "error" for o in cell.get("outputs", []))
                result[grade_id] = "failed" if failed else "passed"
        return result

    def _apply_verdicts(self, nb, verdicts: dict) -> list[str]:
        """Fail every graded cell whose trusted check failed; flag those the kernel's own tests passed."""
        flags = []
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            message = verdicts.get(grade_id)
            if cell.cell_type != "code" or message is None:
                continue
            if not any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
                flags.append(f"{TRUSTED_OVERRULED}: {grade_id}")
                self.log.warning("%s: %s (%s)", TRUSTED_OVERRULED, grade_id, message)
            trusted.fail_cell(cell, message)
        return flags

    def output(self, outs, msg, display_id, cell_index):
        if msg["msg_type"] in ("stream", "display_data", "execute_result", "update_display_data"):
            content = msg.get("content", {})
            text = content.get("text")
            self._output_bytes += len(text) if isinstance(text, str) else len(json.dumps(content))
            if self._output_bytes > self.max_output_mb * 1e6:
                if not self._output_truncated:
                    self._output_truncated = True
                    self.log.warning("%s: over %g MB in cell %d; further output dropped",
                                     OUTPUT_LIMIT_MESSAGE, self.max_output_mb, cell_index)
                    outs.append(nbformat.v4.new_output(
                        "stream", name="stdout",
                        text=f"\n[{OUTPUT_LIMIT_MESSAGE}: over {self.max_output_mb:g} MB; the rest is dropped]\n"))
                return None
        return super().output(outs, msg, display_id, cell_index)


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
    import re

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
