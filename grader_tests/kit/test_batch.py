"""The TA batch command (`gradekit grade`): same grades as serial nbgrader, every status,
limits, honest export, SIGKILL-and-resume, the Dask path, zip input and the class report."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import zipfile

import nbformat
import pytest

from gradekit.authoring.submissions import Edit, submission_with_edits, untouched_release, write_submission
from gradekit.core.assignment_kit import load_kit
from gradekit.core.layout import Course
from gradekit.core.nbgrader_run import course_copy, nbgrader_env, run_nbgrader
from gradekit.core.settings import Limits
from gradekit.grading.batch import classify_failure, grade
from gradekit.records.results import read_grades
from grader_tests.helpers import (
    ASSIGNMENT,
    COURSE,
    JOBS,
    NUMPY,
    ROOT,
    TORCH,
    WARMUP,
    bug_named,
    grades_csv,
    released_course,
    warmup_course,
)


def solved_with(course, notebooks, code_edits=()):
    return submission_with_edits(course, ASSIGNMENT, notebooks, code_edits)


def run_before(notebook, cell, line, code):
    """An edit that runs `code` just before `line` of the cell's function, whenever it is called."""
    return Edit(notebook, cell, line, f"{code}\n{line}")


def inject(notebook, cell, code):
    """An edit that runs `code` whenever the standardize function is called."""
    return run_before(notebook, cell, "    mean = X_train.mean(axis=0)", code)


# The batch's own behaviour (limits, resuming, a cluster, zip input) is shown on the one-notebook warm-up,
# which grades in a second or two: what it proves does not depend on the assignment.
def warmup_solved(course, code_edits=()):
    return submission_with_edits(course, WARMUP, [WARMUP], code_edits)


def in_warmup(code):
    """An edit that runs `code` whenever the warm-up's weighted_mean is called."""
    return run_before(WARMUP, "weighted_mean", "    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)",
                      code)


def write_broken(course, student, notebook=NUMPY, assignment=ASSIGNMENT):
    folder = course / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{notebook}.ipynb").write_text('{"cells": [ this is not json')


def cell_scores(course, assignment=ASSIGNMENT):
    return {(s, nb, t): v for (s, nb), g in read_grades(course, assignment).items() for t, v in g.tests.items()}


MIXED = {
    "reference": lambda c: solved_with(c, [NUMPY, TORCH]),
    "blank": lambda c: untouched_release(c, ASSIGNMENT, [NUMPY, TORCH]),
    "bug-bias": lambda c: solved_with(c, [NUMPY], bug_named("bias_grad_mean").edits),  # each bug, its notebook
    "bug-zero-grad": lambda c: solved_with(c, [TORCH], bug_named("missing_zero_grad").edits),
    "numpy-only": lambda c: solved_with(c, [NUMPY]),
    "kernel-exit": lambda c: solved_with(c, [NUMPY], [inject(NUMPY, "standardize", "    import os; os._exit(1)")]),
}


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """The same mixed batch graded by serial `nbgrader autograde` (course a) and the kit (course b)."""
    root = tmp_path_factory.mktemp("batch")
    courses = {name: released_course(root / name) for name in ("serial", "kit")}
    for course in courses.values():
        for student, make in MIXED.items():
            write_submission(course, ASSIGNMENT, student, make(course))
        write_broken(course, "broken-json")
    serial = run_nbgrader(courses["serial"], "autograde", ASSIGNMENT, check=False)
    results = grade(courses["kit"], ASSIGNMENT, jobs=2, progress=False)  # parallel, whatever JOBS is
    return courses, serial, results


def test_parallel_grades_equal_serial_nbgrader(mixed):
    courses, serial, results = mixed
    ok = [s for s, r in results.items() if r.status != "failed"]
    assert sorted(ok) == ["blank", "bug-bias", "bug-zero-grad", "numpy-only", "reference"]
    kit, ref = cell_scores(courses["kit"]), cell_scores(courses["serial"])
    kit_ok = {k: v for k, v in kit.items() if k[0] in ok}
    ref_ok = {k: v for k, v in ref.items() if k[0] in ok}
    assert kit_ok == ref_ok and len(kit_ok) > 60
    for student in ("broken-json", "kernel-exit"):  # nbgrader fails these too
        assert f"for student '{student}'" in serial.stderr


def test_every_submission_ends_in_one_honest_status(mixed):
    courses, _, results = mixed
    assert results["reference"].status == "needs_manual" and results["reference"].manual_pending == 4
    assert results["blank"].status == "graded" and results["blank"].score == 0
    assert results["broken-json"].status == "failed" and results["broken-json"].reason == "invalid notebook"
    assert results["kernel-exit"].status == "failed" and results["kernel-exit"].reason == "kernel died"
    assert "missing notebook 2_mlp_pytorch" in results["numpy-only"].flags
    rows = grades_csv(courses["kit"])
    assert rows["kernel-exit"]["status"] == "failed" and rows["kernel-exit"]["score"] == ""
    assert rows["reference"]["manual_points_pending"] == "4"
    assert float(rows["bug-bias"]["score"]) < float(rows["reference"]["score"])
    # a failed submission leaves nothing in the gradebook that could pass for a grade
    assert not [k for k in cell_scores(courses["kit"]) if k[0] in ("kernel-exit", "broken-json")]


