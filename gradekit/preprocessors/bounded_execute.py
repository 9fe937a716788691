"""nbgrader's Execute, bounded in output, in a sandboxed kernel, with the grader's trusted re-check."""
import json
from pathlib import Path

import nbformat
from nbgrader.preprocessors import Execute
from traitlets import Bool, Float, Unicode

from .. import trusted
from ..findings import FAILED, PASSED, NotebookFindings

OUTPUT_LIMIT_MESSAGE = "output limit exceeded"


class BoundedExecute(Execute):
    """nbgrader's Execute with a cap on the total output a notebook may produce, and the trusted re-check.

    A submission that prints gigabytes would otherwise fill the grader's memory and the autograded file.
    Past the cap, further display and stream output of the notebook is dropped (errors are still kept,
    so a failing test still fails) and one note is added to the cell. With probes in
    source/<assignment>/probes/, every graded cell they cover is also judged in the grader's process
    (gradekit.trusted); a cell fails when either judge fails it. What was found goes into the notebook's
    metadata (gradekit.findings).
    """

    max_output_mb = Float(20.0, help="Total output (MB) one notebook may produce.").tag(config=True)
    trusted_checks = Bool(True, help="Run the notebook's probes and judge them in the grader "
                                     "(gradekit.trusted).").tag(config=True)
    course_root = Unicode("", help="Course directory (for source/<assignment>/probes and the reference "
                                   "cache); default: three levels above the notebook's folder.").tag(config=True)

    def __init__(self, *args, **kwargs):
        from ..kernel import SandboxedKernelManager

        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(*args, **kwargs)

    def preprocess(self, nb, resources=None, *args, **kwargs):
        self._output_bytes = 0
        self.findings = NotebookFindings()
        info = (resources or {}).get("nbgrader", {})
        folder = Path(resources["metadata"]["path"]) if resources else None
        course = Path(self.course_root) if self.course_root else (folder.parents[2] if folder else None)
        probes = (trusted.probe_path(course, info["assignment"], info["notebook"])
                  if self.trusted_checks and course and "assignment" in info else None)
        if probes and probes.is_file():
            nb, resources = self._execute_with_probes(nb, resources, course, info, folder, probes, *args, **kwargs)
        else:
            nb, resources = super().preprocess(nb, resources, *args, **kwargs)
        self.findings.save(nb)
        return nb, resources

    def _execute_with_probes(self, nb, resources, course, info, folder, probes, *args, **kwargs):
        reference = trusted.reference_arrays(course, info["assignment"], info["notebook"])
        out_file = folder / trusted.PROBE_FILE
        self.findings.shipped_probe_file = out_file.exists() or out_file.is_symlink()
        out_file.unlink(missing_ok=True)  # a stale or student-shipped file is never evidence
        nb.cells.append(trusted.probe_cell(probes.read_text(), trusted.PROBE_FILE))
        try:
            nb, resources = super().preprocess(nb, resources, *args, **kwargs)
        finally:
            nb.cells = [c for c in nb.cells if trusted.PROBE_CELL_TAG not in c.metadata.get("tags", [])]
        student = None if out_file.is_symlink() else trusted.load_arrays(out_file)
        out_file.unlink(missing_ok=True)
        verdicts = trusted.judge(trusted.load_checks(probes), student, reference)
        self.findings.kernel_tests = self._kernel_verdicts(nb, verdicts)
        self.findings.trusted_checks = {g: m or PASSED for g, m in verdicts.items()}
        self._apply_verdicts(nb, verdicts)
        return nb, resources

    @staticmethod
    def _graded_code_cells(nb, verdicts: dict):
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if cell.cell_type == "code" and grade_id in verdicts:
                yield grade_id, cell, any(o.get("output_type") == "error" for o in cell.get("outputs", []))

    def _kernel_verdicts(self, nb, verdicts: dict) -> dict[str, str]:
        """"passed" or "failed" for every graded cell the re-check judges, as the notebook's own tests ran."""
        return {g: FAILED if failed else PASSED for g, _, failed in self._graded_code_cells(nb, verdicts)}

    def _apply_verdicts(self, nb, verdicts: dict) -> None:
        """Fail every graded cell whose trusted check failed; note those the kernel's own tests passed."""
        for grade_id, cell, failed in list(self._graded_code_cells(nb, verdicts)):
            message = verdicts[grade_id]
            if message is None:
                continue
            if not failed:
                self.findings.overruled.append(grade_id)
                self.log.warning("trusted re-check failed where the notebook's own test passed: %s (%s)",
                                 grade_id, message)
            trusted.fail_cell(cell, message)

    def output(self, outs, msg, display_id, cell_index):
        if msg["msg_type"] in ("stream", "display_data", "execute_result", "update_display_data"):
            content = msg.get("content", {})
            text = content.get("text")
            self._output_bytes += len(text) if isinstance(text, str) else len(json.dumps(content))
            if self._output_bytes > self.max_output_mb * 1e6:
                if not self.findings.output_truncated:
                    self.findings.output_truncated = True
                    self.log.warning("%s: over %g MB in cell %d; further output dropped",
                                     OUTPUT_LIMIT_MESSAGE, self.max_output_mb, cell_index)
                    outs.append(nbformat.v4.new_output(
                        "stream", name="stdout",
                        text=f"\n[{OUTPUT_LIMIT_MESSAGE}: over {self.max_output_mb:g} MB; the rest is dropped]\n"))
                return None
        return super().output(outs, msg, display_id, cell_index)
