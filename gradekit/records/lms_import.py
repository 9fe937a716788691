"""Grades into the LMS: fill one assignment column of the LMS's own gradebook export (`gradekit lms`).

The TA downloads the gradebook from the LMS (Canvas: Grades > Export; Moodle: Grades > Export > CSV), and
the kit writes an import file with the same student columns and only the chosen assignment column, so an
import touches nothing else. Students are matched by an id column of the export (Canvas: "SIS Login ID";
Moodle: "ID number"), equal to nbgrader's student id or mapped by a roster CSV (`student_id,lms_id`). A
submission that failed or still waits for manual grading is left blank and listed; students missing on
either side are listed, never guessed.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from gradekit.core.atomic import write_atomically


@dataclass(frozen=True)
class LmsFormat:
    name: str
    student_columns: tuple[str, ...]  # copied as they are; identify the row for the LMS
    match_column: str  # the column holding the id the roster (or nbgrader's student id) refers to
    keep_rows: tuple[str, ...] = ()  # non-student rows kept as they are (first column's value)


FORMATS = {
    "canvas": LmsFormat("canvas", ("Student", "ID", "SIS User ID", "SIS Login ID", "Section"), "SIS Login ID",
                        keep_rows=("Points Possible",)),
    "moodle": LmsFormat("moodle", ("First name", "Last name", "ID number", "Institution", "Department",
                                   "Email address"), "ID number"),
}


@dataclass
class Filled:
    """The import file's text and what a TA must know about it."""
    text: str
    filled: dict[str, float] = field(default_factory=dict)  # LMS id -> score written
    blank: dict[str, str] = field(default_factory=dict)  # LMS id -> why left blank (status and reason)
    not_submitted: list[str] = field(default_factory=list)  # in the LMS, no result in the kit
    not_in_lms: list[str] = field(default_factory=list)  # graded in the kit, no row in the LMS


def read_roster(path: Path | None) -> dict[str, str]:
    """nbgrader student id -> LMS id, from a CSV with columns student_id and lms_id (none: the same id)."""
    if path is None:
        return {}
    with open(path, newline="") as f:
        return {row["student_id"].strip(): row["lms_id"].strip() for row in csv.DictReader(f)}


def check_columns(gradebook_text: str, column: str, lms: LmsFormat) -> list[str]:
    """The export's header; ValueError naming the assignment columns when `column` or the id column is missing."""
    header = next(csv.reader(io.StringIO(gradebook_text)), [])
    missing = [c for c in (lms.match_column, column) if c not in header]
    if missing:
        others = [c for c in header if c not in lms.student_columns]
        raise ValueError(f"the {lms.name} export has no column {missing[0]!r}; its assignment columns: {others}")
    return header


def fill(gradebook_text: str, column: str, rows: list[dict], lms: LmsFormat,
         roster: dict[str, str] | None = None) -> Filled:
    """Fill `column` of the LMS export `gradebook_text` from the kit's export `rows` (gradekit.records.export)."""
    reader = csv.reader(io.StringIO(gradebook_text))
    header = check_columns(gradebook_text, column, lms)
    next(reader)
    keep = [c for c in header if c in lms.student_columns] + [column]
    index = {c: header.index(c) for c in keep}
    match = header.index(lms.match_column)
    roster = roster or {}
    by_lms_id = {roster.get(r["student_id"], r["student_id"]): r for r in rows}
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(keep)
    result = Filled(text="")
    seen = set()
    for line in reader:
        if not line:
            continue
        first = line[0].strip()
        values = {c: (line[i] if i < len(line) else "") for c, i in index.items()}
        if first in lms.keep_rows:
            writer.writerow([values[c] for c in keep])
            continue
        lms_id = line[match].strip() if match < len(line) else ""
        if not lms_id:  # Canvas's "Test Student" and the like: kept as they are
            writer.writerow([values[c] for c in keep])
            continue
        seen.add(lms_id)
        row = by_lms_id.get(lms_id)
        if row is None:
            result.not_submitted.append(lms_id)
            values[column] = ""
        elif row.get("status") == "graded" and row.get("score") not in ("", None):
            score = float(row["score"])
            values[column] = f"{score:g}"
            result.filled[lms_id] = score
        else:
            values[column] = ""
            result.blank[lms_id] = f"{row.get('status')}: {row.get('reason') or 'manual points pending'}"
        writer.writerow([values[c] for c in keep])
    result.not_in_lms = sorted(set(by_lms_id) - seen)
    result.text = out.getvalue()
    return result


def write_import(course: Path, assignment: str, gradebook: Path, column: str, lms: str = "canvas",
                 roster: Path | None = None, out: Path | None = None) -> tuple[Path, Filled]:
    """Read the kit's current export for `assignment`, fill the LMS export, write the import file."""
    from gradekit.core.layout import Course
    from gradekit.records.export import export_rows

    course = Course(course)
    text = Path(gradebook).read_text(encoding="utf-8-sig")
    check_columns(text, column, FORMATS[lms])  # before reading the gradebook: a typo costs nothing
    filled = fill(text, column, export_rows(course, assignment), FORMATS[lms], read_roster(roster))
    out = Path(out) if out else course.lms_import(assignment, lms)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(out, filled.text)
    return out, filled


def summary(path: Path, filled: Filled) -> str:
    lines = [f"{path}: {len(filled.filled)} scores filled"]
    for title, items in (("left blank", [f"{k} ({v})" for k, v in sorted(filled.blank.items())]),
                         ("in the LMS with no result here (blank)", sorted(filled.not_submitted)),
                         ("graded here but not in the LMS export (not imported)", filled.not_in_lms)):
        if items:
            lines.append(f"{title}: {len(items)}: " + ", ".join(items[:20]) + (" ..." if len(items) > 20 else ""))
    return "\n".join(lines)
