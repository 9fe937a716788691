"""What the trust boundary costs: `gradekit grade` of the same submissions with the kit as it is and with
an earlier revision of it (default: the last one before the kernel was treated as the adversary), in one
run, the two interleaved.

For each revision a throwaway course is built from that revision's own tree (its config, source and
probes), N reference submissions are graded with `gradekit grade --jobs J`, and the per-submission grading
time (the batch's own figure: intake, autograde, feedback) and the batch's wall time are recorded; the
reference results are prepared before the timing. Prints medians over --repeat rounds and the ratio.
Run: .venv/bin/python benchmarks/security_cost.py [--before REV] [--students 4] [--jobs 2] [--repeat 2]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "assignment1"
BEFORE = "78ebb28"

SETUP = """
import sys
from pathlib import Path
from gradekit.core.nbgrader_run import course_copy
from gradekit.authoring.submissions import submission_with_edits, write_submission
tree, course, students = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
c = course_copy(course, tree, "assignment1")
nbs = submission_with_edits(c, "assignment1", ["1_mlp_numpy", "2_mlp_pytorch"])
for i in range(students):
    write_submission(c, "assignment1", f"s{i}", nbs)
"""


def run(tree: Path, course: Path, students: int, jobs: int) -> tuple[float, list[float]]:
    env = {**os.environ, "PYTHONPATH": str(tree)}  # this revision's gradekit, before the installed one
    shutil.rmtree(course, ignore_errors=True)
    subprocess.run([sys.executable, "-c", SETUP, str(tree), str(course), str(students)], env=env, check=True,
                   cwd=tree, capture_output=True)
    cmd = [sys.executable, "-m", "gradekit", "grade", ASSIGNMENT, "--jobs", str(jobs), "--course", str(course)]
    # a first batch computes the reference results; then the timed batch regrades every submission
    subprocess.run(cmd + ["--student", "s0"], env=env, cwd=course, check=True, capture_output=True)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd + ["--force"], env=env, cwd=course, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"grading with {tree} failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    seconds = [json.loads(p.read_text())["seconds"] for p in (course / "grading" / ASSIGNMENT / "results").glob("*.json")]
    return wall, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", default=BEFORE)
    parser.add_argument("--students", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        before = Path(tmp) / "before"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(before), args.before],
                       check=True, capture_output=True)
        try:
            figures = {"before": ([], []), "after": ([], [])}
            for _ in range(args.repeat):
                for name, tree in (("before", before), ("after", ROOT)):
                    wall, seconds = run(tree, Path(tmp) / f"course-{name}", args.students, args.jobs)
                    figures[name][0].append(wall)
                    figures[name][1].extend(seconds)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(before)], capture_output=True)
    print(f"{args.students} reference submissions, {args.jobs} jobs, {args.repeat} rounds; before = {args.before}")
    print(f"{'':8s} {'batch wall s':>13s} {'per submission s':>17s}")
    med = {k: (statistics.median(w), statistics.median(s)) for k, (w, s) in figures.items()}
    for name, (wall, per) in med.items():
        print(f"{name:8s} {wall:13.1f} {per:17.1f}")
    print(f"{'ratio':8s} {med['after'][0] / med['before'][0]:13.2f} {med['after'][1] / med['before'][1]:17.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
