"""Due dates, extensions and the late policy, kept in nbgrader's gradebook so plain nbgrader agrees.

- `PercentPerDay`: an nbgrader late-submission plugin (`c.AssignLatePenalties.plugin_class`): after a grace
  period, a percentage of the notebook's score per started day late, capped. nbgrader applies it at every
  autograde, from the submission's timestamp and the student's due date (the assignment's plus any
  extension), and resets it first, so a regrade that makes a submission on time removes its penalty.
- `set_due_date`, `grant_extension` (through nbgrader's own API; the reason and who granted it are kept in
  grading/<assignment>/extensions.json) and `recompute_penalties`, run after either, so a grade never waits
  for a regrade to follow an extension or a new due date.
- `lateness`: what the export, the report and the LMS file show: submitted at, minutes late, extension,
  penalty, recomputed on the score as it is then (manual points included).
"""
from __future__ import annotations

import datetime
import getpass
import json
from dataclasses import dataclass
from pathlib import Path

from gradekit.core.atomic import write_atomically
from gradekit.core.layout import Course
from gradekit.plugins.late_policy import as_utc, course_policy, tokens_left


def set_due_date(course: Path, assignment: str, due: datetime.datetime) -> list[str]:
    """Store the assignment's due date (UTC) in the gradebook; returns the students whose penalty changed."""
    from nbgrader.api import Gradebook

    course = Course(course)
    with Gradebook(course.gradebook_url) as gb:
        gb.update_or_create_assignment(assignment, duedate=as_utc(due))
    return recompute_penalties(course, assignment)


def grant_extension(course: Path, assignment: str, student: str, days: float = 0, hours: float = 0,
                    reason: str = "", by: str | None = None) -> list[str]:
    """Give `student` more time on `assignment` (replacing an earlier extension; 0 removes it)."""
    from nbgrader.api import Gradebook, MissingEntry

    course = Course(course)
    with Gradebook(course.gradebook_url) as gb:
        try:
            gb.find_submission(assignment, student)
        except MissingEntry:
            gb.update_or_create_student(student)
            gb.add_submission(assignment, student)  # an extension may come before the submission
        gb.grant_extension(assignment, student, days=days, hours=hours)
    log = course.extensions(assignment)
    records = json.loads(log.read_text()) if log.exists() else {}
    records[student] = {"days": days, "hours": hours, "reason": reason, "granted_by": by or getpass.getuser(),
                        "granted_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    log.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(log, json.dumps(records, indent=1, sort_keys=True))
    return recompute_penalties(course, assignment, [student])


def recompute_penalties(course: Path, assignment: str, students: list[str] | None = None) -> list[str]:
    """Apply the course's late policy again to every graded notebook of `assignment` (or of `students`),
    from the gradebook's scores and due dates, exactly as nbgrader's AssignLatePenalties does; with late-day
    tokens, to every assignment, since tokens spent here change what is left for the later ones. Returns
    the students whose penalty changed."""
    from nbgrader.api import Gradebook

    course = Course(course)
    url = course.gradebook_url
    with Gradebook(url) as gb:
        names = [a.name for a in gb.assignments]
    tokens = getattr(course_policy(course), "late_days", 0)
    changed = set()
    for name in (names if tokens else [assignment]):
        policy = course_policy(course, name)
        with Gradebook(url) as gb:
            for submission in gb.assignment_submissions(name):
                if students is not None and submission.student.id not in students:
                    continue
                seconds = submission.total_seconds_late
                for nb in submission.notebooks:
                    penalty = None
                    if seconds > 0:
                        penalty = policy.late_submission_penalty(submission.student.id, nb.score, seconds)
                        penalty = None if penalty is None else min(max(penalty, 0.0), nb.score or 0.0)
                    if (nb.late_submission_penalty or 0) != (penalty or 0):
                        changed.add(submission.student.id)
                    nb.late_submission_penalty = penalty
            gb.db.commit()
    return sorted(changed)


@dataclass
class Lateness:
    submitted_at: str = ""
    minutes_late: float = 0.0
    extension: str = ""
    penalty: float = 0.0
    late_days_used: int = 0
    time_source: str = ""  # where an LMS export's time came from (gradekit.plugins.zip_collector); "" for nbgrader's own


def lateness(course: Path, assignment: str) -> dict[str, Lateness]:
    """Per student with a submission in the gradebook: timestamps, lateness and penalty, and the late-day
    tokens this submission spends under the course's policy.

    The penalty is a share of the notebook's score, and that score changes after autograding when a TA
    grades a written answer in formgrader (nbgrader computes it only at autograde). So it is recomputed
    here, from the scores as they are now (autograded + manual), every time the export, the report or the
    LMS file reads it; the gradebook then holds it too, for nbgrader's own views."""
    from nbgrader.api import Gradebook

    from gradekit.plugins.zip_collector import read_sources

    course = Course(course)
    recompute_penalties(course, assignment)

    policy = course_policy(course, assignment)
    sources = read_sources(course, assignment)
    out = {}
    with Gradebook(course.gradebook_url) as gb:
        for submission in gb.assignment_submissions(assignment):
            student, ext, seconds = submission.student.id, submission.extension, submission.total_seconds_late
            used = 0
            if getattr(policy, "late_days", 0) and seconds > 0:
                used = min(tokens_left(policy, gb, student, assignment), policy.days_late(seconds))
            out[student] = Lateness(
                submitted_at=submission.timestamp.isoformat(sep=" ", timespec="seconds") if submission.timestamp else "",
                minutes_late=seconds / 60,
                extension=_describe(ext) if ext else "",
                penalty=sum(nb.late_submission_penalty or 0.0 for nb in submission.notebooks),
                late_days_used=used, time_source=sources.get(student, ""))
    return out


def _describe(delta: datetime.timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:g} days" if hours % 24 == 0 else f"{hours:g} hours"


def parse_moment(text: str) -> datetime.datetime:
    """'2026-12-04 23:59' (UTC) or with an offset, '2026-12-04T23:59+01:00'."""
    moment = datetime.datetime.fromisoformat(text.strip())
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


def describe_extensions(course: Path, assignment: str) -> str:
    """One line per extension: student, extension, their due date, reason, who granted it and when."""
    from nbgrader.api import Gradebook

    course = Course(course)
    log = course.extensions(assignment)
    records = json.loads(log.read_text()) if log.exists() else {}
    lines = []
    with Gradebook(course.gradebook_url) as gb:
        for submission in gb.assignment_submissions(assignment):
            if submission.extension:
                r = records.get(submission.student.id, {})
                due = submission.duedate.isoformat(sep=" ", timespec="minutes") + " UTC" if submission.duedate else "no due date"
                lines.append(f"{submission.student.id:20s} +{_describe(submission.extension):10s} due {due}  "
                             f"{r.get('reason', '')} ({r.get('granted_by', '?')}, {r.get('granted_at', '?')})")
    return "\n".join(lines) or "no extensions"
