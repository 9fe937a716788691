"""The result of grading one submission, and where results are kept.

One JSON file per student under grading/<assignment>/results/, replaced atomically, so a batch killed half
way resumes where it stopped and a reader never sees half a result. Scores come from nbgrader's gradebook.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path

from gradekit.core.atomic import write_atomically
from gradekit.core.layout import Course


class Status(str, Enum):
    """Every submission ends with exactly one of these."""
    GRADED = "graded"
    NEEDS_MANUAL = "needs_manual"  # autograded; written answers wait for a person
    FAILED = "failed"  # no grade; `reason` says why

    def __str__(self) -> str:
        return self.value


@dataclass
class Result:
    student: str
    status: Status
    reason: str = ""
    score: float | None = None
    max_score: float | None = None
    manual_pending: float = 0.0
    seconds: float = 0.0
    graded_at: str = ""
    submission_sha: str = ""
    flags: list[str] = field(default_factory=list)
    tests: dict[str, list] = field(default_factory=dict)  # "notebook:grade_id" -> [score, max]
    # "notebook:grade_id" -> [the notebook's own test, the trusted re-check], each "passed" or "failed"
    judges: dict[str, list] = field(default_factory=dict)
    # False when a notebook had no grader-side checks: its points rest on plain nbgrader's scoring
    verified: bool = True
    probe_seed: int = 0  # the secret seed of the trusted re-check's inputs (`gradekit grade --seed`)
    repairs: list = field(default_factory=list)  # notebooks intake rebuilt from the release (gradekit.grading.repair)

    def __post_init__(self):
        self.status = Status(self.status)

    @property
    def disagreements(self) -> list[str]:
        """Cells where the notebook's test and the trusted re-check reached different verdicts."""
        return sorted(cell for cell, (kernel, recheck) in self.judges.items() if kernel != recheck)


@dataclass
class NotebookGrade:
    """Scores of one notebook of one submission, as the gradebook holds them now."""
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


def read_grades(course: Path, assignment: str, student: str | None = None
                ) -> dict[tuple[str, str], NotebookGrade]:
    """Scores of every graded cell, per (student, notebook), from the course's gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    course = Course(course)
    result = {}
    with Gradebook(course.gradebook_url) as gb:
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


def apply_scores(result: Result, grades: Iterable[NotebookGrade]) -> Result:
    """Score, maximum, points still to grade by hand and status of a graded submission, from its
    notebooks' gradebook grades (used when grading, and again at export to include manual grades)."""
    grades = list(grades)
    result.score = sum(g.score for g in grades)
    result.max_score = sum(g.max_score for g in grades)
    result.manual_pending = sum(g.tests[t][1] for g in grades for t in g.pending_manual)
    result.status = Status.NEEDS_MANUAL if result.manual_pending else Status.GRADED
    return result


class ResultStore:
    """One JSON file per student under grading/<assignment>/results/, replaced atomically."""

    def __init__(self, course: Path, assignment: str):
        course = Course(course)
        self.folder = course.results(assignment)
        self.folder.mkdir(parents=True, exist_ok=True)

    def path(self, student: str) -> Path:
        return self.folder / f"{student}.json"

    def load(self, student: str) -> Result | None:
        try:
            return Result(**json.loads(self.path(student).read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def save(self, result: Result) -> None:
        write_atomically(self.path(result.student), json.dumps({**asdict(result), "status": result.status.value}, indent=1))

    def delete(self, student: str) -> None:
        self.path(student).unlink(missing_ok=True)

    def all(self) -> dict[str, Result]:
        return {p.stem: r for p in sorted(self.folder.glob("*.json")) if (r := self.load(p.stem))}


def submission_sha(course: Path, assignment: str, student: str) -> str:
    """Digest of a submission's files: a result is current only for the files it graded."""
    from gradekit.core.files import digest_entries

    course = Course(course)
    digest = hashlib.sha256()
    for rel, data in digest_entries(course.submitted(student, assignment)):
        digest.update(rel.encode() + b"\0" + data + b"\0")
    return digest.hexdigest()[:16]
