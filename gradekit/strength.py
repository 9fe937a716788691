"""Grader strength report: how many mutants of the reference the hidden tests catch (`python -m gradekit strength`).

Every mutant is graded exactly like a student submission (the batch command: nbgrader's autograde with the
hidden tests, the same limits), in a sandbox copy of the course. A mutant is killed when any autograded
test loses points or its grading fails; otherwise it survives. Survivors that are equivalent to the
reference (no student could lose points for them, e.g. a change in a constant that cannot matter) are
listed, with a reason, in source/<assignment>/strength_equivalents.json and leave the denominator.
"""
from __future__ import annotations

import copy
import difflib
import json
import random
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from . import ROOT
from .batch import Limits, grade
from .course import ASSIGNMENT, notebook_names, sandbox_course
from .mutants import Mutant, notebook_mutants
from .submissions import grade_id, solved_notebook, without_markers, write_submission

EQUIVALENTS_FILE = "strength_equivalents.json"


def load_equivalents(course: Path, assignment: str) -> dict[str, dict]:
    path = course / "source" / assignment / EQUIVALENTS_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def select_mutants(course: Path, assignment: str, notebooks, sample=None, seed=0) -> list[Mutant]:
    chosen = []
    for nb in notebooks:
        mutants = notebook_mutants(course / "source" / assignment / f"{nb}.ipynb", nb)
        if sample and sample < len(mutants):
            mutants = sorted(random.Random(f"{seed}-{nb}").sample(mutants, sample), key=lambda m: (m.cell, m.line))
        chosen += mutants
    return chosen


def mutant_submission(solved, mutant: Mutant):
    """A copy of the solved notebook `solved` with the mutant's cell in place of the reference's."""
    nb = copy.deepcopy(solved)
    cell = next(c for c in nb.cells if grade_id(c) == mutant.cell)
    cell.source = without_markers(mutant.source)
    return nb


def cell_diff(mutant: Mutant, reference_source: str) -> str:
    return "".join(difflib.unified_diff(without_markers(reference_source).splitlines(True),
                                        without_markers(mutant.source).splitlines(True),
                                        f"reference/{mutant.cell}", f"mutant/{mutant.cell}", n=1))


def run(course: Path = ROOT, assignment: str = ASSIGNMENT, notebooks=None, jobs=None, sample=None, seed=0,
        timeout=120.0, out_dir: Path | None = None, progress=True) -> dict:
    import nbformat

    course = Path(course).resolve()
    notebooks = notebooks or notebook_names(course, assignment)
    out_dir = Path(out_dir or course / "grading" / assignment / "strength")
    out_dir.mkdir(parents=True, exist_ok=True)
    mutants = select_mutants(course, assignment, notebooks, sample, seed)
    equivalents = load_equivalents(course, assignment)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        sandbox = sandbox_course(Path(tmp) / "course", course, assignment)
        solved = {nb: solved_notebook(sandbox, nb, assignment) for nb in notebooks}
        for nb in notebooks:
            write_submission(sandbox, f"reference-{nb}", {nb: solved[nb]}, assignment)
        for m in mutants:
            write_submission(sandbox, f"m-{m.id}", {m.notebook: mutant_submission(solved[m.notebook], m)},
                             assignment)
        print(f"grading {len(mutants)} mutants of {', '.join(notebooks)} (+ the reference) ...")
        # the same limits as student submissions, with the per-mutant wall time asked for
        limits = Limits.from_config(course, timeout=timeout)
        with open(out_dir / "grading.log", "w") as log:
            results = grade(sandbox, assignment, jobs=jobs, limits=limits, feedback=False, progress=progress,
                            out=log)
    seconds = time.perf_counter() - t0

    def own_tests(result, nb):
        """Tests of notebook nb only: a one-notebook submission also has 0-score rows for the others."""
        return {t: v for t, v in result.tests.items() if t.startswith(f"{nb}:")}

    for nb in notebooks:
        ref = results[f"reference-{nb}"]
        lost = {t: v for t, v in own_tests(ref, nb).items() if v[0] != v[1]}
        if ref.status == "failed" or lost:
            raise RuntimeError(f"the reference of {nb} does not get full marks ({ref.reason or lost}): "
                               "fix the tests before measuring their strength")
    all_tests = sorted({t for nb in notebooks for t in own_tests(results[f"reference-{nb}"], nb)})
    sources = {nb: {grade_id(c): c.source for c in nbformat.read(course / "source" / assignment / f"{nb}.ipynb",
                                                                  as_version=4).cells} for nb in notebooks}
    rows = []
    for m in mutants:
        r = results[f"m-{m.id}"]
        caught = [t for t, (s, mx) in own_tests(r, m.notebook).items() if s is not None and s < mx]
        if r.status == "failed":
            caught = [f"(grading failed: {r.reason})"]
        status = "killed" if caught else "equivalent" if m.id in equivalents else "survived"
        rows.append({"id": m.id, "notebook": m.notebook, "region": m.cell, "operator": m.operator,
                     "line": m.line, "change": m.describe(), "status": status, "caught_by": caught,
                     "diff": cell_diff(m, sources[m.notebook][m.cell]) if status != "killed" else ""})
    summary = summarize(rows)
    report = {"assignment": assignment, "sampled": bool(sample), "sample": sample, "seed": seed,
              "seconds": round(seconds, 1), "jobs": jobs, "summary": summary, "tests": all_tests,
              "mutants": rows, "equivalents_file": f"source/{assignment}/{EQUIVALENTS_FILE}"}
    (out_dir / "strength.json").write_text(json.dumps(report, indent=1))
    _figure(summary, out_dir / "kill_rate.png")
    (out_dir / "strength.md").write_text(markdown(report))
    return report


