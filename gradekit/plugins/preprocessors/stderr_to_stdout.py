"""Warnings are not failures: stderr output re-labelled as stdout before nbgrader scores the cells."""
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
