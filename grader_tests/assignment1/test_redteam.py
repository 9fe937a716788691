"""The red-team gallery (source/assignment1/kit/redteam.py), graded in one batch with the TA's command.

Measured for every attack, each against its honest twin and beside a victim (a correct submission graded
in the same batch): points above the twin, hidden-test or instructor text in what the student receives
(the feedback folder), files changed outside the attacker's folder, harm to the victim. All must be zero.
Graded as this process's user: root in CI (the kernel runs as an unprivileged account); the hub test grades
a hostile submission as the TA's account.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import nbformat
import pytest

from gradekit.authoring.submissions import submission_with_edits, write_submission
from gradekit.core.layout import Course
from gradekit.core.nbgrader_run import nbgrader_env
from gradekit.plugins.kernel import namespaces_available
from gradekit.plugins.preprocessors.hide_hidden_tests import split_hidden
from gradekit.records.results import read_grades
from grader_tests.helpers import ASSIGNMENT, ATTACK_TIMEOUT_S, JOBS, KIT, grades_csv, released_course

RT = KIT.redteam
ATTACKS = RT.ATTACKS
needs_sandbox = pytest.mark.skipif(not namespaces_available(), reason="Linux namespaces unavailable here")


def _fingerprint(course):
    """Every file outside the attackers' own results: instructor files, every submission, the snapshots."""
    out = {}
    for folder in ("source", "release", "solutions", "submitted", "grading/assignment1/snapshots"):
        for base, dirs, files in os.walk(course / folder):
            for name in files:
                path = os.path.join(base, name)
                if "__pycache__" in path:
                    continue
                if os.path.islink(path) or not os.path.isfile(path):
                    out[os.path.relpath(path, course)] = "link:" + os.readlink(path) if os.path.islink(path) else "special"
                else:
                    out[os.path.relpath(path, course)] = hashlib.sha256(open(path, "rb").read()).hexdigest()
    out["nbgrader_config.py"] = hashlib.sha256((course / "nbgrader_config.py").read_bytes()).hexdigest()
    return out


def _instructor_lines(course) -> set[str]:
    """Distinctive lines only the instructor has: hidden tests and the probes."""
    lines = set()
    for path in Course(course).source(ASSIGNMENT).glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                lines |= {line.strip() for line in split_hidden(cell.source)[1]}
    for path in Course(course).probes(ASSIGNMENT).glob("*.py"):
        lines |= {line.strip() for line in path.read_text().splitlines()}
    # every released file, the binary dataset too (its bytes hold no instructor line either way)
    released = "".join(p.read_bytes().decode("utf-8", "replace") for p in Course(course).release(ASSIGNMENT).rglob("*")
                       if p.is_file())
    return {line for line in lines if len(line) >= 30 and line not in released and not line.startswith("#")}


@pytest.fixture(scope="module")
def redteam(tmp_path_factory):
    course = released_course(tmp_path_factory.mktemp("redteam"))
    write_submission(course, ASSIGNMENT, "victim", submission_with_edits(course, ASSIGNMENT, ["1_mlp_numpy", "2_mlp_pytorch"]))
    # the victim's name starts like an attacker's: cleaning up after one must never touch another
    write_submission(course, ASSIGNMENT, "a-fill-the-disk-victim", submission_with_edits(course, ASSIGNMENT, ["1_mlp_numpy"]))
    # many attacks have the same honest twin (same notebooks): each distinct twin is graded once, in this batch
    twins, twin_of = {}, {}
    for attack in ATTACKS:
        RT.write_attack(course, attack, f"a-{attack.name}")
        notebooks = RT.twin_notebooks(course, attack)
        key = json.dumps({name: nb for name, nb in sorted(notebooks.items())}, sort_keys=True)
        if key not in twins:
            twins[key] = f"t-{attack.name}"
            write_submission(course, ASSIGNMENT, twins[key], notebooks)
        twin_of[attack.name] = twins[key]
    before = _fingerprint(course)
    env = {**nbgrader_env(), **RT.SECRET_ENV}
    cmd = [sys.executable, "-m", "gradekit", "grade", ASSIGNMENT, "--jobs", str(JOBS),
           "--timeout", str(ATTACK_TIMEOUT_S),
           "--course", str(course)]
    proc = subprocess.run(cmd, cwd=course, env=env, capture_output=True, text=True, timeout=2400)
    return {"course": course, "proc": proc, "rows": grades_csv(course), "twin": twin_of, "before": before,
            "after": _fingerprint(course),
            "grades": read_grades(course, ASSIGNMENT), "secrets": _instructor_lines(course)}


