"""Grader strength and fairness report (`gradekit strength`): how many wrong solutions the
hidden tests catch, and how many correct ones they fail.

Every mutant and every correct variant is graded exactly like a student submission (the batch command:
nbgrader's autograde with the hidden tests and the trusted re-check, the same limits), in a throwaway copy
of the course. A mutant is killed when any autograded test loses points or its grading fails; otherwise
it survives. Survivors that are equivalent to the reference (no student could lose points for them, e.g. a
change in a constant that cannot matter) are listed, with a reason, in
source/<assignment>/strength_equivalents.json and leave the denominator.

The other half: correct variants (gradekit.authoring.variants, and the assignment's kit/alternatives.py)
must keep full marks; one that loses a point is a false fail. Draws of everything the instructions leave
free (initialisation, seeds, shuffling) give each test's flake rate. For every graded submission the notebook's own test and the
trusted re-check must reach the same verdict on every cell of correct work, and no hidden test may catch
what the re-check misses (a "gap"); the report lists each disagreement.
"""
from __future__ import annotations

import copy
import difflib
import json
import random
import tempfile
import time
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING

from gradekit.authoring.mutants import Mutant, notebook_mutants
from gradekit.authoring.strength.groups import CorrectVariant, Group, pack
from gradekit.authoring.strength.render import kill_rate_figure, markdown
from gradekit.authoring.strength.report import Disagreement, Fairness, MutantResult, StrengthReport, VariantResult, kill_counts
from gradekit.authoring.submissions import apply_edit, solved_notebook, write_submission
from gradekit.authoring.variants import not_allowed, notebook_variants
from gradekit.core.assignment_kit import kit_part
from gradekit.core.cells import grade_id, without_markers
from gradekit.core.errors import GradekitError
from gradekit.core.layout import Course
from gradekit.core.nbgrader_run import course_copy
from gradekit.core.settings import Limits
from gradekit.grading.batch import grade
from gradekit.records.results import Status

if TYPE_CHECKING:  # names in annotations only
    from collections.abc import Sequence

    from nbformat import NotebookNode

    from gradekit.authoring.submissions import Edit
    from gradekit.records.results import Result

EQUIVALENTS_FILE = "strength_equivalents.json"


def load_equivalents(course: Path, assignment: str) -> dict[str, dict]:
    course = Course(course)
    path = course.source(assignment) / EQUIVALENTS_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def select_mutants(course: Path, assignment: str, notebooks: list[str], sample: int | None = None,
                   seed: int = 0) -> list[Mutant]:
    course = Course(course)
    chosen = []
    for nb in notebooks:
        mutants = notebook_mutants(course.source(assignment) / f"{nb}.ipynb", nb)
        if sample and sample < len(mutants):
            mutants = sorted(random.Random(f"{seed}-{nb}").sample(mutants, sample), key=lambda m: (m.cell, m.line))
        chosen += mutants
    return chosen


def mutant_submission(solved: NotebookNode, mutant: Mutant) -> NotebookNode:
    """A copy of the solved notebook `solved` with the mutant's cell (or a correct variant's) in place of the
    reference's."""
    nb = copy.deepcopy(solved)
    cell = next(c for c in nb.cells if grade_id(c) == mutant.cell)
    cell.source = without_markers(mutant.source)
    return nb


def cell_diff(mutant: Mutant, reference_source: str) -> str:
    return "".join(difflib.unified_diff(without_markers(reference_source).splitlines(True),
                                        without_markers(mutant.source).splitlines(True),
                                        f"reference/{mutant.cell}", f"mutant/{mutant.cell}", n=1))


def correct_variants(course: Path, assignment: str, notebooks: list[str], solved: dict,
                     draws: int) -> list[CorrectVariant]:
    """Generated rewrites (gradekit.authoring.variants), the kit's catalogued alternatives and `draws` draws per
    notebook
    (none when the assignment's kit has no alternatives)."""
    course = Course(course)
    def edited(edits: Sequence[Edit]):
        touched = sorted({e.notebook for e in edits})
        nbs = {nb: copy.deepcopy(solved[nb]) for nb in touched}
        for e in edits:
            apply_edit(nbs[e.notebook], e)
        return nbs

    excluded = not_allowed(course, assignment)
    result = []
    for nb in notebooks:
        for v in notebook_variants(course.source(assignment) / f"{nb}.ipynb", nb, excluded):
            sub = mutant_submission(solved[nb], v)
            result.append(CorrectVariant(f"v-{v.id}", f"generated: {v.operator}", f"{nb} / {v.cell}: {v.describe()}",
                                         {nb: sub}, notebook_diff({nb: solved[nb]}, {nb: sub})))
    catalogue = kit_part(course, assignment, "alternatives")
    alternatives = getattr(catalogue, "ALTERNATIVES", {})
    draw = getattr(catalogue, "draw", lambda notebook, k: [])
    for name, edits in alternatives.items():
        if {e.notebook for e in edits} <= set(notebooks):
            nbs = edited(edits)
            result.append(CorrectVariant(f"alt-{name}", "catalogued", name, nbs, notebook_diff(solved, nbs)))
    for nb in notebooks:
        for k in range(draws if draw(nb, 0) else 0):
            nbs = edited(draw(nb, k))
            result.append(CorrectVariant(f"draw-{nb}-{k}", "draw", f"{nb} draw {k}", nbs, notebook_diff(solved, nbs)))
    return result


