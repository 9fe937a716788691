"""CSV export with each submission's status beside its score (`gradekit export`)."""
from __future__ import annotations

import csv
import io
from pathlib import Path

from gradekit.core.atomic import write_atomically
from gradekit.core.layout import Course
from gradekit.records.results import ResultStore, Status, apply_scores, read_grades

COLUMNS = ["student_id", "status", "reason", "score", "max_score", "manual_points_pending", "flags",
           "grading_seconds", "graded_at", "submission_sha", "submitted_at", "minutes_late", "extension", "penalty",
           "score_before_penalty", "late_days_used", "time_source"]


def export_rows(course: Path, assignment: str) -> list[dict]:
    """One row per student. Scores come from the gradebook as it is now, so manual grades entered in
    formgrader after the batch are included (and needs_manual becomes graded once all are in); a
    submission whose grading failed stays failed, with no score."""
    from gradekit.records.lateness import Lateness, lateness

    course = Course(course)
    results = ResultStore(course, assignment).all()
    late = lateness(course, assignment)
    current = {}
    for (student, _), g in read_grades(course, assignment).items():
        current.setdefault(student, []).append(g)
    rows = []
    for student in sorted(set(course.submitted_students(assignment)) | set(results)):
        r = results.get(student)
        if r is None:
            rows.append({"student_id": student, "status": "not graded", "reason": "no current grading result"})
            continue
        if r.status != Status.FAILED and student in current:
            apply_scores(r, current[student])
        t = late.get(student, Lateness())
        penalty = t.penalty if r.score is not None else 0.0
        rows.append({
            "student_id": student, "status": r.status.value, "reason": r.reason,
            # a failed submission has no score: an empty cell, never a 0 that looks like a grade
            "score": "" if r.score is None else f"{r.score - penalty:g}",
            "score_before_penalty": "" if r.score is None else f"{r.score:g}",
            "submitted_at": t.submitted_at, "minutes_late": f"{t.minutes_late:.0f}" if t.minutes_late else "",
            "extension": t.extension, "penalty": f"{penalty:g}" if penalty else "",
            "late_days_used": t.late_days_used or "", "time_source": t.time_source,
            "max_score": "" if r.max_score is None else f"{r.max_score:g}",
            "manual_points_pending": f"{r.manual_pending:g}" if r.manual_pending else "",
            "flags": "; ".join(r.flags), "grading_seconds": f"{r.seconds:.1f}", "graded_at": r.graded_at,
            "submission_sha": r.submission_sha,
        })
    return rows


def write_export(course: Path, assignment: str) -> Path:
    course = Course(course)
    path = course.grades_csv(assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=COLUMNS)
    writer.writeheader()
    for row in export_rows(course, assignment):
        writer.writerow({k: row.get(k, "") for k in COLUMNS})
    write_atomically(path, text.getvalue())
    return path
