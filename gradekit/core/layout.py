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
# what running a notebook leaves in source/ that is not course material (copies of source/ skip it)
RUN_LEFTOVERS = ("*_metrics.json", ".ipynb_checkpoints", "__pycache__")


# nbgrader reads a student id as a file pattern (`*`, `?`, `[…]` match other students' folders), strips its
# spaces, and splits the exchange's file names at "+": an id outside these characters is never graded.
STUDENT_ID_PUNCTUATION = "._@-"


def student_id_problem(student: str) -> str:
    """Why `student` cannot be a student id the kit grades, or "" when it can: letters, digits and . _ @ -,
    not starting with . or -, at most 100 characters."""
    if not student or len(student) > 100:
        return "a student id has 1 to 100 characters"
    if student[0] in ".-":
        return f"student id {student!r} starts with {student[0]!r}"
    odd = sorted({c for c in student if not (c.isalnum() or c in STUDENT_ID_PUNCTUATION)})
    if odd:
        return (f"student id {student!r} has {' '.join(repr(c) for c in odd)}: nbgrader would read it as a pattern "
                f"or a separator (ids take letters, digits and {' '.join(STUDENT_ID_PUNCTUATION)})")
    return ""


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
    """One course folder and every path in it. Accepted wherever a path is (`os.fspath`), and built from a
    path or from another Course alike, so a function may take either."""

    def __init__(self, root):
        self.root = root.root if isinstance(root, Course) else Path(root).resolve()

    def __fspath__(self) -> str:
        return str(self.root)

    def __str__(self) -> str:
        return str(self.root)

    def __truediv__(self, other) -> Path:
        return self.root / other

    def __eq__(self, other) -> bool:
        return isinstance(other, Course) and other.root == self.root

    def __hash__(self) -> int:
        return hash(self.root)

    def __repr__(self) -> str:
        return f"Course({str(self.root)!r})"

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
        """Where nbgrader's zip_collect looks for an LMS export (ZipCollectApp's downloaded_directory,
        collect_directory_structure and archive_directory, as the course configures them)."""
        zc = self.config.ZipCollectApp
        structure = zc.get("collect_directory_structure", "{downloaded}/{assignment_id}/{collect_step}")
        return self.root / structure.format(downloaded=zc.get("downloaded_directory", "downloaded"),
                                            assignment_id=assignment,
                                            collect_step=zc.get("archive_directory", "archive"))

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

    def spare_seeds(self, assignment: str) -> Path:
        """Seeds for later batches, with their reference results already computed (one empty file each)."""
        return self.reference_cache(assignment) / "spare"

    def probe_seed(self, assignment: str) -> Path:
        """The trusted re-check's seed of the last batch."""
        return self.grading(assignment) / "probe_seed"

    def snapshots(self, assignment: str) -> Path:
        """Read-only copies of source/ the reference runs from."""
        return self.grading(assignment) / "snapshots"

    def intake(self, assignment: str) -> Path:
        """Submissions' regular files, copied before grading (nbgrader's autograde reads from here)."""
        return self.grading(assignment) / "intake"

    def scratch(self, assignment: str) -> Path:
        """Kernels' private working copies, one folder per student."""
        return self.grading(assignment) / "scratch"

    def grades_csv(self, assignment: str) -> Path:
        return self.grading(assignment) / "grades.csv"

    def report_html(self, assignment: str) -> Path:
        return self.report(assignment) / "report.html"

    def similarity_flags(self, assignment: str) -> Path:
        return self.grading(assignment) / "similarity.json"

    def extensions(self, assignment: str) -> Path:
        """Why and by whom each extension was granted (the extension itself is in the gradebook)."""
        return self.grading(assignment) / "extensions.json"

    def submission_times(self, assignment: str) -> Path:
        """Where each student's submission time came from, per the zip collector."""
        return self.grading(assignment) / "submission_times.json"

    def lms_import(self, assignment: str, lms: str) -> Path:
        return self.grading(assignment) / f"{lms}_import.csv"

    # contents
    def assignments(self) -> list[str]:
        """Assignments with notebooks in source/."""
        base = self.root / self.directory.source_directory
        return sorted({p.parent.name for p in base.glob("*/*.ipynb")})

    def pick(self, given: str | None) -> str:
        """The assignment named, or the course's only one; a GradekitError with what there is otherwise."""
        found = self.assignments()
        if given in found or (given is None and len(found) == 1):
            return given or found[0]
        there = f"there: {', '.join(found) or 'none'}"
        from gradekit.core.errors import GradekitError

        if given:
            raise GradekitError(f"no assignment {given!r} in {self.root / 'source'} ({there})", "name one of them")
        if not found:
            raise GradekitError(f"no assignment in {self.root / 'source'}", "put its notebooks in source/<assignment>/")
        raise GradekitError(f"the course has several assignments ({there})", "name the assignment")

    def notebooks(self, assignment: str) -> list[str]:
        return sorted(p.stem for p in self.source(assignment).glob("*.ipynb"))

    def submitted_students(self, assignment: str) -> list[str]:
        base = self.root / self.directory.submitted_directory
        return sorted(p.parent.name for p in base.glob(f"*/{assignment}") if p.is_dir())
