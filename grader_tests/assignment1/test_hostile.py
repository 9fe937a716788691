"""The hostile gallery (source/assignment1/kit/hostile.py) graded with the TA batch command, beside a correct submission.

For every trick: it earns no point (its honest grade, the untouched release, is 0), the batch finishes,
the submission ends in a clear status and is flagged for a TA, the correct submission keeps full marks
with no flag, and no instructor file changes.
"""
from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys

import nbformat
import psutil
import pytest

from gradekit.authoring.submissions import submission_with_edits, write_submission
from gradekit.core.layout import Course
from gradekit.core.nbgrader_run import nbgrader_env
from gradekit.grading.suspicious import notebook_flags
from gradekit.plugins.kernel import namespaces_available
from gradekit.plugins.sandbox import pids_cgroup_available
from gradekit.records.results import read_grades
from grader_tests.helpers import (
    ALTERNATIVES,
    ASSIGNMENT,
    ATTACK_TIMEOUT_S,
    BUGS,
    JOBS,
    TRICKS,
    evidence,
    grades_csv,
    honest_twins,
    released_course,
    write_hostile,
)

SANDBOXED = namespaces_available()
needs_sandbox = pytest.mark.skipif(not SANDBOXED, reason="Linux namespaces unavailable on this machine: "
                                                         "the kernel sandbox falls back to resource limits")
# the fork bomb is graded only where the kernel's processes are capped (gradekit/plugins/kernel.py)
PROCESS_CAP = SANDBOXED and (os.geteuid() != 0 or pids_cgroup_available())
GRADED_TRICKS = [t for t in TRICKS if t.name != "fork-bomb" or PROCESS_CAP]
HANG_TIMEOUT_S = 10  # the batch of the tricks that hang: they reach their loop within a few seconds


