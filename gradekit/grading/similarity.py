"""Similarity flags: pairs of submissions a person should compare. They never change a score.

Two signals, over the notebooks in submitted/ (and autograded/ once graded):
- **Code**: each solution cell a student wrote (the released stub counts as not written) is normalised
  with copydetect's tokenizer (run here: no code leaves the machine), which replaces names by one symbol
  and drops comments and layout, so renamed variables and new comments do not hide a copy; a cell is
  then a set of short character sequences, which do not depend on the order of the functions in it.
  Two students' versions of a cell match when those sets overlap by MATCH or more. In one class many
  students write the same code for the same exercise, so a match counts as much as it is rare: -log of
  the share of the class whose version matches. A pair's score adds that up over the cells; independent
  students who each pick among common ways of writing each cell agree by chance with a probability of
  about exp(-score), so a pair is flagged when its score exceeds log(number of pairs) + MARGIN, i.e. when
  even the likeliest chance agreement in a class of this size would be rare.
- **Outputs** (only when the assignment's kit names its seed, `kit/similarity.py: SEED_PATTERN`): the
  same numeric output (a number with 6 or more digits) in two submissions whose seeds differ. Results
  computed from different seeds do not agree to the last digit: the numbers were copied, or the code
  ignores the seed. Outputs shared by more than three submissions (seed-independent checks) are left out.
Results go to grading/<assignment>/similarity.json; the class report lists the flagged pairs with the
overlapping lines under "Needs a TA's attention".
"""
from __future__ import annotations

import ast
import hashlib
import json
import math
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat
import numpy as np

from gradekit.core.atomic import write_atomically
from gradekit.core.cells import grade_id, is_solution_cell
from gradekit.core.layout import Course
from gradekit.records.similarity_flags import Flag

if TYPE_CHECKING:  # names in annotations only
    from nbformat import NotebookNode

MATCH = 0.8  # overlap (Jaccard) of two versions of a cell that counts as the same version
MARGIN = 1.5  # over log(pairs): at most about exp(-MARGIN) chance flags per class, by a bound that overestimates
GRAM = 12  # characters of normalised code per sequence
MAX_CELL_CHARS = 20_000  # a longer cell is compared by its beginning (a pasted blob must not stall the batch)
NUMBER = re.compile(r"\d*\.\d{6,}|\d\.\d+e[-+]?\d+")


@dataclass
class Document:
    """One student's work as the detector sees it."""
    student: str
    cells: dict  # "notebook/cell id" -> the code the student wrote there
    seeds: tuple = ()
    outputs: dict = field(default_factory=dict)  # hash of a numeric output -> where it is ("notebook/cell")


def solution_cells(nb: NotebookNode, notebook: str, solution_ids: set[str]) -> dict[str, str]:
    return {f"{notebook}/{grade_id(c)}": "\n".join(line for line in c.source.splitlines()
                                                 if not line.lstrip().startswith(("%", "!")))
            for c in nb.cells if c.cell_type == "code" and grade_id(c) in solution_ids}


def numeric_outputs(nb: NotebookNode, notebook: str) -> dict[str, str]:
    out = {}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for o in cell.get("outputs", []):
            text = o.get("text", "") if o.get("output_type") == "stream" else o.get("data", {}).get("text/plain", "")
            text = "".join(text) if isinstance(text, list) else text
            if NUMBER.search(text):
                out[hashlib.sha256(f"{notebook}\0{text}".encode()).hexdigest()] = f"{notebook}/{grade_id(cell) or index}"
    return out


def seeds_of(nbs: list[NotebookNode], pattern: str | None) -> tuple:
    if not pattern:
        return ()
    regex = re.compile(pattern, re.MULTILINE)
    return tuple(m for nb in nbs for c in nb.cells if c.cell_type == "code" for m in regex.findall(c.source))


def outermost_functions(tree: ast.AST) -> list[ast.FunctionDef]:
    """The functions and methods of `tree` that are not nested in another function."""
    functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    return [f for f in functions if not any(g is not f and g.lineno <= f.lineno and f.end_lineno <= g.end_lineno
                                            for g in functions)]


