"""Grader strength and fairness report (`gradekit strength`): how many wrong solutions the
hidden tests catch, and how many correct ones they fail.

Every mutant and every correct variant is graded exactly like a student submission (the batch command:
nbgrader's autograde with the hidden tests and the trusted re-check, the same limits), in a sandbox copy
of the course. A mutant is killed when any autograded test loses points or its grading fails; otherwise
it survives. Survivors that are equivalent to the reference (no student could lose points for them, e.g. a
change in a constant that cannot matter) are listed, with a reason, in
source/<assignment>/strength_equivalents.json and leave the denominator.

The other half: correct variants (gradekit.authoring.variants, and the assignment's kit/alternatives.py)
must keep full marks; one that loses a point is a false fail. Draws of everything the instructions leave
free (initialisation, seeds, shuffling) give each test's flake rate. For every graded submission the notebook's own test and the
trusted re-check must reach the same verdict on every cell of correct work, and no hidden test may catch
what the re-check misses (a "gap"); the report lists each disagreement.
"""
from __future__ import annotations

import copy
import difflib
import json
import random
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from gradekit.core.assignment_kit import kit_part
from gradekit.grading.batch import grade
from gradekit.core.nbgrader_run import course_copy
from gradekit.core.layout import Course
from gradekit.records.results import Status
from gradekit.core.settings import Limits
from gradekit.authoring.mutants import Mutant, notebook_mutants
from gradekit.authoring.submissions import apply_edit, solved_notebook, write_submission
from gradekit.core.cells import grade_id, without_markers
from gradekit.authoring.variants import not_allowed, notebook_variants

EQUIVALENTS_FILE = "strength_equivalents.json"


def load_equivalents(course: Path, assignment: str) -> dict[str, dict]:
    path = Course(course).source(assignment) / EQUIVALENTS_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def select_mutants(course: Path, assignment: str, notebooks, sample=None, seed=0) -> list[Mutant]:
    chosen = []
    for nb in notebooks:
        mutants = notebook_mutants(Course(course).source(assignment) / f"{nb}.ipynb", nb)
        if sample and sample < len(mutants):
            mutants = sorted(random.Random(f"{seed}-{nb}").sample(mutants, sample), key=lambda m: (m.cell, m.line))
        chosen += mutants
    return chosen


def mutant_submission(solved, mutant: Mutant):
    """A copy of the solved notebook `solved` with the mutant's cell (or a correct variant's) in place of the
    reference's."""
    nb = copy.deepcopy(solved)
    cell = next(c for c in nb.cells if grade_id(c) == mutant.cell)
    cell.source = without_markers(mutant.source)
    return nb


def cell_diff(mutant: Mutant, reference_source: str) -> str:
    return "".join(difflib.unified_diff(without_markers(reference_source).splitlines(True),
                                        without_markers(mutant.source).splitlines(True),
                                        f"reference/{mutant.cell}", f"mutant/{mutant.cell}", n=1))


@dataclass
class CorrectVariant:
    """A correct submission that differs from the reference: it must keep full marks."""
    student: str
    family: str  # "generated: <rule>", "catalogued" or "draw"
    label: str
    notebooks: dict  # {name: notebook}
    diff: str


def correct_variants(course: Path, assignment: str, notebooks, solved: dict, draws: int) -> list[CorrectVariant]:
    """Generated rewrites (gradekit.authoring.variants), the kit's catalogued alternatives and `draws` draws per notebook
    (none when the assignment's kit has no alternatives)."""
    def edited(edits):
        touched = sorted({e.notebook for e in edits})
        nbs = {nb: copy.deepcopy(solved[nb]) for nb in touched}
        for e in edits:
            apply_edit(nbs[e.notebook], e)
        return nbs

    excluded = not_allowed(course, assignment)
    result = []
    for nb in notebooks:
        for v in notebook_variants(Course(course).source(assignment) / f"{nb}.ipynb", nb, excluded):
            sub = mutant_submission(solved[nb], v)
            result.append(CorrectVariant(f"v-{v.id}", f"generated: {v.operator}", f"{nb} / {v.cell}: {v.describe()}",
                                         {nb: sub}, notebook_diff({nb: solved[nb]}, {nb: sub})))
    catalogue = kit_part(course, assignment, "alternatives")
    alternatives = getattr(catalogue, "ALTERNATIVES", {})
    draw = getattr(catalogue, "draw", lambda notebook, k: [])
    for name, edits in alternatives.items():
        if {e.notebook for e in edits} <= set(notebooks):
            nbs = edited(edits)
            result.append(CorrectVariant(f"alt-{name}", "catalogued", name, nbs, notebook_diff(solved, nbs)))
    for nb in notebooks:
        for k in range(draws if draw(nb, 0) else 0):
            nbs = edited(draw(nb, k))
            result.append(CorrectVariant(f"draw-{nb}-{k}", "draw", f"{nb} draw {k}", nbs, notebook_diff(solved, nbs)))
    return result


