"""What students and editors do to notebooks, as functions: a correct submission damaged in each way.

Used to measure intake (gradekit.grading.intake, gradekit.grading.repair): each kind takes a solved notebook and returns
the file name it is saved under and the damaged notebook. Drawn from nbgrader's issue threads (#1941,
#1933, #1083, #981, PR #1753) and from editors that rewrite notebooks. Every kind keeps every answer
locatable: the grade of the damaged copy must equal the undamaged one's.
"""
from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import nbformat

if TYPE_CHECKING:  # names in annotations only
    from nbformat import NotebookNode


def _meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def _solutions(nb):
    return [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and _meta(c).get("solution")
            and not _meta(c).get("grade")]


def _test_after(nb, index):
    return next(i for i in range(index + 1, len(nb.cells))
                if _meta(nb.cells[i]).get("grade") and not _meta(nb.cells[i]).get("solution"))


def strip_metadata(nb: NotebookNode) -> NotebookNode:
    for cell in nb.cells:
        cell.metadata = {}
    return nb


def colab(nb: NotebookNode) -> NotebookNode:
    """Colab: custom cell metadata and ids dropped, its own metadata added, nbformat 4.0."""
    nb = strip_metadata(nb)
    for cell in nb.cells:
        cell.pop("id", None)
        cell.metadata = {"id": uuid.uuid4().hex[:12]} if cell.cell_type == "code" else {}
    nb.metadata = {"colab": {"provenance": []}, "kernelspec": {"name": "python3", "display_name": "Python 3"},
                   "language_info": {"name": "python"}}
    nb.nbformat_minor = 0
    return nb


def jupytext_round_trip(nb: NotebookNode) -> NotebookNode:
    """A `.py` (percent format, no metadata) converted back: cell types and sources only."""
    cells = []
    for cell in nb.cells:
        make = nbformat.v4.new_code_cell if cell.cell_type == "code" else nbformat.v4.new_markdown_cell
        cells.append(make(cell.source))
    nb.cells = cells
    return nb


def nbformat_44(nb: NotebookNode) -> NotebookNode:
    """nbformat 4.4: no cell ids."""
    for cell in nb.cells:
        cell.pop("id", None)
    nb.nbformat_minor = 4
    return nb


def vscode(nb: NotebookNode) -> NotebookNode:
    """VS Code: its own metadata, new cell ids, execution counts cleared."""
    for cell in nb.cells:
        cell["id"] = uuid.uuid4().hex[:8]
        cell.metadata["vscode"] = {"languageId": "python"}
        if cell.cell_type == "code":
            cell.execution_count = None
    nb.metadata["vscode"] = {"interpreter": {"hash": uuid.uuid4().hex}}
    return nb


