"""`gradekit check`: the student's self-check exits non-zero when a visible test fails."""
from __future__ import annotations

import shutil
import subprocess
import sys

import nbformat

from gradekit.authoring.submissions import submission_with_edits
from gradekit.core.nbgrader_run import nbgrader_env
from grader_tests.helpers import ASSIGNMENT, ROOT, bug_named

NB = "1_mlp_numpy"


def _check(path):
    return subprocess.run([sys.executable, "-m", "gradekit", "check", str(path)], cwd=ROOT, env=nbgrader_env(),
                          capture_output=True, text=True, timeout=300)


def _student_folder(tmp_path, nb):
    folder = tmp_path / "student"
    folder.mkdir()
    shutil.copy(ROOT / "release" / "assignment1" / "mlp_utils.py", folder)
    nbformat.write(nb, folder / f"{NB}.ipynb")
    return folder / f"{NB}.ipynb"


def test_solved_notebook_passes_with_exit_0(course, tmp_path):
    path = _student_folder(tmp_path, submission_with_edits(course, ASSIGNMENT, [NB])[NB])
    before = path.read_bytes()
    out = _check(path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "pass  test_linear_backward (4 pts)" in out.stdout and "FAIL" not in out.stdout
    assert "hidden  test_overfit_small (2 pts): hidden tests only" in out.stdout
    assert path.read_bytes() == before, "the check must not modify the student's notebook"
    assert "without encryption" not in out.stderr, "the kernel's start-up warnings stay out of the terminal"


def test_a_failing_visible_test_exits_1_with_one_line_per_test(course, tmp_path):
    path = _student_folder(tmp_path, submission_with_edits(course, ASSIGNMENT, [NB], bug_named("bias_grad_mean").edits)[NB])
    out = _check(path)
    assert out.returncode == 1
    fail = [line for line in out.stdout.splitlines() if line.startswith("FAIL")]
    assert len(fail) >= 1 and fail[0].startswith("FAIL  test_linear_backward (4 pts): AssertionError: linear backward: db")


def test_untouched_release_and_unreadable_files(course, tmp_path):
    release = nbformat.read(ROOT / "release" / "assignment1" / f"{NB}.ipynb", 4)
    out = _check(_student_folder(tmp_path, release))
    assert out.returncode == 1 and "NotImplementedError" in out.stdout
    # cells with hidden tests only were not judged: never reported as passing
    hidden = {"test_linear_backward_state", "test_relu_no_mutation", "test_cross_entropy_stability",
              "test_overfit_small", "test_final_accuracy"}
    lines = {line.split()[1]: line.split()[0] for line in out.stdout.splitlines()
             if line.split()[:1] in (["pass"], ["FAIL"], ["hidden"])}
    assert {name for name, verdict in lines.items() if verdict == "hidden"} == hidden, out.stdout
    assert "pass" not in lines.values(), out.stdout
    assert "0 of 20 cells with visible tests pass; 5 cells have hidden tests only" in out.stdout
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{ not json")
    assert _check(broken).returncode == 2
