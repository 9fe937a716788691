"""Every sanity value the notebooks state is measured on the reference, over seeds, never quoted from belief.

Each statement is found in the notebook's text by its phrase ("... between A and B over seeds") and must
hold for the reference solution on every seed measured; a stated range much wider than the measured
spread fails too, so a range cannot be made true by making it vacuous.
"""
from __future__ import annotations

import re

import nbformat
import numpy as np
import pytest

from gradekit.authoring.reference import load_reference
from gradekit.core.layout import Course
from grader_tests.helpers import ASSIGNMENT, ROOT

SEEDS = [0, 1, 2, 3, 4, 42]  # 42: the notebooks' own SEED


def stated_range(notebook: str, phrase: str) -> tuple[float, float]:
    """(A, B) from the one markdown sentence matching `phrase` ("... between A and B over seeds")."""
    text = "\n".join(c.source for c in nbformat.read(Course(ROOT).source(ASSIGNMENT) / f"{notebook}.ipynb", 4).cells
                     if c.cell_type == "markdown")
    found = re.findall(phrase + r"\s+between\s+([\d.]+)%?\s+and\s+([\d.]+)(%?)\s+over\s+seeds", " ".join(text.split()))
    assert len(found) == 1, f"{notebook}: expected one statement '{phrase} between A and B over seeds', found {found}"
    low, high, percent = found[0]
    scale = 100 if percent else 1
    return float(low) / scale, float(high) / scale


def assert_within(name, values, low, high):
    values = np.asarray(values)
    print(f"{name}: measured {values.min():.4f} .. {values.max():.4f} over seeds {SEEDS}; stated {low} .. {high}")
    assert low <= values.min() and values.max() <= high, f"{name}: the reference leaves the stated range"
    assert high - low <= 4 * (values.max() - values.min()) + 0.02, f"{name}: the stated range is far wider than measured"


@pytest.fixture(scope="module")
def numpy_runs():
    ref = load_reference(ROOT, ASSIGNMENT, "1_mlp_numpy")
    X_tr, y_tr, X_va, y_va, _, _ = ref["load_split"](seed=0)
    X_tr, X_va, _ = ref["standardize"](X_tr, X_va, X_va)
    runs = {"initial_loss": [], "logit_spread": [], "val_acc": []}
    for seed in SEEDS:
        model = ref["MLP"](X_tr.shape[1], [128], 10, np.random.default_rng(seed))
        logits = model.forward(X_tr)
        runs["logit_spread"].append(logits.std(axis=1).mean())  # as the training cell prints it
        probs = ref["SoftMaxModule"]().forward(logits)
        runs["initial_loss"].append(ref["CrossEntropyModule"]().forward(probs, y_tr))
        history = ref["train"](model, X_tr, y_tr, X_va, y_va, lr=0.1, batch_size=32, epochs=20, seed=seed)
        runs["val_acc"].append(history["val_acc"][-1])
    return runs


@pytest.fixture(scope="module")
def torch_runs():
    import torch

    torch.set_num_threads(1)
    ref = load_reference(ROOT, ASSIGNMENT, "2_mlp_pytorch")
    X_tr, y_tr, X_va, y_va, X_te, y_te = ref["load_standardized"](seed=0)
    runs = {"initial_loss": [], "test_acc": []}
    for seed in SEEDS:
        loaders = ref["make_loaders"](X_tr, y_tr, X_va, y_va, X_te, y_te, batch_size=32, seed=seed)
        torch.manual_seed(seed)
        model = ref["MLP"](X_tr.shape[1], [128], 10)
        with torch.no_grad():
            logits = model(torch.as_tensor(X_tr, dtype=torch.float32))
            runs["initial_loss"].append(torch.nn.functional.cross_entropy(logits, torch.as_tensor(y_tr)).item())
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        ref["fit"](model, loaders[0], loaders[1], optimizer, torch.nn.CrossEntropyLoss(), "cpu", 20)
        runs["test_acc"].append(ref["evaluate"](model, loaders[2], "cpu"))
    return runs


def test_numpy_initial_loss(numpy_runs):
    assert_within("part 1 initial loss", numpy_runs["initial_loss"], *stated_range("1_mlp_numpy", "starts at a loss"))


def test_numpy_initial_logit_spread(numpy_runs):
    assert_within("part 1 initial logits' spread", numpy_runs["logit_spread"],
                  *stated_range("1_mlp_numpy", "within each sample"))


def test_numpy_validation_accuracy(numpy_runs):
    assert_within("part 1 validation accuracy", numpy_runs["val_acc"],
                  *stated_range("1_mlp_numpy", "reach a validation accuracy"))


def test_torch_initial_loss(torch_runs):
    assert_within("part 2 initial loss", torch_runs["initial_loss"], *stated_range("2_mlp_pytorch", "starts at a loss"))


def test_torch_test_accuracy(torch_runs):
    assert_within("part 2 test accuracy", torch_runs["test_acc"],
                  *stated_range("2_mlp_pytorch", "the test accuracy lies"))


def test_a_uniform_prediction_costs_ln_c():
    ref = load_reference(ROOT, ASSIGNMENT, "1_mlp_numpy")
    for c in (3, 10):
        loss = ref["CrossEntropyModule"]().forward(np.full((4, c), 1 / c), np.arange(4) % c)
        assert np.isclose(loss, np.log(c))
