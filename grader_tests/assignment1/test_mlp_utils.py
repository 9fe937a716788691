"""Unit tests of the student-visible helper module (data, gradient checking, metrics)."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from grader_tests.helpers import ROOT, import_file

mlp_utils = import_file(ROOT / "source" / "assignment1" / "mlp_utils.py")  # the assignment's helper, as its notebooks import it


def test_the_default_split_is_stratified_deterministic_and_disjoint():
    a = mlp_utils.load_split(seed=0)
    b = mlp_utils.load_split(seed=0)
    c = mlp_utils.load_split(seed=1)
    X_tr, y_tr, X_va, y_va, X_te, y_te = a
    assert all(np.array_equal(u, v) for u, v in zip(a, b)), "same seed, same split"
    assert not np.array_equal(a[0], c[0]), "another seed, another split"
    assert mlp_utils.DATASET.name == "mnist1d"
    assert (len(X_tr), len(X_va), len(X_te)) == (3000, 1000, 1000)
    assert X_tr.dtype == np.float64 and y_tr.dtype == np.int64 and X_tr.shape[1] == 40
    for y in (y_tr, y_va, y_te):  # stratified: every class has about its share
        shares = np.bincount(y, minlength=10) / len(y)
        assert np.all(np.abs(shares - 0.1) < 0.02)
    rows = {row.tobytes() for X in (X_tr, X_va, X_te) for row in X}
    assert len(rows) == 5000, "every sample in exactly one of the three sets"


def test_the_split_and_the_digits_are_scikit_learns_without_importing_it():
    """The helper draws scikit-learn's stratified split and reads its digits file itself (the import costs
    every notebook run a second or more), so the data stay what scikit-learn gives."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    mine = mlp_utils.DATASETS["digits"].load()
    assert np.array_equal(mine[0], X) and np.array_equal(mine[1], y)

    rng = np.random.default_rng(0)
    cases = [(y, 0.2, seed) for seed in range(5)] + [(y, 0.25, 3)]
    for _ in range(200):  # skewed classes and small sets: ties among the left-over samples
        labels = rng.integers(0, int(rng.integers(2, 7)), size=int(rng.integers(8, 120)))
        n_classes = len(np.unique(labels))
        if np.bincount(labels).min() >= 2 and n_classes <= len(labels) * 0.1:  # scikit-learn refuses fewer
            cases.append((labels, float(rng.choice([0.1, 0.2, 0.3, 0.5])), int(rng.integers(1000))))
    for labels, fraction, seed in cases:
        rest, test = train_test_split(np.arange(len(labels)), test_size=fraction, stratify=labels, random_state=seed)
        got = mlp_utils.stratified_split(labels, fraction, seed)
        assert np.array_equal(got[0], rest) and np.array_equal(got[1], test), (np.bincount(labels), fraction, seed)


def test_a_notebook_reads_its_data_without_scikit_learn():
    code = ("import sys, mlp_utils; mlp_utils.load_split(seed=0); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sklearn'))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT / "source" / "assignment1",
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stdout + done.stderr


def test_loader_reads_a_local_npz(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3, 4))
    y = np.repeat(np.arange(4), 50)
    np.savez(tmp_path / "tiny.npz", X=X, y=y)
    X_tr, y_tr, X_va, y_va, X_te, y_te = mlp_utils.load_split(seed=0, path=tmp_path / "tiny.npz")
    assert X_tr.shape == (120, 12) and X_va.shape == (40, 12) and X_te.shape == (40, 12)


def test_standardized_loader_uses_training_statistics_only():
    X_tr, _, X_va, _, _, _ = mlp_utils.load_standardized(seed=0)
    assert np.allclose(X_tr.mean(0), 0, atol=1e-9)
    assert not np.allclose(X_va.mean(0), 0, atol=1e-3)


def test_rel_error_is_elementwise_and_symmetric():
    assert mlp_utils.rel_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert mlp_utils.rel_error([1.0, 0.0], [3.0, 0.0]) == pytest.approx(0.5)
    assert mlp_utils.rel_error([1e-12], [0.0]) == pytest.approx(1e-4)
    with pytest.raises(ValueError):
        mlp_utils.rel_error(np.zeros(3), np.zeros(4))


