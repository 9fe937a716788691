"""The README's main job: generate the release, grade sample submissions, print the grade table."""
from __future__ import annotations

import shutil
import time
from collections.abc import Collection
from pathlib import Path

from gradekit.authoring.submissions import submission_with_edits, untouched_release, write_submission
from gradekit.core.assignment_kit import kit_part
from gradekit.core.layout import Course
from gradekit.core.nbgrader_run import course_copy, generate
from gradekit.grading.batch import grade
from gradekit.records.results import read_grades


def sample_submissions(course: Path, assignment: str) -> dict[str, dict]:
    """{student id: {notebook name: notebook}}: the reference, the blank release, and the samples of the
    assignment's kit (kit/demo.py)."""
    course = Course(course)
    names = course.notebooks(assignment)
    samples = {"sample-reference": submission_with_edits(course, assignment, names),
               "sample-blank": untouched_release(course, assignment, names)}
    demo = kit_part(course, assignment, "demo")
    for student, edits in (demo.sample_edits() if demo else {}).items():
        samples[student] = submission_with_edits(course, assignment, names, edits)
    return samples


def format_table(grades: dict, students: Collection[str]) -> str:
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


def main(course: Path) -> int:
    """Generate every assignment's release/ and solutions/, then grade samples in a throwaway copy of the course (demo/).

    The samples are graded in demo/, a throwaway copy of the course with its own gradebook, so the
    course's real gradebook never holds sample students.
    """
    course = Course(course)
    t0 = time.perf_counter()
    assignments = course.assignments()
    demo_course = course / "demo"
    shutil.rmtree(demo_course, ignore_errors=True)
    for assignment in assignments:
        print(f"{assignment} 1/4 generating release/ and solutions/ from source/ ...", flush=True)
        generate(course, assignment)
        print(f"{assignment} 2/4 copying the course into demo/ ...", flush=True)
        course_copy(demo_course, course, assignment)
        samples = sample_submissions(demo_course, assignment)
        for student, notebooks in samples.items():
            write_submission(demo_course, assignment, student, notebooks)
        print(f"{assignment} 3/4 autograding {len(samples)} sample submissions "
              f"(gradekit grade {assignment} --course demo) ...", flush=True)
        grade(demo_course, assignment, jobs=2, progress=False)
        print(f"{assignment} 4/4 grade table\n")
        print(format_table(read_grades(demo_course, assignment), set(samples)))
        print(f"\nstatuses in demo/grading/{assignment}/grades.csv, class report in "
              f"demo/grading/{assignment}/report/report.html\n")
    print(f"done in {time.perf_counter() - t0:.0f} s; graded notebooks in demo/autograded/, gradebook "
          "demo/gradebook.db")
    return 0
