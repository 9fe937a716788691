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

import nbformat  # noqa: E402
from nbgrader.preprocessors import Execute  # noqa: E402
from traitlets import Float  # noqa: E402

OUTPUT_LIMIT_MESSAGE = "output limit exceeded"


class BoundedExecute(Execute):
    """nbgrader's Execute with a cap on the total output a notebook may produce.

    A submission that prints gigabytes would otherwise fill the grader's memory and the autograded file.
    Past the cap, further display and stream output of the notebook is dropped (errors are still kept,
    so a failing test still fails), one note is added to the cell, and a warning naming
    OUTPUT_LIMIT_MESSAGE is logged, which the batch command reports as a flag.
    """

    max_output_mb = Float(20.0, help="Total output (MB) one notebook may produce.").tag(config=True)

    def preprocess(self, nb, resources=None, *args, **kwargs):
        self._output_bytes = 0
        self._output_truncated = False
        return super().preprocess(nb, resources, *args, **kwargs)

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
