"""What the tests share: the kit's own course (assignment 1 and its kit), running the command line,
building a second course, reading grades.csv, importing a file of the course by its path."""
from __future__ import annotations

import atexit
import csv
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from gradekit.core.assignment_kit import load_kit
from gradekit.core.files import remove_tree
from gradekit.core.layout import Course
from gradekit.core.nbgrader_run import course_copy, nbgrader_env
from gradekit.core.settings import CORES_VARIABLE, usable_cores

ROOT = Path(__file__).resolve().parents[1]  # the kit's checkout: the course of assignment 1 (read, never written)
ASSIGNMENT = "assignment1"
# A copy of the course for the session, where whatever the tests compute (the trusted re-check's reference
# results, snapshots, strength reports) is written; courses built for single tests are copied from it.
COURSE = course_copy(Path(tempfile.mkdtemp(prefix="gradekit-tests-course-")), ROOT, ASSIGNMENT, release=False)
atexit.register(remove_tree, COURSE)
NOTEBOOKS = Course(ROOT).notebooks(ASSIGNMENT)
KIT = load_kit(ROOT, ASSIGNMENT)

BUGS, bug_named, NUMPY, TORCH = KIT.bugs.BUGS, KIT.bugs.bug_named, KIT.bugs.NUMPY, KIT.bugs.TORCH
ALTERNATIVES = KIT.alternatives.ALTERNATIVES
gallery_submissions = KIT.gallery.gallery_submissions
TRICKS, honest_twins, write_hostile, evidence = (KIT.hostile.TRICKS, KIT.hostile.honest_twins,
                                                 KIT.hostile.write_hostile, KIT.hostile.evidence)

# Submissions a test grades at once: the cores shared out among the test workers (`pytest -n N`), so that
# parallel workers never run more kernels than there are cores (each kernel runs on one thread).
WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
JOBS = max(1, usable_cores() // WORKERS)
# the kit's batches in this process (and the commands it starts) share out these cores, not the machine's
os.environ[CORES_VARIABLE] = str(JOBS)

# Wall time per submission in the attack galleries (hostile, red team): a correct submission needs about
# 11 s graded alone and 25 s two at a time on a 2-core CI machine. The trick that prints 400 MB needs 12 s
# beside one other submission on an idle machine, and went past 40 s on CI while the rest of the suite ran
# (the NumPy notebook has grown since 40 s was set); the attacks that hang their kernel wait this long.
ATTACK_TIMEOUT_S = 60

WARMUP = "warmup"  # a second, one-notebook assignment (grader_tests/kit/second_assignment/)
WARMUP_SOURCE = ROOT / "grader_tests" / "kit" / "second_assignment"


def import_file(path: Path):
    """A course or deployment module imported from its file, under its own name (as its folder's scripts
    import it), without putting the folder on sys.path."""
    path = Path(path)
    if path.stem in sys.modules and getattr(sys.modules[path.stem], "__file__", None) == str(path):
        return sys.modules[path.stem]
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def gradekit(course: Path, *args: str, timeout: int = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    """The `gradekit` command run in `course` as a TA would, with the course's own gradebook."""
    env = env or nbgrader_env()
    env.pop("NBGRADER_DB_URL", None)
    return subprocess.run([shutil.which("gradekit", path=env["PATH"]), *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=timeout)


_BUILT: dict[str, Path] = {}


def _copy_of(name: str, build, dest: Path) -> Path:
    """`dest` filled with the course `build(folder)` makes, built once per test process and copied for each
    later test (nbgrader's generate takes 5 to 15 s a time; the copy, a fraction of a second)."""
    if name not in _BUILT:
        folder = Path(tempfile.mkdtemp(prefix=f"gradekit-tests-{name}-"))
        atexit.register(remove_tree, folder)
        _BUILT[name] = build(folder / "course")
    shutil.copytree(_BUILT[name], dest, dirs_exist_ok=True, symlinks=True)
    return Path(dest)


def released_course(dest: Path) -> Path:
    """A course with assignment 1 released and registered in its own SQLite gradebook: what
    `course_copy(dest, COURSE, ASSIGNMENT, spare_seeds=True)` builds (a PostgreSQL gradebook needs that call
    itself). It has the session's spare seeds (conftest.py), so its batches start without running the
    references."""
    assert not os.environ.get("NBGRADER_DB_URL"), "a copied course brings its own SQLite gradebook"
    return _copy_of(ASSIGNMENT, lambda folder: course_copy(folder, COURSE, ASSIGNMENT, spare_seeds=True), dest)


def _generated_warmup(root: Path) -> Path:
    shutil.copytree(WARMUP_SOURCE, root / "source" / WARMUP, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "nbgrader_config.py", root)
    out = gradekit(root, "generate")
    assert out.returncode == 0, out.stdout + out.stderr
    return root


def warmup_course(root: Path) -> Path:
    """A course holding only the warm-up: its source and the kit's nbgrader_config.py, nothing else;
    generated with `gradekit generate`."""
    return _copy_of(WARMUP, _generated_warmup, root)


def grades_csv(course: Path, assignment: str = ASSIGNMENT) -> dict[str, dict]:
    """The assignment's grades.csv as {student id: row}."""
    with open(Course(course).grades_csv(assignment), newline="") as f:
        return {row["student_id"]: row for row in csv.DictReader(f)}
