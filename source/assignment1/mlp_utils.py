"""Helpers for Assignment 1 (both notebooks): the dataset, gradient checking, plots, metrics.

You do not need to edit this file. Read it if you are curious: nothing in here solves an exercise.
"""
from __future__ import annotations

import ast
import functools
import inspect
import json
import os
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

# ---------------------------------------------------------------------------------------------
# Data: the dataset of this assignment is chosen in one place, DATASET below
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dataset:
    """One classification dataset of small grey images or 1-D signals, available offline.

    - name: short name, e.g. "digits"
    - load: function returning all samples (X, y): raw features of shape (N, H * W), labels of shape (N,)
    - image_shape: (H, W) for images, (L,) for signals; used to draw samples and first-layer weights
    - class_names: one name per class; the number of classes C is their count
    - accuracy_threshold: test accuracy the trained model must reach (hidden test and re-check); set from
      measured margins over seeds, see the assignment's accuracy benchmark
    - templates: for a generated dataset, a function returning (t, shapes): the noise-free shape of each
      class, shapes[c] drawn against positions t; shown beside the first-layer weights
    """
    name: str
    load: Callable[[], tuple]
    image_shape: tuple
    class_names: tuple
    accuracy_threshold: float
    templates: Callable[[], tuple] | None = None

    @property
    def is_signal(self) -> bool:
        """True for 1-D samples (image_shape (L,)), drawn as curves rather than images."""
        return len(self.image_shape) == 1

    @property
    def n_inputs(self) -> int:
        return int(np.prod(self.image_shape))

    @property
    def n_classes(self) -> int:
        return len(self.class_names)


def _digits():
    """scikit-learn's 1797 digits, read from the file the scikit-learn package ships (no download), without
    importing scikit-learn: that import alone costs each run of a notebook more than a second."""
    import gzip
    from importlib.util import find_spec

    package = find_spec("sklearn")  # finds the installed package without running it
    if package is None or not package.submodule_search_locations:
        raise ImportError("the digits ship with scikit-learn, which is not installed: "
                          "pip install -r requirements.txt")
    path = Path(package.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",")
    return table[:, :-1], table[:, -1].astype(np.int64)


def make_strokes(n: int = 3000, size: int = 8, noise: float = 0.25, seed: int = 0):
    """Images of one straight stroke, generated here (no file, no download).

    Each size x size image holds one stroke of 4 to `size` pixels at a random place: horizontal,
    vertical, diagonal or anti-diagonal (the 4 classes). Half of the strokes are bright on a dark
    background and half dark on a bright one, and Gaussian noise of std `noise` is added. Flipping the
    contrast keeps the class, and a linear score of -x is minus the score of x: no linear model does
    much better than chance, while one hidden layer of ReLUs can detect a stroke of either contrast.

    Returns (X, y): X float64 of shape (n, size * size), y int64 of shape (n,) with balanced classes.
    """
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % 4)
    X = np.zeros((n, size, size))
    for i, label in enumerate(y):
        length = int(rng.integers(4, size + 1))
        along = np.arange(length) + rng.integers(0, size - length + 1)  # position along the stroke
        if label in (0, 1):
            across = np.full(length, rng.integers(0, size))  # any row (column) for a straight stroke
            rows, cols = (across, along) if label == 0 else (along, across)
        else:
            shift = int(rng.integers(0, size - length + 1))
            rows = along
            cols = np.arange(length) + shift if label == 2 else shift + length - 1 - np.arange(length)
        X[i, rows, cols] = 1.0
    contrast = rng.choice([-1.0, 1.0], size=(n, 1, 1))
    X = contrast * X + noise * rng.normal(size=X.shape)
    return X.reshape(n, -1), y.astype(np.int64)


MNIST1D_FILE = Path(__file__).with_name("mnist1d.npz")


