"""Batch grading speed: serial `nbgrader autograde` against `gradekit grade` at 1 and N jobs.

Generates a batch of submissions (correct, buggy, blank, broken; both notebooks), grades the same
batch three times in fresh course copies, checks the grades are equal, and prints times and ratios,
plus the per-submission overhead against bare execution of the same notebooks with nbclient.
Buggy submissions come from the assignment's bug catalogue (source/<assignment>/kit/bugs.py), if any.
Run: .venv/bin/python benchmarks/batch_grading.py [--submissions 40] [--jobs 2] [--course .] [ASSIGNMENT]
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from gradekit.authoring.submissions import submission_with_edits, untouched_release, write_submission
from gradekit.core.assignment_kit import kit_part
from gradekit.core.layout import Course
from gradekit.core.nbgrader_run import course_copy, nbgrader_env, run_nbgrader
from gradekit.grading.batch import grade
from gradekit.records.results import Status, read_grades


def make_batch(course: Path, assignment: str, bugs, n: int) -> None:
    names = Course(course).notebooks(assignment)
    kinds = ["reference", "blank", "broken"] + [f"bug:{b.name}" for b in bugs]
    for i in range(n):
        kind = kinds[i % len(kinds)]
        student = f"s{i:03d}"
        if kind == "reference":
            write_submission(course, assignment, student, submission_with_edits(course, assignment, names))
        elif kind == "blank":
            write_submission(course, assignment, student, untouched_release(course, assignment, names))
        elif kind == "broken":
            folder = Course(course).submitted(student, assignment)
            folder.mkdir(parents=True)
            (folder / f"{names[0]}.ipynb").write_text("{ not json")
        else:
            bug = next(b for b in bugs if b.name == kind[4:])
            write_submission(course, assignment, student, submission_with_edits(course, assignment, names, bug.edits))


def scores(course, assignment, ok):
    return {(s, nb, t): v for (s, nb), g in read_grades(course, assignment).items() if s in ok
            for t, v in g.tests.items()}


def bare_execution_seconds(course: Path, assignment: str) -> float:
    """Execute every readable submitted notebook with nbclient alone (kernel start + run), serially."""
    total = 0.0
    for path in sorted((course / "submitted").glob(f"*/{assignment}/*.ipynb")):
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception:  # noqa: BLE001 - broken notebooks cost nothing to execute
            continue
        work = course / "bare" / path.parent.parent.name
        if not work.exists():
            shutil.copytree(Course(course).source(assignment), work,
                            ignore=shutil.ignore_patterns("*.ipynb", "probes", "kit"))
        t0 = time.perf_counter()
        NotebookClient(nb, timeout=120, allow_errors=True, resources={"metadata": {"path": str(work)}}).execute()
        total += time.perf_counter() - t0
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--submissions", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--course", default=".")
    parser.add_argument("assignment", nargs="?")
    args = parser.parse_args()
    source = Path(args.course).resolve()
    assignment = Course(source).pick(args.assignment)
    bugs = getattr(kit_part(source, assignment, "bugs"), "BUGS", [])
    os.environ.update({k: v for k, v in nbgrader_env().items() if k.endswith("_THREADS")})
    with tempfile.TemporaryDirectory() as tmp:
        courses = {}
        for name in ("serial", "kit1", "kitN", "bare"):
            courses[name] = course_copy(Path(tmp) / name, source, assignment)
            make_batch(courses[name], assignment, bugs, args.submissions)
        print(f"{args.submissions} submissions of {assignment} (reference, blank, broken and {len(bugs)} bugs)")
        t0 = time.perf_counter()
        run_nbgrader(courses["serial"], "autograde", assignment, check=False)
        serial = time.perf_counter() - t0
        print(f"serial nbgrader autograde:  {serial:7.1f} s", flush=True)
        t0 = time.perf_counter()
        with open(os.devnull, "w") as quiet:
            grade(courses["kit1"], assignment, jobs=1, feedback=False, progress=False, out=quiet)
        kit1 = time.perf_counter() - t0
        print(f"gradekit grade --jobs 1:    {kit1:7.1f} s   ratio to serial {kit1 / serial:.2f}", flush=True)
        t0 = time.perf_counter()
        with open(os.devnull, "w") as quiet:
            results = grade(courses["kitN"], assignment, jobs=args.jobs, feedback=False, progress=False, out=quiet)
        kitn = time.perf_counter() - t0
        print(f"gradekit grade --jobs {args.jobs}:    {kitn:7.1f} s   ratio to serial {kitn / serial:.2f}")
        ok = {s for s, r in results.items() if r.status != Status.FAILED}
        same = (scores(courses["serial"], assignment, ok) == scores(courses["kit1"], assignment, ok)
                == scores(courses["kitN"], assignment, ok))
        print(f"grades equal across the three runs ({len(ok)} graded, {len(results) - len(ok)} failed): {same}")
        bare = bare_execution_seconds(courses["bare"], assignment)
        print(f"bare nbclient execution of the same notebooks, serial: {bare:.1f} s")
        print(f"overhead per submission, kit --jobs 1 / bare execution: {kit1 / bare:.2f}; "
              f"serial nbgrader / bare: {serial / bare:.2f}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