def old_jupyter(nb: NotebookNode) -> NotebookNode:
    """Saved by a Jupyter of 2015 (nbformat 4.0: no ids, `metadata.collapsed`)."""
    nb = nbformat_44(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.metadata["collapsed"] = False
    nb.nbformat_minor = 0
    return nb


def duplicate_test(nb: NotebookNode) -> NotebookNode:
    index = _test_after(nb, _solutions(nb)[1])
    copy_ = copy.deepcopy(nb.cells[index])
    copy_["id"] = uuid.uuid4().hex[:8]
    nb.cells.insert(index + 1, copy_)
    return nb


def duplicate_solution(nb: NotebookNode) -> NotebookNode:
    """A copy of a solution cell, with its metadata, kept below an earlier draft: the last one counts."""
    index = _solutions(nb)[1]
    draft = copy.deepcopy(nb.cells[index])
    draft.source = "# first try, kept for later\n" + "\n".join(draft.source.splitlines()[:-3])
    draft["id"] = uuid.uuid4().hex[:8]
    nb.cells.insert(index, draft)
    return nb


def solution_below_test(nb: NotebookNode) -> NotebookNode:
    index = _solutions(nb)[0]
    cell = nb.cells.pop(index)
    nb.cells.insert(_test_after(nb, index - 1) + 1, cell)
    return nb


def split_solution(nb: NotebookNode) -> NotebookNode:
    """A solution cell split in two, both halves keeping its metadata (as JupyterLab's split does)."""
    index = _solutions(nb)[1]
    cell = nb.cells[index]
    lines = cell.source.splitlines()
    cut = next(i for i in range(len(lines) - 1, 0, -1) if lines[i].startswith(("def ", "class ")) or i == len(lines) // 2)
    second = copy.deepcopy(cell)
    cell.source, second.source = "\n".join(lines[:cut]), "\n".join(lines[cut:])
    second["id"] = uuid.uuid4().hex[:8]
    nb.cells.insert(index + 1, second)
    return nb


def merged_with_test(nb: NotebookNode) -> NotebookNode:
    """A solution cell merged with the test below it (the merged cell keeps the solution's metadata)."""
    index = _solutions(nb)[0]
    test = nb.cells.pop(_test_after(nb, index))
    nb.cells[index].source += "\n\n" + test.source
    return nb


def solution_as_raw(nb: NotebookNode) -> NotebookNode:
    """A solution cell whose type was changed to raw by a stray keystroke (R in command mode)."""
    index = _solutions(nb)[0]
    cell = nb.cells[index]
    nb.cells[index] = nbformat.v4.new_raw_cell(cell.source, metadata=cell.metadata)
    nb.cells[index]["id"] = cell.get("id", uuid.uuid4().hex[:8])
    return nb


def helper_cell_and_stripped(nb: NotebookNode) -> NotebookNode:
    """The student's own helper cell (used by a solution), and metadata stripped by an editor."""
    index = _solutions(nb)[0]
    nb.cells.insert(index, nbformat.v4.new_code_cell("MY_EPSILON = 1e-12  # a helper of my own\n"))
    return strip_metadata(nb)


def huge_outputs(nb: NotebookNode) -> NotebookNode:
    """Outputs of megabytes left in the notebook."""
    for index in _solutions(nb)[:3]:
        nb.cells[index].outputs = [nbformat.v4.new_output("stream", name="stdout", text="x" * 2_000_000)]
    return nb


def deleted_instructions(nb: NotebookNode) -> NotebookNode:
    """The markdown instructions deleted (no answer is lost)."""
    nb.cells = [c for c in nb.cells if c.cell_type != "markdown" or _meta(c)]
    return nb


@dataclass(frozen=True)
class Damage:
    name: str
    source: str  # where it comes from
    apply: Callable
    file_name: str = "{stem}.ipynb"


DAMAGES = [
    Damage("metadata-stripped", "an editor that drops unknown metadata (nbgrader #1941)", strip_metadata),
    Damage("colab", "saved by Colab", colab),
    Damage("jupytext-round-trip", "a jupytext .py converted back without metadata", jupytext_round_trip),
    Damage("nbformat-4.4", "nbformat 4.4, no cell ids", nbformat_44),
    Damage("vscode", "saved by VS Code", vscode),
    Damage("old-jupyter", "saved by an old Jupyter (nbformat 4.0)", old_jupyter),
    Damage("duplicated-test", "a test cell copied with its grade_id (nbgrader #1941, PR #1753)", duplicate_test),
    Damage("duplicated-solution", "a solution cell copied with its grade_id; the last one is the answer",
           duplicate_solution),
    Damage("solution-below-test", "a solution cell moved below its test", solution_below_test),
    Damage("split-solution", "a solution cell split in two", split_solution),
    Damage("merged-with-test", "a solution cell merged with its test", merged_with_test),
    Damage("solution-as-raw", "a solution cell turned into a raw cell", solution_as_raw),
    Damage("helper-cell-stripped", "a helper cell of the student's own, metadata stripped", helper_cell_and_stripped),
    Damage("huge-outputs", "outputs of megabytes", huge_outputs),
    Damage("deleted-instructions", "the instructions deleted", deleted_instructions),
    Damage("renamed-download", "downloaded twice: `name (1).ipynb`", lambda nb: nb, "{stem} (1).ipynb"),
    Damage("renamed-copy", "File > Make a Copy: `name-Copy1.ipynb`", lambda nb: nb, "{stem}-Copy1.ipynb"),
    Damage("renamed-case", "another case", lambda nb: nb, "{upper}.ipynb"),
]


def damaged(nb: NotebookNode, damage: Damage, stem: str) -> tuple[str, str]:
    """(file name, notebook JSON) of `nb` damaged by `damage`."""
    out = damage.apply(copy.deepcopy(nb))
    name = damage.file_name.format(stem=stem, upper=stem.upper())
    return name, json.dumps(out, indent=1)
