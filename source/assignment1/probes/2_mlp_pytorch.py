"""Trusted re-check of 2_mlp_pytorch.ipynb (instructor only: in CourseDirectory.ignore, never released).

Same contract as probes/1_mlp_numpy.py: probes run in the student's kernel after the notebook on inputs
from the batch's secret seed and return plain arrays; checks run in the grader's process against the
reference's results. Parameters are copied into every nn.Linear in order, so every correct architecture
gives the same numbers whatever its module names.

`probe(grade_id)`, `check(grade_id)`, `batch_rng(*key)` and `batch_seed(*key)` are defined by
gradekit/plugins/trusted.py (its PRELUDE) before this file runs, in the kernel and in the grader alike; the
import below only tells editors and linters about them (gradekit/plugins/probe_api.py).
"""
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from shared import accuracy_of, recorded_forward

    from gradekit.plugins.probe_api import batch_rng, batch_seed, check, probe

# Outputs computed in float32: rounding differs between CPUs and PyTorch builds by about 1e-7 relative
# (measured 2026-11-27: the CPU reference against a GPU machine's CPU failed 1e-6); bugs change them by O(1).
DEFAULT_TOLERANCE = (1e-5, 1e-5)


def _is_number(value):
    """What the notebook's tests accept as a returned number: float, int or NumPy scalar, not a tensor."""
    import numbers

    import torch

    return isinstance(value, numbers.Real) and not isinstance(value, (torch.Tensor, np.ndarray))


def _linears(model, n_inputs=None):
    """The model's nn.Linear layers: for a student's MLP (n_inputs given) in the order its forward applies
    them, as the notebook's tests find them (mlp_utils.linear_layers, of which this is the grader's own
    copy); for the probes' own models, which never register out of order, in registration order."""
    import torch
    import torch.nn as nn

    if n_inputs is None:
        return [m for m in model.modules() if isinstance(m, nn.Linear)]
    applied = []
    hooks = [m.register_forward_pre_hook(lambda module, _inputs: applied.append(module))
             for m in model.modules() if isinstance(m, nn.Linear)]
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


def _set_params(model, *key, n_inputs=None):
    import torch

    draw = batch_rng(*key)
    with torch.no_grad():
        for layer in _linears(model, n_inputs):
            layer.weight.copy_(torch.as_tensor(draw.normal(size=tuple(layer.weight.shape)) /
                                               np.sqrt(layer.weight.shape[1])))
            layer.bias.copy_(torch.as_tensor(draw.normal(size=tuple(layer.bias.shape))))
    return model


def _model(sizes):
    """The specified architecture built here, not with the student's MLP: the training-loop probes judge
    the loop alone, as the notebook's tests do."""
    import torch.nn as nn

    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers += [nn.Linear(a, b)] + ([nn.ReLU()] if i < len(sizes) - 2 else [])
    return nn.Sequential(*layers)


def _weights(model, prefix="", n_inputs=None):
    out = {}
    for i, layer in enumerate(_linears(model, n_inputs)):
        out[f"{prefix}W{i}"] = layer.weight.detach().cpu().double().numpy()
        out[f"{prefix}b{i}"] = layer.bias.detach().cpu().double().numpy()
    return out


def _loader(key, n=30, d=5, c=3, batch_size=7):
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    g = torch.Generator().manual_seed(batch_seed(*(key if isinstance(key, tuple) else (key,))))
    x = torch.randn(n, d, generator=g)
    y = torch.randint(0, c, (n,), generator=g)
    x[torch.arange(n), y] += 2.0
    return DataLoader(TensorDataset(x, y), batch_size=batch_size)


def _logits(arrays, x, prefix=""):
    """Forward pass of the specified architecture with recorded weights (PyTorch's (out, in) layout)."""
    ws = [arrays[f"{prefix}W{i}"] for i in range(99) if f"{prefix}W{i}" in arrays]
    return recorded_forward([w.T for w in ws], [arrays[f"{prefix}b{i}"] for i in range(len(ws))], x)


def _accuracy(arrays, x, y, prefix=""):
    return accuracy_of(_logits(arrays, x, prefix), y)


