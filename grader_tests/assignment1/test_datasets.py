"""The dataset is one setting (mlp_utils.DATASET): offline, with a threshold set from measured margins, and
switching it in that one place switches the notebooks, the hidden tests and the grader's re-check."""
from __future__ import annotations

import socket
import sys

import numpy as np
import pytest

from gradekit.authoring.submissions import Edit, submission_with_edits, write_submission
from gradekit.core.layout import Course
from gradekit.core.nbgrader_run import course_copy, generate
from gradekit.grading.batch import grade
from gradekit.records.results import read_grades
from grader_tests.helpers import ASSIGNMENT, COURSE, JOBS, NOTEBOOKS, NUMPY, ROOT, TORCH, import_file

bench = import_file(Course(ROOT).source(ASSIGNMENT) / "kit" / "benchmarks" / "accuracy_over_seeds.py")

SEEDS = range(10)


@pytest.fixture
def dataset(request):
    """Select a dataset of mlp_utils for the reference functions; restores the default afterwards."""
    default = sys.modules["mlp_utils"].DATASET.name if "mlp_utils" in sys.modules else "mnist1d"
    yield bench.use_dataset(request.param)
    bench.use_dataset(default)


# the digits' figures are in the accuracy benchmark (docs/measurements.md); the suite measures the default
# and the dataset the switching test below uses
@pytest.mark.parametrize("dataset", ["mnist1d", "strokes"], indirect=True)
def test_both_references_clear_the_threshold_on_every_seed(dataset):
    for name, rows in (("part 1", bench.numpy_accuracies(SEEDS)), ("part 2", bench.torch_accuracies(SEEDS))):
        worst = min(acc for _, acc, _ in rows)
        print(f"{dataset.name} {name}: worst of {len(rows)} seeds {worst:.4f}, threshold {dataset.accuracy_threshold}")
        assert worst >= dataset.accuracy_threshold + 0.02, f"{name}: less than 2 points of margin"


@pytest.mark.parametrize("dataset", ["mnist1d", "strokes"], indirect=True)
def test_a_model_without_hidden_layer_fails_the_threshold(dataset):
    for name, rows in (("part 1", bench.numpy_accuracies(SEEDS, hidden=[])),
                       ("part 2", bench.torch_accuracies(SEEDS, hidden=[]))):
        best = max(acc for _, acc, _ in rows)
        print(f"linear baseline, {name}: best of {len(rows)} seeds {best:.4f}, threshold {dataset.accuracy_threshold}")
        assert best < dataset.accuracy_threshold - 0.1, f"{name}: less than 10 points between a linear model and the threshold"


def refuse_the_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the dataset tried to open a network connection")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.parametrize("dataset", ["mnist1d", "digits", "strokes"], indirect=True)
def test_datasets_load_without_the_network(dataset, monkeypatch):
    refuse_the_network(monkeypatch)
    X_tr, y_tr, X_va, y_va, X_te, y_te = sys.modules["mlp_utils"].load_split(seed=0)
    assert X_tr.shape[1] == dataset.n_inputs
    assert set(np.unique(np.concatenate([y_tr, y_va, y_te]))) == set(range(dataset.n_classes))


def test_the_shipped_mnist1d_is_what_the_package_generates_offline(monkeypatch):
    """mnist1d.npz, read by every run, holds exactly the arrays `mnist1d.make_dataset` builds from its
    templates (the package's default arguments), and building them needs no network."""
    bench.use_dataset("mnist1d")
    mlp_utils = sys.modules["mlp_utils"]
    refuse_the_network(monkeypatch)
    generated = mlp_utils.make_mnist1d()
    with np.load(mlp_utils.MNIST1D_FILE) as shipped:
        assert sorted(shipped.files) == sorted(generated)
        for key, array in generated.items():
            assert shipped[key].dtype == array.dtype and np.array_equal(shipped[key], array), key
    assert generated["X"].shape == (5000, 40) and np.all(np.bincount(generated["y"]) >= 390)


def test_strokes_are_reproducible_and_balanced():
    bench.use_dataset("mnist1d")
    mlp_utils = sys.modules["mlp_utils"]
    X, y = mlp_utils.make_strokes(seed=3)
    X2, y2 = mlp_utils.make_strokes(seed=3)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    assert np.all(np.bincount(y) == len(y) // 4)
    # contrast flips at random: the mean image of every class is close to blank
    for label in range(4):
        assert np.abs(X[y == label].mean(0)).max() < 0.15


def test_switching_the_dataset_in_one_place_switches_the_grading(tmp_path):
    """The course sets DATASET = "strokes" in mlp_utils.py and nothing else: the reference gets full marks
    (hidden tests and re-check included), and a network without a hidden layer loses the accuracy test."""
    course = course_copy(tmp_path / "course", COURSE, ASSIGNMENT, release=False)
    helper = Course(course).source(ASSIGNMENT) / "mlp_utils.py"
    text = helper.read_text()
    assert text.count('DATASET = DATASETS["mnist1d"]') == 1
    helper.write_text(text.replace('DATASET = DATASETS["mnist1d"]', 'DATASET = DATASETS["strokes"]'))
    generate(course, ASSIGNMENT)
    linear = [Edit(nb, None, "N_HIDDEN = [128]", "N_HIDDEN = []") for nb in (NUMPY, TORCH)]
    write_submission(course, ASSIGNMENT, "reference", submission_with_edits(course, ASSIGNMENT, NOTEBOOKS))
    write_submission(course, ASSIGNMENT, "linear", submission_with_edits(course, ASSIGNMENT, NOTEBOOKS, linear))
    results = grade(course, ASSIGNMENT, jobs=JOBS, progress=False)
    assert {s: r.status for s, r in results.items()} == {"reference": "needs_manual", "linear": "needs_manual"}
    grades = read_grades(course, ASSIGNMENT)

    def lost(student, notebook):
        grade_ = grades[(student, notebook)]
        return {t for t, (score, top) in grade_.tests.items() if t not in grade_.manual and score < top}

    for notebook in NOTEBOOKS:
        assert not lost("reference", notebook), f"{notebook}: the reference lost points on the strokes"
        assert lost("linear", notebook) == {"test_final_accuracy"}, f"{notebook}: a linear model lost the wrong cells"
