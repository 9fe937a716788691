"""One student's deadlines, as the gradebook holds them: what the students' deadline page and the warning
before a late submit show (gradekit.apps.deadline_service, gradekit.apps.late_warning).

A student sees only their own row of each assignment that has a due date: the due date, their extension
(its length only; the reason stays with the graders), the due date that applies to them, the late policy
and what a submission made now would lose under it.
"""
from __future__ import annotations

import contextlib
import datetime
from dataclasses import asdict, dataclass
from pathlib import Path

from gradekit.core.layout import Course
from gradekit.plugins.late_policy import as_utc


@dataclass(frozen=True)
class Deadline:
    assignment: str
    due: datetime.datetime  # the assignment's, naive UTC as nbgrader stores it
    extension: datetime.timedelta | None
    policy: str  # the late policy in words
    seconds_late_now: float  # past the student's own due date (0 when before it)
    percent_lost_now: float  # what a submission made now would lose under the policy (0 when unknown)

    @property
    def yours(self) -> datetime.datetime:
        return self.due + self.extension if self.extension else self.due

    def as_json(self) -> dict:
        data = asdict(self)
        data.update(due=_iso(self.due), yours=_iso(self.yours),
                    extension_hours=self.extension.total_seconds() / 3600 if self.extension else 0.0)
        del data["extension"]
        return data

    @classmethod
    def from_json(cls, data: dict) -> "Deadline":
        hours = float(data.get("extension_hours") or 0)
        return cls(str(data["assignment"]), _from_iso(data["due"]),
                   datetime.timedelta(hours=hours) if hours else None, str(data.get("policy", "")),
                   float(data.get("seconds_late_now") or 0), float(data.get("percent_lost_now") or 0))


def student_deadlines(course: Path, student: str, now: datetime.datetime | None = None,
                      released: set[str] | None = None) -> list[Deadline]:
    """The deadlines of `student` for every assignment with a due date (of those `released`, when given), in
    the order of the due dates. Reads the gradebook without ever writing it: no gradebook yet, no rows."""
    from nbgrader.api import MissingEntry

    from gradekit.plugins.late_policy import PercentPerDay, course_policy, tokens_left

    course = Course(course)
    now = as_utc(now or datetime.datetime.now(datetime.timezone.utc))
    found = []
    with read_only_gradebook(course.gradebook_url) as gb:
        if gb is None:
            return []
        shown = [a for a in gb.assignments if a.duedate and (released is None or a.name in released)]
        for a in sorted(shown, key=lambda a: (a.duedate, a.name)):
            try:
                extension = gb.find_submission(a.name, student).extension or None
            except MissingEntry:
                extension = None
            policy = course_policy(course, a.name)
            late = max(0.0, (now - (a.duedate + (extension or datetime.timedelta()))).total_seconds())
            if isinstance(policy, PercentPerDay):
                tokens = tokens_left(policy, gb, student, a.name) if policy.late_days else 0
                lost = policy.percent(late, min(tokens, policy.days_late(late)))
                words = (f"{policy.grace_minutes:g} minutes of grace, then {policy.percent_per_day:g}% of the "
                         f"score per started day late, at most {policy.max_percent:g}%")
                if policy.late_days:
                    words += f"; late-day tokens left for this assignment: {tokens}"
            else:  # one of nbgrader's own plugins: it computes its penalty in points, from the score
                lost, words = 0.0, f"nbgrader's {type(policy).__name__} (see the course's rules)"
            found.append(Deadline(a.name, a.duedate, extension, words, late, lost))
    return found


@contextlib.contextmanager
def read_only_gradebook(url: str):
    """nbgrader's Gradebook for reading only, or None when there is none yet: nbgrader's own constructor
    creates the tables (and the SQLite file) when they are missing, which a page that students open must
    never do. SQLite is opened read-only; nothing here commits."""
    from nbgrader.api import Gradebook
    from sqlalchemy import create_engine, inspect
    from sqlalchemy.orm import scoped_session, sessionmaker

    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        if not path.is_file():
            yield None
            return
        url = f"sqlite:///file:{path}?mode=ro&uri=true"
    gb = Gradebook.__new__(Gradebook)  # the query methods of nbgrader's Gradebook, without its __init__
    gb.engine = create_engine(url, echo=False, future=True)
    try:
        if "assignment" not in inspect(gb.engine).get_table_names():
            yield None
            return
        gb.db = scoped_session(sessionmaker(bind=gb.engine, autoflush=False, future=True))
        gb.course_id, gb.authenticator = None, None
        try:
            yield gb
        finally:
            gb.db.rollback()
            gb.db.remove()
    finally:
        gb.engine.dispose()


def describe(d: Deadline) -> str:
    """One line for a student."""
    line = f"{d.assignment}: due {_show(d.yours)}"
    if d.extension:
        line += f" (your extension: {_length(d.extension)} after {_show(d.due)})"
    if d.seconds_late_now:
        line += f"; a submission now is {_length(datetime.timedelta(seconds=d.seconds_late_now))} late"
        line += f" and loses {d.percent_lost_now:g}% of its score" if d.percent_lost_now else " (within the grace period)"
    return line


def _length(delta: datetime.timedelta) -> str:
    minutes = round(delta.total_seconds() / 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in ((days, "day"), (hours, "hour"), (minutes, "minute")) if n]
    return " ".join(parts) or "0 minutes"


def _show(moment: datetime.datetime) -> str:
    return moment.strftime("%a %d %b %Y %H:%M UTC")


def _iso(moment: datetime.datetime) -> str:
    return moment.replace(tzinfo=datetime.timezone.utc).isoformat(timespec="minutes")


def _from_iso(text: str) -> datetime.datetime:
    return as_utc(datetime.datetime.fromisoformat(text))