@probe("test_make_loaders")
def probe_make_loaders(ns):
    rng = batch_rng(2011)
    xs = [rng.normal(size=(n, 3)) for n in (17, 6, 5)]
    ys = [rng.integers(0, 4, size=n) for n in (17, 6, 5)]
    args = (xs[0], ys[0], xs[1], ys[1], xs[2], ys[2])
    a, b, c = (ns["make_loaders"](*args, batch_size=4, seed=s) for s in (8, 8, 9))
    out = {}
    for name, loaders in (("a", a), ("b", b), ("c", c)):
        out[f"{name}_train_x"] = np.concatenate([x.numpy() for x, _ in loaders[0]])
    out["a_train_x_epoch2"] = np.concatenate([x.numpy() for x, _ in a[0]])
    out["a_train_y"] = np.concatenate([y.numpy() for _, y in a[0]])
    for i, name in ((1, "val"), (2, "test")):
        out[f"{name}_x"] = np.concatenate([x.numpy() for x, _ in a[i]])
        out[f"{name}_y"] = np.concatenate([y.numpy() for _, y in a[i]])
    return out


@check("test_make_loaders")
def check_make_loaders(got, ref):
    x = got["a_train_x"]
    if x.dtype != np.float32 or got["a_train_y"].dtype != np.int64 or got["val_y"].dtype != np.int64:
        return "inputs must be float32 and labels int64"
    if not np.array_equal(x, got["b_train_x"]) or np.array_equal(x, got["c_train_x"]):
        return "shuffle the training loader with a torch.Generator seeded with `seed`"
    if np.array_equal(x, got["a_train_x_epoch2"]):
        return "the training loader must reshuffle every epoch"
    if x.shape != (17, 3) or not np.array_equal(np.sort(x, axis=0), np.sort(ref["a_train_x"], axis=0)):
        return "the training loader must serve each training sample once per epoch"
    for name in ("val_x", "val_y", "test_x", "test_y"):
        if got[name].shape != ref[name].shape or not np.allclose(got[name], ref[name], atol=1e-6):
            return "the validation and test loaders serve their own set, in order"
    return None


@probe("test_mlp_structure")
def probe_mlp_structure(ns):
    import torch

    out = {}
    for i, (d, hidden, c) in enumerate([(6, [], 5), (4, [7, 3], 2)]):
        model = ns["MLP"](d, hidden, c)
        applied = _linears(model, d)
        out[f"shapes{i}"] = np.array([s for layer in applied for p in (layer.weight, layer.bias)
                                      for s in (list(p.shape) + [0])[:2]])
        out[f"requires_grad{i}"] = np.array([p.requires_grad for p in model.parameters()])
        # model.parameters() holds exactly the applied layers' weights and biases (the notebook's `registered`)
        held = [id(p) for p in model.parameters()]
        out[f"registered{i}"] = np.array(len(held) == len(set(held)) and set(held) == {
            id(p) for layer in applied for p in (layer.weight, layer.bias)})
        with torch.no_grad():  # the notebook's test runs a forward pass too
            out[f"output_shape{i}"] = np.array(model(torch.zeros(17, d)).shape)
    return out


@probe("test_mlp_returns_logits")
def probe_mlp_returns_logits(ns):
    import torch

    out = {}
    for i, hidden in enumerate(([], [5], [6, 4])):
        model = _set_params(ns["MLP"](4, hidden, 3), 2021 + i, n_inputs=4)
        # the output layer (the one Linear with 3 outputs) gets a first logit below 0 and a second above 1
        # for every input (the layer's input is >= 0: a ReLU's output or, without hidden layers, |x|), so
        # that a softmax, sigmoid or ReLU after it shows whatever the seed draws
        x = batch_rng(2031, i).normal(scale=3.0, size=(8, 4))
        with torch.no_grad():
            for layer in _linears(model, 4):
                if layer.out_features == 3:
                    layer.weight[0].copy_(-layer.weight[0].abs())
                    layer.bias[0] = -1.0 - layer.bias[0].abs()
                    layer.weight[1].copy_(layer.weight[1].abs())
                    layer.bias[1] = 2.0 + layer.bias[1].abs()
            out[f"logits{i}"] = model(torch.as_tensor(np.abs(x) if not hidden else x,
                                                      dtype=torch.float32)).double().numpy()
    return out


@check("test_mlp_returns_logits")
def check_mlp_returns_logits(got, ref):
    for key in ref:
        logits = got[key]
        if logits.shape != ref[key].shape:
            return "the output has the wrong shape"
        if np.allclose(logits.sum(axis=1), 1.0, atol=1e-3) or not ((logits < 0).any() and (logits > 1).any()):
            return "outputs must be unbounded logits: no softmax (or ReLU) after the last layer"
    return None