def _chunks(code: str) -> list[str]:
    """Each function (and method) of the cell on its own, then the rest, so that the order of the
    functions does not change the cell's signature."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # any cell a student wrote
        return [code]
    lines = code.splitlines()
    taken = set()
    chunks = []
    for f in outermost_functions(tree):
        start = min([f.lineno] + [d.lineno for d in f.decorator_list])
        chunks.append("\n".join(lines[start - 1:f.end_lineno]))
        taken |= set(range(start - 1, f.end_lineno))
    return chunks + ["\n".join(line for i, line in enumerate(lines) if i not in taken)]


def _grams(code: str) -> set:
    from copydetect.detector import filter_code

    try:
        text = filter_code(code, "cell.py", "python")[0]
    except Exception:  # noqa: BLE001 - a tokenizer failure on odd input: compare the raw text
        text = "".join(code.split())
    if len(text) <= GRAM:
        return {text} if text else set()
    return {text[i:i + GRAM] for i in range(len(text) - GRAM + 1)}


def signature(code: str) -> frozenset:
    """The cell's normalised code as a set of overlapping character sequences, function by function."""
    return frozenset().union(*[_grams(chunk) for chunk in _chunks(code[:MAX_CELL_CHARS])])


def _versions(signatures: list[frozenset], stub: frozenset) -> list[int]:
    """A label per student: the same label for versions that match (transitively); -1 for none written."""
    unique = list(dict.fromkeys(signatures))
    parent = list(range(len(unique)))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, a in enumerate(unique):
        for j in range(i + 1, len(unique)):
            b = unique[j]
            if a and b and len(a & b) >= MATCH * len(a | b):
                parent[root(j)] = root(i)
    index = {sig: root(i) for i, sig in enumerate(unique)}
    unwritten = {index[sig] for sig in unique if not sig or (stub and len(sig & stub) >= MATCH * len(sig | stub))}
    return [-1 if index[sig] in unwritten else index[sig] for sig in signatures]


LAMBDAS = (0.5, 1.0, 2.0, 4.0, 8.0)


def code_scores(documents: list[Document], stubs: dict[str, str] | None = None):
    """Per pair, the evidence against independent work (n x n, in nats), and each cell's share of the
    agreement.

    For student a, cell c, let f be the share of the class whose version of c matches a's. If b wrote
    independently, picking a version of each cell as often as the class does, the agreement
    S = sum over matching cells of -log f obeys P(S >= s) <= prod_c (f^(1-l) + 1 - f) * exp(-l s) for any
    l > 0 (Chernoff). The evidence is -log of the smallest such bound over a few l, from both sides of the
    pair, the weaker of the two."""
    stubs = stubs or {}
    n = len(documents)
    agreement = np.zeros((n, n))
    prefactor = {lam: np.zeros(n) for lam in LAMBDAS}
    shared: dict[str, np.ndarray] = {}
    for cell in sorted({c for d in documents for c in d.cells}):
        labels = np.array(_versions([signature(d.cells.get(cell, "")) for d in documents],
                                    signature(stubs.get(cell, ""))))
        same = (labels[:, None] == labels[None, :]) & (labels[:, None] >= 0)
        share = np.maximum(same.sum(axis=1), 1) / n
        weight = np.where(labels >= 0, -np.log(share), 0.0)
        shared[cell] = same * weight[:, None]
        agreement += shared[cell]
        for lam in LAMBDAS:
            prefactor[lam] += np.where(labels >= 0, np.log(share ** (1 - lam) + 1 - share), 0.0)
    bound = np.min([prefactor[lam][:, None] - lam * agreement for lam in LAMBDAS], axis=0)
    evidence = -np.maximum(bound, bound.T)
    return evidence, shared


def code_limit(n: int, margin: float = MARGIN) -> float:
    """Evidence a pair needs: chance alone would flag about exp(-margin) pairs in a class of n."""
    return math.log(max(1, n * (n - 1) / 2)) + margin