def _tests(redteam, student):
    return {f"{nb}:{t}": v[0] or 0 for (s, nb), g in redteam["grades"].items() if s == student
            for t, v in g.autograded.items()}


def test_the_batch_finishes_with_every_submission(redteam):
    assert redteam["proc"].returncode == 0 and "done:" in redteam["proc"].stdout, (
        redteam["proc"].stdout[-3000:] + redteam["proc"].stderr[-3000:])
    expected = {"victim", "a-fill-the-disk-victim"} | {f"a-{a.name}" for a in ATTACKS} | set(redteam["twin"].values())
    assert set(redteam["rows"]) == expected
    assert all(r["status"] in ("graded", "needs_manual", "failed") for r in redteam["rows"].values())
    failed = {s: r["reason"] for s, r in redteam["rows"].items() if r["status"] == "failed"}
    # the disk filler is stopped; the linked notebook is not there to grade; the parser bomb hangs its own
    # kernel (IPython's traceback of it), which the time limit stops
    assert set(failed) <= {"a-fill-the-disk", "a-notebook-is-a-link", "a-parser-bomb"}, failed


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: a.name)
def test_no_point_above_the_honest_twin(redteam, attack):
    twin_student = redteam["twin"][attack.name]
    row, twin = redteam["rows"][f"a-{attack.name}"], redteam["rows"][twin_student]
    ours, theirs = _tests(redteam, f"a-{attack.name}"), _tests(redteam, twin_student)
    stolen = {t: (v, theirs.get(t, 0)) for t, v in ours.items() if v > theirs.get(t, 0)}
    assert not stolen, f"{attack.name} scored above its honest twin: {stolen}"
    if row["score"]:
        assert float(row["score"]) <= float(twin["score"] or 0), (row, twin)


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: a.name)
def test_nothing_hidden_reaches_the_student(redteam, attack):
    folder = Course(redteam["course"]).feedback(f"a-{attack.name}", ASSIGNMENT)
    received = b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file() and not p.is_symlink()) \
        if folder.is_dir() else b""
    assert not [p for p in folder.rglob("*") if p.is_symlink()] if folder.is_dir() else True
    text = received.decode("utf-8", "replace")
    import html
    text = html.unescape(text)
    leaked = sorted(line for line in redteam["secrets"] if line in text)
    assert not leaked, f"{attack.name}: {len(leaked)} instructor lines in feedback, e.g. {leaked[:3]}"
    for value in RT.SECRET_ENV.values():
        assert value not in text, f"{attack.name}: the grader's environment reached feedback"
    assert b"SQLite format 3" not in received
    assert not received or len(received) < 20 * 2**20, "feedback carries the kernel's bulk files"


def test_instructor_files_and_other_submissions_are_unchanged(redteam):
    before, after = redteam["before"], redteam["after"]
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k)
                     and not k.startswith("grading/assignment1/snapshots/"))
    assert not changed, changed
    new_snapshots = sorted(k for k in set(after) - set(before) if k.startswith("grading/"))
    assert all(k.startswith("grading/assignment1/snapshots/") for k in new_snapshots)


def test_the_victims_keep_full_marks_and_no_flag(redteam):
    row = redteam["rows"]["victim"]
    assert row["status"] == "needs_manual" and float(row["score"]) == float(row["max_score"]) - 4, row
    assert row["flags"] == "", row["flags"]
    second = redteam["rows"]["a-fill-the-disk-victim"]
    assert second["status"] == "graded" and float(second["score"]) == 59, second


def test_autograded_and_feedback_hold_only_the_graders_files(redteam):
    layout = Course(redteam["course"])
    allowed = {p.name for p in layout.release(ASSIGNMENT).iterdir()} | {f"{nb}.html" for nb in layout.notebooks(ASSIGNMENT)}
    for student in redteam["rows"]:
        for folder in (layout.autograded(student, ASSIGNMENT), layout.feedback(student, ASSIGNMENT)):
            if not folder.is_dir():
                continue
            for path in folder.rglob("*"):
                assert not path.is_symlink() and (path.is_dir() or path.is_file()), path
                assert path.relative_to(folder).parts[0] in allowed | {"timestamp.txt"}, (student, path)


