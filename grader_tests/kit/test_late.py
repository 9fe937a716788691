"""Due dates, extensions and the late policy (gradekit/records/lateness.py), on the tiny warm-up assignment: a late
submission loses points through nbgrader's own AssignLatePenalties, an extension removes the penalty at once
and a regrade keeps it removed, late-day tokens are spent in the order of due dates, an LMS zip's times
and late markers become submission times (gradekit/plugins/zip_collector.py), and the export shows when, how late,
the extension and the penalty."""
from __future__ import annotations

import csv
import datetime
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from gradekit.authoring.submissions import submission_with_edits, write_submission
from gradekit.core.layout import Course
from gradekit.core.nbgrader_run import nbgrader_env
from gradekit.plugins.late_policy import PercentPerDay
from gradekit.plugins.zip_collector import MARKER_ONLY
from grader_tests.helpers import JOBS, ROOT, WARMUP_SOURCE, gradekit, grades_csv, warmup_course
from grader_tests.helpers import WARMUP as ASSIGNMENT


def test_policy_grace_per_started_day_and_cap():
    policy = PercentPerDay(grace_minutes=15, percent_per_day=10, max_percent=50)
    assert policy.percent(0) == 0 and policy.percent(14 * 60) == 0, "within the grace period"
    assert policy.percent(16 * 60) == 10, "a started day counts"
    assert policy.percent(15 * 60 + 86400) == 10 and policy.percent(15 * 60 + 86401) == 20
    assert policy.percent(30 * 86400) == 50, "capped"
    assert policy.late_submission_penalty("s", 3.0, 2 * 86400) == pytest.approx(0.6), "two started days: 20%"


@pytest.fixture
def course(tmp_path):
    return warmup_course(tmp_path)


def test_late_submission_extension_and_regrade(course):
    for student, stamp in (("ontime", "2026-12-01 10:00:00.000000 UTC"), ("late", "2026-12-03 12:00:00.000000 UTC")):
        folder = write_submission(course, ASSIGNMENT, student, submission_with_edits(course, ASSIGNMENT, ["warmup"]))
        (folder / "timestamp.txt").write_text(stamp)  # what nbgrader collect writes
    out = gradekit(course, "due", ASSIGNMENT, "--at", "2026-12-01 23:59")
    assert out.returncode == 0, out.stdout + out.stderr
    out = gradekit(course, "grade", "--jobs", str(JOBS), "--no-feedback")
    assert out.returncode == 0, out.stdout + out.stderr

    before = grades_csv(course, ASSIGNMENT)
    assert (before["ontime"]["score"], before["ontime"]["penalty"], before["ontime"]["minutes_late"]) == ("3", "", "")
    late = before["late"]
    # 36 h 1 min late, 15 min of grace: two started days at 10% of 3 points
    assert (late["score_before_penalty"], late["penalty"], late["score"]) == ("3", "0.6", "2.4"), late
    assert late["minutes_late"] == "2161" and late["submitted_at"].startswith("2026-12-03 12:00")

    out = gradekit(course, "extension", ASSIGNMENT, "late", "--days", "2", "--reason", "medical note")
    assert out.returncode == 0 and "late penalties changed for: late" in out.stdout, out.stdout + out.stderr
    after = grades_csv(course, ASSIGNMENT)["late"]
    assert (after["score"], after["penalty"], after["extension"], after["minutes_late"]) == ("3", "", "2 days", "")
    report = Course(course).report_html(ASSIGNMENT).read_text()
    assert "<td>late</td><td>2026-12-03 12:00:00</td><td>2161</td><td></td><td>0.6</td>" in report
    listed = gradekit(course, "extensions", ASSIGNMENT).stdout
    assert "late" in listed and "medical note" in listed and "2026-12-03 23:59" in listed, listed

    # a regrade (nbgrader's AssignLatePenalties runs again) keeps the submission on time
    out = gradekit(course, "grade", "--jobs", "1", "--force", "--no-feedback", "--student", "late")
    assert out.returncode == 0, out.stdout + out.stderr
    assert grades_csv(course, ASSIGNMENT)["late"]["score"] == "3"
    # and removing the extension brings the penalty back
    out = gradekit(course, "extension", ASSIGNMENT, "late", "--days", "0")
    assert out.returncode == 0 and grades_csv(course, ASSIGNMENT)["late"]["score"] == "2.4", out.stdout + out.stderr


