"""The grades the kit gives today, kept so that a change meant to leave grading alone proves it did: the
per-cell scores of the grading gallery and the demo's grade table (expected_scores.json beside this file,
compared by test_expected_scores.py).

When a change is meant to alter grades, rewrite the file and say why in the commit:
    python -m grader_tests.assignment1.expected_scores
"""
from __future__ import annotations

import contextlib
import io
import json
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

EXPECTED = Path(__file__).with_name("expected_scores.json")


def gallery_scores(grades) -> dict:
    """{student: {notebook: {grade_id: [score, max]}}} from read_grades."""
    out: dict = {}
    for (student, notebook), grade in grades.items():
        out.setdefault(student, {})[notebook] = {k: list(v) for k, v in sorted(grade.tests.items())}
    return out


def demo_output(course: Path) -> str:
    """What `gradekit demo` prints for `course` (a throwaway copy: the demo writes into it)."""
    from gradekit.apps.demo import main as demo

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        demo(course)
    return printed.getvalue()


def demo_table(text: str) -> list[str]:
    """The grade table in the demo's output."""
    start = text.index("4/4 grade table\n") + len("4/4 grade table\n")
    return text[start:text.index("\nstatuses in")].strip("\n").splitlines()


def record() -> dict:
    from gradekit.authoring.submissions import write_submission
    from gradekit.core.nbgrader_run import course_copy, generate, run_nbgrader
    from gradekit.records.results import read_grades
    from grader_tests.helpers import ASSIGNMENT, COURSE, NOTEBOOKS, gallery_submissions

    tmp = Path(tempfile.mkdtemp())
    course = course_copy(tmp / "course", COURSE, ASSIGNMENT, release=False)
    generate(course, ASSIGNMENT)
    submissions = gallery_submissions(course, NOTEBOOKS)
    for student, sub in submissions.items():
        write_submission(course, ASSIGNMENT, student, sub.notebooks)
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda s: run_nbgrader(course, "autograde", ASSIGNMENT, "--student", s, "--force", check=False),
                      submissions))
    return {"gallery": gallery_scores(read_grades(course, ASSIGNMENT)),
            "demo_table": demo_table(demo_output(course_copy(tmp / "demo-course", COURSE, ASSIGNMENT, release=False)))}


if __name__ == "__main__":
    EXPECTED.write_text(json.dumps(record(), indent=1, sort_keys=True) + "\n")
    print(f"written: {EXPECTED}")