def notebook_diff(reference: dict, variant: dict) -> str:
    """Unified diff of the code cells that differ, per notebook."""
    out = []
    for nb, changed in variant.items():
        for ref_cell, cell in zip(reference[nb].cells, changed.cells):
            if cell.source != ref_cell.source:
                name = grade_id(cell) or "cell"
                out += difflib.unified_diff(ref_cell.source.splitlines(True), cell.source.splitlines(True),
                                            f"reference/{nb}/{name}", f"variant/{nb}/{name}", n=1)
    return "".join(line if line.endswith("\n") else line + "\n" for line in out)


def own_tests(result: Result, notebooks: Collection[str]) -> dict:
    """Tests of the submitted notebooks only: a partial submission also has 0-score rows for the others."""
    return {t: v for t, v in result.tests.items() if t.split(":", 1)[0] in notebooks}


def lost_tests(result: Result, notebooks: Collection[str]) -> list[str]:
    """Tests of the submitted notebooks that lost points (none when grading failed: see grading_failed)."""
    if result.status == Status.FAILED:
        return []
    return [t for t, (s, mx) in own_tests(result, notebooks).items() if s is not None and s < mx]


def grading_failed(result: Result) -> str:
    return (result.reason or "grading failed") if result.status == Status.FAILED else ""


def _outcome(result: Result, notebooks: set[str]) -> tuple[list[str], str, list[str]]:
    """(tests lost, why grading failed, flags) of a correct submission of `notebooks`; flags about the
    notebooks a partial submission leaves out would be false alarms."""
    return (lost_tests(result, notebooks), grading_failed(result),
            [f for f in result.flags if not f.startswith("missing notebook")])


def _full_marks(result: Result, notebooks: set[str]) -> bool:
    """Nothing lost, failed or flagged, and both judges agree on every cell of `notebooks`."""
    return not any(_outcome(result, notebooks)) and not any(
        cell.split(":", 1)[0] in notebooks for cell in result.disagreements)