def test_numerical_gradient_matches_known_gradients_and_restores_input():
    x = np.array([[1.0, -2.0, 0.5], [3.0, 0.1, -1.0]])
    x0 = x.copy()
    g = mlp_utils.numerical_gradient(lambda: np.sum(x ** 3), x)
    assert mlp_utils.rel_error(g, 3 * x0 ** 2) < 1e-8
    assert np.array_equal(x, x0)
    dout = np.arange(6.0).reshape(2, 3)
    g2 = mlp_utils.numerical_gradient_array(lambda: 2 * x, x, dout)
    assert mlp_utils.rel_error(g2, 2 * dout) < 1e-8


def test_check_close_reports_and_fails(capsys):
    assert mlp_utils.check_close("same", np.ones(3), np.ones(3), 1e-9) is None
    assert "threshold" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="hint text"):
        mlp_utils.check_close("off", np.ones(3), 2 * np.ones(3), 1e-3, "hint text")
    with pytest.raises(AssertionError, match="shape"):
        mlp_utils.check_close("shape", np.ones(3), np.ones(4), 1e-3)
    with pytest.raises(AssertionError, match="nan"):
        mlp_utils.check_close("nan", np.array([np.nan]), np.array([1.0]), 1e-3)


COUNTED = '''def f(x):
    """doc
    string"""
    # comment

    y = x + 1
    return y


class C:
    """doc"""
    def a(self):
        return 1

    def b(self, x):
        if x:
            return 2
        return 3
'''


def test_count_code_lines_ignores_docstrings_comments_and_blank_lines(tmp_path, monkeypatch):
    (tmp_path / "counted.py").write_text(COUNTED)
    monkeypatch.syspath_prepend(str(tmp_path))
    import counted

    assert mlp_utils.count_code_lines(counted.f) == 2
    assert mlp_utils.count_code_lines(counted.C) == 1 + 3
    assert mlp_utils.count_code_lines(counted.f, counted.C) == 6


def test_metrics_round_trip(tmp_path):
    path = tmp_path / "m.json"
    assert mlp_utils.load_metrics(path) is None
    mlp_utils.save_metrics(path, history={"a": [np.float64(1.5)]}, acc=np.float32(0.5), n=np.int64(3))
    assert mlp_utils.load_metrics(path) == {"history": {"a": [1.5]}, "acc": 0.5, "n": 3}


def test_confusion_matrix_counts_true_rows_and_predicted_columns():
    counts = mlp_utils.confusion_matrix([0, 1, 1, 2, 2, 2], [0, 0, 1, 2, 2, 1], 4)
    assert counts.tolist() == [[1, 0, 0, 0], [1, 1, 0, 0], [0, 1, 2, 0], [0, 0, 0, 0]]
    assert counts.sum() == 6 and np.trace(counts) == 4


def test_plot_diagnostics_shows_the_confusions_the_mistakes_and_the_first_layer():
    import matplotlib

    matplotlib.use("Agg")
    rng = np.random.default_rng(0)
    images, y = rng.uniform(size=(30, 64)), np.arange(30) % 10
    pred = y.copy()
    pred[:3] = (y[:3] + 1) % 10
    fig = mlp_utils.plot_diagnostics(images, y, pred, rng.normal(size=(64, 5)), "t", image_shape=(8, 8))
    titles = [ax.get_title() for ax in fig.get_axes()]
    assert "Confusion matrix: 3 of 30 wrong" in titles
    assert {"0 → 1", "1 → 2", "2 → 3"} <= set(titles)
    assert sum(len(ax.get_images()) for ax in fig.get_axes()) == 1 + 3 + 5  # matrix, mistakes, units
    units = [im for ax in fig.get_axes() for im in ax.get_images() if im.get_cmap().name == "RdBu"]
    assert len(units) == 5
    for im in units:  # each unit's colour map centred on 0: white is a zero weight
        low, high = im.get_clim()
        assert high > 0 and low == -high, (low, high)


def test_plot_samples_shows_the_first_image_of_every_class():
    import matplotlib

    matplotlib.use("Agg")
    images, y = np.arange(20 * 64, dtype=float).reshape(20, 64), np.arange(20) % 10
    fig = mlp_utils.plot_samples(images, y, image_shape=(8, 8))
    axes = fig.get_axes()
    assert [ax.get_title() for ax in axes] == list(mlp_utils.DATASET.class_names)
    for label, ax in enumerate(axes):  # the first sample of each class: row `label`
        assert np.array_equal(ax.get_images()[0].get_array(), images[label].reshape(8, 8))