def test_a_bad_date_says_what_to_write(course):
    out = gradekit(course, "due", ASSIGNMENT, "--at", "next friday")
    assert out.returncode == 1 and "--at 'next friday'" in out.stderr and "Traceback" not in out.stderr


def test_a_command_runs_without_the_environment_activated(tmp_path):
    """A TA may call .venv/bin/gradekit without activating .venv: the first command, which creates nbgrader's
    gradebook (and runs `alembic` by name to do so), must still find it."""
    (tmp_path / "source" / ASSIGNMENT).mkdir(parents=True)
    shutil.copy(WARMUP_SOURCE / f"{ASSIGNMENT}.ipynb", tmp_path / "source" / ASSIGNMENT)
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    env = {**nbgrader_env(), "PATH": "/usr/bin:/bin"}
    env.pop("NBGRADER_DB_URL", None)
    out = subprocess.run([str(Path(sys.executable).parent / "gradekit"), "extensions", ASSIGNMENT], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "no extensions", out.stdout + out.stderr


@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")  # nbgrader's add_submission, on an assignment without notebooks
def test_late_day_tokens_are_spent_in_the_order_of_due_dates(course):
    with open(course / "nbgrader_config.py", "a") as f:
        f.write("\nc.PercentPerDay.late_days = 2\n")
    folder = write_submission(course, ASSIGNMENT, "late", submission_with_edits(course, ASSIGNMENT, ["warmup"]))
    (folder / "timestamp.txt").write_text("2026-12-03 12:00:00.000000 UTC")  # two started days late
    assert gradekit(course, "due", ASSIGNMENT, "--at", "2026-12-01 23:59").returncode == 0
    out = gradekit(course, "grade", "--jobs", "1", "--no-feedback")
    assert out.returncode == 0, out.stdout + out.stderr
    late = grades_csv(course, ASSIGNMENT)["late"]
    assert (late["score"], late["penalty"], late["late_days_used"]) == ("3", "", "2"), "both days excused"

    # an earlier assignment, one day late, spends one of the two tokens first
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        gb.update_or_create_assignment("earlier", duedate=datetime.datetime(2026, 11, 20, 12))
        gb.update_or_create_student("late")
        gb.add_submission("earlier", "late", timestamp=datetime.datetime(2026, 11, 21, 8))
    out = gradekit(course, "due", ASSIGNMENT, "--at", "2026-12-01 23:59")  # recomputes every assignment
    assert out.returncode == 0 and "late penalties changed for: late" in out.stdout, out.stdout + out.stderr
    late = grades_csv(course, ASSIGNMENT)["late"]
    assert (late["score"], late["penalty"], late["late_days_used"]) == ("2.7", "0.3", "1"), late


def test_a_zip_takes_its_times_from_the_lms(course, tmp_path):
    notebook = nbformat.writes(submission_with_edits(course, ASSIGNMENT, ["warmup"])["warmup"])
    export = tmp_path / "submissions.zip"
    with zipfile.ZipFile(export, "w") as z:  # Canvas's names: login_[late_]userid_submissionid_file
        z.writestr("alice_101_9001_warmup.ipynb", notebook)
        z.writestr("bob_late_102_9002_warmup.ipynb", notebook)
        z.writestr("carol_late_103_9003_warmup.ipynb", notebook)
    times = tmp_path / "times.csv"
    times.write_text("student_id,submitted_at\ncarol,2026-12-03T13:00+01:00\n")
    assert gradekit(course, "due", ASSIGNMENT, "--at", "2026-12-01 23:59").returncode == 0
    out = gradekit(course, "grade", "--jobs", str(JOBS), "--no-feedback", "--zip", str(export), "--times", str(times))
    assert out.returncode == 0, out.stdout + out.stderr
    graded = grades_csv(course, ASSIGNMENT)
    assert (graded["alice"]["minutes_late"], graded["alice"]["score"]) == ("", "3"), "no marker, no time: on time"
    bob = graded["bob"]  # the marker proves lateness but no time: the least it proves, inside the grace period
    assert (bob["minutes_late"], bob["penalty"], bob["score"], bob["time_source"]) == ("1", "", "3", MARKER_ONLY)
    carol = graded["carol"]  # 12:00 UTC on Dec 3rd: two started days
    assert (carol["submitted_at"][:16], carol["penalty"], carol["time_source"]) == \
        ("2026-12-03 12:00", "0.6", "submission_times.csv"), carol
    report = Course(course).report_html(ASSIGNMENT).read_text()
    assert f"<td>bob</td><td>submission time</td><td>{MARKER_ONLY}</td>" in report

    bad = tmp_path / "bad.csv"
    bad.write_text("login,when\ncarol,yesterday\n")
    out = gradekit(course, "grade", "--zip", str(export), "--times", str(bad))
    assert out.returncode == 1 and "needs the columns student_id and submitted_at" in out.stderr, out.stderr


@pytest.fixture(scope="module")
def late_with_manual_points(tmp_path_factory):
    """Assignment 1 (a written answer of 4 points graded by hand) submitted 30 hours late by bob and 30
    days late by carol, autograded; then the TA enters the written answer's points, as formgrader does."""
    from grader_tests.helpers import NOTEBOOKS, released_course

    course = released_course(tmp_path_factory.mktemp("late-manual"))
    for student, stamp in (("bob", "2026-12-03 05:59:00.000000 UTC"), ("carol", "2026-12-31 12:00:00.000000 UTC")):
        folder = write_submission(course, "assignment1", student, submission_with_edits(course, "assignment1", NOTEBOOKS))
        (folder / "timestamp.txt").write_text(stamp)
    assert gradekit(course, "due", "assignment1", "--at", "2026-12-01 23:59").returncode == 0
    out = gradekit(course, "grade", "assignment1", "--jobs", str(JOBS), "--no-feedback")
    assert out.returncode == 0, out.stdout + out.stderr
    graded = {s: dict(r) for s, r in grades_csv(course).items()}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student in ("bob", "carol"):
            gb.find_grade("comparison_discussion", "2_mlp_pytorch", "assignment1", student).manual_score = 4
        gb.db.commit()
    return course, graded


def test_the_penalty_follows_manual_points_entered_after_autograding(late_with_manual_points):
    course, graded = late_with_manual_points
    # autograded: 84 of 88 points, the written answer pending
    assert graded["bob"]["score_before_penalty"] == "84" and graded["bob"]["penalty"] == "16.8", graded["bob"]
    out = gradekit(course, "export", "assignment1")
    assert out.returncode == 0, out.stdout + out.stderr
    rows = grades_csv(course)
    # 30 h late: two started days, 20% of 88 (not 20% of 84 plus 4 unpenalised points: 71.2)
    assert (rows["bob"]["score_before_penalty"], rows["bob"]["penalty"], rows["bob"]["score"]) == ("88", "17.6", "70.4")
    # 30 days late: the 50% cap, of 88 (not 46)
    assert (rows["carol"]["penalty"], rows["carol"]["score"]) == ("44", "44"), rows["carol"]
    assert rows["bob"]["status"] == "graded"
    report = gradekit(course, "report", "assignment1")
    assert report.returncode == 0
    page = Course(course).report_html("assignment1").read_text()
    assert "<td>17.6</td>" in page and "<td>44</td>" in page
    lms = gradekit(course, "lms", "assignment1", "--gradebook", str(ROOT / "docs" / "examples" /
                                                                     "canvas_gradebook.csv"),
                   "--column", "Assignment 1 (12345)")
    assert lms.returncode == 0, lms.stdout + lms.stderr
    with open(course / "grading" / "assignment1" / "canvas_import.csv") as f:
        imported = {r["SIS Login ID"]: r["Assignment 1 (12345)"] for r in csv.DictReader(f)}
    assert (imported["bob"], imported["carol"]) == ("70.4", "44"), imported
    # nbgrader's own gradebook now holds the same penalty (its formgrader and export agree)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        notebooks = gb.find_submission("assignment1", "bob").notebooks
        assert sum(nb.late_submission_penalty or 0 for nb in notebooks) == pytest.approx(17.6)


def test_late_day_tokens_apply_to_the_final_score(late_with_manual_points):
    course, _ = late_with_manual_points
    with open(course / "nbgrader_config.py", "a") as f:
        f.write("\nc.PercentPerDay.late_days = 1\n")
    assert gradekit(course, "export", "assignment1").returncode == 0
    bob = grades_csv(course)["bob"]
    assert (bob["penalty"], bob["score"], bob["late_days_used"]) == ("8.8", "79.2", "1"), bob


def test_the_deadlines_never_create_a_gradebook(tmp_path):
    """Students open the deadline page: reading must not create nbgrader's tables (or the SQLite file, with
    the service's modes) before the graders' first command does."""
    from gradekit.records.deadlines import student_deadlines

    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    assert student_deadlines(tmp_path, "bob") == [] and not (tmp_path / "gradebook.db").exists()
    import sqlite3
    sqlite3.connect(tmp_path / "gradebook.db").close()  # an empty file: no tables
    assert student_deadlines(tmp_path, "bob") == []
    assert sqlite3.connect(tmp_path / "gradebook.db").execute("select name from sqlite_master").fetchall() == []


def test_each_student_sees_their_own_deadline_with_their_extension(course):
    """What the students' deadline page and the warning before a late submit show (gradekit/records/deadlines.py);
    the hub test shows them in Chromium."""
    from gradekit.records.deadlines import Deadline, describe, student_deadlines

    assert gradekit(course, "due", ASSIGNMENT, "--at", "2026-12-01 23:59").returncode == 0
    assert gradekit(course, "extension", ASSIGNMENT, "alice", "--days", "2", "--reason", "private").returncode == 0
    now = datetime.datetime(2026, 12, 3, 12, 0, tzinfo=datetime.timezone.utc)  # 36 h 1 min after the due date
    [alice] = student_deadlines(course, "alice", now)
    [bob] = student_deadlines(course, "bob", now)  # no submission, no extension
    assert describe(alice) == ("warmup: due Thu 03 Dec 2026 23:59 UTC (your extension: 2 days after "
                               "Tue 01 Dec 2026 23:59 UTC)"), describe(alice)
    assert alice.seconds_late_now == 0 and "private" not in str(alice.as_json())
    assert describe(bob) == ("warmup: due Tue 01 Dec 2026 23:59 UTC; a submission now is 1 day 12 hours 1 minute "
                             "late and loses 20% of its score"), describe(bob)
    assert "10% of the score per started day" in bob.policy
    assert Deadline.from_json(bob.as_json()) == bob  # what travels to the student's server
    within_grace = student_deadlines(course, "bob", datetime.datetime(2026, 12, 2, 0, 10, tzinfo=datetime.timezone.utc))
    assert student_deadlines(course, "bob", now, released={"another"}) == []  # not released: not shown
    assert describe(within_grace[0]).endswith("11 minutes late (within the grace period)"), describe(within_grace[0])
