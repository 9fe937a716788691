"""Where things are in a course folder: one owner for every path.

nbgrader's `CourseDirectory`, configured by the course's nbgrader_config.py, owns its own folders
(source/, release/, submitted/, autograded/, feedback/, the solutions folder and the gradebook); the kit
adds grading/<assignment>/ for what it writes (results, logs, report, strength report, reference cache)
and two instructor-only folders beside each assignment's notebooks, never released: probes/ (the
trusted re-check) and kit/ (the assignment's bug catalogue, correct alternatives and demo samples).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

CONFIG_FILE = "nbgrader_config.py"


@lru_cache(maxsize=None)
def _config(root: str):
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    config = (PyFileConfigLoader(CONFIG_FILE, path=root).load_config()
              if (Path(root) / CONFIG_FILE).is_file() else Config())
    config.CourseDirectory.root = root
    return config


@lru_cache(maxsize=None)
def _course_directory(root: str):
    from nbgrader.coursedir import CourseDirectory

    return CourseDirectory(config=_config(root))


class Course:
    """Paths of one course folder."""

    def __init__(self, root):
        self.root = Path(root).resolve()

    @property
    def config(self):
        """The course's nbgrader_config.py, loaded once per process."""
        return _config(str(self.root))

    @property
    def directory(self):
        """nbgrader's CourseDirectory of this course, as its nbgrader_config.py sets it up."""
        return _course_directory(str(self.root))

    def _step(self, step: str, student: str, assignment: str) -> Path:
        folder = getattr(self.directory, f"{step}_directory")
        return Path(self.directory.format_path(folder, student, assignment))

    # nbgrader's folders
    def source(self, assignment: str) -> Path:
        return self._step("source", ".", assignment)

    def release(self, assignment: str) -> Path:
        return self._step("release", ".", assignment)

    def solutions(self, assignment: str) -> Path:
        return self._step("solution", ".", assignment)

    def submitted(self, student: str, assignment: str) -> Path:
        return self._step("submitted", student, assignment)

    def autograded(self, student: str, assignment: str) -> Path:
        return self._step("autograded", student, assignment)

    def feedback(self, student: str, assignment: str) -> Path:
        return self._step("feedback", student, assignment)

    def lms_archive(self, assignment: str) -> Path:
        """Where nbgrader's zip_collect looks for an LMS export."""
        return self.root / "downloaded" / assignment / "archive"

    @property
    def gradebook_url(self) -> str:
        return self.directory.db_url

    # instructor-only folders beside the notebooks
    def probes(self, assignment: str) -> Path:
        return self.source(assignment) / "probes"

    def kit(self, assignment: str) -> Path:
        return self.source(assignment) / "kit"

    # the kit's own output
    def grading(self, assignment: str) -> Path:
        return self.root / "grading" / assignment

    def results(self, assignment: str) -> Path:
        return self.grading(assignment) / "results"

    def logs(self, assignment: str) -> Path:
        return self.grading(assignment) / "logs"

    def report(self, assignment: str) -> Path:
        return self.grading(assignment) / "report"

    def strength(self, assignment: str) -> Path:
        return self.grading(assignment) / "strength"

    def reference_cache(self, assignment: str) -> Path:
        return self.grading(assignment) / "reference_probes"

    # contents
    def assignments(self) -> list[str]:
        """Assignments with notebooks in source/."""
        base = self.root / self.directory.source_directory
        return sorted({p.parent.name for p in base.glob("*/*.ipynb")})

    def pick(self, given: str | None) -> str:
        """The assignment named, or the course's only one; SystemExit with what there is otherwise."""
        found = self.assignments()
        if given in found or (given is None and len(found) == 1):
            return given or found[0]
        there = f"there: {', '.join(found) or 'none'}"
        raise SystemExit(f"error: no assignment {given!r} in {self.root / 'source'} ({there})" if given
                         else f"error: name the assignment ({there})")

    def notebooks(self, assignment: str) -> list[str]:
        return sorted(p.stem for p in self.source(assignment).glob("*.ipynb"))

    def submitted_students(self, assignment: str) -> list[str]:
        base = self.root / self.directory.submitted_directory
        return sorted(p.parent.name for p in base.glob(f"*/{assignment}") if p.is_dir())
