"""Feedback for students built by the grader: released cells, the grader's verdicts, no hidden test."""
import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer

from gradekit.plugins.findings import METADATA_KEY
from gradekit.plugins.preprocessors.bounded_execute import SAFE_MIME_TYPES
from gradekit.plugins.verdicts import graded_test_cells

HIDDEN_BEGIN, HIDDEN_END, HINT_PREFIX = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS", "# HINT:"
AFTER_HIDDEN = ("[outputs not included in feedback: this cell ran after hidden tests had been run in the "
                "kernel; run your notebook to see them]")


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


class HideHiddenTests(NbGraderPreprocessor):
    """Feedback built from what the grader knows, not from what the student's kernel printed.

    - Test cells: the visible lines (hidden blocks replaced by a placeholder) and one summary written by
      the grader: passed, or failed with the points lost, the grader's reason (its own text, which holds no
      reference value) and the instructor's hints (`# HINT:` lines of the hidden block). No text of a test
      cell's outputs is ever shown: the kernel wrote it, and could have written anything there.
    - The student's own cells and the other released cells: their outputs, reduced to text and raster
      images within size caps, but only for cells that ran before the first hidden test reached the
      kernel. Later ones could show what the kernel learnt from the hidden tests, so they get a note.
    - The notebook's metadata: only what rendering needs (no widget state, no kernel-written data).
    nbgrader alone shows the hidden tests in full (its issue #917).
    """

    max_cell_text = Integer(20000, help="Characters of text output kept per cell in feedback.").tag(config=True)
    max_image_bytes = Integer(1_000_000, help="Largest image (base64 bytes) kept in feedback.").tag(config=True)

    def preprocess(self, nb, resources):
        findings = nb.metadata.get(METADATA_KEY, {})
        self._verdicts = findings.get("verdicts", {}) if isinstance(findings, dict) else {}
        self._tests = {id(cell) for _, cell in graded_test_cells(nb)}
        self._first_hidden = next((i for i, c in enumerate(nb.cells)
                                   if c.cell_type == "code" and HIDDEN_BEGIN in c.source), len(nb.cells))
        nb.metadata = nbformat.NotebookNode({k: nb.metadata[k] for k in ("kernelspec", "language_info")
                                             if k in nb.metadata})
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, cell_index):
        cell.metadata.pop("widgets", None)
        if cell.cell_type != "code":
            return cell, resources
        if id(cell) in self._tests:
            self._summarise_test(cell)
        elif cell_index >= self._first_hidden:
            cell.outputs = [_text(AFTER_HIDDEN)] if cell.outputs else []
        else:
            cell.outputs = self._safe_outputs(cell.outputs)
        return cell, resources

    def _summarise_test(self, cell) -> None:
        meta = cell.metadata.get("nbgrader", {})
        visible, _, hints = split_hidden(cell.source)
        verdict = self._verdicts.get(meta.get("grade_id"), "not graded")
        points = meta.get("points")
        if verdict == "passed":
            lines = ["All tests of this cell passed."]
        else:
            lines = [f"A test of this cell failed ({points:g} points lost)." if points else "A test failed.",
                     f"The grader: {verdict}"] + [f"Hint: {hint}" for hint in hints]
        cell.source = "\n".join(visible)
        cell.outputs = [_text("\n".join(lines) + "\n")]

    def _safe_outputs(self, outputs) -> list:
        kept, text_left = [], self.max_cell_text
        for output in outputs:
            kind = output.get("output_type")
            if kind == "stream":
                text = str(output.get("text", ""))[:max(text_left, 0)]
                text_left -= len(text)
                if text:
                    kept.append(_text(text))
            elif kind in ("display_data", "execute_result"):
                data = {k: v for k, v in output.get("data", {}).items() if k in SAFE_MIME_TYPES and isinstance(v, str)
                        and (k == "text/plain" or len(v) <= self.max_image_bytes)}
                if "text/plain" in data:
                    data["text/plain"] = data["text/plain"][:max(text_left, 0)]
                    text_left -= len(data["text/plain"])
                if data:
                    kept.append(nbformat.v4.new_output("display_data", data=data))
            elif kind == "error":
                kept.append(nbformat.v4.new_output(
                    "error", ename=str(output.get("ename", ""))[:200], evalue=str(output.get("evalue", ""))[:2000],
                    traceback=[str(line)[:2000] for line in output.get("traceback", [])[:30]]))
        if text_left < 0 or len(kept) < len(outputs):
            kept.append(_text("[some output was left out of feedback: size or type]"))
        return kept


def _text(text: str):
    return nbformat.v4.new_output("stream", name="stdout", text=text)
