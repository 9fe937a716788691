"""The class report's pass rates: graded submissions only, written answers left out, worst test first."""
from __future__ import annotations

from gradekit.records.report import pass_rates
from gradekit.records.results import Result, Status


def test_pass_rates_count_full_marks_among_graded_submissions():
    results = [
        Result("a", Status.GRADED, tests={"nb:t1": [1, 1], "nb:t2": [0, 2], "nb:essay": [None, 4]}),
        Result("b", Status.NEEDS_MANUAL, tests={"nb:t1": [1, 1], "nb:t2": [2, 2], "nb:essay": [None, 4]}),
        Result("c", Status.FAILED, reason="timeout", tests={"nb:t1": [0, 1], "nb:t2": [0, 2]}),
    ]
    assert pass_rates(results) == [("nb:t2", 0.5, 2), ("nb:t1", 1.0, 2)]


def test_pass_rates_of_no_results_are_empty():
    assert pass_rates([]) == []
