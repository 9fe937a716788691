"""Time to autograde one reference submission, per notebook, with nbgrader and bare nbclient, and what
the defences against hostile submissions cost.

Prints, for each notebook: seconds for `nbgrader autograde` of a submission holding only that notebook
(process start, kernel start, execution, gradebook) with the course's configuration, seconds to execute
the same notebook with nbclient alone, and their ratio (nbgrader's overhead). A second table times the
same autograde with the defences switched off one by one: no kernel sandbox, and neither the sandbox nor
the trusted re-check (gradekit/plugins/trusted.py). Median of --repeat runs, all in this one run.
Run: .venv/bin/python benchmarks/grade_time.py [--repeat 3] [--course .] [ASSIGNMENT]
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

import nbformat
from nbclient import NotebookClient

from gradekit.authoring.submissions import submission_with_edits, write_submission
from gradekit.core.layout import Course
from gradekit.core.nbgrader_run import course_copy, nbgrader_env, run_nbgrader
from gradekit.plugins.trusted import reference_arrays


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--course", default=".")
    parser.add_argument("assignment", nargs="?")
    args = parser.parse_args()
    assignment = Course(args.course).pick(args.assignment)
    os.environ.update({k: v for k, v in nbgrader_env().items() if k.endswith("_THREADS") or k == "MPLBACKEND"})
    with tempfile.TemporaryDirectory() as tmp:
        course = course_copy(Path(tmp) / "course", Path(args.course).resolve(), assignment)
        names = Course(course).notebooks(assignment)
        for name in names:  # the trusted re-check's reference results, outside the timings
            reference_arrays(course, assignment, name)
        print(f"{'notebook':<16s} {'nbgrader autograde':>19s} {'nbclient only':>14s} {'ratio':>6s}")
        defences = {}
        for name in names:
            nb = submission_with_edits(course, assignment, [name])[name]
            student = f"timing-{name}"
            write_submission(course, assignment, student, {name: nb})
            graded, bare = [], []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                run_nbgrader(course, "autograde", assignment, "--student", student, "--force")
                graded.append(time.perf_counter() - t0)
                work = course / "bare"
                shutil.rmtree(work, ignore_errors=True)
                shutil.copytree(Course(course).source(assignment), work, ignore=shutil.ignore_patterns("probes", "kit"))
                t0 = time.perf_counter()
                NotebookClient(nbformat.read(work / f"{name}.ipynb", 4), timeout=600,
                               resources={"metadata": {"path": str(work)}}).execute()
                bare.append(time.perf_counter() - t0)
            g, b = statistics.median(graded), statistics.median(bare)
            print(f"{name:<16s} {g:17.1f} s {b:12.1f} s {g / b:6.2f}")
            defences[name] = [g] + [statistics.median(_autograde(course, assignment, student, off) for _ in range(args.repeat))
                                    for off in OFF]
        print(f"\n{'notebook':<16s} {'all defences':>13s} {'no sandbox':>11s} {'neither':>8s} "
              f"{'sandbox cost':>13s} {'re-check cost':>14s}")
        for name, (full, no_sandbox, neither) in defences.items():
            print(f"{name:<16s} {full:11.1f} s {no_sandbox:9.1f} s {neither:6.1f} s "
                  f"{full - no_sandbox:+11.1f} s {no_sandbox - neither:+12.1f} s")
    return 0


OFF = (["--SandboxedKernelManager.enabled=False"],
       ["--SandboxedKernelManager.enabled=False", "--BoundedExecute.trusted_checks=False"])


def _autograde(course, assignment, student, extra) -> float:
    t0 = time.perf_counter()
    run_nbgrader(course, "autograde", assignment, "--student", student, "--force", *extra)
    return time.perf_counter() - t0


if __name__ == "__main__":
    sys.exit(main())
