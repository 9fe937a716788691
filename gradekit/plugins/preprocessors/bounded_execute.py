"""nbgrader's Execute in a sandboxed kernel that works on a private copy, with the grader's verdicts."""
from __future__ import annotations

import json
import secrets
import shutil
import stat
from pathlib import Path

import nbformat
from nbgrader.preprocessors import Execute
from traitlets import Bool, Float, Integer, Unicode

from gradekit.core.layout import Course
from gradekit.plugins import trusted, verdicts
from gradekit.plugins.findings import FAILED, PASSED, NotebookFindings, record

OUTPUT_LIMIT_MESSAGE = "output limit exceeded"
# What the kernel may show: text and raster images. HTML, JavaScript, SVG and Markdown from a student's
# kernel would run or render in a TA's formgrader page and in the student's feedback.
SAFE_MIME_TYPES = ("text/plain", "image/png", "image/jpeg")
SCRATCH_ATTRIBUTE = "_gradekit_scratch"


class BoundedExecute(Execute):
    """nbgrader's Execute, with the kernel treated as the adversary.

    - The kernel works in a private copy of the submission's folder (grading/<assignment>/scratch/<student>/), one
      per submission, shared by its notebooks and removed afterwards: nothing it writes, links included,
      reaches autograded/ or feedback/, and no grading step follows a path it made.
    - Its outputs are bounded (a total size cap), reduced to safe types, and never rewrite another
      cell: display updates and widget messages are dropped.
    - With probes in source/<assignment>/probes/, every graded cell is judged by the grader
      (gradekit.plugins.trusted); gradekit.plugins.verdicts then writes the grader's verdict into each graded cell, so
      nbgrader's scoring reads nothing the kernel produced except its failures.

    What was found goes into the notebook's metadata (gradekit.plugins.findings).
    """

    max_output_mb = Float(20.0, help="Total output (MB) one notebook may produce.").tag(config=True)
    trusted_checks = Bool(True, help="Run the notebook's probes and judge them in the grader "
                                     "(gradekit.plugins.trusted).").tag(config=True)
    course_root = Unicode("", help="Course directory (for source/<assignment>/probes and the reference "
                                   "cache); default: three levels above the notebook's folder.").tag(config=True)
    probe_seed = Integer(0, help="The batch's secret seed for the probes' inputs; 0: the seed of the last "
                                 "batch (grading/<assignment>/probe_seed). Set by `gradekit grade`.").tag(config=True)

    def __init__(self, *args, **kwargs):
        from gradekit.plugins.kernel import SandboxedKernelManager

        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(*args, **kwargs)

    def preprocess(self, nb, resources=None, *args, **kwargs):
        self._output_bytes = 0
        self._probe_index = None
        self.findings = NotebookFindings()
        info = (resources or {}).get("nbgrader", {})
        folder = Path(resources["metadata"]["path"]) if resources else None
        course = Path(self.course_root) if self.course_root else (folder.parents[2] if folder else None)
        if not (course and "assignment" in info):  # not inside nbgrader's autograde: plain execution
            return super().preprocess(nb, resources, *args, **kwargs)
        assignment, notebook = info["assignment"], info["notebook"]
        resources["metadata"]["path"] = str(self._scratch(course, assignment, info.get("student", "x"), folder))
        try:
            probes = trusted.snapshot(course, assignment) / "probes" / f"{notebook}.py"
            if self.trusted_checks and probes.is_file():
                nb, resources = self._execute_with_probes(nb, resources, course, assignment, notebook, probes,
                                                          *args, **kwargs)
            else:
                nb, resources = super().preprocess(nb, resources, *args, **kwargs)
                self.findings.kernel_tests = self._kernel_verdicts(nb)
                self.findings.verdicts = verdicts.award(nb, None)
        finally:
            resources["metadata"]["path"] = str(folder)
        self.findings.save(nb)
        record(notebook, self.findings)
        return nb, resources

    # ------------------------------------------------------------------------------------------------
    def _scratch(self, course: Path, assignment: str, student: str, folder: Path) -> Path:
        """The submission's private working copy: made at its first notebook from the files nbgrader put in
        the autograded folder (the student's files after intake, the release's helpers), then shared by
        that submission's notebooks only. One nbgrader process may grade many students (`nbgrader
        autograde` without --student): the copy is kept on the app under the submission's own key, and a
        new submission gets a new copy and the previous student's folder is removed, so no kernel sees a
        classmate's files."""
        from gradekit.core.files import remove_tree

        course = Course(course)
        key = (str(course.root), assignment, student, str(folder))
        kept_key, kept = getattr(self.parent, SCRATCH_ATTRIBUTE, (None, None))
        if kept_key == key and kept and Path(kept).is_dir():
            return Path(kept)
        if kept:  # the previous submission's: its student's folder (scratch/<student>/<random>/)
            remove_tree(Path(kept).parent)
        base = course.scratch(assignment) / student
        base.mkdir(parents=True, exist_ok=True)
        scratch = base / secrets.token_hex(6)
        _copy_regular_files(folder, scratch)
        if self.parent is not None:
            setattr(self.parent, SCRATCH_ATTRIBUTE, (key, str(scratch)))
        return scratch

    def _execute_with_probes(self, nb, resources, course, assignment, notebook, probes, *args, **kwargs):
        seed = self.probe_seed or trusted.current_seed(course, assignment)
        module = trusted.load_checks(probes, seed)
        trusted.check_coverage(module, nb, notebook)
        reference = trusted.reference_arrays(course, assignment, notebook, seed)
        self.findings.verified, self.findings.probe_seed = True, seed
        nb.cells.append(trusted.probe_cell(trusted.probe_source(probes), seed))
        self._probe_index = len(nb.cells) - 1
        try:
            nb, resources = super().preprocess(nb, resources, *args, **kwargs)
            probe_outputs = nb.cells[-1].get("outputs", []) if self._is_probe(nb.cells[-1]) else []
        finally:
            nb.cells = [c for c in nb.cells if not self._is_probe(c)]
            self._probe_index = None
        student = trusted.arrays_from_outputs(probe_outputs)
        checks = trusted.judge(module, student, reference)
        self.findings.kernel_tests = self._kernel_verdicts(nb)
        self.findings.trusted_checks = {g: m or PASSED for g, m in checks.items()}
        self.findings.overruled = [g for g, m in checks.items() if m and self.findings.kernel_tests.get(g) == PASSED]
        for grade_id in self.findings.overruled:
            self.log.warning("trusted re-check failed where the notebook's own test passed: %s (%s)",
                             grade_id, checks[grade_id])
        self.findings.verdicts = verdicts.award(nb, checks)
        return nb, resources

    @staticmethod
    def _is_probe(cell) -> bool:
        return trusted.PROBE_CELL_TAG in cell.metadata.get("tags", [])

    @staticmethod
    def _kernel_verdicts(nb) -> dict[str, str]:
        """"passed" or "failed" for every graded cell, as the notebook's own tests ran in the kernel."""
        return {g: FAILED if verdicts.kernel_failed(cell) else PASSED for g, cell in verdicts.graded_test_cells(nb)}

    # ------------------------------------------------------------------------------------------------
    # What the kernel may put into the notebook
    # ------------------------------------------------------------------------------------------------
    def _update_display_id(self, display_id, msg):
        """Never: a display updated from a later cell would carry what the kernel saw then (hidden tests)."""

    def handle_comm_msg(self, outs, msg, cell_index):
        """Widgets are not graded: their messages could route outputs around the grader's view."""

    def output(self, outs, msg, display_id, cell_index):
        msg_type = msg["msg_type"]
        if msg_type == "update_display_data":
            return None
        content = msg.get("content", {})
        if cell_index == self._probe_index:  # only the probe archive, bounded by trusted.MAX_PROBE_BYTES
            if msg_type == "display_data" and trusted.PROBE_MIME in content.get("data", {}):
                return super().output(outs, msg, None, cell_index)
            return None
        if msg_type in ("display_data", "execute_result"):
            data = {k: v for k, v in content.get("data", {}).items() if k in SAFE_MIME_TYPES}
            if not data:
                return None
            msg = {**msg, "content": {**content, "data": data, "metadata": {}, "transient": {}}}
            content = msg["content"]
        if msg_type in ("stream", "display_data", "execute_result"):
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
        elif msg_type == "error":
            self._output_bytes += len(json.dumps(content))
            if self._output_bytes > self.max_output_mb * 1e6:  # an error still fails its cell, briefly
                content = {"ename": str(content.get("ename", "Error"))[:100], "evalue": "", "traceback": []}
                msg = {**msg, "content": content}
        return super().output(outs, msg, None, cell_index)


def _copy_regular_files(source: Path, dest: Path) -> None:
    """Copy the non-notebook regular files of `source` (the grader's own copies) into a new folder `dest`,
    walked as intake walks a submission: without recursion, never through a link."""
    from gradekit.core.files import walk

    dest.mkdir(mode=0o755)
    for rel, info in walk(source):
        if stat.S_ISDIR(info.st_mode):
            (dest / rel).mkdir(parents=True, exist_ok=True)
        elif stat.S_ISREG(info.st_mode) and not rel.endswith(".ipynb"):
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / rel, dest / rel, follow_symlinks=False)
