"""Collecting from nbgrader's exchange with the course's config (gradekit/plugins/exchange_collect.py): each
student's newest submission, taken only from a folder their own account made."""
from __future__ import annotations

import os
import pwd

import nbformat
import pytest

from gradekit.authoring.submissions import submission_with_edits, untouched_release
from gradekit.core.layout import Course
from gradekit.core.nbgrader_run import run_nbgrader
from grader_tests.helpers import WARMUP, warmup_course

COURSE_ID = "collect-test"


@pytest.mark.skipif(os.geteuid() != 0, reason="a forged submission needs another account's folder (root chowns it)")
def test_collect_takes_only_what_a_students_own_account_submitted(tmp_path):
    course = warmup_course(tmp_path / "course")
    student = pwd.getpwuid(os.geteuid()).pw_name  # the honest student: this process's own account
    inbound = tmp_path / "exchange" / COURSE_ID / "inbound"
    inbound.mkdir(parents=True)
    honest = submission_with_edits(course, WARMUP, ["warmup"])["warmup"]
    blank = untouched_release(course, WARMUP, ["warmup"])["warmup"]

    def submit(name: str, hour: int, notebook, tag: str):
        """A folder laid out as `nbgrader submit` makes it."""
        when = f"2026-12-01 {hour:02d}:00:00.000000 UTC"
        folder = inbound / f"{name}+{WARMUP}+{when}+{tag}"
        folder.mkdir()
        nbformat.write(notebook, folder / "warmup.ipynb")
        (folder / "timestamp.txt").write_text(when)
        return folder

    submit(student, 9, blank, "older")
    own = submit(student, 10, honest, "newest-own")
    secret = tmp_path / "instructor-only.txt"  # what the TA's account can read and the student cannot
    secret.write_text("HIDDEN TEST LINE")
    (own / "notes.txt").symlink_to(secret)
    forged = submit(student, 11, blank, "forged")  # under the student's name, by another account
    for path in [forged, *forged.iterdir()]:
        os.chown(path, 65534, 65534)
    (inbound / f"{student}+{WARMUP}+2026-12-01 12:00:00.000000 UTC+link").symlink_to(forged)
    submit("[a-z]*", 12, blank, "pattern")  # an id nbgrader would read as a pattern

    done = run_nbgrader(course, "collect", WARMUP, f"--Exchange.root={tmp_path / 'exchange'}",
                        f"--CourseDirectory.course_id={COURSE_ID}", check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    collected = Course(course).submitted(student, WARMUP)
    assert (collected / "timestamp.txt").read_text() == "2026-12-01 10:00:00.000000 UTC", done.stderr[-3000:]
    assert nbformat.read(collected / "warmup.ipynb", 4) == honest
    assert Course(course).submitted_students(WARMUP) == [student]
    assert not (collected / "notes.txt").exists(), "the collect followed a link of the student's"
    assert not any("HIDDEN TEST LINE" in p.read_text(errors="replace") for p in collected.rglob("*") if p.is_file())
    refused = [line for line in done.stderr.splitlines() if "not collected" in line]
    assert len(refused) == 4, done.stderr[-3000:]
    assert any("notes.txt" in line and "a link" in line for line in refused), refused
    assert any("forged" in line and "by the account 'nobody'" in line for line in refused), refused
    assert any("+link" in line and "not a folder" in line for line in refused), refused
    assert any("[a-z]*" in line and "invalid" not in line and "pattern" in line for line in refused), refused
