"""Honest work survives what students and editors do to notebooks (gradekit/authoring/damage.py): each kind of
damage applied to the correct part 1, graded with `gradekit grade` beside the undamaged one. Every damaged
copy keeps full marks (kept as it is, or repaired and flagged with what was done); none is lost, none
fails. The table is printed: kept / repaired / needs a TA / lost."""
from __future__ import annotations

import subprocess
import sys

import pytest

from gradekit.authoring.damage import DAMAGES, Damage, damaged
from gradekit.authoring.submissions import solved_notebook
from gradekit.core.layout import Course
from gradekit.core.nbgrader_run import nbgrader_env
from gradekit.records.results import ResultStore
from grader_tests.helpers import ASSIGNMENT, JOBS, grades_csv, released_course

NOTEBOOK = "1_mlp_numpy"
UNDAMAGED = Damage("none", "", lambda nb: nb)


def outcome(row, full: float) -> str:
    if row["status"] == "failed":
        return "needs a TA" if row["reason"].startswith("needs a TA") else "lost"
    if float(row["score"] or 0) < full:
        return "lost"
    return "repaired" if ("repaired " in row["flags"] or "took " in row["flags"]) else "kept"


@pytest.fixture(scope="module")
def damage(tmp_path_factory):
    course = released_course(tmp_path_factory.mktemp("damage"))
    reference = solved_notebook(course, ASSIGNMENT, NOTEBOOK)
    for kind in [None] + DAMAGES:
        student = f"d-{kind.name}" if kind else "undamaged"
        folder = Course(course).submitted(student, ASSIGNMENT)
        folder.mkdir(parents=True)
        name, text = damaged(reference, kind or UNDAMAGED, NOTEBOOK)
        (folder / name).write_text(text)
    proc = subprocess.run([sys.executable, "-m", "gradekit", "grade", ASSIGNMENT, "--jobs", str(JOBS), "--no-feedback",
                           "--course", str(course)], cwd=course, env=nbgrader_env(), capture_output=True, text=True,
                          timeout=1800)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = grades_csv(course)
    full = float(rows["undamaged"]["score"])
    table = {kind.name: outcome(rows[f"d-{kind.name}"], full) for kind in DAMAGES}
    print("\n" + "\n".join(f"{name:24s} {result}" for name, result in table.items()))
    print({k: list(table.values()).count(k) for k in ("kept", "repaired", "needs a TA", "lost")})
    return course, rows, table


def test_at_least_fifteen_kinds_of_damage():
    assert len(DAMAGES) >= 15


def test_the_undamaged_reference_keeps_full_marks(damage):
    _, rows, _ = damage
    row = rows["undamaged"]
    # part 1 only: its 59 points, part 2 missing
    assert float(row["score"]) == 59 and row["flags"] == "missing notebook 2_mlp_pytorch", row


@pytest.mark.parametrize("kind", DAMAGES, ids=lambda d: d.name)
def test_no_damaged_correct_work_is_lost(damage, kind):
    _, rows, table = damage
    row = rows[f"d-{kind.name}"]
    assert table[kind.name] in ("kept", "repaired"), row
    assert float(row["score"]) == float(rows["undamaged"]["score"]), row
    assert "missing notebook 1_mlp_numpy" not in row["flags"], row


def test_every_repair_is_flagged_with_what_was_done(damage):
    course, rows, table = damage
    results = ResultStore(course, ASSIGNMENT).all()
    for name, result in table.items():
        if result != "repaired":
            continue
        flags = rows[f"d-{name}"]["flags"]
        assert "Please see" not in flags and ("repaired 1_mlp_numpy:" in flags or "took " in flags), (name, flags)
    assert any(results[f"d-{n}"].repairs for n, r in table.items() if r == "repaired")
    report = (Course(course).report(ASSIGNMENT) / "report.html").read_text()
    assert "Notebooks repaired at intake" in report and "d-metadata-stripped" in report


def test_repair_shows_what_intake_would_do_without_grading(damage):
    course, _, _ = damage
    out = subprocess.run([sys.executable, "-m", "gradekit", "repair", ASSIGNMENT, "d-split-solution", "--course",
                          str(course)], env=nbgrader_env(), capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "rebuilt from the release" in out.stdout and "joined" in out.stdout, out.stdout
    assert not list((Course(course).grading(ASSIGNMENT) / "intake").glob("d-split-solution"))
