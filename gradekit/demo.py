"""The README's main job: generate the release, grade sample submissions, print the grade table."""
from __future__ import annotations

import shutil
import time
from pathlib import Path

from . import ROOT
from .bugs import bug_named
from .batch import grade
from .course import ASSIGNMENT, generate, notebook_names, read_grades, sandbox_course
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
    rows = [("student", "notebook", "score", "to grade by hand", "lost points in")]
    for (student, notebook), g in sorted(grades.items()):
        if student not in students:
            continue
        lost = [name for name, (score, max_score) in g.tests.items() if score is not None and score < max_score]
        lost_text = ", ".join(lost) if len(lost) <= 4 else f"{len(lost)} tests"
        pending = sum(g.tests[t][1] for t in g.pending_manual)
        rows.append((student, notebook, f"{g.score:g} / {g.max_score:g}",
                     f"{pending:g} points" if pending else "-", lost_text or "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(course: Path = ROOT) -> int:
    """Generate the course's release/ and solutions/, then grade samples in a sandbox course (demo/).

    The samples are graded in demo/, a throwaway copy of the course with its own gradebook, so the
    course's real gradebook never holds sample students.
    """
    t0 = time.perf_counter()
    print("1/4 generating release/ and solutions/ from source/ ...", flush=True)
    generate(course)
    sandbox = course / "demo"
    print(f"2/4 setting up a sandbox course in {sandbox.relative_to(course)}/ ...", flush=True)
    shutil.rmtree(sandbox, ignore_errors=True)
    sandbox_course(sandbox, course)
    samples = sample_submissions(sandbox)
    for student, notebooks in samples.items():
        write_submission(sandbox, student, notebooks)
    print(f"3/4 autograding {len(samples)} sample submissions (python -m gradekit grade --course demo) ...",
          flush=True)
    grade(sandbox, ASSIGNMENT, jobs=2, progress=False)
    print("4/4 grade table\n")
    print(format_table(read_grades(sandbox), set(samples)))
    print(f"\ndone in {time.perf_counter() - t0:.0f} s; graded notebooks in demo/autograded/, gradebook "
          f"demo/gradebook.db, statuses in demo/grading/{ASSIGNMENT}/grades.csv, class report in "
          f"demo/grading/{ASSIGNMENT}/report/report.html")
    return 0
