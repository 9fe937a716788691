"""Similarity flags (gradekit/grading/similarity.py): disguised copies are flagged and independent work is not,
on a class built from assignment 1's kit (gradekit.authoring.disguise.population); numbers copied across different
seeds are flagged; the command and the batch put the pairs in the report and change no score."""
from __future__ import annotations

import ast
import copy
import json
import random
import shutil
import subprocess
import sys

import nbformat
import pytest

from gradekit.authoring.disguise import DISGUISES, disguise_source, population
from gradekit.authoring.submissions import write_submission
from gradekit.core.cells import is_solution_cell
from gradekit.core.layout import Course
from gradekit.core.nbgrader_run import course_copy, nbgrader_env
from gradekit.grading.similarity import Document, compare, released_cells, solution_cells
from grader_tests.helpers import ASSIGNMENT, COURSE, ROOT


def documents(students: dict) -> tuple[list[Document], dict]:
    ids, stubs = released_cells(ROOT, ASSIGNMENT)
    return [Document(s, {k: v for nb in ids for k, v in solution_cells(nbs[nb], nb, ids[nb]).items()})
            for s, nbs in students.items()], stubs


@pytest.fixture(scope="module")
def klass():
    return population(ROOT, ASSIGNMENT, composed=40, copies=12, seed=5)


def test_disguised_copies_are_flagged_and_independent_work_is_not(klass):
    students, copies, singles = klass
    flags = compare(*documents(students))
    flagged = {tuple(sorted((f.a, f.b))) for f in flags if f.signal == "code"}
    assert {how for _, c in copies for how in DISGUISES if c.startswith(f"copy-{how}-")} == set(DISGUISES)
    copied = {tuple(sorted(p)) for p in copies}
    assert copied <= flagged, "every copy is flagged"
    # independent pairs flagged by chance: the threshold allows about exp(-MARGIN) = 0.22 per class (a bound
    # that overestimates), so one in a class of this size is within it and two would be a chance of about 2%
    chance = flagged - copied
    assert len(chance) <= 1, f"more independent pairs flagged than the threshold allows: {sorted(chance)}"
    assert not [p for p in flagged if set(p) <= singles | {"reference"}]
    flag = next(f for f in flags if f.signal == "code")
    assert flag.lines and flag.lines[0].startswith("# "), "the overlapping code is shown"


def test_the_detector_is_not_blind_to_a_copy_of_the_reference_only_by_design(klass):
    # a student who submits the reference's code shares it with much of the class: nothing to tell apart
    students, _, _ = klass
    students = dict(students, twin=students["reference"])
    flagged = {tuple(sorted((f.a, f.b))) for f in compare(*documents(students)) if f.signal == "code"}
    assert ("reference", "twin") not in flagged


def test_disguises_keep_the_code(klass):
    students, _, _ = klass
    for nbs in (students["reference"],):
        for nb in nbs.values():
            for cell in (c for c in nb.cells if c.cell_type == "code" and is_solution_cell(c)):
                before = ast.parse(cell.source)
                for how in DISGUISES:
                    after = ast.parse(disguise_source(cell.source, how, random.Random(0)))
                    if how == "comments":
                        assert ast.dump(before) == ast.dump(after)
                    elif how == "reorder":  # the same functions, in another order
                        assert sorted(map(ast.dump, _functions(before))) == sorted(map(ast.dump, _functions(after)))
                    elif how == "rename":  # the same tree but for names
                        assert _shape(before) == _shape(after)
                    else:  # the same functions but for names, in any order
                        assert sorted(map(_shape, _functions(before))) == sorted(map(_shape, _functions(after)))


def _shape(tree):
    return [type(n).__name__ for n in ast.walk(tree)]


def _functions(tree):
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]


def _with_outputs(nbs: dict, seed: str, text: str) -> dict:
    out = {}
    for name, nb in copy.deepcopy(nbs).items():
        for cell in nb.cells:
            if cell.cell_type == "code" and "SEED = 42" in cell.source:
                cell.source = cell.source.replace("SEED = 42", f"SEED = {seed}")
                cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
        out[name] = nb
    return out


def test_the_command_flags_copies_and_copied_numbers_and_the_report_lists_them(tmp_path, klass):
    students, copies, _ = klass
    course = course_copy(tmp_path / "course", COURSE, ASSIGNMENT, release=False)
    shutil.copytree(Course(ROOT).release(ASSIGNMENT), Course(course).release(ASSIGNMENT))
    chosen = {s: nbs for s, nbs in students.items() if s.startswith("student-") or s.startswith("copy-")}
    for student, nbs in chosen.items():
        write_submission(course, ASSIGNMENT, student, nbs)
    numbers = "epoch 20: train loss 0.019532817, validation accuracy 0.9722\n"
    write_submission(course, ASSIGNMENT, "ann", _with_outputs(students["student-000"], "42", numbers))
    write_submission(course, ASSIGNMENT, "ben", _with_outputs(students["student-001"], "7", numbers))
    write_submission(course, ASSIGNMENT, "cat", _with_outputs(students["student-002"], "42", "epoch 20: loss 0.5\n"))

    env = nbgrader_env()
    env.pop("NBGRADER_DB_URL", None)
    out = subprocess.run([sys.executable, "-m", "gradekit", "similarity"], cwd=course, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    stored = json.loads((course / "grading" / ASSIGNMENT / "similarity.json").read_text())
    outputs = [(f["a"], f["b"], f["detail"]) for f in stored["flags"] if f["signal"] == "outputs"]
    assert [(a, b) for a, b, _ in outputs] == [("ann", "ben")], outputs
    assert outputs[0][2].startswith("the same numeric output with different seeds (42, 42 and 7, 7) in 1_mlp_numpy/")
    code = {tuple(sorted((f["a"], f["b"]))) for f in stored["flags"] if f["signal"] == "code"}
    assert {tuple(sorted(p)) for p in copies if p[0] in chosen} <= code, out.stdout
    assert f"{len(stored['flags'])} pairs to compare by hand (no score changed)" in out.stdout
    report = Course(course).report_html(ASSIGNMENT).read_text()
    assert "ann and ben</td><td>similar outputs</td>" in report and "similar code</td>" in report
    assert "<pre># " in report, "the overlapping lines"