@probe("test_load_numpy_weights")
def probe_load_numpy_weights(ns):
    import torch

    rng, out = batch_rng(2041), {}
    for i, (d, hidden, c) in enumerate([(5, [], 3), (4, [4, 4], 4), (7, [2], 5)]):
        sizes = [d] + hidden + [c]
        params = [(rng.normal(size=(a, b)), rng.normal(size=b)) for a, b in zip(sizes[:-1], sizes[1:])]
        model = ns["MLP"](d, hidden, c)
        ns["load_numpy_weights"](model, params)
        with torch.no_grad():
            out[f"out{i}"] = model(torch.as_tensor(rng.normal(size=(6, d)), dtype=torch.float32)).double().numpy()
    return out


@probe("test_linear_function")
def probe_linear_function(ns):
    import torch

    g = torch.Generator().manual_seed(batch_seed(2051))
    x = torch.randn(6, 3, dtype=torch.float64, generator=g, requires_grad=True)
    w = torch.randn(4, 3, dtype=torch.float64, generator=g, requires_grad=True)
    b = torch.randn(4, dtype=torch.float64, generator=g, requires_grad=True)
    up = torch.randn(6, 4, dtype=torch.float64, generator=g)
    y = ns["LinearFunction"].apply(x, w, b)
    grads = torch.autograd.grad((y * up).sum(), (x, w, b))
    return {"y": y.detach().numpy(), "dx": grads[0].numpy(), "dw": grads[1].numpy(), "db": grads[2].numpy()}


@probe("test_train_one_epoch")
def probe_train_one_epoch(ns):
    import torch
    import torch.nn as nn

    out = {}
    for name, make in (("sgd", lambda p: torch.optim.SGD(p, lr=0.2)),
                       ("adam", lambda p: torch.optim.Adam(p, lr=0.05))):
        torch.manual_seed(batch_seed(2061))
        model = nn.Sequential(nn.Dropout(0.2), _set_params(_model([5, 6, 3]), 2062))
        model.eval()  # train_one_epoch must switch to training mode: dropout then changes the result
        # batches of equal size (4 x 7), as in the notebook's tests: the mean of the batch losses and the
        # mean over samples, which the instructions both accept, are then the same number
        loss = ns["train_one_epoch"](model, _loader(2063, n=28), make(model.parameters()), nn.CrossEntropyLoss(),
                                     torch.device("cpu"))
        out[f"{name}_is_number"] = np.array(_is_number(loss))
        out[f"{name}_loss"] = np.float64(loss if _is_number(loss) else np.nan)
        out.update(_weights(model, f"{name}_"))
    return out


@check("test_train_one_epoch")
def check_train_one_epoch(got, ref):
    for name in ("sgd", "adam"):
        if not got[f"{name}_is_number"]:
            return "train_one_epoch must return a number (e.g. from loss.item()), not a tensor"
    for key in ref:
        if got.get(key) is None or got[key].shape != ref[key].shape or not np.allclose(got[key], ref[key],
                                                                                         rtol=1e-4, atol=1e-5):
            return ("one epoch of training gave other parameters or another mean loss than expected: "
                    "model.train(), then zero_grad, forward, backward, step for every batch")
    return None


@probe("test_evaluate")
def probe_evaluate(ns):
    import torch
    import torch.nn as nn

    class Recorder(nn.Module):
        """Identity layer noting, at each forward call, the mode and whether autograd is on."""
        def __init__(self):
            super().__init__()
            self.calls = []

        def forward(self, x):
            self.calls.append((self.training, torch.is_grad_enabled()))
            return x

    class NoGraph(nn.Module):
        """Identity in eval mode under no_grad; anything else makes the forward pass fail, so the result
        itself shows how evaluate ran (the Recorder's notes are kernel data, and could be rewritten)."""
        def forward(self, x):
            if torch.is_grad_enabled():
                raise RuntimeError("evaluate must run under torch.no_grad()")
            return x

    out = {}
    for i in range(3):
        # in training mode the dropout changes the predictions: the accuracy shows whether eval() ran
        model = nn.Sequential(Recorder(), nn.Dropout(0.5), NoGraph(), _set_params(_model([5, 4, 3]), 2071, i))
        model.train()
        before = _weights(model)
        torch.manual_seed(batch_seed(2073, i))
        acc = ns["evaluate"](model, _loader((2072, i), n=23, batch_size=5), torch.device("cpu"))
        out[f"acc{i}"] = np.float64(acc)
        out[f"calls{i}"] = np.array(model[0].calls, dtype=bool).reshape(-1, 2)
        out.update({f"change{i}_{k}": v - before[k] for k, v in _weights(model).items()})
    return out