def run(course: Path, assignment: str, notebooks: list[str] | None = None, jobs: int | None = None,
        sample: int | None = None, seed: int = 0, timeout: float = 120.0, out_dir: Path | None = None,
        progress: bool = True, fairness: bool = True, draws: int = 50, group: bool = True) -> StrengthReport:
    """Grade mutants (how many bugs the tests catch) and, with `fairness`, correct variants and `draws`
    draws of the free randomness per notebook (how much correct work they fail), in one batch. With
    `group`, variants of different cells share a submission, and a group without full marks is graded
    again one variant at a time (gradekit.authoring.strength.groups)."""
    import nbformat
    course = Course(course)
    notebooks = notebooks or course.notebooks(assignment)
    out_dir = Path(out_dir or course.strength(assignment))
    out_dir.mkdir(parents=True, exist_ok=True)
    mutants = select_mutants(course, assignment, notebooks, sample, seed)
    equivalents = load_equivalents(course, assignment)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        batch_course = course_copy(Path(tmp) / "course", course, assignment)
        solved = {nb: solved_notebook(batch_course, assignment, nb) for nb in notebooks}
        variants = correct_variants(course, assignment, notebooks, solved, draws) if fairness else []
        for nb in notebooks:
            write_submission(batch_course, assignment, f"reference-{nb}", {nb: solved[nb]})
        for m in mutants:
            write_submission(batch_course, assignment, f"m-{m.id}", {m.notebook: mutant_submission(solved[m.notebook], m)})
        groups = pack(variants, solved) if group else [Group(v.student, [v], v.notebooks) for v in variants]
        for g in groups:
            write_submission(batch_course, assignment, g.student, g.notebooks)
        print(f"grading {len(mutants)} mutants and {len(variants)} correct variants ({len(groups)} submissions) "
              f"of {', '.join(notebooks)} (+ the reference) ...")
        # the same limits as student submissions, with the per-submission wall time asked for
        limits = Limits.from_config(course, timeout=timeout)
        with open(out_dir / "grading.log", "w") as log:
            results = grade(batch_course, assignment, jobs=jobs, limits=limits, feedback=False, progress=progress,
                            out=log)
            split = [g for g in groups if len(g.members) > 1 and not _full_marks(results[g.student], set(g.notebooks))]
            alone = [v for g in split for v in g.members]
            for v in alone:
                write_submission(batch_course, assignment, v.student, v.notebooks)
            if split:
                print(f"{len(split)} groups without full marks: grading their {len(alone)} variants one by one ...")
                results.update(grade(batch_course, assignment, [v.student for v in alone], jobs=jobs, limits=limits,
                                     feedback=False, progress=progress, out=log))
    seconds = time.perf_counter() - t0
    # the submission that speaks for each variant: its group's when that had full marks, else its own
    graded_as = {v.student: g.student for g in groups for v in g.members} | {v.student: v.student for v in alone}

    for nb in notebooks:
        ref = results[f"reference-{nb}"]
        if lost_tests(ref, {nb}) or grading_failed(ref):
            raise GradekitError(f"the reference of {nb} does not get full marks "
                                f"({lost_tests(ref, {nb}) or grading_failed(ref)})",
                                "fix the tests before measuring their strength")
    all_tests = sorted({t for nb in notebooks for t in own_tests(results[f"reference-{nb}"], {nb})})
    sources = {nb: {grade_id(c): c.source for c in nbformat.read(course.source(assignment) / f"{nb}.ipynb",
                                                                  as_version=4).cells} for nb in notebooks}
    rows = []
    for m in mutants:
        result = results[f"m-{m.id}"]
        caught, failed = lost_tests(result, {m.notebook}), grading_failed(result)
        status = "killed" if caught or failed else "equivalent" if m.id in equivalents else "survived"
        rows.append(MutantResult(m.id, m.notebook, m.cell, m.operator, m.line, m.describe(), status, caught, failed,
                                 cell_diff(m, sources[m.notebook][m.cell]) if status != "killed" else ""))
    fair_rows = []
    for v in variants:
        lost, failed, flags = _outcome(results[graded_as[v.student]], set(v.notebooks))
        fair_rows.append(VariantResult(v.student, v.family, v.label, sorted(v.notebooks), lost, failed, v.diff, flags))
    judged = {f"reference-{nb}": {nb} for nb in notebooks}
    judged.update({f"m-{m.id}": {m.notebook} for m in mutants})
    judged.update({g.student: set(g.notebooks) for g in groups if g not in split})
    judged.update({v.student: set(v.notebooks) for v in alone})
    # A "gap": the notebook's test failed a cell the re-check passed. The grader awards the points, so a
    # submission that hid its test's failure would keep them: every gap is a hole in a probe. "stricter":
    # the re-check, which compares with the reference, failed a cell the kernel's own test passed (a bug
    # the notebook's test cannot see, e.g. a consistent backward pass of a wrong forward pass); allowed on
    # mutants, never on correct work.
    correct = set(judged) - {f"m-{m.id}" for m in mutants}  # the references and the correct variants
    disagreements = [Disagreement(student, cell, results[student].judges[cell][0], results[student].judges[cell][1],
                                  student in correct, "gap" if results[student].judges[cell][0] == "failed" else "stricter")
                     for student, nbs in judged.items() for cell in results[student].disagreements
                     if cell.split(":", 1)[0] in nbs]
    report = StrengthReport(assignment=assignment, sampled=bool(sample), sample=sample, seed=seed,
                            seconds=round(seconds, 1), jobs=jobs, summary=kill_counts(rows), tests=all_tests,
                            mutants=rows, equivalents_file=f"source/{assignment}/{EQUIVALENTS_FILE}",
                            fairness=Fairness.of(fair_rows, all_tests, notebooks) if fairness else None,
                            variants=fair_rows, disagreements=disagreements, judged=len(judged),
                            variant_submissions=len(groups), groups_split=len(split))
    (out_dir / "strength.json").write_text(json.dumps(report.to_json(), indent=1))
    kill_rate_figure(report.summary, out_dir / "kill_rate.png")
    (out_dir / "strength.md").write_text(markdown(report))
    return report
