"""Time to autograde one reference submission, per notebook, with nbgrader and bare nbclient.

Prints, for each notebook: seconds for `nbgrader autograde` of a submission holding only that notebook
(process start, kernel start, execution, gradebook), seconds to execute the same notebook with nbclient
alone, and their ratio (nbgrader's overhead). Median of --repeat runs, all in this one run.
Run: .venv/bin/python benchmarks/grade_time.py [--repeat 3]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import nbformat  # noqa: E402
from nbclient import NotebookClient  # noqa: E402

from gradekit.course import ASSIGNMENT, nbgrader_env, notebook_names, run_nbgrader, sandbox_course  # noqa: E402
from gradekit.submissions import submission_with_edits, write_submission  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ.update({k: v for k, v in nbgrader_env().items() if k.endswith("_THREADS") or k == "MPLBACKEND"})
    with tempfile.TemporaryDirectory() as tmp:
        course = sandbox_course(Path(tmp) / "course")
        print(f"{'notebook':<16s} {'nbgrader autograde':>19s} {'nbclient only':>14s} {'ratio':>6s}")
        for name in notebook_names(course):
            nb = submission_with_edits(course, [name])[name]
            student = f"timing-{name}"
            write_submission(course, student, {name: nb})
            graded, bare = [], []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                run_nbgrader(course, "autograde", ASSIGNMENT, "--student", student, "--force")
                graded.append(time.perf_counter() - t0)
                work = course / "bare"
                shutil.rmtree(work, ignore_errors=True)
                shutil.copytree(course / "source" / ASSIGNMENT, work)
                t0 = time.perf_counter()
                NotebookClient(nbformat.read(work / f"{name}.ipynb", 4), timeout=600,
                               resources={"metadata": {"path": str(work)}}).execute()
                bare.append(time.perf_counter() - t0)
            g, b = statistics.median(graded), statistics.median(bare)
            print(f"{name:<16s} {g:17.1f} s {b:12.1f} s {g / b:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
