"""Due dates, extensions and the late policy, kept in nbgrader's gradebook so plain nbgrader agrees.

- `PercentPerDay`: an nbgrader late-submission plugin (`c.AssignLatePenalties.plugin_class`): after a grace
  period, a percentage of the notebook's score per started day late, capped. nbgrader applies it at every
  autograde, from the submission's timestamp and the student's due date (the assignment's plus any
  extension), and resets it first, so a regrade that makes a submission on time removes its penalty.
- `set_due_date`, `grant_extension` (through nbgrader's own API; the reason and who granted it are kept in
  grading/<assignment>/extensions.json) and `recompute_penalties`, run after either, so a grade never waits
  for a regrade to follow an extension or a new due date.
- `lateness`: what the export and the report show: submitted at, minutes late, extension, penalty.
"""
from __future__ import annotations

import datetime
import getpass
import json
import math
from dataclasses import dataclass
from pathlib import Path

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Float

from .atomic import write_atomically
from .layout import Course


class PercentPerDay(LateSubmissionPlugin):
    """Penalty = score x min(cap, percent_per_day x started days late after the grace period) / 100."""

    grace_minutes = Float(15.0, help="Minutes after the due date that still count as on time.").tag(config=True)
    percent_per_day = Float(10.0, help="Percent of the notebook's score lost per started day late.").tag(config=True)
    max_percent = Float(100.0, help="Largest penalty, in percent of the score.").tag(config=True)

    def percent(self, total_seconds_late: float) -> float:
        late = total_seconds_late - 60 * self.grace_minutes
        if late <= 0:
            return 0.0
        return min(self.max_percent, self.percent_per_day * math.ceil(late / 86400))

    def late_submission_penalty(self, student_id, score, total_seconds_late):
        return (score or 0.0) * self.percent(total_seconds_late) / 100


def _policy(course: Path) -> LateSubmissionPlugin:
    """The plugin the course's nbgrader_config.py configures (nbgrader's own default if none)."""
    from nbgrader.preprocessors import AssignLatePenalties

    preprocessor = AssignLatePenalties(config=Course(course).config)
    return preprocessor.plugin_class(parent=preprocessor)


def set_due_date(course: Path, assignment: str, due: datetime.datetime) -> list[str]:
    """Store the assignment's due date (UTC) in the gradebook; returns the students whose penalty changed."""
    from nbgrader.api import Gradebook

    with Gradebook(Course(course).gradebook_url) as gb:
        gb.update_or_create_assignment(assignment, duedate=_utc(due))
    return recompute_penalties(course, assignment)


def grant_extension(course: Path, assignment: str, student: str, days: float = 0, hours: float = 0,
                    reason: str = "", by: str | None = None) -> list[str]:
    """Give `student` more time on `assignment` (replacing an earlier extension; 0 removes it)."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(Course(course).gradebook_url) as gb:
        try:
            gb.find_submission(assignment, student)
        except MissingEntry:
            gb.update_or_create_student(student)
            gb.add_submission(assignment, student)  # an extension may come before the submission
        gb.grant_extension(assignment, student, days=days, hours=hours)
    log = extensions_file(course, assignment)
    records = json.loads(log.read_text()) if log.exists() else {}
    records[student] = {"days": days, "hours": hours, "reason": reason, "granted_by": by or getpass.getuser(),
                        "granted_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    log.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(log, json.dumps(records, indent=1, sort_keys=True))
    return recompute_penalties(course, assignment, [student])


def extensions_file(course: Path, assignment: str) -> Path:
    return Course(course).grading(assignment) / "extensions.json"


def recompute_penalties(course: Path, assignment: str, students=None) -> list[str]:
    """Apply the course's late policy again to every graded notebook (or those of `students`), from the
    gradebook's scores and due dates, exactly as nbgrader's AssignLatePenalties does; returns who changed."""
    from nbgrader.api import Gradebook

    policy = _policy(course)
    changed = []
    with Gradebook(Course(course).gradebook_url) as gb:
        for submission in gb.assignment_submissions(assignment):
            if students is not None and submission.student.id not in students:
                continue
            seconds = submission.total_seconds_late
            for nb in submission.notebooks:
                penalty = None
                if seconds > 0:
                    penalty = policy.late_submission_penalty(submission.student.id, nb.score, seconds)
                    penalty = None if penalty is None else min(max(penalty, 0.0), nb.score)
                if (nb.late_submission_penalty or 0) != (penalty or 0):
                    changed.append(submission.student.id)
                nb.late_submission_penalty = penalty
        gb.db.commit()
    return sorted(set(changed))


@dataclass
class Lateness:
    submitted_at: str = ""
    minutes_late: float = 0.0
    extension: str = ""
    penalty: float = 0.0


def lateness(course: Path, assignment: str) -> dict[str, Lateness]:
    """Per student with a submission in the gradebook: timestamps, lateness and penalty, as stored."""
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook(Course(course).gradebook_url) as gb:
        for submission in gb.assignment_submissions(assignment):
            ext = submission.extension
            out[submission.student.id] = Lateness(
                submitted_at=submission.timestamp.isoformat(sep=" ", timespec="seconds") if submission.timestamp else "",
                minutes_late=submission.total_seconds_late / 60,
                extension=_describe(ext) if ext else "",
                penalty=sum(nb.late_submission_penalty or 0.0 for nb in submission.notebooks))
    return out


def _describe(delta: datetime.timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:g} days" if hours % 24 == 0 else f"{hours:g} hours"


def _utc(moment: datetime.datetime) -> datetime.datetime:
    """nbgrader stores naive UTC datetimes."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return moment


def parse_moment(text: str) -> datetime.datetime:
    """'2026-12-04 23:59' (UTC) or with an offset, '2026-12-04T23:59+01:00'."""
    moment = datetime.datetime.fromisoformat(text.strip())
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


def describe_extensions(course: Path, assignment: str) -> str:
    """One line per extension: student, extension, their due date, reason, who granted it and when."""
    from nbgrader.api import Gradebook

    records = json.loads(extensions_file(course, assignment).read_text()) if extensions_file(course, assignment).exists() else {}
    lines = []
    with Gradebook(Course(course).gradebook_url) as gb:
        for submission in gb.assignment_submissions(assignment):
            if submission.extension:
                r = records.get(submission.student.id, {})
                due = submission.duedate.isoformat(sep=" ", timespec="minutes") + " UTC" if submission.duedate else "no due date"
                lines.append(f"{submission.student.id:20s} +{_describe(submission.extension):10s} due {due}  "
                             f"{r.get('reason', '')} ({r.get('granted_by', '?')}, {r.get('granted_at', '?')})")
    return "\n".join(lines) or "no extensions"