def _rate(killed: int, total: int, equivalent: int) -> float | None:
    denominator = total - equivalent
    return killed / denominator if denominator else None


def summarize(rows) -> dict:
    groups = defaultdict(lambda: {"total": 0, "killed": 0, "equivalent": 0, "survived": 0})
    for row in rows:
        for key in (row["notebook"], f"{row['notebook']}:{row['region']}", "all"):
            g = groups[key]
            g["total"] += 1
            g[row["status"]] += 1
    for g in groups.values():
        g["kill_rate"] = _rate(g["killed"], g["total"], g["equivalent"])
    return dict(groups)


def _figure(summary, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    regions = sorted(k for k in summary if ":" in k)
    rates = [100 * (summary[k]["kill_rate"] or 0) for k in regions]
    fig, ax = plt.subplots(figsize=(8, 0.3 * len(regions) + 1.4))
    ax.barh(regions, rates, color=["tab:green" if r >= 90 else "tab:orange" for r in rates])
    ax.axvline(90, color="gray", linestyle="--", linewidth=1)
    ax.invert_yaxis()
    ax.set(xlim=(0, 100), xlabel="% of mutants killed (equivalents excluded)", title="Kill rate per solution region")
    for y, k in enumerate(regions):
        ax.text(1, y, f"{summary[k]['killed']}/{summary[k]['total'] - summary[k]['equivalent']}", va="center",
                fontsize=7, color="white")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(report) -> str:
    s = report["summary"]
    pct = lambda g: "n/a" if g["kill_rate"] is None else f"{100 * g['kill_rate']:.1f}%"  # noqa: E731
    lines = [f"# Grader strength: {report['assignment']}", "",
             f"{s['all']['total']} mutants{' (sampled)' if report['sampled'] else ''}, graded in "
             f"{report['seconds']:.0f} s. Kill rate {pct(s['all'])} "
             f"({s['all']['killed']} killed, {s['all']['survived']} survived, {s['all']['equivalent']} marked "
             f"equivalent in `{report['equivalents_file']}`).", "", "![kill rate per region](kill_rate.png)", "",
             "| notebook / region | mutants | killed | survived | equivalent | kill rate |", "|---|---|---|---|---|---|"]
    for key in sorted(k for k in s if k != "all"):
        g = s[key]
        lines.append(f"| {key} | {g['total']} | {g['killed']} | {g['survived']} | {g['equivalent']} | {pct(g)} |")
    kills = defaultdict(int)
    for row in report["mutants"]:
        for t in row["caught_by"]:
            kills[t] += 1
    lines += ["", "## Tests: how many mutants each one catches", "", "| test | mutants caught |", "|---|---|"]
    for t in report["tests"]:
        lines.append(f"| {t} | {kills.get(t, 0)}{' (catches nothing)' if not kills.get(t) else ''} |")
    for t in sorted(k for k in kills if k.startswith("(")):
        lines.append(f"| {t} | {kills[t]} |")
    lines += ["", "The full mutant x test matrix is in `strength.json` (`caught_by` of each mutant).", "",
              "## Survivors", ""]
    survivors = [r for r in report["mutants"] if r["status"] == "survived"]
    if not survivors:
        lines.append("None.")
    for r in survivors:
        lines += [f"### `{r['id']}` {r['notebook']} / {r['region']}: {r['change']}", "", "```diff", r["diff"].rstrip(),
                  "```", ""]
    equivalent = [r for r in report["mutants"] if r["status"] == "equivalent"]
    if equivalent:
        lines += ["## Marked equivalent", ""] + [f"- `{r['id']}` {r['region']}: {r['change']}" for r in equivalent]
    return "\n".join(lines) + "\n"
