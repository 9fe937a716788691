"""The screens people use, in a real browser: JupyterLab for students, formgrader for TAs, the report."""
from __future__ import annotations

import csv
import json
import shutil
import time
import urllib.request

import nbformat
import pytest
from playwright.sync_api import expect

from gradekit.authoring.submissions import submission_with_edits, untouched_release, write_submission
from gradekit.core.layout import Course
from gradekit.grading.batch import grade
from gradekit.records.export import write_export
from grader_tests.helpers import ASSIGNMENT, JOBS, released_course

from .lab_server import LabServer

NOTEBOOKS = ["1_mlp_numpy", "2_mlp_pytorch"]


def wait_for_kernel(server: LabServer, path: str, timeout=90):
    """The toolbar says idle before the kernel is connected: ask the server for this notebook's session
    and wait until its kernel has a connection and is idle."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sessions = json.load(urllib.request.urlopen(f"{server.url}/api/sessions?token={server.token}"))
        kernel = next((s["kernel"] for s in sessions if s.get("path") == path and s.get("kernel")), None)
        if kernel and kernel.get("connections", 0) > 0 and kernel.get("execution_state") == "idle":
            return
        time.sleep(0.5)
    raise AssertionError(f"no connected, idle kernel for {path}")


def open_notebook(page, server, path):
    """Open one notebook in a fresh workspace (`?reset`: no tabs restored from an earlier page) and
    return its panel, the one visible notebook."""
    page.goto(server.page_url(f"lab/tree/{path}?reset"))
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    expect(panel).to_have_count(1, timeout=60_000)
    expect(panel.locator(".jp-Notebook")).to_be_visible(timeout=60_000)
    wait_for_kernel(server, path)
    return panel


@pytest.fixture
def lab(tmp_path):
    course = released_course(tmp_path / "course")
    server = LabServer(course, tmp_path / "home").start()
    yield server
    server.stop()


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_student_runs_the_release_and_validates_a_solution(lab, page, shots, notebook):
    open_notebook(page, lab, f"release/{ASSIGNMENT}/{notebook}.ipynb")
    shots(page, "release-opened")
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    error = page.locator(".jp-OutputArea-output", has_text="NotImplementedError").first
    error.wait_for(state="attached", timeout=90_000)
    error.scroll_into_view_if_needed()
    expect(error).to_be_visible()
    shots(page, "release-ran-stub-raises")

    # Validate saves the notebook: run it on a throwaway, solved copy, never on committed files.
    # (the release cannot pass validation, so the success dialog also proves the right notebook was validated)
    work = lab.root / "work"
    work.mkdir()
    nbformat.write(submission_with_edits(lab.root, ASSIGNMENT, [notebook])[notebook], work / f"{notebook}.ipynb")
    shutil.copy(Course(lab.root).release(ASSIGNMENT) / "mlp_utils.py", work)
    panel = open_notebook(page, lab, f"work/{notebook}.ipynb")
    expect(page.locator(".jp-NotebookPanel")).to_have_count(1)
    panel.get_by_role("button", name="Validate").click()
    expect(page.get_by_text("Success! Your notebook passes all the tests.")).to_be_visible(timeout=180_000)
    shots(page, "validate-success")


def test_ta_formgrader_scores_manual_grading_and_export(tmp_path, page, shots):
    course = released_course(tmp_path / "course")
    write_submission(course, ASSIGNMENT, "alice", submission_with_edits(course, ASSIGNMENT, NOTEBOOKS))
    write_submission(course, ASSIGNMENT, "bob", untouched_release(course, ASSIGNMENT, NOTEBOOKS))
    broken = course / "submitted" / "carol" / ASSIGNMENT
    broken.mkdir(parents=True)
    (broken / "1_mlp_numpy.ipynb").write_text("{ not a notebook")
    results = grade(course, ASSIGNMENT, jobs=JOBS, feedback=False, progress=False)
    assert results["alice"].status == "needs_manual" and results["carol"].status == "failed"
    server = LabServer(course, tmp_path / "home").start()
    try:
        page.goto(server.page_url("formgrader/manage_assignments"))
        row = page.locator("tr", has_text="assignment1").first
        expect(row).to_be_visible()
        shots(page, "formgrader-assignments")
        # formgrader counts every folder in submitted/, the one whose grading failed too
        expect(row.locator("td").nth(8)).to_have_text("3")

        from nbgrader.api import Gradebook

        with Gradebook(Course(course).gradebook_url) as gb:
            nb_id = gb.find_submission_notebook("2_mlp_pytorch", ASSIGNMENT, "alice").id
        # the statuses the kit assigned, as formgrader shows them: written answers to grade, graded, and
        # the failed submission (its stale grade removed) as "needs autograding" with no score
        page.goto(server.page_url(f"formgrader/manage_submissions/{ASSIGNMENT}"))
        rows = {name: page.locator("tr", has=page.locator("td", has_text=name)).first
                for name in ("alice", "bob", "carol")}
        expect(rows["alice"]).to_contain_text("needs manual grading")
        expect(rows["alice"]).to_contain_text(f"{results['alice'].score:g} / {results['alice'].max_score:g}")
        expect(rows["bob"]).to_contain_text("graded")
        expect(rows["bob"]).to_contain_text(f"0 / {results['bob'].max_score:g}")
        expect(rows["carol"]).to_contain_text("needs autograding")
        expect(rows["carol"]).not_to_contain_text(" / ")
        shots(page, "formgrader-submissions-statuses")

        page.goto(server.page_url(f"formgrader/submissions/{nb_id}/"))
        score = page.locator("input.score").last
        expect(score).to_be_visible()
        shots(page, "manual-grading-view")
        score.fill("3")
        score.press("Enter")
        comment = page.locator("textarea.comment").last
        comment.fill("Clear comparison; timing discussion could cite the measured numbers.")
        comment.press("Tab")
        shots(page, "manual-grade-entered")
        deadline = time.monotonic() + 30
        manual = None
        while time.monotonic() < deadline:
            with Gradebook(Course(course).gradebook_url) as gb:
                manual = gb.find_grade("comparison_discussion", "2_mlp_pytorch", ASSIGNMENT, "alice").manual_score
            if manual == 3:
                break
            time.sleep(0.5)
        assert manual == 3, "the score entered in formgrader did not reach the gradebook"
    finally:
        server.stop()
    with open(write_export(course, ASSIGNMENT)) as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    assert rows["alice"]["status"] == "graded" and float(rows["alice"]["score"]) == results["alice"].score + 3
    assert rows["carol"]["status"] == "failed" and rows["carol"]["score"] == ""


def test_class_report_renders_with_its_images(tmp_path, page, shots):
    course = released_course(tmp_path / "course")
    write_submission(course, ASSIGNMENT, "alice", submission_with_edits(course, ASSIGNMENT, ["1_mlp_numpy"]))
    write_submission(course, ASSIGNMENT, "bob", untouched_release(course, ASSIGNMENT, ["1_mlp_numpy"]))
    grade(course, ASSIGNMENT, jobs=JOBS, feedback=False, progress=False)
    report = Course(course).report_html(ASSIGNMENT)
    page.goto(report.as_uri())
    expect(page.get_by_role("heading", name="assignment1: class report")).to_be_visible()
    images = page.locator("img")
    assert images.count() == 3
    for i in range(3):
        assert images.nth(i).evaluate("img => img.complete && img.naturalWidth > 0"), f"image {i} did not load"
    shots(page, "class-report")