def test_kernel_files_never_reach_the_grader_and_nothing_is_left_behind(redteam):
    grading = Course(redteam["course"]).grading(ASSIGNMENT)
    left = [p.name for p in (grading / "scratch").iterdir() if p.name != "reference"] if (grading / "scratch").is_dir() else []
    assert not left, f"kernels' working copies left behind: {left}"
    assert not list((grading / "intake").glob("*")), "an intake copy was left behind"


def test_disk_filling_stops_the_submission_not_the_batch(redteam):
    row = redteam["rows"]["a-fill-the-disk"]
    assert row["status"] == "failed" and row["reason"].startswith("disk:"), row
    deep = redteam["rows"]["a-deep-folder-tree"]
    assert deep["status"] == "graded" and "RecursionError" not in deep["reason"], deep


def test_one_submission_cannot_switch_off_the_similarity_flags(redteam):
    assert "similarity: not computed" not in redteam["proc"].stdout, redteam["proc"].stdout[-2000:]


def test_no_script_of_the_students_reaches_a_page(redteam):
    layout = Course(redteam["course"])
    page = (layout.feedback("a-markdown-script", ASSIGNMENT) / "1_mlp_numpy.html").read_text()
    assert "**my notes**" in page or "my notes" in page
    assert '<script>document.title = "REDTEAM' not in page and "<img src=x onerror" not in page
    # the autograded notebook, which formgrader shows a TA
    graded = nbformat.read(layout.autograded("a-markdown-script", ASSIGNMENT) / "1_mlp_numpy.ipynb", as_version=4)
    notes = next(c for c in graded.cells if c.cell_type == "markdown" and "my notes" in c.source)
    assert "<script>" not in notes.source and "<img" not in notes.source, notes.source


def test_forged_log_lines_never_reach_the_graders_log(redteam):
    logs = "".join(p.read_text(errors="replace") for p in Course(redteam["course"]).logs(ASSIGNMENT).glob("*.log"))
    assert RT.FORGED_LOG_LINE not in logs
    evidence = KIT.hostile.evidence(redteam["course"], "a-forge-log-lines")
    assert "descriptors" in evidence


def test_links_and_special_files_are_set_aside_and_flagged(redteam):
    rows = redteam["rows"]
    flags = rows["a-submitted-links"]["flags"]
    for name in ("leak.ipynb", "passwd.txt", "victim", "pipe", "readme_copy.md"):
        assert name in flags, flags
    assert "set aside" in rows["a-shadowing-module-file"]["flags"] and "numpy.py" in rows["a-shadowing-module-file"]["flags"]
    linked = rows["a-notebook-is-a-link"]
    assert linked["status"] == "failed" and "1_mlp_numpy.ipynb (a symbolic link)" in linked["reason"], linked


@needs_sandbox
def test_the_kernel_has_no_privilege(redteam):
    text = KIT.hostile.evidence(redteam["course"], "a-root-in-sandbox")
    assert "wrote" not in text and "moved into" not in text, text
    if os.geteuid() == 0:
        assert "ids 0 0" not in text, f"graded as root, the kernel runs as root: {text}"
    assert "dev ['fd', 'full', 'null', 'random', 'shm', 'stderr', 'stdin', 'stdout', 'urandom', 'zero']" in text, text
    assert "cgroup []" in text, text
    env = KIT.hostile.evidence(redteam["course"], "a-environment-leak")
    assert "JUPYTERHUB_API_TOKEN" not in env and "NBGRADER" not in env and "COURSE_DB_PASSWORD" not in env, env


def test_every_attack_is_recorded_with_its_seed(redteam):
    from gradekit.records.results import ResultStore

    results = ResultStore(redteam["course"], ASSIGNMENT).all()
    seeds = {r.probe_seed for r in results.values() if r.status.value != "failed"}
    assert len(seeds) == 1 and 0 not in seeds, seeds
    assert all(r.verified for r in results.values() if r.status.value != "failed")


def test_control_the_leaking_attacks_did_capture_instructor_lines(redteam):
    """The leak test can fail: the kernel's own outputs (the TA's autograded copy) hold the hidden lines
    and the probes' source that feedback withheld."""
    layout = Course(redteam["course"])
    for student in ("a-history-leak",):
        nb = nbformat.read(layout.autograded(student, ASSIGNMENT) / "1_mlp_numpy.ipynb", as_version=4)
        text = "".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
                       for c in nb.cells if c.cell_type == "code" for o in c.outputs)
        assert sum(line in text for line in redteam["secrets"]) > 20, student
