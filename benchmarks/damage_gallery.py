"""The damage gallery (gradekit/authoring/damage.py) graded by the kit as it is and by an earlier revision, in one run.

Each kind of damage is applied to the correct part 1 of assignment 1 and graded with `gradekit grade`
beside the undamaged copy; a copy is "kept" (full marks, no repair), "repaired" (full marks, flagged),
"needs a TA" (not graded, candidates shown) or "lost" (fewer points, or failed). The submissions are built
by this tree; each revision grades them with its own package and course configuration.
Run: .venv/bin/python benchmarks/damage_gallery.py [--before REV]
"""
from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT, NOTEBOOK = "assignment1", "1_mlp_numpy"
BEFORE = "78ebb28"

SETUP = """
import sys
from pathlib import Path
from gradekit.core.nbgrader_run import course_copy
from gradekit.authoring.damage import DAMAGES, Damage, damaged
from gradekit.core.layout import Course
from gradekit.authoring.submissions import solved_notebook
tree, course = Path(sys.argv[1]), Path(sys.argv[2])
c = course_copy(course, tree, "assignment1")
reference = solved_notebook(c, "assignment1", "1_mlp_numpy")
for kind in [Damage("undamaged", "", lambda nb: nb)] + DAMAGES:
    folder = Course(c).submitted(kind.name, "assignment1")
    folder.mkdir(parents=True)
    name, text = damaged(reference, kind, "1_mlp_numpy")
    (folder / name).write_text(text)
"""


def grade(tree: Path, course: Path) -> dict[str, dict]:
    subprocess.run([sys.executable, "-c", SETUP, str(tree), str(course)], check=True, cwd=ROOT, capture_output=True)
    env = {**os.environ, "PYTHONPATH": str(tree)}
    subprocess.run([sys.executable, "-m", "gradekit", "grade", ASSIGNMENT, "--jobs", "2", "--no-feedback",
                    "--course", str(course)], env=env, cwd=course, capture_output=True, text=True)
    with open(course / "grading" / ASSIGNMENT / "grades.csv") as f:
        return {r["student_id"]: r for r in csv.DictReader(f)}


def outcome(row: dict, full: float) -> str:
    if row.get("status") == "failed":
        return "needs a TA" if row.get("reason", "").startswith("needs a TA") else "lost"
    if float(row.get("score") or 0) < full:
        return "lost"
    return "repaired" if ("repaired " in row.get("flags", "") or "took " in row.get("flags", "")) else "kept"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", default=BEFORE)
    args = parser.parse_args()
    from gradekit.authoring.damage import DAMAGES

    tables = {}
    with tempfile.TemporaryDirectory() as tmp:
        before = Path(tmp) / "before"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(before), args.before],
                       check=True, capture_output=True)
        try:
            for name, tree in (("before", before), ("now", ROOT)):
                rows = grade(tree, Path(tmp) / f"course-{name}")
                full = float(rows["undamaged"]["score"])
                tables[name] = {d.name: (outcome(rows[d.name], full), rows[d.name]) for d in DAMAGES}
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(before)], capture_output=True)
    print(f"{'damage':24s} {'before (' + args.before + ')':28s} now")
    for d in DAMAGES:
        (b, brow), (n, _) = tables["before"][d.name], tables["now"][d.name]
        why = (brow.get("reason") or brow.get("score"))[:40]
        print(f"{d.name:24s} {b + ' (' + why + ')':50s} {n}")
    for name, table in tables.items():
        counts = {k: sum(1 for v, _ in table.values() if v == k) for k in ("kept", "repaired", "needs a TA", "lost")}
        print(f"{name}: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
