"""Students' feedback (nbgrader generate_feedback with gradekit's HideHiddenTests) keeps hidden tests hidden:
no hidden-test line appears in it, while it still says which test failed, its points and the hint."""
from __future__ import annotations

import html
import re

import nbformat
import pytest
from nbconvert import HTMLExporter

from gradekit.core.layout import Course
from gradekit.core.nbgrader_run import run_nbgrader
from gradekit.plugins.preprocessors.hide_hidden_tests import split_hidden
from grader_tests.helpers import ASSIGNMENT

STUDENTS = ("reference", "blank", "bug-bias_grad_mean", "bug-missing_zero_grad", "tampered-emptied-tests")


def _text(page: str) -> str:
    """What a reader of the HTML sees: tags removed (code is split into highlighted spans), entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def _hidden_lines(course) -> set[str]:
    """Every hidden-test line long enough to be telling that appears nowhere else in the notebooks (a line
    such as `for x, y in loader:` is also in the student's own code)."""
    hidden, public = set(), set()
    for path in Course(course).source(ASSIGNMENT).glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            visible, secret, _ = split_hidden(cell.source)
            hidden |= {line.strip() for line in secret if len(line.strip()) >= 12 and not line.strip().startswith("# HINT:")}
            public |= {line.strip() for line in visible}
    return {line for line in hidden - public if not any(line in p for p in public)}


@pytest.fixture(scope="module")
def feedback(gallery, course):
    for student in STUDENTS:
        run_nbgrader(course, "generate_feedback", ASSIGNMENT, "--student", student, "--force")
    return {(s, p.stem): _text(p.read_text()) for s in STUDENTS
            for p in (course / "feedback" / s / ASSIGNMENT).glob("*.html")}


def test_the_grep_finds_hidden_lines_in_an_unfiltered_page(course, gallery):
    """Control: nbgrader's own rendering of the autograded notebook shows the hidden tests."""
    hidden = _hidden_lines(course)
    assert len(hidden) > 100
    nb = nbformat.read(course / "autograded" / "reference" / ASSIGNMENT / "1_mlp_numpy.ipynb", as_version=4)
    page = _text(HTMLExporter().from_notebook_node(nb)[0])
    assert sum(line in page for line in hidden) > 50


def test_no_hidden_test_line_reaches_a_student(course, feedback):
    hidden = _hidden_lines(course)
    assert len(feedback) >= len(STUDENTS)
    for (student, notebook), text in feedback.items():
        leaked = sorted(line for line in hidden if line in text)
        assert not leaked, f"{student}/{notebook} feedback shows hidden lines: {leaked[:5]}"
        assert "BEGIN HIDDEN TESTS" not in text


def test_a_failed_hidden_test_says_which_points_and_hint(feedback):
    text = feedback[("bug-bias_grad_mean", "1_mlp_numpy")]
    assert "A test of this cell failed (4 points lost)." in text  # test_linear_backward is worth 4
    assert "Hint: each gradient has the shape of what it is the gradient of (x, W, b)" in text
    torch_text = feedback[("bug-missing_zero_grad", "2_mlp_pytorch")]
    assert "Hint: model.train(), then zero_grad, forward, backward, step for every batch" in torch_text


def test_passed_cells_say_so_and_hints_stay_for_failures(feedback):
    text = feedback[("reference", "1_mlp_numpy")]
    assert "All tests of this cell passed." in text
    assert "Hint:" not in text and "A test of this cell failed" not in text