def compare(documents: list[Document], stubs: dict[str, str] | None = None, margin: float = MARGIN) -> list[Flag]:
    """Every flagged pair among `documents` (see the module's docstring)."""
    n = len(documents)
    flags = []
    if n >= 2:
        evidence, shared = code_scores(documents, stubs)
        limit = code_limit(n, margin)
        for i, j in zip(*np.nonzero(np.triu(evidence, k=1) > limit)):
            a, b = documents[i], documents[j]
            cells = sorted(((m[i, j], c) for c, m in shared.items() if m[i, j] > 0), reverse=True)
            flags.append(Flag(a.student, b.student, "code", round(float(evidence[i, j]), 2),
                              f"evidence {evidence[i, j]:.1f} over {limit:.1f}: the same version of "
                              f"{len(cells)} cells, the rarest {', '.join(c for _, c in cells[:3])}",
                              _lines(a, [c for _, c in cells[:3]])))
    flags += _output_flags(documents)
    return flags


def _lines(document: Document, cells: list[str], per_cell: int = 6) -> list[str]:
    out = []
    for cell in cells:
        code = [line for line in document.cells.get(cell, "").splitlines() if line.strip()]
        out += [f"# {cell}"] + code[:per_cell] + (["..."] if len(code) > per_cell else [])
    return out


def _output_flags(documents: list[Document]) -> list[Flag]:
    holders: dict[str, list[Document]] = {}
    for d in documents:
        if d.seeds:
            for h in d.outputs:
                holders.setdefault(h, []).append(d)
    pairs: dict[tuple[str, str], list[str]] = {}
    for h, docs in holders.items():
        if len(docs) > 3:  # shared by many: a check that does not depend on the seed
            continue
        for i, a in enumerate(docs):
            for b in docs[i + 1:]:
                if a.seeds != b.seeds:
                    pairs.setdefault(tuple(sorted((a.student, b.student))), []).append(a.outputs[h])
    by_student = {d.student: d for d in documents}
    return [Flag(a, b, "outputs", 1.0, f"the same numeric output with different seeds ({', '.join(by_student[a].seeds)} "
                 f"and {', '.join(by_student[b].seeds)}) in {', '.join(sorted(set(where)))}")
            for (a, b), where in sorted(pairs.items())]


def released_cells(course: Path, assignment: str) -> tuple[dict, dict[str, str]]:
    """The solution-cell ids of each notebook, and the released stub of each cell ("notebook/id" -> code)."""
    course = Course(course)
    solution_ids, stubs = {}, {}
    for nb in course.notebooks(assignment):
        released = nbformat.read(course.release(assignment) / f"{nb}.ipynb", as_version=4)
        solution_ids[nb] = {grade_id(c) for c in released.cells if is_solution_cell(c)}
        stubs.update(solution_cells(released, nb, solution_ids[nb]))
    return solution_ids, stubs


def course_documents(course: Path, assignment: str, seed_pattern: str | None = None) -> tuple[list[Document], dict]:
    """The documents of every student in submitted/ (outputs also from autograded/), and the stubs."""
    from gradekit.core.files import read_regular
    course = Course(course)
    solution_ids, stubs = released_cells(course, assignment)
    documents = []
    for student in course.submitted_students(assignment):
        cells, outputs, read = {}, {}, []
        for nb in solution_ids:
            for folder in (course.submitted(student, assignment), course.autograded(student, assignment)):
                data = read_regular(folder / f"{nb}.ipynb")  # never through a link the student made
                try:
                    notebook = nbformat.reads(data.decode(), as_version=4)
                except Exception:  # noqa: BLE001 - missing or broken
                    continue  # missing or broken: the batch reports it; nothing to compare here
                if folder == course.submitted(student, assignment):
                    cells.update(solution_cells(notebook, nb, solution_ids[nb]))
                    read.append(notebook)
                outputs.update(numeric_outputs(notebook, nb))
        documents.append(Document(student, cells, seeds_of(read, seed_pattern), outputs))
    return documents, stubs


def run(course: Path, assignment: str) -> list[Flag]:
    """Compare every submission of `assignment` and store the flags for the report."""
    from gradekit.core.assignment_kit import kit_part

    course = Course(course)
    settings = kit_part(course, assignment, "similarity")
    t0 = time.perf_counter()
    documents, stubs = course_documents(course, assignment, getattr(settings, "SEED_PATTERN", None))
    flags = compare(documents, stubs, getattr(settings, "MARGIN", MARGIN))
    path = course.similarity_flags(assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, json.dumps({"submissions": len(documents), "seconds": round(time.perf_counter() - t0, 2),
                                       "flags": [asdict(f) for f in flags]}, indent=1))
    return flags


