"""The README's TA steps work verbatim on a fresh clone: no gradebook, nothing generated, nothing graded."""
from __future__ import annotations

import csv
import re
import shutil
import subprocess

from gradekit.core.nbgrader_run import nbgrader_env
from grader_tests.helpers import ROOT

MARKER = "<!-- ta-steps"


def ta_steps() -> str:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", readme[readme.index(MARKER):], re.S)
    return block.group(1)


def fresh_clone(dest):
    """The files a clone of this working tree has: tracked and not ignored (no gradebook, grading/, .venv)."""
    names = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split("\0")
    for name in filter(None, names):
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    return dest


def test_the_readme_ta_steps_work_verbatim_on_a_fresh_clone(tmp_path):
    clone = fresh_clone(tmp_path / "clone")
    assert not (clone / "gradebook.db").exists() and not (clone / "grading").exists()
    env = nbgrader_env()  # the kit's environment on PATH, as after `source .venv/bin/activate`
    env.pop("NBGRADER_DB_URL", None)
    steps = ta_steps()
    assert "gradekit grade" in steps
    out = subprocess.run(["bash", "-euo", "pipefail", "-c", steps], cwd=clone, env=env, capture_output=True,
                         text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    with open(clone / "grading" / "assignment1" / "grades.csv") as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    # the model solution: every autograded point, the written answer left for a person
    assert rows["alice"]["status"] == "needs_manual", rows
    assert rows["alice"]["score"] == "84" and rows["alice"]["manual_points_pending"] == "4", rows
    assert rows["alice"]["flags"] == "", rows
    # the course operations: an extension makes bob's late-marked work on time, carol's costs a started day
    bob, carol = rows["bob"], rows["carol"]
    assert (bob["extension"], bob["minutes_late"], bob["penalty"]) == ("2 days", "", ""), bob
    assert (carol["time_source"], carol["minutes_late"], carol["penalty"]) == ("submission_times.csv", "721", "8.4"), carol
    with open(clone / "grading" / "assignment1" / "canvas_import.csv") as f:
        lms = {row[3]: row for row in csv.reader(f)}
    assert set(lms) >= {"alice", "bob", "carol", "dan"} and lms["carol"][-1] == "", "blank until graded by hand"
    assert "dan" in out.stdout and "needs manual" in out.stdout.replace("_", " "), out.stdout[-2000:]
    assert "Traceback" not in out.stderr and "WARNING" not in out.stdout + out.stderr, out.stderr[-2000:]