def _fingerprint(course):
    """Hashes of every instructor file: source/, release/, the config, the trusted reference results."""
    # (the reference results are the grader's own cache: each batch adds those of its seed)
    paths = [p for folder in ("source", "release")
             for p in sorted((course / folder).rglob("*")) if p.is_file() and "__pycache__" not in p.parts]
    paths.append(course / "nbgrader_config.py")
    return {str(p.relative_to(course)): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    course = released_course(tmp_path_factory.mktemp("hostile"))
    write_submission(course, ASSIGNMENT, "correct", submission_with_edits(course, ASSIGNMENT, ["1_mlp_numpy", "2_mlp_pytorch"]))
    for trick in GRADED_TRICKS:
        if not trick.hangs:
            write_hostile(course, trick, f"h-{trick.name}")
    for student, notebooks in honest_twins(course).items():
        write_submission(course, ASSIGNMENT, student, notebooks)
    before = _fingerprint(course)
    cmd = [sys.executable, "-m", "gradekit", "grade", ASSIGNMENT, "--jobs", str(JOBS), "--memory-limit", "3000",
           "--course", str(course)]
    proc = subprocess.run(cmd + ["--timeout", str(ATTACK_TIMEOUT_S)], cwd=course, env=nbgrader_env(),
                          capture_output=True, text=True, timeout=1800)
    # the tricks that hang their kernel wait for the time limit whatever it is: a batch of their own, with
    # a short one (the batch grades only what is not graded yet)
    for trick in GRADED_TRICKS:
        if trick.hangs:
            write_hostile(course, trick, f"h-{trick.name}")
    hanging = subprocess.run(cmd + ["--timeout", str(HANG_TIMEOUT_S)], cwd=course, env=nbgrader_env(),
                             capture_output=True, text=True, timeout=600)
    # the correct submission is graded again after the hostile ones, to see what they left behind
    regrade = subprocess.run(cmd + ["--timeout", str(ATTACK_TIMEOUT_S), "--student", "correct", "--force"],
                             cwd=course, env=nbgrader_env(), capture_output=True, text=True, timeout=600)
    return {"course": course, "proc": proc, "hanging": hanging, "regrade": regrade, "rows": grades_csv(course),
            "before": before, "after": _fingerprint(course), "grades": read_grades(course, ASSIGNMENT)}


def test_the_batch_finishes_and_reports_every_submission(hostile):
    for batch in ("proc", "hanging"):
        assert "done:" in hostile[batch].stdout, hostile[batch].stdout[-3000:] + hostile[batch].stderr[-3000:]
    hung = {f"h-{t.name}" for t in GRADED_TRICKS if t.hangs}
    assert hung and all(hostile["rows"][s]["reason"].startswith("timeout") for s in hung), \
        {s: hostile["rows"][s] for s in hung}
    assert set(hostile["rows"]) == ({"correct"} | {f"h-{t.name}" for t in GRADED_TRICKS}
                                    | {f"twin-{t.base}" for t in TRICKS if t.base})


def test_the_correct_submission_keeps_full_marks_and_no_flag(hostile):
    row = hostile["rows"]["correct"]
    assert row["status"] == "needs_manual" and float(row["score"]) == float(row["max_score"]) - 4, row
    assert row["flags"] == "", row["flags"]
    assert "done:" in hostile["regrade"].stdout


def _tests(hostile, student):
    return {f"{nb}:{t}": v[0] for (s, nb), g in hostile["grades"].items() if s == student
            for t, v in g.autograded.items()}


@pytest.mark.parametrize("trick", GRADED_TRICKS, ids=lambda t: t.name)
def test_no_trick_earns_a_point(hostile, trick):
    row = hostile["rows"][f"h-{trick.name}"]
    if trick.expect == "failed" or trick.expect == "either" and row["status"] == "failed":
        assert row["status"] == "failed" and row["reason"] and row["score"] == "", row
        return
    assert row["status"] in ("graded", "needs_manual"), row
    tests = _tests(hostile, f"h-{trick.name}")
    if trick.base:  # no test may score more than in the honest twin (the same bug, no trick)
        twin = _tests(hostile, f"twin-{trick.base}")
        assert twin and 0 in twin.values(), f"the honest twin must be graded and lose points: {twin}"
        stolen = {t: (v, twin.get(t)) for t, v in tests.items() if v and v > (twin.get(t) or 0)}
        assert not stolen, f"{trick.name} scored more than its honest twin: {stolen}"
        assert float(row["score"]) <= float(hostile["rows"][f"twin-{trick.base}"]["score"]), row
    else:  # the untouched release's honest grade is 0
        earned = {t: v for t, v in tests.items() if v}
        assert not earned, f"{trick.name} earned points: {earned}"


@pytest.mark.parametrize("trick", [t for t in GRADED_TRICKS if t.code or t.edit_cells], ids=lambda t: t.name)
def test_every_trick_is_visible_to_a_ta(hostile, trick):
    row = hostile["rows"][f"h-{trick.name}"]
    visible = [f for f in row["flags"].split("; ") if f and not f.startswith("missing notebook")]
    assert visible or row["status"] == "failed", row


def test_instructor_files_are_unchanged(hostile):
    before, after = hostile["before"], hostile["after"]
    changed = sorted(k for k in before if before[k] != after.get(k))
    assert not changed, changed
    assert set(after) == set(before), sorted(set(after) ^ set(before))


@needs_sandbox
def test_instructor_files_are_not_even_readable(hostile):
    assert evidence(hostile["course"], "h-read-instructor-files").strip() == "read: []"
    writes = evidence(hostile["course"], "h-write-instructor-files")
    # only its own private /tmp (its HOME there) takes a write, and it is gone with the kernel
    wrote = [w for w in writes.split(" | ") if w.startswith("wrote") and not w.startswith("wrote /tmp/")]
    assert not wrote and "refused" in writes, writes


@needs_sandbox
def test_no_network(hostile):
    text = evidence(hostile["course"], "h-network")
    assert "interfaces ['lo']" in text and "connected" not in text, text


@needs_sandbox
def test_no_process_outlives_its_submission(hostile):
    leftovers = [p.info for p in psutil.process_iter(["pid", "cmdline"])
                 if p.info["cmdline"] and (p.info["cmdline"][:2] == ["sleep", "987"]
                                           or "os.utime('.')" in " ".join(p.info["cmdline"]))]
    assert not leftovers, leftovers


@pytest.mark.skipif(not PROCESS_CAP, reason="no process cap here: neither a writable pids cgroup (as root) nor "
                                            "user namespaces (as another user)")
def test_a_fork_bomb_stops_at_the_kernels_process_cap(hostile):
    text = evidence(hostile["course"], "h-fork-bomb")
    forked, stop = re.match(r"forked (\d+), then (\w+)", text).groups()
    cap = Course(hostile["course"]).config.SandboxedKernelManager.processes
    assert stop == "BlockingIOError" and int(forked) < cap, text


def test_tampering_is_flagged_with_what_it_did(hostile):
    rows = hostile["rows"]
    assert "overwrites np.allclose" in rows["h-patch-numpy"]["flags"]
    assert "set_custom_exc" in rows["h-custom-exception-handler"]["flags"]
    assert "test cells edited or deleted" in rows["h-emptied-test-cells"]["flags"]
    assert "output truncated" in rows["h-print-gigabytes"]["flags"]


def test_cheats_that_fooled_the_kernel_are_overruled_by_the_trusted_check(hostile):
    """Proof that the in-kernel tests alone would have been fooled: the trusted re-check overruled them."""
    rows = hostile["rows"]
    for name in ("h-patch-numpy", "h-patch-helper-module", "h-input-transformer"):
        assert "trusted re-check failed where the notebook's own test passed" in rows[name]["flags"], rows[name]
    for twin in {f"twin-{t.base}" for t in TRICKS if t.base}:
        assert "trusted re-check" not in rows[twin]["flags"], (twin, rows[twin]["flags"])


def test_honest_work_raises_no_flag(hostile):
    """No false alarm: the reference, every correct alternative and every catalogued (honest) bug."""
    course = hostile["course"]
    released = {p.stem: nbformat.read(p, as_version=4) for p in Course(course).release(ASSIGNMENT).glob("*.ipynb")}
    variants = {"reference": ()} | {f"alt-{n}": e for n, e in ALTERNATIVES.items()} | {
        f"bug-{b.name}": b.edits for b in BUGS}
    for name, edits in variants.items():
        for notebook, nb in submission_with_edits(course, ASSIGNMENT, sorted(released), edits).items():
            flags = notebook_flags(released[notebook], nb, notebook, helpers={"mlp_utils"})
            assert not flags, (name, flags)