def notebook_diff(reference: dict, variant: dict) -> str:
    """Unified diff of the code cells that differ, per notebook."""
    out = []
    for nb, changed in variant.items():
        for ref_cell, cell in zip(reference[nb].cells, changed.cells):
            if cell.source != ref_cell.source:
                name = grade_id(cell) or "cell"
                out += difflib.unified_diff(ref_cell.source.splitlines(True), cell.source.splitlines(True),
                                            f"reference/{nb}/{name}", f"variant/{nb}/{name}", n=1)
    return "".join(line if line.endswith("\n") else line + "\n" for line in out)


def own_tests(result, notebooks) -> dict:
    """Tests of the submitted notebooks only: a partial submission also has 0-score rows for the others."""
    return {t: v for t, v in result.tests.items() if t.split(":", 1)[0] in notebooks}


def lost_tests(result, notebooks) -> list[str]:
    if result.status == Status.FAILED:
        return [f"(grading failed: {result.reason})"]
    return [t for t, (s, mx) in own_tests(result, notebooks).items() if s is not None and s < mx]


def run(course: Path, assignment: str, notebooks=None, jobs=None, sample=None, seed=0,
        timeout=120.0, out_dir: Path | None = None, progress=True, fairness=True, draws=50) -> dict:
    """Grade mutants (how many bugs the tests catch) and, with `fairness`, correct variants and `draws`
    draws of the free randomness per notebook (how much correct work they fail), in one batch."""
    import nbformat

    course = Path(course).resolve()
    notebooks = notebooks or Course(course).notebooks(assignment)
    out_dir = Path(out_dir or Course(course).strength(assignment))
    out_dir.mkdir(parents=True, exist_ok=True)
    mutants = select_mutants(course, assignment, notebooks, sample, seed)
    equivalents = load_equivalents(course, assignment)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        sandbox = course_copy(Path(tmp) / "course", course, assignment)
        solved = {nb: solved_notebook(sandbox, assignment, nb) for nb in notebooks}
        variants = correct_variants(course, assignment, notebooks, solved, draws) if fairness else []
        for nb in notebooks:
            write_submission(sandbox, assignment, f"reference-{nb}", {nb: solved[nb]})
        for m in mutants:
            write_submission(sandbox, assignment, f"m-{m.id}", {m.notebook: mutant_submission(solved[m.notebook], m)})
        for v in variants:
            write_submission(sandbox, assignment, v.student, v.notebooks)
        print(f"grading {len(mutants)} mutants and {len(variants)} correct variants of {', '.join(notebooks)} "
              "(+ the reference) ...")
        # the same limits as student submissions, with the per-submission wall time asked for
        limits = Limits.from_config(course, timeout=timeout)
        with open(out_dir / "grading.log", "w") as log:
            results = grade(sandbox, assignment, jobs=jobs, limits=limits, feedback=False, progress=progress,
                            out=log)
    seconds = time.perf_counter() - t0

    for nb in notebooks:
        ref = results[f"reference-{nb}"]
        if lost_tests(ref, {nb}):
            raise RuntimeError(f"the reference of {nb} does not get full marks ({lost_tests(ref, {nb})}): "
                               "fix the tests before measuring their strength")
    all_tests = sorted({t for nb in notebooks for t in own_tests(results[f"reference-{nb}"], {nb})})
    sources = {nb: {grade_id(c): c.source for c in nbformat.read(Course(course).source(assignment) / f"{nb}.ipynb",
                                                                  as_version=4).cells} for nb in notebooks}
    rows = []
    for m in mutants:
        caught = lost_tests(results[f"m-{m.id}"], {m.notebook})
        status = "killed" if caught else "equivalent" if m.id in equivalents else "survived"
        rows.append({"id": m.id, "notebook": m.notebook, "region": m.cell, "operator": m.operator,
                     "line": m.line, "change": m.describe(), "status": status, "caught_by": caught,
                     "diff": cell_diff(m, sources[m.notebook][m.cell]) if status != "killed" else ""})
    # flags other than the notebooks a partial submission leaves out would be false alarms
    fair_rows = [{"student": v.student, "family": v.family, "label": v.label, "notebooks": sorted(v.notebooks),
                  "lost": lost_tests(results[v.student], set(v.notebooks)), "diff": v.diff,
                  "flags": [f for f in results[v.student].flags if not f.startswith("missing notebook")]}
                 for v in variants]
    judged = {f"reference-{nb}": {nb} for nb in notebooks}
    judged.update({f"m-{m.id}": {m.notebook} for m in mutants})
    judged.update({v.student: set(v.notebooks) for v in variants})
    # A "gap": the notebook's test failed a cell the re-check passed. The grader awards the points, so a
    # submission that hid its test's failure would keep them: every gap is a hole in a probe. "stricter":
    # the re-check, which compares with the reference, failed a cell the kernel's own test passed (a bug
    # the notebook's test cannot see, e.g. a consistent backward pass of a wrong forward pass); allowed on
    # mutants, never on correct work.
    correct = {f"reference-{nb}" for nb in notebooks} | {v.student for v in variants}
    disagreements = [{"submission": student, "test": cell, "notebook_test": results[student].judges[cell][0],
                      "recheck": results[student].judges[cell][1], "correct": student in correct,
                      "kind": "gap" if results[student].judges[cell][0] == "failed" else "stricter"}
                     for student, nbs in judged.items() for cell in results[student].disagreements
                     if cell.split(":", 1)[0] in nbs]
    summary = summarize(rows)
    report = {"assignment": assignment, "sampled": bool(sample), "sample": sample, "seed": seed,
              "seconds": round(seconds, 1), "jobs": jobs, "summary": summary, "tests": all_tests,
              "mutants": rows, "equivalents_file": f"source/{assignment}/{EQUIVALENTS_FILE}",
              "fairness": summarize_fairness(fair_rows, all_tests, notebooks) if fairness else None,
              "variants": fair_rows, "disagreements": disagreements, "judged": len(judged)}
    (out_dir / "strength.json").write_text(json.dumps(report, indent=1))
    _figure(summary, out_dir / "kill_rate.png")
    (out_dir / "strength.md").write_text(markdown(report))
    return report


