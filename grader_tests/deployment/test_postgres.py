"""A PostgreSQL gradebook (Debian's server, started here on a local port) for every command that writes
grades: nbgrader itself, the batch command with local jobs and on a Dask cluster, the export, and two TAs
grading at once while a third person grades written answers by hand."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from gradekit.authoring.submissions import submission_with_edits, untouched_release, write_submission
from gradekit.core.layout import Course
from gradekit.core.nbgrader_run import course_copy, nbgrader_env
from gradekit.grading.batch import grade
from grader_tests.helpers import ASSIGNMENT, COURSE, JOBS, NOTEBOOKS, NUMPY, ROOT, TORCH, bug_named, grades_csv, import_file

postgres_server = import_file(ROOT / "deploy" / "postgres_server.py")

MISSING = postgres_server.missing()
pytestmark = pytest.mark.skipif(MISSING is not None, reason=f"PostgreSQL tests need {MISSING}")

MANUAL = "comparison_discussion"  # part 2's written answer, graded by hand


@pytest.fixture(scope="module")
def database():
    """The server's URL, set as NBGRADER_DB_URL for everything this module runs (the course's config reads it)."""
    before = os.environ.get("NBGRADER_DB_URL")
    with postgres_server.postgres() as url:
        os.environ["NBGRADER_DB_URL"] = url
        try:
            yield url
        finally:
            if before is None:
                os.environ.pop("NBGRADER_DB_URL", None)
            else:
                os.environ["NBGRADER_DB_URL"] = before


@pytest.fixture(scope="module")
def course(database, tmp_path_factory):
    """A copy of the course whose gradebook is the server's database (generate_assignment registered it there)."""
    root = course_copy(tmp_path_factory.mktemp("pg") / "course", COURSE, ASSIGNMENT, spare_seeds=True)
    assert Course(root).gradebook_url == database
    assert not (root / "gradebook.db").exists(), "nothing may fall back to the SQLite file"
    return root


def grades_in_database(url, student):
    """(autograde score, manual score) of every graded cell of a student, read with plain SQL."""
    import sqlalchemy as sa

    query = sa.text("""
        SELECT base_cell.name, grade.auto_score, grade.manual_score FROM grade
        JOIN submitted_notebook ON grade.notebook_id = submitted_notebook.id
        JOIN submitted_assignment ON submitted_notebook.assignment_id = submitted_assignment.id
        JOIN base_cell ON grade.cell_id = base_cell.id
        WHERE submitted_assignment.student_id = :student""")
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return {name: (auto, manual) for name, auto, manual in conn.execute(query, {"student": student})}
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def first_batch(course):
    """Three submissions graded by the batch command: {student: Result}."""
    submissions = {
        "reference": submission_with_edits(course, ASSIGNMENT, NOTEBOOKS),
        "bias-bug": submission_with_edits(course, ASSIGNMENT, NOTEBOOKS, bug_named("bias_grad_mean").edits),
        "blank": untouched_release(course, ASSIGNMENT, NOTEBOOKS),
    }
    for student, notebooks in submissions.items():
        write_submission(course, ASSIGNMENT, student, notebooks)
    return grade(course, ASSIGNMENT, students=list(submissions), jobs=JOBS, progress=False)


def test_batch_grading_writes_to_postgres(course, database, first_batch):
    results = first_batch
    # a blank written answer is scored 0 by nbgrader itself; the others wait for a person
    assert {s: str(r.status) for s, r in results.items()} == {"reference": "needs_manual", "bias-bug": "needs_manual",
                                                             "blank": "graded"}
    assert results["reference"].score == 84 and results["blank"].score == 0
    assert results["bias-bug"].tests[f"{NUMPY}:test_linear_backward"][0] == 0
    stored = grades_in_database(database, "reference")
    assert stored["test_linear_backward"][0] == 4 and stored[MANUAL] == (None, None)
    rows = grades_csv(course)
    assert set(results) <= set(rows) and float(rows["reference"]["score"]) == 84


def test_dask_cluster_on_postgres(course, database):
    from dask.distributed import LocalCluster

    for student in ("dask-a", "dask-b"):
        write_submission(course, ASSIGNMENT, student, submission_with_edits(course, ASSIGNMENT, [NUMPY]))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        results = grade(course, ASSIGNMENT, students=["dask-a", "dask-b"], scheduler=cluster.scheduler_address,
                        feedback=False, progress=False)
    assert all(r.status == "graded" and r.score == 59 for r in results.values()), results
    assert grades_in_database(database, "dask-b")["test_train"][0] == 3


def test_two_tas_and_a_manual_grader_at_once(course, database, first_batch):
    """Two `gradekit grade` commands on disjoint students and manual grading of earlier submissions, all at
    the same time on one database: every command ends, no grade is lost or overwritten."""
    from nbgrader.api import Gradebook

    teams = {"ta1": ["ta1-a", "ta1-b"], "ta2": ["ta2-a", "ta2-b"]}
    for students in teams.values():
        for student in students:
            write_submission(course, ASSIGNMENT, student, submission_with_edits(course, ASSIGNMENT, [NUMPY, TORCH]))
    graded_by_hand = sorted(first_batch)
    written, done, rounds, errors = {}, threading.Event(), [], []

    def grade_by_hand():
        try:
            grade_in_a_loop()
        except Exception as err:  # noqa: BLE001 - reported by the test
            errors.append(repr(err))

    def grade_in_a_loop():
        # what formgrader does for each score a TA types: one small transaction per grade, until both
        # batch commands have ended
        while not done.is_set():
            for k, student in enumerate(graded_by_hand):
                with Gradebook(database) as gb:
                    cell = gb.find_grade(MANUAL, TORCH, ASSIGNMENT, student)
                    cell.manual_score = float((len(rounds) + k) % 5)
                    gb.db.commit()
                    written[student] = cell.manual_score
            rounds.append(time.perf_counter())
            time.sleep(0.2)

    manual = threading.Thread(target=grade_by_hand)
    cmd = [sys.executable, "-m", "gradekit", "grade", ASSIGNMENT, "--jobs", "1", "--no-feedback", "--student"]
    t0 = time.perf_counter()
    procs = {ta: subprocess.Popen([*cmd, *students], cwd=course, env=nbgrader_env(), stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True) for ta, students in teams.items()}
    manual.start()
    outputs = {ta: proc.communicate(timeout=900)[0] for ta, proc in procs.items()}
    done.set()
    manual.join(timeout=60)
    seconds = time.perf_counter() - t0
    print(f"two TAs, 4 submissions, {3 * len(rounds)} manual grades at the same time: {seconds:.0f} s")
    assert not errors, errors
    assert len(rounds) > 20, "the manual grading must overlap the batch commands"
    assert all(proc.returncode == 0 for proc in procs.values()), outputs
    assert not manual.is_alive()
    for students in teams.values():
        for student in students:
            stored = grades_in_database(database, student)
            assert stored["test_linear_backward"][0] == 4 and stored["test_fit"][0] == 3, (student, stored)
    for student, score in written.items():
        assert grades_in_database(database, student)[MANUAL][1] == score, f"{student}'s manual grade was lost"
    export = subprocess.run([sys.executable, "-m", "gradekit", "export", ASSIGNMENT], cwd=course, env=nbgrader_env(),
                            capture_output=True, text=True, timeout=300)
    assert export.returncode == 0, export.stdout + export.stderr
    rows = grades_csv(course)
    expected = set(graded_by_hand) | {s for team in teams.values() for s in team}
    assert expected <= set(rows), expected - set(rows)
    assert float(rows["reference"]["score"]) == 84 + written["reference"]
