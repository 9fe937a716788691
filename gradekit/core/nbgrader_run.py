"""Run nbgrader on a course folder and read its gradebook."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

from gradekit.core.layout import CONFIG_FILE, RUN_LEFTOVERS, Course

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def nbgrader_env() -> dict:
    """Environment for nbgrader subprocesses: this environment's commands, one BLAS thread per kernel."""
    env = dict(os.environ)
    # nbgrader runs `alembic` as a command: the environment's scripts must be on PATH.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    for var in THREAD_VARIABLES:
        env.setdefault(var, "1")
    env.setdefault("MPLBACKEND", "Agg")
    return env


def run_nbgrader(course: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run `nbgrader ARGS` in the course folder (it reads the course's nbgrader_config.py there)."""
    cmd = [sys.executable, "-m", "nbgrader", *args]
    proc = subprocess.run(cmd, cwd=course, env=nbgrader_env(), capture_output=True, text=True)
    if check and proc.returncode != 0:
        errors = [line for line in proc.stderr.splitlines() if "| ERROR]" in line]
        raise RuntimeError(f"nbgrader {' '.join(args)} failed (exit code {proc.returncode}):\n"
                           + ("\n".join(errors[:5]) if errors else proc.stderr[-3000:]))
    return proc


def course_copy(dest: Path, course: Path, assignment: str, release: bool = True, spare_seeds: bool = False) -> Path:
    """A throwaway course at `dest`: the course's source/ and config, with its own gradebook.

    With `release`, nbgrader's generate_assignment fills release/ and registers the assignment in the
    sandbox's gradebook, which autograde needs. With `spare_seeds`, the copy takes the course's spare seeds
    along, so that its batches start without running the references; a batch of the copy and one of the
    course may then use the same seed, which only the kit's own tests accept.
    """
    course = Course(course)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(Path(course) / CONFIG_FILE, dest / CONFIG_FILE)
    shutil.copytree(course.source(assignment), Course(dest).source(assignment),
                    ignore=shutil.ignore_patterns(*RUN_LEFTOVERS))
    # The trusted re-check's reference results (gradekit.plugins.trusted) are keyed by the content of source/ and
    # the probes' seed, so a copy with its seed stays valid and saves each copy one run of every notebook
    # (until `gradekit grade` draws the batch's own seed).
    cache = course.reference_cache(assignment)
    if cache.is_dir():
        shutil.copytree(cache, Course(dest).reference_cache(assignment), dirs_exist_ok=True,
                        ignore=None if spare_seeds else shutil.ignore_patterns(course.spare_seeds(assignment).name))
    seed = course.probe_seed(assignment)  # the seed those results were computed with
    if seed.is_file():
        shutil.copy(seed, Course(dest).probe_seed(assignment))
    if release:
        run_nbgrader(dest, "generate_assignment", assignment)
    return dest


def strip_outputs(path: Path) -> None:
    """Remove outputs, execution counts and timings so a committed notebook diffs cleanly."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nbformat.write(nb, path)


def generate(course: Path, assignment: str) -> None:
    """Regenerate release/ (student version) and solutions/ (solution version) from source/.

    nbgrader deletes release/<assignment> when generation fails (for example when the gradebook
    already holds submissions and a notebook was added); the previous folders are then put back.
    """
    course = Course(course)
    folders = [course.release(assignment), course.solutions(assignment)]
    with tempfile.TemporaryDirectory() as backup:
        for i, folder in enumerate(folders):
            if folder.exists():
                shutil.copytree(folder, Path(backup) / str(i))
        try:
            run_nbgrader(course, "generate_assignment", assignment, "--force")
            run_nbgrader(course, "generate_solution", assignment, "--force")
        except RuntimeError:
            for i, folder in enumerate(folders):
                if (Path(backup) / str(i)).exists():
                    shutil.rmtree(folder, ignore_errors=True)
                    shutil.copytree(Path(backup) / str(i), folder)
            raise
        finally:
            for stray in course.source(assignment).glob("*_metrics.json"):  # from generate_solution
                stray.unlink()
    for path in folders[1].glob("*.ipynb"):
        strip_outputs(path)
