"""Grades stay what they were unless a change means to alter them: the gallery's per-cell scores and the
demo's grade table against expected_scores.json (see expected_scores.py to rewrite it on purpose)."""
from __future__ import annotations

import json

from gradekit.core.nbgrader_run import course_copy
from grader_tests.assignment1.expected_scores import EXPECTED, demo_output, demo_table, gallery_scores
from grader_tests.helpers import ASSIGNMENT, COURSE


def _differences(expected: dict, got: dict) -> list[str]:
    out = []
    for student in sorted(set(expected) | set(got)):
        for notebook in sorted(set(expected.get(student, {})) | set(got.get(student, {}))):
            a, b = expected.get(student, {}).get(notebook), got.get(student, {}).get(notebook)
            if a != b:
                cells = sorted(c for c in set(a or {}) | set(b or {}) if (a or {}).get(c) != (b or {}).get(c))
                out.append(f"{student} {notebook}: " + ", ".join(
                    f"{c} expected {(a or {}).get(c)} got {(b or {}).get(c)}" for c in cells))
    return out


def test_the_gallery_scores_every_cell_as_recorded(gallery):
    _, grades = gallery
    expected = json.loads(EXPECTED.read_text())["gallery"]
    assert len(expected) >= 20  # the record holds the whole gallery
    differences = _differences(expected, gallery_scores(grades))
    assert not differences, "\n".join(differences)


def test_the_comparison_finds_a_changed_score():
    expected = {"alice": {"nb": {"t1": [1.0, 1.0], "t2": [2.0, 2.0]}}}
    got = {"alice": {"nb": {"t1": [1.0, 1.0], "t2": [0.0, 2.0]}}, "bob": {"nb": {"t1": [0.0, 1.0]}}}
    assert _differences(expected, got) == ["alice nb: t2 expected [2.0, 2.0] got [0.0, 2.0]",
                                           "bob nb: t1 expected None got [0.0, 1.0]"]


def test_the_demo_prints_the_recorded_grade_table(tmp_path):
    output = demo_output(course_copy(tmp_path / "course", COURSE, ASSIGNMENT, release=False))
    table = demo_table(output)
    assert table == json.loads(EXPECTED.read_text())["demo_table"], "\n".join(table)
    # every step of the batch ran: the similarity flags too (a failure there is reported, not raised)
    assert "similarity: not computed" not in output and "similarity: " in output, output[-2000:]
