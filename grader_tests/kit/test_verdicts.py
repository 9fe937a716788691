"""The grader awards every point (gradekit/plugins/verdicts.py): probes cover every graded cell, and an assignment
without probes is graded unverified, where forged outputs still cannot raise a score."""
from __future__ import annotations

import shutil

import nbformat
import pytest

from gradekit.authoring.submissions import submission_with_edits, untouched_release, write_submission
from gradekit.core.layout import Course
from gradekit.plugins import trusted
from gradekit.plugins.verdicts import graded_test_cells
from gradekit.records.results import ResultStore, read_grades
from grader_tests.helpers import ASSIGNMENT, COURSE, JOBS, KIT, NOTEBOOKS, ROOT, WARMUP, gradekit, grades_csv, warmup_course


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_every_graded_cell_of_assignment1_has_a_check_and_every_check_a_cell(notebook):
    layout = Course(ROOT)
    module = trusted.load_checks(layout.probes(ASSIGNMENT) / f"{notebook}.py", seed=1)
    nb = nbformat.read(layout.source(ASSIGNMENT) / f"{notebook}.ipynb", as_version=4)
    trusted.check_coverage(module, nb, notebook)
    assert set(module.PROBES) == {g for g, _ in graded_test_cells(nb)}


SWEEP_SEEDS = range(1, 121)  # fixed, so that the test fails the same way every run; a drawn seed is random


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_the_reference_passes_its_own_checks_whatever_the_seed(notebook):
    """A check that holds only for lucky inputs would fail a batch's reference (the batch redraws) and,
    worse, honest students with some seeds; benchmarks/seed_sweep.py runs the same sweep on more seeds."""
    failures = trusted.reference_sweep(COURSE, ASSIGNMENT, notebook, list(SWEEP_SEEDS))
    assert not failures, f"{len(failures)} of {len(SWEEP_SEEDS)} seeds: {dict(list(failures.items())[:3])}"


def test_an_unknown_or_missing_probe_id_is_an_error():
    layout = Course(ROOT)
    nb = nbformat.read(layout.source(ASSIGNMENT) / "1_mlp_numpy.ipynb", as_version=4)
    module = trusted.load_checks(layout.probes(ASSIGNMENT) / "1_mlp_numpy.py", seed=1)
    module.PROBES["test_no_such_cell"] = module.PROBES.pop("test_relu")
    with pytest.raises(trusted.ProbeError, match="test_relu.*test_no_such_cell"):
        trusted.check_coverage(module, nb, "1_mlp_numpy")


def test_probe_inputs_follow_the_seed():
    module_a = trusted.load_checks(Course(ROOT).probes(ASSIGNMENT) / "1_mlp_numpy.py", seed=1)
    module_b = trusted.load_checks(Course(ROOT).probes(ASSIGNMENT) / "1_mlp_numpy.py", seed=2)
    assert module_a.batch_rng(5).normal() == trusted.load_checks(
        Course(ROOT).probes(ASSIGNMENT) / "1_mlp_numpy.py", seed=1).batch_rng(5).normal()
    assert module_a.batch_rng(5).normal() != module_b.batch_rng(5).normal()


@pytest.fixture(scope="module")
def unverified(tmp_path_factory):
    """The warm-up assignment without its probes, graded with a correct, a blank and a forging submission."""
    root = tmp_path_factory.mktemp("unverified")
    course = warmup_course(root)
    shutil.rmtree(Course(course).probes(WARMUP))
    forge = KIT.redteam.ATTACKS[0].code  # an execute_result before every cell
    notebooks = {"correct": submission_with_edits(course, WARMUP, ["warmup"]),
                 "blank": untouched_release(course, WARMUP, ["warmup"]),
                 "forger": untouched_release(course, WARMUP, ["warmup"])}
    solution = next(c for c in notebooks["forger"]["warmup"].cells
                    if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution"))
    solution.source += "\n" + forge
    for student, nbs in notebooks.items():
        write_submission(course, WARMUP, student, nbs)
    out = gradekit(course, "grade", WARMUP, "--jobs", str(JOBS))
    assert out.returncode == 0, out.stdout + out.stderr
    return course, grades_csv(course, WARMUP)


def test_unverified_grades_honest_work_as_nbgrader_does_and_says_so(unverified):
    course, rows = unverified
    assert float(rows["correct"]["score"]) == float(rows["correct"]["max_score"]) > 0, rows["correct"]
    assert float(rows["blank"]["score"]) == 0
    for row in rows.values():
        assert "unverified: warmup without grader-side checks" in row["flags"], row
    assert not any(r.verified for r in ResultStore(course, WARMUP).all().values())


def test_forged_outputs_cannot_raise_an_unverified_score(unverified):
    course, rows = unverified
    grades = read_grades(course, WARMUP)
    forged = {t: v for (s, _), g in grades.items() if s == "forger" for t, v in g.autograded.items() if v[0]}
    assert not forged and float(rows["forger"]["score"]) == 0, (forged, rows["forger"])


def test_probe_files_share_the_assignment_helpers_and_an_id_twice_is_an_error(tmp_path):
    (tmp_path / "shared.py").write_text("def doubled(x):\n    return 2 * x\n")
    (tmp_path / "nb.py").write_text('@probe("test_a")\ndef probe_a(ns):\n    return {"v": doubled(ns["x"])}\n')
    module = trusted.load_checks(tmp_path / "nb.py")
    assert module.PROBES["test_a"]({"x": 2}) == {"v": 4}  # in the grader
    assert "def doubled" in trusted.probe_cell(trusted.probe_source(tmp_path / "nb.py"), 1).source  # in the kernel
    (tmp_path / "nb.py").write_text('@probe("test_a")\ndef probe_a(ns):\n    return {}\n\n'
                                    '@probe("test_a")\ndef probe_b(ns):\n    return {}\n')
    with pytest.raises(trusted.ProbeFileError, match="ValueError: a second probe or check for 'test_a'"):
        trusted.load_checks(tmp_path / "nb.py")