def make_mnist1d() -> dict:
    """MNIST-1D (Greydanus 2020), generated from its ten templates by the `mnist1d` package: no download.

    `make_dataset(get_dataset_args())` with the package's defaults (seed 42) builds 5000 signals of length
    40: each template padded, shifted, sheared, scaled, smoothed and noised at random. Rounded to float32.

    Returns a dict of arrays: X (5000, 40) and y (5000,) (the package's training and test samples together;
    load_split splits them again), t (40,): the positions of the samples along the signal, and
    templates (10, 12) with template_t (12,): the ten noise-free digit shapes.
    """
    from mnist1d.data import get_dataset_args, make_dataset

    data = make_dataset(get_dataset_args())
    return {"X": np.concatenate([data["x"], data["x_test"]]).astype(np.float32),
            "y": np.concatenate([data["y"], data["y_test"]]).astype(np.int64),
            "t": np.asarray(data["t"], dtype=np.float32),
            "templates": np.asarray(data["templates"]["x"], dtype=np.float32),
            "template_t": np.asarray(data["templates"]["t"], dtype=np.float32)}


def mnist1d_arrays() -> dict:
    """make_mnist1d()'s arrays, read from the copy the assignment ships (mnist1d.npz, 0.01 s) when it is
    there; generating them takes 2.5 s in every run of a notebook. A test checks the copy equals them."""
    if not MNIST1D_FILE.exists():
        return make_mnist1d()
    with np.load(MNIST1D_FILE) as data:
        return {key: data[key] for key in data.files}


def _mnist1d():
    data = mnist1d_arrays()
    return data["X"], data["y"]


def _mnist1d_templates():
    data = mnist1d_arrays()
    return data["template_t"], data["templates"]


DATASETS = {
    # 1797 scanned handwritten digits (scikit-learn). Easy: a linear model (no hidden layer) reaches about
    # 96% too, so on the digits the accuracy test shows that training works, not that the hidden layer helps.
    "digits": Dataset("digits", _digits, (8, 8), tuple(str(d) for d in range(10)), accuracy_threshold=0.93),
    # Generated strokes (make_strokes): a linear model stays near 30% (at most 33% over 10 seeds), the MLPs
    # of both notebooks reach 94.5-99%; the threshold leaves a margin of 9 points below the worst seed.
    # MNIST-1D (make_mnist1d), the default. Over 10 seeds a linear model reaches 28-32% (the paper: 32%) and
    # the MLPs of both notebooks 52.5-57.8% (the paper's MLP: 68%, with 4000 training samples where the split
    # here keeps 3000); the threshold is 7.5 points below the worst seed and 13 above the best linear one.
    "mnist1d": Dataset("mnist1d", _mnist1d, (40,), tuple(str(d) for d in range(10)), accuracy_threshold=0.45,
                       templates=_mnist1d_templates),
    "strokes": Dataset("strokes", make_strokes, (8, 8), ("horizontal", "vertical", "diagonal", "anti-diagonal"),
                       accuracy_threshold=0.85),
}

# The dataset of this assignment: both notebooks, their hidden tests and the grader's re-checks read it from
# here, so a course switches datasets by changing this one name.
DATASET = DATASETS["mnist1d"]


def load_split(seed: int = 0, val_fraction: float = 0.2, test_fraction: float = 0.2,
               path: str | None = None):
    """Load DATASET and split it into train / validation / test, stratified by class.

    If `path` names a local `.npz` file with arrays `X` (N, ...) and `y` (N,) (for example MNIST), that
    file is used instead of DATASET; grading never depends on it.

    The features are returned *raw* (pixel intensities), not standardised.

    Inputs:
    - seed: seed of the split; the same seed always gives the same split.
    - val_fraction, test_fraction: fractions of all samples in the validation and test sets.
    - path: optional path of an `.npz` file with `X` and `y`.

    Returns a tuple (X_train, y_train, X_val, y_val, X_test, y_test):
    - X_*: float64 arrays of shape (N_*, D)
    - y_*: int64 arrays of shape (N_*,) with labels in 0 .. C-1
    """
    if path is None:
        X, y = DATASET.load()
    else:
        with np.load(path) as data:
            X, y = data["X"], data["y"]
    X = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
    y = np.asarray(y, dtype=np.int64)

    rest, test = stratified_split(y, test_fraction, seed)
    X_rest, y_rest = X[rest], y[rest]
    train, val = stratified_split(y_rest, val_fraction / (1.0 - test_fraction), seed)
    return X_rest[train], y_rest[train], X_rest[val], y_rest[val], X[test], y[test]