def test_feedback_and_class_report(mixed):
    courses, _, _ = mixed
    course = courses["kit"]
    assert (course / "feedback" / "reference" / ASSIGNMENT / f"{NUMPY}.html").exists()
    report = course / "grading" / ASSIGNMENT / "report"
    page = (report / "report.html").read_text()
    for png in ("pass_rates.png", "scores.png", "grading_time.png"):
        assert f'src="{png}"' in page and (report / png).stat().st_size > 5000
    assert "kernel died" in page and "1_mlp_numpy:test_linear_backward" in page


def test_limits_and_a_failed_regrade(tmp_path):
    course = warmup_course(tmp_path / "limits")
    hang = "    while True:\n        try:\n            time.sleep(0.01)\n        except KeyboardInterrupt:\n            pass"
    hog = "    blocks = []\n    while True:\n        blocks.append(np.ones(2**24))"
    chatty = "    for _ in range(3000):\n        print('x' * 10000)"
    for student, code in (("hang", "    import time\n" + hang), ("hog", hog), ("chatty", chatty)):
        write_submission(course, WARMUP, student, warmup_solved(course, [in_warmup(code)]))
    # 25 s: the chatty submission took 10 s on a slow 2-core machine with the suite running beside it
    results = grade(course, WARMUP, jobs=JOBS, limits=Limits(timeout=25, memory_mb=1500), feedback=False,
                    progress=False)
    assert results["hang"].status == "failed" and results["hang"].reason.startswith("timeout")
    assert results["hog"].status == "failed" and results["hog"].reason.startswith("memory")
    assert results["chatty"].status == "graded" and "output truncated" in results["chatty"].flags
    graded = nbformat.read(course / "autograded" / "chatty" / WARMUP / f"{WARMUP}.ipynb", 4)
    assert len(nbformat.writes(graded)) < 30e6

    # a re-grade that fails must not leave the earlier grade looking current
    write_broken(course, "chatty", WARMUP, WARMUP)
    again = grade(course, WARMUP, jobs=1, feedback=False, progress=False)
    assert again["chatty"].status == "failed" and again["hang"].status == "failed"
    assert grades_csv(course, WARMUP)["chatty"]["score"] == ""
    assert not (course / "autograded" / "chatty").joinpath(WARMUP).exists()
    assert not [k for k in cell_scores(course, WARMUP) if k[0] == "chatty"]


def _warmup_batch(course):
    """Five submissions, {student: notebooks}: the reference twice, each bug, the blank release."""
    bugs = load_kit(course, WARMUP).bugs.BUGS
    batch = {"a-reference": warmup_solved(course),
             **{f"b-{bug.name}": warmup_solved(course, bug.edits) for bug in bugs},
             "c-blank": untouched_release(course, WARMUP, [WARMUP]),
             "d-reference": warmup_solved(course)}
    for student, notebooks in batch.items():
        write_submission(course, WARMUP, student, notebooks)
    return batch


def _comparable(rows):
    return {s: {k: v for k, v in r.items() if k not in ("grading_seconds", "graded_at")} for s, r in rows.items()}


