"""The strength report rendered: strength.md, the kill-rate figure, the command's summary table."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from gradekit.authoring.strength.report import KillCount, Rate, StrengthReport


def kill_rate_figure(summary: dict[str, KillCount], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    regions = sorted(k for k in summary if ":" in k)
    rates = [100 * (summary[k].kill_rate or 0) for k in regions]
    fig, ax = plt.subplots(figsize=(8, 0.3 * len(regions) + 1.4))
    ax.barh(regions, rates, color=["tab:green" if r >= 90 else "tab:orange" for r in rates])
    ax.axvline(90, color="gray", linestyle="--", linewidth=1)
    ax.invert_yaxis()
    ax.set(xlim=(0, 100), xlabel="% of mutants killed (equivalents excluded)", title="Kill rate per solution region")
    for y, k in enumerate(regions):
        ax.text(1, y, f"{summary[k].killed}/{summary[k].total - summary[k].equivalent}", va="center",
                fontsize=7, color="white")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _kills(g: KillCount) -> str:
    return "n/a" if g.kill_rate is None else f"{100 * g.kill_rate:.1f}%"


def _pct(g: Rate) -> str:
    return "n/a" if g.rate is None else f"{100 * g.rate:.1f}% ({g.failed}/{g.graded})"


def markdown(report: StrengthReport) -> str:
    s = report.summary
    every = s["all"]
    lines = [f"# Grader strength: {report.assignment}", "",
             f"{every.total} mutants{' (sampled)' if report.sampled else ''}, graded in "
             f"{report.seconds:.0f} s. Kill rate {_kills(every)} "
             f"({every.killed} killed, {every.survived} survived, {every.equivalent} marked "
             f"equivalent in `{report.equivalents_file}`).", "", "![kill rate per region](kill_rate.png)", "",
             "| notebook / region | mutants | killed | survived | equivalent | kill rate |", "|---|---|---|---|---|---|"]
    for key in sorted(k for k in s if k != "all"):
        g = s[key]
        lines.append(f"| {key} | {g.total} | {g.killed} | {g.survived} | {g.equivalent} | {_kills(g)} |")
    kills: dict[str, int] = defaultdict(int)
    for row in report.mutants:
        for t in row.caught_by or ([f"(grading failed: {row.grading_failed})"] if row.grading_failed else []):
            kills[t] += 1
    lines += ["", "## Tests: how many mutants each one catches", "", "| test | mutants caught |", "|---|---|"]
    for t in report.tests:
        lines.append(f"| {t} | {kills.get(t, 0)}{' (catches nothing)' if not kills.get(t) else ''} |")
    for t in sorted(k for k in kills if k not in report.tests):
        lines.append(f"| {t} | {kills[t]} |")
    lines += ["", "The full mutant x test matrix is in `strength.json` (`caught_by` of each mutant).", "",
              "## Survivors", ""]
    survivors = [r for r in report.mutants if r.status == "survived"]
    if not survivors:
        lines.append("None.")
    for r in survivors:
        lines += [f"### `{r.id}` {r.notebook} / {r.region}: {r.change}", "", "```diff", r.diff.rstrip(), "```", ""]
    equivalent = [r for r in report.mutants if r.status == "equivalent"]
    if equivalent:
        lines += ["## Marked equivalent", ""] + [f"- `{r.id}` {r.region}: {r.change}" for r in equivalent]
    if report.fairness:
        lines += [""] + fairness_markdown(report)
    return "\n".join(lines) + "\n"


def fairness_markdown(report: StrengthReport) -> list[str]:
    f = report.fairness
    lines = ["# Fairness: correct work keeps full marks", "",
             f"{f.false_fails.graded} correct variants graded (in {report.variant_submissions} submissions with the "
             f"draws, {report.groups_split} groups split): false-fail rate {_pct(f.false_fails)}. "
             f"{f.flakes.graded} draws of the free randomness: flake rate {_pct(f.flakes)}. "
             f"{len(report.disagreements)} disagreements between the notebooks' tests and the trusted re-check "
             f"over {report.judged} graded submissions.", "",
             "| family | graded | false fails |", "|---|---|---|"]
    lines += [f"| {name} | {g.graded} | {_pct(g)} |" for name, g in f.families.items()]
    lines += ["", "| notebook | false-fail rate |", "|---|---|"]
    lines += [f"| {nb} | {_pct(g)} |" for nb, g in f.per_notebook.items()]
    lines += ["", "| test | false-fail rate | flake rate over the draws |", "|---|---|---|"]
    lines += [f"| {t} | {_pct(f.per_test[t])} | {_pct(f.flakes_per_test[t])} |" for t in report.tests]
    lines += ["", "## False fails and flakes", ""]
    failing = [r for r in report.variants if r.failed]
    if not failing:
        lines.append("None.")
    for r in failing:
        lost = ", ".join(r.lost) or f"everything (grading failed: {r.grading_failed})"
        lines += [f"### `{r.student}` ({r.family}) {r.label}: lost {lost}", "", "```diff", r.diff.rstrip(), "```", ""]
    lines += ["", "## Disagreements between a test and the trusted re-check", ""]
    if not report.disagreements:
        lines.append("None.")
    lines += [f"- `{d.submission}` {d.test}: the notebook's test {d.notebook_test}, the re-check {d.recheck}"
              for d in report.disagreements]
    return lines


def summary_table(report: StrengthReport) -> str:
    """The command's summary: kill, false-fail and flake rates per notebook and overall, then the counts."""
    overall, fair = report.summary["all"], report.fairness

    def pct(g: Rate) -> str:
        return "n/a" if g.rate is None else f"{100 * g.rate:.1f}% of {g.graded}"

    lines = [f"{'':16s}{'kill rate':>22s}{'false-fail rate':>22s}{'flake rate':>22s}"]
    for key in sorted(k for k in report.summary if k != "all" and ":" not in k) + ["all"]:
        g = report.summary[key]
        fails = pct(fair.per_notebook[key] if key != "all" else fair.false_fails) if fair else "-"
        flakes = pct(fair.flakes_per_notebook[key] if key != "all" else fair.flakes) if fair else "-"
        lines.append(f"{key:16s}{100 * (g.kill_rate or 0):>14.1f}% of {g.total - g.equivalent:<3d}"
                     f"{fails:>22s}{flakes:>22s}")
    stricter = len(report.disagreements) - len(report.defects)
    lines.append(f"{overall.killed} mutants killed, {overall.survived} survived, {overall.equivalent} "
                 f"equivalent; {len(report.defects)} test/re-check disagreements ({stricter} cells of mutants where "
                 f"the re-check was the stricter judge); {report.seconds:.0f} s; "
                 f"report in grading/{report.assignment}/strength/strength.md")
    return "\n".join(lines)
