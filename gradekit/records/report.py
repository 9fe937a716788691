"""Class report after grading: per-test pass rates, score histogram, grading times (PNG + HTML)."""
from __future__ import annotations

import html
import io
from pathlib import Path
from typing import TYPE_CHECKING

from gradekit.core.atomic import write_atomically
from gradekit.core.layout import Course
from gradekit.records.results import ResultStore, Status

if TYPE_CHECKING:  # names in annotations only
    from gradekit.records.results import Result


def pass_rates(results: list[Result]) -> list[tuple[str, float, int]]:
    """(test, share of graded submissions with full marks, n) for every autograded test, worst first."""
    totals: dict[str, list[int]] = {}
    for r in results:
        if r.status == Status.FAILED:
            continue
        for test, (score, max_score) in r.tests.items():
            if score is None:  # written answers waiting for a person
                continue
            passed, n = totals.setdefault(test, [0, 0])
            totals[test] = [passed + (score >= max_score), n + 1]
    return sorted(((t, p / n, n) for t, (p, n) in totals.items()), key=lambda x: (x[1], x[0]))


def _save(fig, path: Path) -> None:
    """A figure as PNG, replacing the file in one step (another TA's report may be written at the same time)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    write_atomically(path, buffer.getvalue())


def _figures(results, folder: Path) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures = []
    rates = pass_rates(results)
    if rates:
        fig, ax = plt.subplots(figsize=(8, 0.28 * len(rates) + 1.2))
        ax.barh([t for t, _, _ in rates], [100 * p for _, p, _ in rates], color="tab:blue")
        ax.invert_yaxis()
        ax.set(xlabel="% of graded submissions with full marks", xlim=(0, 100), title="Pass rate per test")
        ax.tick_params(axis="y", labelsize=7)
        fig.tight_layout()
        _save(fig, folder / "pass_rates.png")
        plt.close(fig)
        figures.append(("pass_rates.png", "Pass rate per test (most failed first)"))
    scored = [100 * r.score / r.max_score for r in results if r.score is not None and r.max_score]
    if scored:
        fig, ax = plt.subplots(figsize=(6, 3.2))
        ax.hist(scored, bins=20, range=(0, 100), color="tab:green")
        ax.set(xlabel="score (% of points, written answers not yet graded count 0)", ylabel="submissions",
               title="Score distribution")
        fig.tight_layout()
        _save(fig, folder / "scores.png")
        plt.close(fig)
        figures.append(("scores.png", "Score distribution"))
    if results:
        fig, ax = plt.subplots(figsize=(6, 3.2))
        for status, color in ((Status.GRADED, "tab:green"), (Status.NEEDS_MANUAL, "tab:orange"),
                              (Status.FAILED, "tab:red")):
            secs = [r.seconds for r in results if r.status == status]
            if secs:
                ax.hist(secs, bins=20, alpha=0.7, color=color, label=f"{status.value} ({len(secs)})")
        ax.set(xlabel="seconds per submission", ylabel="submissions", title="Grading time")
        ax.legend()
        fig.tight_layout()
        _save(fig, folder / "grading_time.png")
        plt.close(fig)
        figures.append(("grading_time.png", "Grading time per submission"))
    return figures


def write_report(course: Path, assignment: str) -> Path:
    course = Course(course)
    folder = course.report(assignment)
    from gradekit.plugins.zip_collector import MARKER_ONLY
    from gradekit.records.lateness import lateness
    from gradekit.records.similarity_flags import stored_flags

    folder.mkdir(parents=True, exist_ok=True)
    results = list(ResultStore(course, assignment).all().values())
    figures = _figures(results, folder)
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status.value] = counts.get(r.status.value, 0) + 1
    esc = html.escape
    rows = "".join(f"<tr><td>{esc(s)}</td><td>{n}</td></tr>" for s, n in sorted(counts.items()))
    worst = "".join(f"<tr><td>{esc(t)}</td><td>{100 * p:.0f}%</td><td>{n}</td></tr>"
                    for t, p, n in pass_rates(results)[:10])
    attention = "".join(
        f"<tr><td>{esc(r.student)}</td><td>{esc(r.status.value)}</td><td>{esc(r.reason or '; '.join(r.flags))}</td></tr>"
        for r in results if r.status == Status.FAILED or r.flags)
    images = "".join(f'<figure><img src="{name}" alt="{esc(title)}"><figcaption>{esc(title)}</figcaption></figure>'
                     for name, title in figures)
    times = sorted(lateness(course, assignment).items())
    late = "".join(
        f"<tr><td>{esc(student)}</td><td>{esc(t.submitted_at)}</td><td>{t.minutes_late:.0f}</td>"
        f"<td>{esc(t.extension)}</td><td>{t.penalty:g}</td><td>{t.late_days_used or ''}</td></tr>"
        for student, t in times if t.minutes_late or t.extension)
    # a time the kit had to infer from an LMS's late marker is for a person to confirm
    attention += "".join(f"<tr><td>{esc(student)}</td><td>submission time</td><td>{esc(t.time_source)}</td></tr>"
                         for student, t in times if t.time_source == MARKER_ONLY)
    # similar pairs: for a person to compare; no score depends on them
    attention += "".join(
        f"<tr><td>{esc(f.a)} and {esc(f.b)}</td><td>similar {esc(f.signal)}</td><td>{esc(f.detail)}"
        + (f"<pre>{esc(chr(10).join(f.lines))}</pre>" if f.lines else "") + "</td></tr>"
        for f in stored_flags(course, assignment))
    # notebooks rebuilt at intake: where each answer was found, side by side with the released cell
    repaired = "".join(
        f"<tr><td>{esc(r.student)}</td><td>{esc(rep['notebook'])}</td><td>{esc(p['cell'])}</td><td>{esc(p['how'])}</td>"
        f"<td><pre>{esc(p['released'])}</pre></td><td>{esc(', '.join(f'#{i + 1}' for i in p['student_cells']))}"
        f"<pre>{esc(p['student'])}</pre></td></tr>"
        for r in results for rep in r.repairs for p in rep["placements"])
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{esc(assignment)}: class report</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.2em .6em}}img{{max-width:100%}}</style></head><body>
<h1>{esc(assignment)}: class report</h1>
<h2>Status of the {len(results)} graded submissions</h2>
<table><tr><th>status</th><th>submissions</th></tr>{rows}</table>
<h2>Most failed tests (the common mistakes)</h2>
<table><tr><th>test</th><th>full marks</th><th>submissions</th></tr>{worst}</table>
<h2>Needs a TA's attention</h2>
<table><tr><th>student</th><th>status</th><th>reason or flags</th></tr>{attention}</table>
<h2>Notebooks repaired at intake</h2>
<p>Each answer placed in its released cell, and how it was found (the flags give the rest).</p>
<table><tr><th>student</th><th>notebook</th><th>released cell</th><th>found by</th><th>released</th>
<th>student's cell</th></tr>{repaired}</table>
<h2>Late submissions and extensions</h2>
<table><tr><th>student</th><th>submitted at (UTC)</th><th>minutes late</th><th>extension</th><th>penalty</th>
<th>late days used</th></tr>{late}</table>
{images}
</body></html>
"""
    path = course.report_html(assignment)
    write_atomically(path, page)
    return path
