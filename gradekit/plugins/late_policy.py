"""The late policy as an nbgrader late-submission plugin (`c.AssignLatePenalties.plugin_class`), and
the policy a course configures."""
from __future__ import annotations

import datetime
import math
from pathlib import Path

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Float, Integer

from gradekit.core.layout import Course


class PercentPerDay(LateSubmissionPlugin):
    """Penalty = score x min(cap, percent_per_day x charged days) / 100, where the charged days are the
    started days late after the grace period less the student's late-day tokens spent on this submission.

    Tokens (`late_days`, 0: none) are a course-wide allowance per student, spent in the order of the
    assignments' due dates: a submission uses as many of the tokens left after the earlier assignments as
    it has days late. So a change on one assignment (an extension, a new due date) can change the penalty
    of a later one; the kit's commands recompute every assignment after such a change.
    """

    grace_minutes = Float(15.0, help="Minutes after the due date that still count as on time.").tag(config=True)
    percent_per_day = Float(10.0, help="Percent of the notebook's score lost per started day late.").tag(config=True)
    max_percent = Float(100.0, help="Largest penalty, in percent of the score.").tag(config=True)
    late_days = Integer(0, help="Late-day tokens per student for the whole course; each one excuses one "
                                "started day late.").tag(config=True)

    def days_late(self, total_seconds_late: float) -> int:
        late = (total_seconds_late or 0) - 60 * self.grace_minutes
        return math.ceil(late / 86400) if late > 0 else 0

    def percent(self, total_seconds_late: float, tokens: int = 0) -> float:
        return min(self.max_percent, self.percent_per_day * max(0, self.days_late(total_seconds_late) - tokens))

    def late_submission_penalty(self, student_id, score, total_seconds_late):
        tokens = self.tokens_for(student_id, total_seconds_late)
        return (score or 0.0) * self.percent(total_seconds_late, tokens) / 100

    def tokens_for(self, student_id: str, total_seconds_late: float) -> int:
        """Tokens this submission spends: nbgrader's AssignLatePenalties (the parent) names the assignment
        and the gradebook."""
        assignment, db_url = getattr(self.parent, "assignment_id", None), getattr(self.parent, "db_url", None)
        if not self.late_days or not assignment or not db_url:
            return 0
        from nbgrader.api import Gradebook

        with Gradebook(db_url) as gb:
            left = tokens_left(self, gb, student_id, assignment)
        return min(left, self.days_late(total_seconds_late))


def tokens_left(policy: PercentPerDay, gb, student: str, assignment: str) -> int:
    """Late-day tokens `student` still has when `assignment` comes up, in the order of due dates."""
    from nbgrader.api import MissingEntry

    left = policy.late_days
    for a in sorted(gb.assignments, key=_due_order):
        if a.name == assignment:
            break
        try:
            left -= min(left, policy.days_late(gb.find_submission(a.name, student).total_seconds_late))
        except MissingEntry:
            pass
    return left


def _due_order(assignment):
    return (assignment.duedate is None, assignment.duedate or datetime.datetime.min, assignment.name)


def course_policy(course: Path, assignment: str | None = None) -> LateSubmissionPlugin:
    """The plugin the course's nbgrader_config.py configures (nbgrader's own default if none), with a parent
    that names the assignment and the gradebook the way nbgrader's AssignLatePenalties does."""
    from nbgrader.preprocessors import AssignLatePenalties

    course = Course(course)
    preprocessor = AssignLatePenalties(config=course.config)
    preprocessor.assignment_id, preprocessor.db_url = assignment, course.gradebook_url
    return preprocessor.plugin_class(parent=preprocessor)


def as_utc(moment: datetime.datetime) -> datetime.datetime:
    """nbgrader stores naive UTC datetimes."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return moment
