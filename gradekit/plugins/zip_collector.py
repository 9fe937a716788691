"""Submission times from an LMS export, for nbgrader's zip_collect (`c.ZipCollectApp.collector_plugin`).

An LMS's bulk download names each file but rarely says when it was submitted; Canvas only inserts `late_`
after the student's login when it counts the submission late. `LmsCollector` gives each collected
submission a time, in this order of trust:
1. `submission_times.csv` in the archive folder (`gradekit grade --zip FILE --times CSV` puts it there):
   columns `student_id,submitted_at`, the time as ISO 8601 (UTC unless it carries an offset);
2. a `timestamp` group of the file-name pattern, for an LMS that writes the time into the name;
3. the `late` group of the pattern (Canvas's marker) with no time anywhere: the least lateness the marker
   proves, one minute after the assignment's due date. An extension or the grace period then makes it on
   time; the student is listed in the report for a TA to supply the real time. Never a guess that costs more.
A submission with none of these has no time and counts as on time, as in plain nbgrader.
What was used is kept per student in grading/<assignment>/submission_times.json for the export and report.
"""
from __future__ import annotations

import csv
import datetime
import json
from pathlib import Path

from nbgrader.plugins import FileNameCollectorPlugin

from gradekit.core.atomic import write_atomically
from gradekit.core.layout import Course

TIMES_FILE = "submission_times.csv"
MARKER_ONLY = "late per the LMS, no time given: counted 1 minute late"


def read_sources(course: Path, assignment: str) -> dict[str, str]:
    """Per student: where the LMS submission time came from (empty when the zip gave none)."""
    path = Course(course).submission_times(assignment)
    return json.loads(path.read_text()) if path.exists() else {}


def read_times(path: Path) -> dict[str, datetime.datetime]:
    """student_id -> submission time (naive UTC) from a CSV with columns student_id, submitted_at."""
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        missing = {"student_id", "submitted_at"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path}: needs the columns student_id and submitted_at (missing: {', '.join(sorted(missing))})")
        times = {}
        for line, row in enumerate(reader, start=2):
            try:
                times[row["student_id"].strip()] = _naive_utc(datetime.datetime.fromisoformat(row["submitted_at"].strip()))
            except ValueError:
                raise ValueError(f"{path}, line {line}: submitted_at {row['submitted_at']!r} is not an ISO 8601 "
                                 "time such as 2026-12-01 23:40 or 2026-12-01T23:40+01:00") from None
    return times


def _naive_utc(moment: datetime.datetime) -> datetime.datetime:
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return moment


def _stamp(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f UTC")


class LmsCollector(FileNameCollectorPlugin):
    """nbgrader's file-name collector, plus submission times (see the module's docstring)."""

    def _setup(self):
        app = self.parent
        self._course = Path(app.coursedir.root)
        self._assignment = app.coursedir.assignment_id
        times_csv = Path(app._format_collect_path(app.archive_directory)) / TIMES_FILE
        self._times = read_times(times_csv) if times_csv.is_file() else {}
        self._due = None
        from nbgrader.api import Gradebook, MissingEntry

        try:
            with Gradebook(app.coursedir.db_url) as gb:
                self._due = gb.find_assignment(self._assignment).duedate
        except MissingEntry:
            pass
        self._sources = {}

    def collect(self, submitted_file: str):
        info = super().collect(submitted_file)
        if not info:
            return info
        if not hasattr(self, "_sources"):
            self._setup()
        student, late = info["student_id"], bool(info.pop("late", None))
        if student in self._times:
            info["timestamp"], source = _stamp(self._times[student]), f"{TIMES_FILE}"
        elif info.get("timestamp"):
            source = "the file name"
        elif late and self._due is not None:
            info["timestamp"], source = _stamp(self._due + datetime.timedelta(minutes=1)), MARKER_ONLY
        elif late:
            source = "late per the LMS, but the assignment has no due date: not counted late"
        else:
            source = ""
        if source:
            self._sources[student] = source
        path = Course(self._course).submission_times(self._assignment)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, json.dumps(self._sources, indent=1, sort_keys=True))
        return info
