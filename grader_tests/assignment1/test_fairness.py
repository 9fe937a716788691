"""Both halves of a grader's promise, measured by the strength command on assignment 1 in one batch:
sampled mutants must lose points (kill rate), while every generated and catalogued correct variant and
every draw of the free randomness keeps full marks, and the notebooks' tests and the trusted re-check
agree on every cell of every graded submission."""
from __future__ import annotations

import pytest

from gradekit.authoring.strength import run
from grader_tests.helpers import ALTERNATIVES, COURSE, JOBS

DRAWS = 5  # per notebook: the flake check shown working; `gradekit strength` draws 50 by default, the benchmark more


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    return run(COURSE, "assignment1", jobs=JOBS, sample=10, seed=1, timeout=120, draws=DRAWS,
               out_dir=tmp_path_factory.mktemp("strength"), progress=False)


def _failures(report, family):
    return "\n\n".join(f"{r.student} {r.label}: lost {r.lost or r.grading_failed}\n{r.diff}"
                       for r in report.variants if r.failed and family(r.family))


def test_kill_rate_of_both_notebooks_is_at_least_95_percent(report):
    s = report.summary
    for nb in ("1_mlp_numpy", "2_mlp_pytorch"):
        assert s[nb].total == 10
    assert s["all"].kill_rate >= 0.95, [r for r in report.mutants if r.status == "survived"]


def test_no_correct_variant_loses_a_point(report):
    families = report.fairness.families
    generated = [f for f in families if f.startswith("generated: ")]
    assert len(generated) >= 10, families  # the syntax-tree rules actually apply to both notebooks
    assert families["catalogued"].graded == len(ALTERNATIVES)
    assert report.fairness.false_fails.graded >= 60
    assert report.fairness.false_fails.failed == 0, _failures(report, lambda f: f != "draw")
    flagged = {r.student: r.flags for r in report.variants if r.flags}
    assert not flagged, flagged  # no false alarm either


def test_no_test_flakes_over_the_draws(report):
    flakes = report.fairness.flakes
    assert flakes.graded == 2 * DRAWS
    assert flakes.failed == 0, _failures(report, lambda f: f == "draw")


def test_notebook_tests_and_trusted_recheck_agree(report):
    """Correct work: both judges pass every cell. Mutants: the re-check may be stricter than a notebook's
    test (it compares with the reference), but no notebook test may catch what the re-check misses."""
    # correct work graded in groups (gradekit.authoring.strength.groups): none needed splitting
    assert report.groups_split == 0 and report.variant_submissions < report.fairness.false_fails.graded + 2 * DRAWS
    assert report.judged == 2 + 20 + report.variant_submissions
    assert not report.defects, report.defects
