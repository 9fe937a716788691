"""The strength measurement's results as types, and the statistics over them: kill rates of mutants, and
the false-fail and flake rates of correct variants and draws. `StrengthReport.to_json` is what
strength.json holds."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # names in annotations only
    from collections.abc import Callable, Iterable


@dataclass
class Rate:
    """Of `graded` correct submissions, `failed` lost a point."""
    graded: int = 0
    failed: int = 0

    @property
    def rate(self) -> float | None:
        return self.failed / self.graded if self.graded else None

    @classmethod
    def over(cls, rows: Iterable, lost: Callable[[object], bool]) -> Rate:
        rows = list(rows)
        return cls(len(rows), sum(1 for r in rows if lost(r)))


@dataclass
class KillCount:
    """Mutants of one notebook, one region ("notebook:cell") or all of them."""
    total: int = 0
    killed: int = 0
    equivalent: int = 0
    survived: int = 0

    @property
    def kill_rate(self) -> float | None:
        denominator = self.total - self.equivalent
        return self.killed / denominator if denominator else None


@dataclass
class MutantResult:
    id: str
    notebook: str
    region: str  # the cell's grade id
    operator: str
    line: int
    change: str
    status: str  # "killed", "survived" or "equivalent"
    caught_by: list[str]  # the tests that lost points
    grading_failed: str = ""  # why grading failed (the mutant then counts as killed), else ""
    diff: str = ""  # for survivors and equivalents


@dataclass
class VariantResult:
    """A correct variant or a draw: it must keep full marks."""
    student: str
    family: str  # "generated: <rule>", "catalogued" or "draw"
    label: str
    notebooks: list[str]
    lost: list[str]  # tests that lost points
    grading_failed: str = ""  # why grading failed (every test of its notebooks counts as lost), else ""
    diff: str = ""
    flags: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.lost or self.grading_failed)

    def lost_test(self, test: str) -> bool:
        return test in self.lost or bool(self.grading_failed)


@dataclass
class Disagreement:
    """A cell where the notebook's own test and the trusted re-check reached different verdicts."""
    submission: str
    test: str
    notebook_test: str
    recheck: str
    correct: bool  # the submission is correct work
    kind: str  # "gap": the test failed what the re-check passed; "stricter": the other way round

    @property
    def defect(self) -> bool:
        """On correct work any disagreement, on a mutant a gap (a test caught what the re-check missed)."""
        return self.correct or self.kind == "gap"


@dataclass
class Fairness:
    false_fails: Rate
    per_notebook: dict[str, Rate]
    per_test: dict[str, Rate]
    flakes: Rate
    flakes_per_notebook: dict[str, Rate]
    flakes_per_test: dict[str, Rate]
    families: dict[str, Rate]

    @classmethod
    def of(cls, rows: list[VariantResult], tests: list[str], notebooks: list[str]) -> Fairness:
        variants = [r for r in rows if r.family != "draw"]
        draws = [r for r in rows if r.family == "draw"]

        def per_test(rows_):
            return {t: Rate.over((r for r in rows_ if t.split(":")[0] in r.notebooks), lambda r, t=t: r.lost_test(t))
                    for t in tests}

        def per_notebook(rows_):
            return {nb: Rate.over((r for r in rows_ if nb in r.notebooks), lambda r: r.failed) for nb in notebooks}

        return cls(false_fails=Rate.over(variants, lambda r: r.failed), per_notebook=per_notebook(variants),
                   per_test=per_test(variants), flakes=Rate.over(draws, lambda r: r.failed),
                   flakes_per_notebook=per_notebook(draws), flakes_per_test=per_test(draws),
                   families={f: Rate.over((r for r in variants if r.family == f), lambda r: r.failed)
                             for f in sorted({r.family for r in variants})})


def kill_counts(rows: list[MutantResult]) -> dict[str, KillCount]:
    """Per notebook, per region ("notebook:cell") and "all"."""
    groups: dict[str, KillCount] = defaultdict(KillCount)
    for row in rows:
        for key in (row.notebook, f"{row.notebook}:{row.region}", "all"):
            g = groups[key]
            g.total += 1
            setattr(g, row.status, getattr(g, row.status) + 1)
    return dict(groups)


@dataclass
class StrengthReport:
    assignment: str
    sampled: bool
    sample: int | None
    seed: int
    seconds: float
    jobs: int | None
    summary: dict[str, KillCount]
    tests: list[str]
    mutants: list[MutantResult]
    equivalents_file: str
    fairness: Fairness | None
    variants: list[VariantResult]
    disagreements: list[Disagreement]
    judged: int  # graded submissions whose every cell both judges saw
    variant_submissions: int = 0  # the submissions the correct variants were graded in (groups and lone ones)
    groups_split: int = 0  # groups without full marks, whose variants were then graded one by one

    @property
    def defects(self) -> list[Disagreement]:
        return [d for d in self.disagreements if d.defect]

    @property
    def unfair(self) -> int:
        """Correct variants and draws that lost a point."""
        return (self.fairness.false_fails.failed + self.fairness.flakes.failed) if self.fairness else 0

    def to_json(self) -> dict:
        """As strength.json holds it: the rates written out beside their counts."""
        data = asdict(self)
        data["summary"] = {k: {**asdict(g), "kill_rate": g.kill_rate} for k, g in self.summary.items()}
        if self.fairness:
            data["fairness"] = {name: ({**asdict(v), "rate": v.rate} if isinstance(v, Rate) else
                                       {k: {**asdict(r), "rate": r.rate} for k, r in v.items()})
                                for name, v in vars(self.fairness).items()}
        return data
