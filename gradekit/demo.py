"""The README's main job: generate the release, grade sample submissions, print the grade table."""
from __future__ import annotations

import shutil
import time
from pathlib import Path

from . import ROOT
from .bugs import bug_named
from .course import ASSIGNMENT, generate, notebook_names, read_grades, run_nbgrader
from .submissions import submission_with_edits, untouched_release, write_submission

SAMPLE_BUGS = ["softmax_no_max_subtraction", "bias_grad_mean"]


def sample_submissions(course: Path) -> dict[str, dict]:
    """{student id: {notebook name: notebook}} for the reference, the blank release and two buggy ones."""
    names = notebook_names(course)
    samples = {"sample-reference": submission_with_edits(course, names),
               "sample-blank": untouched_release(course, names)}
    for bug_name in SAMPLE_BUGS:
        bug = bug_named(bug_name)
        samples[f"sample-bug-{bug.name}"] = submission_with_edits(course, names, bug.edits)
    return samples


def format_table(grades, students) -> str:
    rows = [("student", "notebook", "score", "lost points in")]
    for (student, notebook), g in sorted(grades.items()):
        if student not in students:
            continue
        lost = [name for name, (score, max_score) in g.tests.items() if (score or 0) < max_score]
        lost_text = ", ".join(lost) if len(lost) <= 4 else f"{len(lost)} tests"
        rows.append((student, notebook, f"{g.score:g} / {g.max_score:g}", lost_text or "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(course: Path = ROOT) -> int:
    t0 = time.perf_counter()
    print("1/3 generating release/ and solutions/ from source/ ...", flush=True)
    generate(course)
    print("2/3 writing sample submissions to submitted/ ...", flush=True)
    samples = sample_submissions(course)
    for student, notebooks in samples.items():
        shutil.rmtree(course / "submitted" / student, ignore_errors=True)
        write_submission(course, student, notebooks)
    print(f"3/3 autograding {len(samples)} submissions with nbgrader ...", flush=True)
    for student in samples:
        run_nbgrader(course, "autograde", ASSIGNMENT, "--student", student, "--force")
    print()
    print(format_table(read_grades(course), set(samples)))
    print(f"\ndone in {time.perf_counter() - t0:.0f} s; graded notebooks are in autograded/, "
          f"the gradebook in gradebook.db")
    return 0