def test_signals_are_drawn_as_curves():
    """MNIST-1D's samples are signals: samples and mistakes are curves of their raw values, and the first
    layer's weights are filters drawn beside the ten templates."""
    import matplotlib

    matplotlib.use("Agg")
    assert mlp_utils.DATASET.is_signal
    rng = np.random.default_rng(0)
    signals, y = rng.normal(size=(30, 40)), np.arange(30) % 10
    fig = mlp_utils.plot_samples(signals, y)
    for label, ax in enumerate(fig.get_axes()):
        assert np.array_equal(ax.get_lines()[0].get_ydata(), signals[label]) and not ax.get_images()
    pred = y.copy()
    pred[:2] = (y[:2] + 1) % 10
    fig = mlp_utils.plot_diagnostics(signals, y, pred, rng.normal(size=(40, 12)))
    axes = {ax.get_title(): ax for ax in fig.get_axes()}
    assert np.array_equal(axes["1 → 2"].get_lines()[0].get_ydata(), signals[1])
    assert len(axes["class templates (noise-free)"].get_lines()) == 10
    t, shapes = mlp_utils.DATASET.templates()
    assert shapes.shape == (10, len(t))
    filters = [line for line in axes["first-layer weights\n(largest units)"].get_lines()
               if len(line.get_ydata()) == 40]
    assert len(filters) == 8
    for line in filters:  # each filter scaled to a largest |weight| of 1, drawn around its own zero line
        w = line.get_ydata()
        assert np.isclose(np.abs(w - np.round(w.mean() / 2.2) * 2.2).max(), 1.0)
    # with the weights before training, the filters are what training changed: here one smooth bump in a
    # single unit on top of a large random start, which the trained weights alone would drown
    start = rng.normal(size=(40, 12))
    bump = np.exp(-0.5 * ((np.arange(40) - 20) / 3.0) ** 2)
    trained = start.copy()
    trained[:, 5] += 4 * bump
    fig = mlp_utils.plot_diagnostics(signals, y, pred, trained, initial_first_layer=start)
    axes = {ax.get_title(): ax for ax in fig.get_axes()}
    changed = [line.get_ydata() for line in
               axes["first-layer change in training\n(largest units)"].get_lines()
               if len(line.get_ydata()) == 40]
    assert np.allclose(changed[0], bump / bump.max())  # the largest change drawn first
    assert all(np.ptp(w) == 0 for w in changed[1:])  # the other units did not change: flat lines


def test_figures_are_not_drawn_while_grading(monkeypatch, capsys):
    import matplotlib

    matplotlib.use("Agg")
    history = {"train_loss": [1.0, 0.5], "val_acc": [0.5, 0.7]}
    monkeypatch.setattr(mlp_utils, "GRADING", True)
    assert mlp_utils.plot_history(history) is None and mlp_utils.plot_samples(np.zeros((10, 64)), np.arange(10)) is None
    assert "plot_history: figures are not drawn while grading" in capsys.readouterr().out
    monkeypatch.setattr(mlp_utils, "GRADING", False)
    assert mlp_utils.plot_history(history).get_axes()


def test_linear_layers_come_in_the_order_forward_applies_them():
    """However a model holds and registers its layers, the first one found reads the input."""
    import torch
    from torch import nn

    class OutputFirst(nn.Module):  # registered output first, hidden layers in a ModuleList, relu a function
        def __init__(self):
            super().__init__()
            self.out = nn.Linear(4, 2)
            self.hidden = nn.ModuleList([nn.Linear(3, 5), nn.Linear(5, 4)])
            self.drop = nn.Dropout(0.5)

        def forward(self, x):
            for layer in self.hidden:
                x = self.drop(torch.relu(layer(x)))
            return self.out(x)

    model = OutputFirst().double()
    model.train()
    registered = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert [m.in_features for m in registered] == [4, 3, 5]
    applied = mlp_utils.linear_layers(model, 3)
    assert [(m.in_features, m.out_features) for m in applied] == [(3, 5), (5, 4), (4, 2)]
    assert model.training, "the model's mode is restored"
    assert all(not m._forward_pre_hooks for m in registered), "the hooks are removed"
    sequential = nn.Sequential(nn.Linear(6, 3), nn.ReLU(), nn.Linear(3, 2))
    assert mlp_utils.linear_layers(sequential, 6) == [sequential[0], sequential[2]]