@check("test_evaluate")
def check_evaluate(got, ref):
    for i in range(3):
        if not abs(float(got[f"acc{i}"]) - float(ref[f"acc{i}"])) <= 1e-6:  # nan fails too
            return ("the accuracy differs: call model.eval() and torch.no_grad(), count the correct samples "
                    "over all batches, divide by the number of samples")
        if got[f"calls{i}"].size == 0 or got[f"calls{i}"][:, 0].any():
            return "evaluate must call model.eval()"
        if got[f"calls{i}"][:, 1].any():
            return "evaluate must run under torch.no_grad()"
    if any(np.any(got[k] != 0) for k in ref if k.startswith("change")):
        return "evaluate must not change the parameters"
    return None


@probe("test_fit")
def probe_fit(ns):
    import torch
    import torch.nn as nn
    from torch.utils.data import DataLoader, TensorDataset

    # the notebook's hidden fit fixture: fixed starting parameters, a validation curve that peaks at epoch 1
    g = torch.Generator().manual_seed(21)
    xt = torch.randn(60, 4, generator=g)
    yt = (xt[:, 0] > 0).long()
    xv = torch.randn(40, 4, generator=g)
    yv = torch.where(torch.arange(40) < 20, (xv[:, 0] <= 0).long(), (xv[:, 0] > 0).long())
    model = _model([4, 6, 2])
    start = np.random.default_rng(3)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.as_tensor(start.normal(scale=0.5, size=tuple(p.shape)), dtype=torch.float32))
    history = ns["fit"](model, DataLoader(TensorDataset(xt, yt), batch_size=10),
                        DataLoader(TensorDataset(xv, yv), batch_size=16),
                        torch.optim.SGD(model.parameters(), lr=0.1), nn.CrossEntropyLoss(), torch.device("cpu"), 6)
    out = _weights(model)
    out["numbers"] = np.array(all(_is_number(v) for v in list(history["train_loss"]) + list(history["val_acc"])))
    out["train_loss_entries"] = len(history["train_loss"])
    out["val_acc"] = np.array([float(v) if _is_number(v) else np.nan for v in history["val_acc"]])
    out["best_epoch"] = int(history["best_epoch"])
    out["xv"], out["yv"] = xv.double().numpy(), yv.numpy()
    return out


@check("test_fit")
def check_fit(got, ref):
    if not np.array_equal(got["xv"], ref["xv"]) or not np.array_equal(got["yv"], ref["yv"]):
        return "fit must not change the data it is given"
    if got["val_acc"].shape != (6,) or int(got["train_loss_entries"]) != 6:
        return "one training loss and one validation accuracy per epoch"
    if not got["numbers"]:
        return "the history must hold numbers, not tensors"
    best = int(got["best_epoch"])
    if not 0 <= best < 6 or got["val_acc"][best] != got["val_acc"].max():
        return "best_epoch must be an epoch with the highest validation accuracy"
    # as strict as the notebook's test, which this check must never be laxer than: the accuracy the grader
    # computes for the returned parameters is the best reported (the history itself is the kernel's report)
    if not abs(_accuracy(got, ref["xv"], ref["yv"]) - got["val_acc"].max()) <= 1e-6:
        return "the returned model must hold the parameters of the best epoch, measured on val_loader"
    return None


@probe("test_final_accuracy")
def probe_final_accuracy(ns):
    from mlp_utils import DATASET, load_standardized

    _, _, _, _, x_te, y_te = load_standardized(seed=0)
    # the test set and threshold are recorded too: the check uses the reference run's copies, never the student's
    return {**_weights(ns["model"], n_inputs=x_te.shape[1]), "x_test": x_te, "y_test": y_te,
            "threshold": DATASET.accuracy_threshold}


@check("test_final_accuracy")
def check_final_accuracy(got, ref):
    threshold = float(ref["threshold"])
    if _accuracy(got, ref["x_test"], ref["y_test"]) < threshold:
        return f"the trained model's test accuracy is below {threshold}"
    return None