def summarize_fairness(rows, tests, notebooks) -> dict:
    """False-fail rate of the correct variants (draws apart) per notebook and per test, and the flake rate
    of each test over the draws."""
    variants = [r for r in rows if r["family"] != "draw"]
    draws = [r for r in rows if r["family"] == "draw"]

    def rate(rows_, lost_if):
        n = len(rows_)
        failed = sum(1 for r in rows_ if lost_if(r))
        return {"graded": n, "failed": failed, "rate": failed / n if n else None}

    def per_test(rows_):  # a submission whose grading failed lost every test of its notebooks
        return {t: rate([r for r in rows_ if t.split(":")[0] in r["notebooks"]],
                        lambda r, t=t: t in r["lost"] or any(x.startswith("(") for x in r["lost"])) for t in tests}

    def per_notebook(rows_):
        return {nb: rate([r for r in rows_ if nb in r["notebooks"]], lambda r: r["lost"]) for nb in notebooks}

    return {
        "false_fails": rate(variants, lambda r: r["lost"]),
        "per_notebook": per_notebook(variants),
        "per_test": per_test(variants),
        "flakes": rate(draws, lambda r: r["lost"]),
        "flakes_per_notebook": per_notebook(draws),
        "flakes_per_test": per_test(draws),
        "families": {f: rate([r for r in variants if r["family"] == f], lambda r: r["lost"])
                     for f in sorted({r["family"] for r in variants})},
    }


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
    if report["fairness"]:
        lines += [""] + fairness_markdown(report)
    return "\n".join(lines) + "\n"


