"""The kit is not welded to assignment 1: a second, tiny assignment (grader_tests/kit/second_assignment: one
notebook, two graded cells, its own probes and kit) goes through the unchanged commands, run as a TA runs
them: `gradekit generate`, `gradekit grade`, `gradekit strength`, `gradekit demo`, from the course folder."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from gradekit.authoring.submissions import Edit, submission_with_edits, untouched_release, write_submission
from gradekit.core.assignment_kit import load_kit
from gradekit.core.layout import Course
from gradekit.core.nbgrader_run import run_nbgrader
from gradekit.records.results import ResultStore
from grader_tests.helpers import JOBS, WARMUP, gradekit, grades_csv, warmup_course

ASSIGNMENT = WARMUP


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    return warmup_course(tmp_path_factory.mktemp("second"))


def test_generate_releases_the_notebook_without_instructor_files(course):
    released = {p.name for p in Course(course).release(ASSIGNMENT).rglob("*")}
    assert released == {"warmup.ipynb"}, released
    text = (Course(course).release(ASSIGNMENT) / "warmup.ipynb").read_text()
    assert "HIDDEN" not in text and "np.sum(w * x)" not in text and "raise NotImplementedError" in text


def test_grade_scores_correct_buggy_and_blank_work(course):
    kit = load_kit(course, ASSIGNMENT)
    notebooks = ["warmup"]
    submissions = {"reference": submission_with_edits(course, ASSIGNMENT, notebooks),
                   "blank": untouched_release(course, ASSIGNMENT, notebooks)}
    for name, edits in kit.alternatives.ALTERNATIVES.items():
        submissions[f"alt-{name}"] = submission_with_edits(course, ASSIGNMENT, notebooks, edits)
    for bug in kit.bugs.BUGS:
        submissions[f"bug-{bug.name}"] = submission_with_edits(course, ASSIGNMENT, notebooks, bug.edits)
    for student, nbs in submissions.items():
        write_submission(course, ASSIGNMENT, student, nbs)

    out = gradekit(course, "grade", "--jobs", str(JOBS))  # the only assignment: no name needed
    assert out.returncode == 0, out.stdout + out.stderr
    rows = grades_csv(course, ASSIGNMENT)
    assert set(rows) == set(submissions)
    for student in ["reference"] + [f"alt-{n}" for n in kit.alternatives.ALTERNATIVES]:
        assert (rows[student]["status"], rows[student]["score"], rows[student]["flags"]) == ("graded", "3", ""), \
            rows[student]
    assert (rows["blank"]["status"], rows["blank"]["score"], rows["blank"]["max_score"]) == ("graded", "0", "3")
    results = ResultStore(course, ASSIGNMENT).all()
    for bug in kit.bugs.BUGS:
        lost = {t.split(":")[1] for t, (score, top) in results[f"bug-{bug.name}"].tests.items() if score < top}
        assert lost == set(bug.caught_by), (bug.name, lost)
    for student, result in results.items():
        assert set(result.judges) == {"warmup:test_weighted_mean", "warmup:test_weighted_variance"}, student
        assert not result.disagreements, (student, result.judges)
    feedback = (course / "feedback" / "bug-variance_unweighted" / ASSIGNMENT / "warmup.html").read_text()
    assert "A hidden test failed" in feedback or "A test of this cell failed" in feedback
    assert "np.average((x - np.average" not in feedback, "a hidden test leaked into feedback"


def test_strength_measures_the_second_assignment(course):
    out = gradekit(course, "strength", ASSIGNMENT, "--jobs", str(JOBS), "--sample", "6", "--strict")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "0 test/re-check disagreements" in out.stdout
    report = json.loads((Course(course).strength(ASSIGNMENT) / "strength.json").read_text())
    assert report["summary"]["all"]["killed"] == 6
    catalogued = {v["label"]: (v["lost"], v["grading_failed"]) for v in report["variants"] if v["family"] == "catalogued"}
    assert catalogued == {"numpy_average": ([], ""), "variance_from_moments": ([], "")}  # the kit's alternatives
    assert any(v["family"].startswith("generated") for v in report["variants"])


def test_demo_runs_on_any_course(course, tmp_path):
    demo_course = tmp_path / "demo-course"
    shutil.copytree(course / "source", demo_course / "source")
    shutil.copy(course / "nbgrader_config.py", demo_course)
    out = gradekit(demo_course, "demo")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    table = out.stdout[out.stdout.index("grade table"):]
    assert "sample-reference" in table and "sample-variance-unweighted" in table and "3 / 3" in table
    assert nbformat.read(demo_course / "demo" / "autograded" / "sample-reference" / ASSIGNMENT / "warmup.ipynb", 4)


def test_one_nbgrader_process_keeps_each_students_kernel_files_apart(tmp_path):
    # `nbgrader autograde` without --student grades every submission in one process; each student's
    # kernel plants a file in its working folder and scores only if it finds no classmate's file there
    course = warmup_course(tmp_path / "one-process")
    planting = ("return float(np.sum(w * x) / np.sum(w))",
                "return float(np.sum(w * x) / np.sum(w)) * (0 if [f for f in __import__('os').listdir() "
                "if f.startswith('planted-') and f != 'planted-{0}'] else 1) "
                "+ 0 * open('planted-{0}', 'w').write('x')")
    students = ["first", "second", "third"]
    for student in students:
        edit = Edit("warmup", "weighted_mean", planting[0], planting[1].format(student))
        write_submission(course, ASSIGNMENT, student, submission_with_edits(course, ASSIGNMENT, ["warmup"], [edit]))
    done = run_nbgrader(course, "autograde", ASSIGNMENT, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    with Gradebook(Course(course).gradebook_url) as gradebook:
        scores = {s: gradebook.find_submission(ASSIGNMENT, s).score for s in students}
    assert scores == {s: 3 for s in students}, scores


def test_a_broken_probe_file_stops_the_batch_with_its_cause(tmp_path):
    course = warmup_course(tmp_path / "broken-probes")
    probes = Course(course).probes(ASSIGNMENT) / "warmup.py"
    probes.write_text(probes.read_text() + '\n\n@probe("test_weighted_mean")\ndef probe_again(ns):\n    return {}\n')
    write_submission(course, ASSIGNMENT, "alice", submission_with_edits(course, ASSIGNMENT, ["warmup"]))
    out = gradekit(course, "grade")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "error: warmup.py does not load: ValueError: a second probe or check for 'test_weighted_mean'" \
        in out.stderr and "Traceback" not in out.stderr, out.stderr
    assert "drawing other" not in out.stdout, "no other seed can mend a probe file"


def test_a_student_id_nbgrader_would_read_as_a_pattern_is_never_graded(tmp_path):
    # nbgrader takes a student id as a file pattern: graded as "*", a submission would be graded over
    # every classmate's folder the pattern matches (and zero those it finds no notebook for)
    course = warmup_course(tmp_path / "ids")
    honest = submission_with_edits(course, ASSIGNMENT, ["warmup"])
    odd = ["*", "[v]ictim", "victim ", "a+b", "-rf"]
    for student in ["victim", *odd]:
        write_submission(course, ASSIGNMENT, student, honest)
    out = gradekit(course, "grade", "--jobs", "2")
    assert out.returncode == 0, out.stdout + out.stderr
    rows = grades_csv(course, ASSIGNMENT)
    assert (rows["victim"]["status"], rows["victim"]["score"]) == ("graded", "3"), rows["victim"]
    for student in odd:
        assert rows[student]["status"] == "failed" and rows[student]["reason"].startswith("invalid student id"), \
            rows[student]
    with Gradebook(Course(course).gradebook_url) as gradebook:
        assert gradebook.find_submission(ASSIGNMENT, "victim").score == 3
        assert {s.student.id for s in gradebook.find_assignment(ASSIGNMENT).submissions} == {"victim"}
