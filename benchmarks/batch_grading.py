"""Batch grading speed: serial `nbgrader autograde` against `gradekit grade` at 1 and N jobs.

Generates a batch of submissions (correct, buggy, blank, broken; both notebooks), grades the same
batch three times in fresh course copies, checks the grades are equal, and prints times and ratios,
plus the per-submission overhead against bare execution of the same notebooks with nbclient.
Run: .venv/bin/python benchmarks/batch_grading.py [--submissions 40] [--jobs 2]
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import nbformat  # noqa: E402
from nbclient import NotebookClient  # noqa: E402

from gradekit.batch import grade  # noqa: E402
from gradekit.bugs import ALL_BUGS  # noqa: E402
from gradekit.course import ASSIGNMENT, nbgrader_env, notebook_names, read_grades, run_nbgrader, sandbox_course  # noqa: E402
from gradekit.submissions import submission_with_edits, untouched_release, write_submission  # noqa: E402


def make_batch(course: Path, n: int) -> None:
    names = notebook_names(course)
    kinds = ["reference", "blank", "broken"] + [f"bug:{b.name}" for b in ALL_BUGS]
    for i in range(n):
        kind = kinds[i % len(kinds)]
        student = f"s{i:03d}"
        if kind == "reference":
            write_submission(course, student, submission_with_edits(course, names))
        elif kind == "blank":
            write_submission(course, student, untouched_release(course, names))
        elif kind == "broken":
            folder = course / "submitted" / student / ASSIGNMENT
            folder.mkdir(parents=True)
            (folder / f"{names[0]}.ipynb").write_text("{ not json")
        else:
            bug = next(b for b in ALL_BUGS if b.name == kind[4:])
            write_submission(course, student, submission_with_edits(course, names, bug.edits))


def fresh_course(root: Path, name: str, n: int) -> Path:
    course = sandbox_course(root / name)
    make_batch(course, n)
    return course


def scores(course, ok):
    return {(s, nb, t): v for (s, nb), g in read_grades(course).items() if s in ok for t, v in g.tests.items()}


def bare_execution_seconds(course: Path) -> float:
    """Execute every readable submitted notebook with nbclient alone (kernel start + run), serially."""
    total = 0.0
    for path in sorted((course / "submitted").glob(f"*/{ASSIGNMENT}/*.ipynb")):
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception:  # noqa: BLE001 - broken notebooks cost nothing to execute
            continue
        work = course / "bare" / path.parent.parent.name
        if not work.exists():
            shutil.copytree(course / "source" / ASSIGNMENT, work, ignore=shutil.ignore_patterns("*.ipynb"))
        t0 = time.perf_counter()
        NotebookClient(nb, timeout=120, allow_errors=True, resources={"metadata": {"path": str(work)}}).execute()
        total += time.perf_counter() - t0
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--submissions", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    os.environ.update({k: v for k, v in nbgrader_env().items() if k.endswith("_THREADS")})
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        courses = {name: fresh_course(root, name, args.submissions) for name in ("serial", "kit1", "kitN", "bare")}
        print(f"{args.submissions} submissions (reference, blank, broken and {len(ALL_BUGS)} bugs, both notebooks)")
        t0 = time.perf_counter()
        run_nbgrader(courses["serial"], "autograde", ASSIGNMENT, check=False)
        serial = time.perf_counter() - t0
        print(f"serial nbgrader autograde:  {serial:7.1f} s", flush=True)
        t0 = time.perf_counter()
        with open(os.devnull, "w") as quiet:
            grade(courses["kit1"], ASSIGNMENT, jobs=1, feedback=False, progress=False, out=quiet)
        kit1 = time.perf_counter() - t0
        print(f"gradekit grade --jobs 1:    {kit1:7.1f} s   ratio to serial {kit1 / serial:.2f}", flush=True)
        t0 = time.perf_counter()
        with open(os.devnull, "w") as quiet:
            results = grade(courses["kitN"], ASSIGNMENT, jobs=args.jobs, feedback=False, progress=False, out=quiet)
        kitn = time.perf_counter() - t0
        print(f"gradekit grade --jobs {args.jobs}:    {kitn:7.1f} s   ratio to serial {kitn / serial:.2f}")
        ok = {s for s, r in results.items() if r.status != "failed"}
        same = scores(courses["serial"], ok) == scores(courses["kit1"], ok) == scores(courses["kitN"], ok)
        print(f"grades equal across the three runs ({len(ok)} graded, {len(results) - len(ok)} failed): {same}")
        bare = bare_execution_seconds(courses["bare"])
        print(f"bare nbclient execution of the same notebooks, serial: {bare:.1f} s")
        print(f"overhead per submission, kit --jobs 1 / bare execution: {kit1 / bare:.2f}; "
              f"serial nbgrader / bare: {serial / bare:.2f}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