def _pct(g) -> str:
    return "n/a" if g["rate"] is None else f"{100 * g['rate']:.1f}% ({g['failed']}/{g['graded']})"


def fairness_markdown(report) -> list[str]:
    f = report["fairness"]
    lines = ["# Fairness: correct work keeps full marks", "",
             f"{f['false_fails']['graded']} correct variants graded: false-fail rate {_pct(f['false_fails'])}. "
             f"{f['flakes']['graded']} draws of the free randomness: flake rate {_pct(f['flakes'])}. "
             f"{len(report['disagreements'])} disagreements between the notebooks' tests and the trusted re-check "
             f"over {report['judged']} graded submissions.", "",
             "| family | graded | false fails |", "|---|---|---|"]
    lines += [f"| {name} | {g['graded']} | {_pct(g)} |" for name, g in f["families"].items()]
    lines += ["", "| notebook | false-fail rate |", "|---|---|"]
    lines += [f"| {nb} | {_pct(g)} |" for nb, g in f["per_notebook"].items()]
    lines += ["", "| test | false-fail rate | flake rate over the draws |", "|---|---|---|"]
    lines += [f"| {t} | {_pct(f['per_test'][t])} | {_pct(f['flakes_per_test'][t])} |" for t in report["tests"]]
    lines += ["", "## False fails and flakes", ""]
    failing = [r for r in report["variants"] if r["lost"]]
    if not failing:
        lines.append("None.")
    for r in failing:
        lines += [f"### `{r['student']}` ({r['family']}) {r['label']}: lost {', '.join(r['lost'])}", "", "```diff",
                  r["diff"].rstrip(), "```", ""]
    lines += ["", "## Disagreements between a test and the trusted re-check", ""]
    if not report["disagreements"]:
        lines.append("None.")
    lines += [f"- `{d['submission']}` {d['test']}: the notebook's test {d['notebook_test']}, the re-check "
              f"{d['recheck']}" for d in report["disagreements"]]
    return lines


def summary_table(report: dict, assignment: str) -> str:
    """The command's summary: kill, false-fail and flake rates per notebook and overall, then the counts."""
    overall, fair = report["summary"]["all"], report["fairness"]
    pct = lambda g: "n/a" if g["rate"] is None else f"{100 * g['rate']:.1f}% of {g['graded']}"  # noqa: E731 (a table cell)
    lines = [f"{'':16s}{'kill rate':>22s}{'false-fail rate':>22s}{'flake rate':>22s}"]
    for key in sorted(k for k in report["summary"] if k != "all" and ":" not in k) + ["all"]:
        g = report["summary"][key]
        fails = pct(fair["per_notebook"][key] if key != "all" else fair["false_fails"]) if fair else "-"
        flakes = pct(fair["flakes_per_notebook"][key] if key != "all" else fair["flakes"]) if fair else "-"
        lines.append(f"{key:16s}{100 * (g['kill_rate'] or 0):>14.1f}% of {g['total'] - g['equivalent']:<3d}"
                     f"{fails:>22s}{flakes:>22s}")
    # on correct work any disagreement, on a mutant a gap (a test caught what the re-check missed), is a defect
    defects = [d for d in report["disagreements"] if d["correct"] or d["kind"] == "gap"]
    stricter = len(report["disagreements"]) - len(defects)
    lines.append(f"{overall['killed']} mutants killed, {overall['survived']} survived, {overall['equivalent']} "
                 f"equivalent; {len(defects)} test/re-check disagreements ({stricter} cells of mutants where the "
                 f"re-check was the stricter judge); {report['seconds']:.0f} s; "
                 f"report in grading/{assignment}/strength/strength.md")
    return "\n".join(lines)
