"""Run nbgrader on a course folder and read its gradebook."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import ROOT

ASSIGNMENT = "assignment1"


def nbgrader_env() -> dict:
    """Environment for nbgrader subprocesses: the kit importable, one BLAS thread per kernel."""
    env = dict(os.environ)
    # nbgrader runs `alembic` as a command: the environment's scripts must be on PATH.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
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


def sandbox_course(dest: Path, course: Path = ROOT, assignment: str = ASSIGNMENT, release: bool = True) -> Path:
    """A throwaway course at `dest`: the course's source/ and config, with its own gradebook.

    With `release`, nbgrader's generate_assignment fills release/ and registers the assignment in the
    sandbox's gradebook, which autograde needs.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(Path(course) / "source", dest / "source",
                    ignore=shutil.ignore_patterns("*_metrics.json", ".ipynb_checkpoints", "__pycache__"))
    shutil.copy(Path(course) / "nbgrader_config.py", dest / "nbgrader_config.py")
    # The trusted re-check's reference results (gradekit.trusted) are keyed by the content of source/,
    # so a copy stays valid and saves each sandbox one run of every notebook.
    cache = Path(course) / "grading" / assignment / "reference_probes"
    if cache.is_dir():
        shutil.copytree(cache, dest / "grading" / assignment / "reference_probes", dirs_exist_ok=True)
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


def generate(course: Path = ROOT, assignment: str = ASSIGNMENT) -> None:
    """Regenerate release/ (student version) and solutions/ (solution version) from source/.

    nbgrader deletes release/<assignment> when generation fails (for example when the gradebook
    already holds submissions and a notebook was added); the previous folders are then put back.
    """
    folders = [course / "release" / assignment, course / "solutions" / assignment]
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
            for stray in (course / "source" / assignment).glob("*_metrics.json"):  # from generate_solution
                stray.unlink()
    for path in folders[1].glob("*.ipynb"):
        strip_outputs(path)


@dataclass
class NotebookGrade:
    student: str
    notebook: str
    tests: dict[str, tuple[float | None, float]] = field(default_factory=dict)  # grade_id -> (score, max)
    manual: set[str] = field(default_factory=set)  # grade_ids graded by hand (written answers)

    @property
    def score(self) -> float:
        return sum(s or 0.0 for s, _ in self.tests.values())

    @property
    def pending_manual(self) -> list[str]:
        """Manually graded cells that no one has graded yet (score None)."""
        return [t for t in sorted(self.manual) if self.tests[t][0] is None]

    @property
    def autograded(self) -> dict[str, tuple[float | None, float]]:
        return {t: v for t, v in self.tests.items() if t not in self.manual}

    @property
    def max_score(self) -> float:
        return sum(m for _, m in self.tests.values())


def gradebook_url(course: Path) -> str:
    """The gradebook nbgrader_config.py selects: NBGRADER_DB_URL, else gradebook.db in the course."""
    return os.environ.get("NBGRADER_DB_URL", "sqlite:///" + str(Path(course) / "gradebook.db"))


def read_grades(course: Path, assignment: str = ASSIGNMENT, student: str | None = None
                ) -> dict[tuple[str, str], NotebookGrade]:
    """Scores of every graded cell, per (student, notebook), from the course's gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    result = {}
    with Gradebook(gradebook_url(course)) as gb:
        if student is None:
            submissions = gb.assignment_submissions(assignment)
        else:
            try:
                submissions = [gb.find_submission(assignment, student)]
            except MissingEntry:
                submissions = []
        for submission in submissions:
            for nb in submission.notebooks:
                grade = NotebookGrade(submission.student.id, nb.name)
                for g in nb.grades:
                    score = g.manual_score if g.manual_score is not None else g.auto_score
                    grade.tests[g.name] = (score, g.max_score)
                    if g.cell.cell_type == "markdown":
                        grade.manual.add(g.name)
                result[(submission.student.id, nb.name)] = grade
    return result


def notebook_names(course: Path = ROOT, assignment: str = ASSIGNMENT) -> list[str]:
    return sorted(p.stem for p in (course / "source" / assignment).glob("*.ipynb"))