def stratified_split(y: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (rest, test) of a random split of the samples with labels `y` in which every class keeps its
    share as closely as whole samples allow; ceil(test_fraction * N) samples go to the test side.

    It draws the same split as scikit-learn's `train_test_split(..., stratify=y, random_state=seed)`
    (a test compares them), computed with NumPy alone.
    """
    rng = np.random.RandomState(seed)
    n_test = int(np.ceil(test_fraction * len(y)))
    _, label_of = np.unique(y, return_inverse=True)
    counts = np.bincount(label_of)
    if counts.min() < 2:
        raise ValueError("every class needs at least 2 samples to be split")
    members = np.split(np.argsort(label_of, kind="mergesort"), np.cumsum(counts)[:-1])
    rest_counts = _apportion(counts, len(y) - n_test, rng)
    test_counts = _apportion(counts - rest_counts, n_test, rng)
    rest, test = [], []
    for indices, n_rest, n_test_class in zip(members, rest_counts, test_counts):
        shuffled = indices[rng.permutation(len(indices))]
        rest.extend(shuffled[:n_rest])
        test.extend(shuffled[n_rest:n_rest + n_test_class])
    return rng.permutation(rest), rng.permutation(test)


def _apportion(counts: np.ndarray, draws: int, rng: np.random.RandomState) -> np.ndarray:
    """`draws` samples shared out among classes of sizes `counts` in proportion: each class gets the whole
    part of its share, and the samples left over go to the largest fractional parts (ties drawn at random)."""
    share = counts / counts.sum() * draws
    taken = np.floor(share)
    left = int(draws - taken.sum())
    fraction = share - taken
    for value in np.sort(np.unique(fraction))[::-1]:
        if left == 0:
            break
        chosen = rng.choice(np.flatnonzero(fraction == value), size=min(left, int(np.sum(fraction == value))),
                            replace=False)
        taken[chosen] += 1
        left -= len(chosen)
    return taken.astype(int)


def load_standardized(seed: int = 0, path: str | None = None):
    """The split of `load_split`, standardised with scikit-learn's StandardScaler.

    The scaler is fitted on the training set only and then applied to all three sets, which is
    exactly what you implemented by hand in part 1. Used by the PyTorch notebook.
    """
    from sklearn.preprocessing import StandardScaler

    X_train, y_train, X_val, y_val, X_test, y_test = load_split(seed=seed, path=path)
    scaler = StandardScaler().fit(X_train)
    return (scaler.transform(X_train), y_train, scaler.transform(X_val), y_val,
            scaler.transform(X_test), y_test)


# ---------------------------------------------------------------------------------------------
# Gradient checking
# ---------------------------------------------------------------------------------------------


def rel_error(a, b) -> float:
    """Largest element-wise relative error max |a - b| / max(1e-8, |a| + |b|)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def numerical_gradient(f, x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Central-difference gradient of a scalar function f at x: (f(x+h) - f(x-h)) / 2h per element.

    `x` is modified in place during the evaluation and restored afterwards, so `f` may read it
    through a closure (for example a layer's weight matrix).
    """
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    while not it.finished:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        f_plus = float(f())
        x[i] = old - h
        f_minus = float(f())
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * h)
        it.iternext()
    return grad


def numerical_gradient_array(f, x: np.ndarray, dout: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Numerical gradient of sum(f() * dout) with respect to x, for an array-valued f.

    This is what a module's backward(dout) must return for the input x.
    """
    return numerical_gradient(lambda: np.sum(f() * dout), x, h)


def check_close(name: str, actual, expected, threshold: float, hint: str = "") -> None:
    """Print the relative error of `actual` against `expected` beside the threshold, then assert.

    Returns None on purpose: a test cell whose last line shows a number would be read by nbgrader as
    partial credit.
    """
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    if actual.shape != expected.shape:
        raise AssertionError(f"{name}: shape {actual.shape}, expected {expected.shape}. {hint}")
    if not np.all(np.isfinite(actual)):
        raise AssertionError(f"{name}: contains nan or inf. {hint}")
    err = rel_error(actual, expected)
    verdict = "ok" if err < threshold else "FAIL"
    print(f"{name:<42s} relative error {err:.2e}  (threshold {threshold:.0e})  {verdict}")
    assert err < threshold, f"{name}: relative error {err:.2e} >= {threshold:.0e}. {hint}"


# ---------------------------------------------------------------------------------------------
# Plots and metrics
# ---------------------------------------------------------------------------------------------


# The kit grades a notebook in a kernel with GRADEKIT_GRADING=1. No graded value depends on a figure, so
# grading draws none (drawing them is about a third of the NumPy notebook's running time); running the
# notebook yourself draws every one.
GRADING = os.environ.get("GRADEKIT_GRADING") == "1"


def figure(plot: Callable) -> Callable:
    """A function that draws a figure: while grading it draws nothing, says so in one line and returns None."""
    @functools.wraps(plot)
    def drawn_outside_grading(*args, **kwargs):
        if GRADING:
            print(f"[{plot.__name__}: figures are not drawn while grading; run the notebook to see this one]")
            return None
        return plot(*args, **kwargs)
    return drawn_outside_grading


def _draw_sample(ax, sample, image_shape, **style):
    """One raw sample on ax: an image for (H, W), a curve for a signal of shape (L,)."""
    sample = np.asarray(sample, dtype=float)
    if len(image_shape) == 1:
        ax.plot(sample, **style)
        ax.set_xticks([])
        ax.set_yticks([])
    else:
        ax.axis("off")
        ax.imshow(sample.reshape(image_shape), cmap="gray_r")


@figure
def plot_samples(images, labels, image_shape=None, class_names=None):
    """The first sample of every class, in a row, titled by its class name; returns the figure.

    - images: raw inputs of shape (N, H * W) (images) or (N, L) (signals, drawn as curves); labels: (N,)
    - image_shape, class_names: by default DATASET's
    """
    import matplotlib.pyplot as plt

    image_shape = image_shape or DATASET.image_shape
    class_names = class_names or DATASET.class_names
    images, labels = np.asarray(images), np.asarray(labels)
    fig, axes = plt.subplots(1, len(class_names), figsize=(10, 1.4), sharey=len(image_shape) == 1)
    for label, ax in enumerate(np.atleast_1d(axes)):
        if np.any(labels == label):
            _draw_sample(ax, images[labels == label][0], image_shape, color="black", linewidth=1)
        else:
            ax.axis("off")
        ax.set_title(class_names[label], fontsize=9)
    return fig


@figure
def plot_history(runs, title: str = ""):
    """Loss and accuracy per epoch, training and validation on shared axes; returns the figure.

    - runs: one history, or a dict {label: history} to compare several runs on the same axes. A history is
      a dict of per-epoch lists; the curves drawn are those of its keys 'train_loss', 'val_loss' (left)
      and 'train_acc', 'val_acc' (right): training solid, validation dashed.
    """
    import matplotlib.pyplot as plt

    if "train_loss" in runs or "val_acc" in runs:
        runs = {"": runs}
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.5))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, ((label, history), color) in enumerate(zip(runs.items(), colors * 3)):
        width = 4 if k == 0 and len(runs) > 1 else 1.5  # a run that another one matches stays visible under it
        for ax, metric in ((ax_loss, "loss"), (ax_acc, "acc")):
            for split, style in (("train", "-"), ("val", "--")):
                values = history.get(f"{split}_{metric}")
                if values is not None and len(values):
                    name = "training" if split == "train" else "validation"
                    ax.plot(np.arange(1, len(values) + 1), values, style, color=color, linewidth=width,
                            label=f"{label} {name}".strip(), marker="o" if len(values) <= 30 else None, markersize=3)
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title="Loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="Accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def confusion_matrix(y_true, y_pred, n_classes: int) -> np.ndarray:
    """counts[i, j]: how many samples of true class i were predicted as class j."""
    counts = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(counts, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return counts


@figure
def plot_diagnostics(images, y_true, y_pred, first_layer, title: str = "", image_shape=None, n_examples=8,
                     n_units=16, initial_first_layer=None):
    """What the trained network gets wrong and what its first layer looks for; returns the figure.

    - images: the raw inputs (not standardised, which can render blank), array of shape (N, H * W),
      e.g. the validation images
    - y_true, y_pred: true and predicted labels, arrays of shape (N,)
    - first_layer: the first linear layer's weights, array of shape (H * W, hidden): one column per unit
    - image_shape: (H, W), or (L,) for signals; by default DATASET.image_shape
    - initial_first_layer: the same weights before training, when at hand: the figure then shows what
      training changed (first_layer - initial_first_layer). After 20 epochs on MNIST-1D the trained weights
      still correlate 0.89 with their random start, so without it the filters show mostly that noise.
    Shows the confusion matrix, up to `n_examples` misclassified samples (true -> predicted) and what the
    first layer responds to: for images, the weights of the first `n_units` hidden units as images; for
    signals, the weights of the units with the largest ones as curves (1-D filters), beside the templates.
    """
    import matplotlib.pyplot as plt

    y_true, y_pred, first_layer = np.asarray(y_true), np.asarray(y_pred), np.asarray(first_layer)
    learned = "first-layer weights"
    if initial_first_layer is not None:
        first_layer, learned = first_layer - np.asarray(initial_first_layer), "first-layer change in training"
    image_shape = image_shape or DATASET.image_shape
    n_classes = max(int(max(y_true.max(), y_pred.max())) + 1, DATASET.n_classes)
    counts = confusion_matrix(y_true, y_pred, n_classes)
    wrong = np.flatnonzero(y_true != y_pred)
    fig = plt.figure(figsize=(10, 4.5), layout="constrained")
    left, right = fig.subfigures(1, 2, width_ratios=[1, 1.3])
    ax = left.subplots()
    ax.imshow(counts, cmap="Blues")
    for (i, j), count in np.ndenumerate(counts):
        if count:
            ax.text(j, i, str(count), ha="center", va="center", fontsize=7,
                    color="white" if count > counts.max() / 2 else "black")
    ax.set(xlabel="predicted", ylabel="true", xticks=range(n_classes), yticks=range(n_classes),
           title=f"Confusion matrix: {len(wrong)} of {len(y_true)} wrong")
    top, bottom = right.subfigures(2, 1, height_ratios=[1, 2])
    top.suptitle("misclassified (true → predicted)", fontsize=9)
    for a, index in zip(np.atleast_1d(top.subplots(1, n_examples)), list(wrong[:n_examples]) + [None] * n_examples):
        if index is None:
            a.axis("off")
            continue
        _draw_sample(a, np.asarray(images)[index], image_shape, color="black", linewidth=1)
        a.set_title(f"{y_true[index]} → {y_pred[index]}", fontsize=8)
    if len(image_shape) == 1:
        _plot_filters(bottom, first_layer, n_units, learned)
    else:
        bottom.suptitle(f"{learned}: the first hidden units", fontsize=9)
        for k, a in enumerate(np.ravel(bottom.subplots(2, max(1, n_units // 2)))):
            a.axis("off")
            if k < first_layer.shape[1]:
                # centred on 0, so that white means "ignores this pixel" and the two colours are the signs
                scale = float(np.abs(first_layer[:, k]).max()) or 1.0
                a.imshow(first_layer[:, k].reshape(image_shape), cmap="RdBu", vmin=-scale, vmax=scale)
    if title:
        fig.suptitle(title)
    return fig


def _plot_filters(figure_part, first_layer, n_units, learned="first-layer weights"):
    """For signals: the first-layer weights of the units with the largest weights as 1-D filters (curves over
    the input positions), beside the dataset's noise-free class templates, when it has them."""
    ax_templates, ax_filters = figure_part.subplots(1, 2)
    if DATASET.templates is not None:
        t, shapes = DATASET.templates()
        for label, shape in enumerate(shapes):
            ax_templates.plot(t, np.asarray(shape) + 0.6 * label, color="black", linewidth=1)
            ax_templates.text(t[-1], 0.6 * label, f" {DATASET.class_names[label]}", va="center", fontsize=7)
        ax_templates.set(title="class templates (noise-free)", xticks=[], yticks=[])
    else:
        ax_templates.axis("off")
    strongest = np.argsort(-np.abs(first_layer).max(axis=0))[:min(n_units, 8)]
    for rank, k in enumerate(strongest):
        w = first_layer[:, k] / (np.abs(first_layer[:, k]).max() or 1.0)  # each filter scaled to [-1, 1]
        ax_filters.plot(w - 2.2 * rank, linewidth=1)
        ax_filters.axhline(-2.2 * rank, color="grey", linewidth=0.5)  # the filter's zero line
    ax_filters.set(title=f"{learned}\n(largest units)", xlabel="input position", yticks=[])


def linear_layers(model, n_inputs: int) -> list:
    """The `nn.Linear` layers of a PyTorch model in the order its forward pass applies them, found by
    running it once (in evaluation mode, without gradients) on one row of zeros. However the layers are
    held (`nn.Sequential`, `nn.ModuleList`, attributes) and in whatever order they were registered, the
    first one returned is the one that reads the input and the last one writes the logits.

    Inputs:
    - model: an nn.Module whose forward takes a batch of shape (N, n_inputs)
    - n_inputs: D, the number of input features
    """
    import torch

    applied = []
    hooks = [m.register_forward_pre_hook(lambda module, _inputs: applied.append(module))
             for m in model.modules() if isinstance(m, torch.nn.Linear)]
    first = next(model.parameters(), None)
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, n_inputs, dtype=first.dtype if first is not None else torch.float32,
                              device=first.device if first is not None else "cpu"))
    finally:
        model.train(was_training)
        for hook in hooks:
            hook.remove()
    return applied


def count_code_lines(*objects) -> int:
    """Lines of code in functions and classes, without docstrings, comments and blank lines.

    Counted on the normalised source (`ast.unparse`), so formatting style does not change the
    count. Used to compare how much code each notebook needed.
    """
    total = 0
    for obj in objects:
        functions = [v for v in vars(obj).values() if inspect.isfunction(v)] if inspect.isclass(obj) else [obj]
        for fn in functions:
            tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
            node = tree.body[0]
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
                    and isinstance(body[0].value.value, str):
                body = body[1:]
            total += sum(len(ast.unparse(stmt).splitlines()) for stmt in body)
    return total


def save_metrics(path, **metrics) -> None:
    """Write metrics (numbers, lists of numbers, strings) to a JSON file."""
    def plain(v):
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, (list, tuple, np.ndarray)):
            return [plain(x) for x in v]
        if isinstance(v, np.generic):
            return v.item()
        return v

    Path(path).write_text(json.dumps(plain(metrics), indent=2))


def load_metrics(path):
    """Read metrics written by save_metrics; None when the file does not exist."""
    path = Path(path)
    if not path.exists():
        return None
    return json.loads(path.read_text())