def test_sigkill_half_way_then_resume(tmp_path):
    killed, whole = (warmup_course(tmp_path / name) for name in ("killed", "whole"))
    students = set(_warmup_batch(killed))
    assert set(_warmup_batch(whole)) == students and len(students) == 5
    grade(whole, WARMUP, jobs=JOBS, feedback=False, progress=False)

    cmd = [sys.executable, "-m", "gradekit", "grade", "--course", str(killed), "--jobs", "1", "--no-feedback"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=nbgrader_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    results = killed / "grading" / WARMUP / "results"
    deadline = time.monotonic() + 600  # generous: a loaded machine grades slowly
    while len(list(results.glob("*.json"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = {p.stem for p in results.glob("*.json")}
    assert 2 <= len(done_before) < 5, f"the batch was not killed half way: {done_before}"
    assert not survivors(killed, deadline=time.monotonic() + 10), "processes outlived the killed batch"

    out = subprocess.run(cmd, cwd=ROOT, env=nbgrader_env(), capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert f"{len(done_before)} already graded" in out.stdout
    regraded = {words[0] for words in map(str.split, out.stdout.splitlines()) if words and words[0] in students}
    assert regraded == students - done_before
    assert _comparable(grades_csv(killed, WARMUP)) == _comparable(grades_csv(whole, WARMUP))
    assert cell_scores(killed, WARMUP) == cell_scores(whole, WARMUP)


def survivors(course, deadline: float) -> list[str]:
    """Processes still running that belong to grading `course` (workers, sandboxes, kernels), once the
    deadline for them to go has passed."""
    import psutil

    while True:
        found = []
        for p in psutil.process_iter(["pid", "cmdline"]):
            try:
                if any(str(course) in arg for arg in p.info["cmdline"] or []):
                    found.append(f"{p.info['pid']}: {' '.join(p.info['cmdline'])[:200]}")
            except psutil.Error:
                continue
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def test_a_kernel_whose_grader_is_already_gone_does_not_start():
    """The race the SIGKILL test can hit: a kernel launched just as its worker is killed must not run on,
    adopted by init. The sandbox exits when its parent is not the process that launched it."""
    from gradekit.plugins import sandbox

    # the kernel's output goes to /dev/null in the sandbox: its exit code says whether it ran
    cmd = [sys.executable, sandbox.__file__, "--no-namespaces", "--", sys.executable, "-c", "raise SystemExit(7)"]
    orphan = subprocess.run(cmd[:2] + ["--parent-pid=1"] + cmd[2:], capture_output=True, text=True, timeout=60)
    assert orphan.returncode == 1
    child = subprocess.run(cmd[:2] + [f"--parent-pid={os.getpid()}"] + cmd[2:], capture_output=True, text=True,
                           timeout=60)
    assert child.returncode == 7, child.stderr


def test_dask_cluster_and_zip_input(tmp_path):
    from dask.distributed import LocalCluster

    course = warmup_course(tmp_path / "dask")
    bug = load_kit(course, WARMUP).bugs.BUGS[0]
    lms = tmp_path / "lms_export.zip"
    with zipfile.ZipFile(lms, "w") as z:
        for login, nb in (("jdoe", warmup_solved(course)[WARMUP]), ("asmith", warmup_solved(course, bug.edits)[WARMUP])):
            z.writestr(f"{login}_1234_5678_{WARMUP}.ipynb", nbformat.writes(nb))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        results = grade(course, WARMUP, scheduler=cluster.scheduler_address, zip_file=lms, feedback=False,
                        progress=False)
    assert (course / "submitted" / "jdoe" / WARMUP / f"{WARMUP}.ipynb").exists()
    assert results["jdoe"].status == "graded" and results["jdoe"].score == 3
    assert results["asmith"].status == "graded"
    assert {t.split(":")[1] for t, (score, top) in results["asmith"].tests.items() if score < top} == set(bug.caught_by)
    assert Course(course).gradebook_url.startswith("sqlite:///")


def test_an_assignment_missing_from_the_gradebook_stops_with_what_to_run(tmp_path):
    """A fresh clone has no gradebook: grading stops before it starts, with one line saying what to run,
    instead of failing every submission with nbgrader's "see the above traceback"."""
    course = course_copy(tmp_path / "course", COURSE, ASSIGNMENT, release=False)
    write_submission(course, ASSIGNMENT, "alice", untouched_release(ROOT, ASSIGNMENT, [NUMPY]))
    out = subprocess.run([sys.executable, "-m", "gradekit", "grade", ASSIGNMENT, "--course", str(course)],
                         cwd=ROOT, env={k: v for k, v in nbgrader_env().items() if k != "NBGRADER_DB_URL"},
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "has no assignment 'assignment1'\n  fix: run `gradekit generate assignment1`" in out.stderr, out.stderr
    assert not (course / "grading" / ASSIGNMENT / "results").exists() or not any(
        (course / "grading" / ASSIGNMENT / "results").iterdir()), "nothing was graded"


def test_batch_settings_come_from_the_config_and_are_validated(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    (course / "nbgrader_config.py").write_text("c = get_config()\nc.BatchGrading.timeout = 90\n")
    assert Limits.from_config(course) == Limits(timeout=90.0, memory_mb=4096)
    assert Limits.from_config(course, memory_mb=100).memory_mb == 100
    (course / "bad").mkdir()
    (course / "bad" / "nbgrader_config.py").write_text("c = get_config()\nc.BatchGrading.memory_limit_mb = -1\n")
    out = subprocess.run([sys.executable, "-m", "gradekit", "grade", "--course", str(course / "bad")],
                         env=nbgrader_env(), capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and "BatchGrading.memory_limit_mb must be positive" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("option", ["--jobs=0", "--timeout=-5", "--memory-limit=0"])
def test_a_command_line_limit_must_be_positive(tmp_path, option):
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    out = subprocess.run([sys.executable, "-m", "gradekit", "grade", option, "--course", str(tmp_path)],
                         env=nbgrader_env(), capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and f"argument {option.split('=')[0]}: must be above 0" in out.stderr, out.stderr


def test_a_failure_reason_is_the_cause_not_nbgraders_footer():
    log = ("[AutogradeApp | ERROR] There was an error processing assignment: /course/submitted/alice/a1\n"
           "Traceback (most recent call last):\n  File \"nbgrader/api.py\", line 1, in find_assignment\n"
           "nbgrader.api.MissingEntry: No assignment with ID 'a1' exists in the database\n"
           "[AutogradeApp | ERROR] Please see the the above traceback for details on the specific errors on the "
           "above failures.\n")
    assert classify_failure(log) == ("nbgrader error: nbgrader.api.MissingEntry: No assignment with ID 'a1' "
                                     "exists in the database")
    assert classify_failure("[AutogradeApp | ERROR] Something broke\n[AutogradeApp | ERROR] Please see the the "
                            "above traceback for details") == "nbgrader error: [AutogradeApp | ERROR] Something broke"
