"""Trusted re-check of 1_mlp_numpy.ipynb (instructor only: in CourseDirectory.ignore, never released).

Each `probe` runs in the student's kernel after the whole notebook has run. It calls the student's code
on inputs drawn from the batch's secret seed (`batch_rng(key)`) and returns plain arrays. The grader
computes the same probes with the same seed on the reference solution, sandboxed, and each `check` (or
the default: same keys, same shapes, finite, equal within tolerance) decides in the grader's own process
whether the graded cell keeps its points. A check compares the kernel's arrays with the reference's, or
with what the grader computes itself from them (the accuracy of returned weights): never two numbers
that both came from the kernel. No expected value ever enters the student's kernel. See
gradekit/plugins/trusted.py and docs/security.md.

`probe(grade_id)`, `check(grade_id)`, `batch_rng(*key)` and `batch_seed(*key)` are defined by
gradekit/plugins/trusted.py (its PRELUDE) before this file runs, in the kernel and in the grader alike; the
import below only tells editors and linters about them (gradekit/plugins/probe_api.py).
"""
import numbers
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from shared import accuracy_of, recorded_forward

    from gradekit.plugins.probe_api import batch_rng, check, probe



# ------------------------------------------------------------------------------------------------
# Helpers used in the kernel: parameters are set explicitly, so every correct init gives the same values.
# ------------------------------------------------------------------------------------------------

def _linear(ns, d_in, d_out, rng):
    layer = ns["LinearModule"](d_in, d_out, np.random.default_rng(0))
    layer.params["weight"] = rng.normal(size=(d_in, d_out))
    layer.params["bias"] = rng.normal(size=d_out)
    return layer


def _linear_layers(model):
    """The linear layers as the notebook's tests take them: the modules whose params hold a weight (a ReLU
    may carry empty params and grads)."""
    return [layer for layer in model.layers if "weight" in getattr(layer, "params", {})]


def _mlp(ns, d, hidden, c, rng):
    model = ns["MLP"](d, list(hidden), c, np.random.default_rng(0))
    for layer in _linear_layers(model):
        w = layer.params["weight"]
        layer.params = {"weight": rng.normal(size=np.shape(w)) / np.sqrt(np.shape(w)[0]),
                        "bias": rng.normal(size=np.shape(layer.params["bias"]))}
    return model


def _stand_in(ns, rng, shapes, with_grads=True):
    """[Linear, ReLU, Linear, ...] with parameters (and gradients) drawn here, as the notebook's tests do."""
    import types

    layers = []
    for k, (d_in, d_out) in enumerate(shapes):
        layer = ns["LinearModule"](d_in, d_out, np.random.default_rng(0))
        layer.params = {"weight": rng.normal(size=(d_in, d_out)), "bias": rng.normal(size=d_out)}
        if with_grads:
            layer.grads = {key: rng.normal(size=np.shape(v)) for key, v in layer.params.items()}
        layers += [layer] if k == len(shapes) - 1 else [layer, ns["ReLUModule"]()]
    return types.SimpleNamespace(layers=layers)


def _weights(model):
    out = {}
    for i, layer in enumerate(_linear_layers(model)):
        out[f"W{i}"], out[f"b{i}"] = layer.params["weight"], layer.params["bias"]
    return out


def _gradient_check(got, ref, prefix=""):
    """Every gradient g{i} equals the reference solution's on the same inputs and parameters (the grader
    never compares two numbers that both came from the student's kernel)."""
    for key in ref:
        if not key.startswith(prefix + "g"):
            continue
        g = got.get(key)
        if g is None or g.shape != ref[key].shape or g.dtype.kind not in "biuf":
            return "a gradient has the wrong shape or is missing"
        # written so that nan or inf fails (every comparison with nan is False)
        if not np.all(np.abs(g - ref[key]) <= 1e-6 * (1.0 + np.abs(ref[key]))):
            return "a gradient differs from the gradient of the specified forward pass"
    return None


def _probabilities(rng, n, c, low=0.05):
    p = rng.uniform(low, 1.0, size=(n, c))
    return p / p.sum(axis=1, keepdims=True)


def _small_problem(key, n=60, d=5, c=3):
    draw = batch_rng(key)
    x, y = draw.normal(size=(n, d)), draw.integers(0, c, size=n)
    x[np.arange(n), y] += 2.0
    return x, y


# ------------------------------------------------------------------------------------------------
# Helpers used only by the checks, in the grader's process.
# ------------------------------------------------------------------------------------------------

def _plain_float(a):
    return a.dtype.kind in "biuf" and bool(np.all(np.isfinite(a)))


def _stack(arrays, prefix):
    return [arrays[f"{prefix}W{i}"] for i in range(99) if f"{prefix}W{i}" in arrays], \
           [arrays[f"{prefix}b{i}"] for i in range(99) if f"{prefix}b{i}" in arrays]


def _logits(arrays, x, prefix=""):
    """Forward pass of the specified architecture (Linear, ReLU, ..., Linear) with recorded weights."""
    return recorded_forward(*_stack(arrays, prefix), x)


def _mean_loss(arrays, x, y, prefix=""):
    """Mean cross-entropy of the specified forward pass with recorded weights."""
    z = _logits(arrays, x, prefix)
    z = z - z.max(axis=1, keepdims=True)
    return float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(y)), y]))


def _accuracy(arrays, x, y, prefix=""):
    return accuracy_of(_logits(arrays, x, prefix), y)


# ------------------------------------------------------------------------------------------------
# Probes and checks, one per graded cell
# ------------------------------------------------------------------------------------------------

@probe("test_standardize")
def probe_standardize(ns):
    rng = batch_rng(1011)
    tr = rng.normal(2.0, 3.0, size=(23, 6))
    tr[:, 2] = -4.0
    tr[:, 5] = rng.normal(0.0, 0.2, size=23)
    va, te = rng.normal(size=(5, 6)), rng.normal(-1.0, 5.0, size=(4, 6))
    out = ns["standardize"](tr, va, te)
    return {"train": out[0], "val": out[1], "test": out[2], "inputs_after": np.concatenate([tr, va, te])}


@probe("test_linear_init")
def probe_linear_init(ns):
    out = {}
    for d_in, d_out in [(800, 9), (17, 300)]:
        layer = ns["LinearModule"](d_in, d_out, np.random.default_rng(d_in + 5))
        out[f"weight_{d_in}"], out[f"bias_{d_in}"] = layer.params["weight"], layer.params["bias"]
    for name, seed in (("seed13_a", 13), ("seed13_b", 13), ("seed14", 14)):
        out[name] = ns["LinearModule"](6, 5, np.random.default_rng(seed)).params["weight"]
    return out


@check("test_linear_init")
def check_linear_init(got, ref):
    for d_in, d_out in [(800, 9), (17, 300)]:
        w, b = got[f"weight_{d_in}"], got[f"bias_{d_in}"]
        if w.shape != (d_in, d_out) or b.shape != (d_out,):
            return f"parameter shapes for LinearModule({d_in}, {d_out})"
        if not (abs(w.std() / np.sqrt(2.0 / d_in) - 1) <= 0.08 and abs(w.mean()) <= 6 * np.sqrt(2.0 / d_in / w.size)):
            return f"Kaiming initialisation for LinearModule({d_in}, {d_out})"
        if np.any(b != 0) or np.unique(w, axis=1).shape[1] != d_out:
            return "biases start at 0 and the columns of W differ"
    if not np.array_equal(got["seed13_a"], got["seed13_b"]) or np.array_equal(got["seed13_a"], got["seed14"]):
        return "draw the weights from the rng passed in"
    return None


@probe("test_linear_forward")
def probe_linear_forward(ns):
    rng, out = batch_rng(1021), {}
    for i, (n, d_in, d_out) in enumerate([(6, 4, 9), (1, 7, 3)]):
        layer, x = _linear(ns, d_in, d_out, rng), rng.normal(size=(n, d_in))
        out[f"y{i}"], out[f"x{i}_after"] = layer.forward(x), x
    return out


@probe("test_linear_backward")
def probe_linear_backward(ns):
    rng, out = batch_rng(1031), {}
    for i, (n, d_in, d_out) in enumerate([(5, 8, 3), (1, 2, 6)]):
        layer, x, d = _linear(ns, d_in, d_out, rng), rng.normal(size=(n, d_in)), rng.normal(size=(n, d_out))
        out[f"{i}y"] = layer.forward(x)  # the notebook's test checks backward against this forward pass
        out[f"{i}g0"] = layer.backward(d)
        out[f"{i}g1"], out[f"{i}g2"] = layer.grads["weight"], layer.grads["bias"]
    return out


def _forward_matches(got, ref, keys, what):
    """The cell's tests check a backward pass against the student's forward pass: a wrong forward fails them."""
    for key in keys:
        if got.get(key) is None or got[key].shape != ref[key].shape or not np.allclose(got[key], ref[key]):
            return f"the gradient is checked against your {what}, which gives another result than specified"
    return None


@check("test_linear_backward")
def check_linear_backward(got, ref):
    failed = _forward_matches(got, ref, ["0y", "1y"], "forward pass")
    if failed:
        return failed
    return _gradient_check(got, ref, "0") or _gradient_check(got, ref, "1")


@probe("test_linear_backward_state")
def probe_linear_backward_state(ns):
    rng = batch_rng(1041)
    layer = _linear(ns, 4, 6, rng)
    x, d, x2, d2 = (rng.normal(size=s) for s in ((7, 4), (7, 6), (2, 4), (2, 6)))
    layer.forward(x)
    layer.backward(d)
    out = {"dW_first": np.array(layer.grads["weight"]), "db_first": np.array(layer.grads["bias"])}
    for _ in range(2):
        layer.forward(x)
        layer.backward(d)
    out.update({"dW_third": np.array(layer.grads["weight"]), "db_third": np.array(layer.grads["bias"])})
    layer.forward(x2)
    out["dx_latest"] = layer.backward(d2)
    out["dW_latest"] = layer.grads["weight"]
    out["inputs_after"] = np.concatenate([x.ravel(), d.ravel(), x2.ravel(), d2.ravel()])
    return out


@check("test_linear_backward_state")
def check_linear_backward_state(got, ref):
    # judged on the weight gradient against the reference's (a wrong bias formula is the other tests' job)
    first, third = got["dW_first"], got["dW_third"]
    if (first.shape != ref["dW_first"].shape or third.shape != first.shape
            or not np.allclose(first, ref["dW_first"]) or not np.allclose(third, ref["dW_third"])):
        return "backward must set the gradients (=), not add to them (+=)"
    if not np.array_equal(got["inputs_after"], ref["inputs_after"]):
        return "forward/backward must not modify x or dout"
    if got["dW_latest"].shape != ref["dW_latest"].shape or not np.allclose(got["dW_latest"], ref["dW_latest"]):
        return "backward must use the input of the most recent forward call"
    if got["dx_latest"].shape != ref["dx_latest"].shape:
        return "dx has the shape of x"
    return None


@probe("test_relu")
def probe_relu(ns):
    rng = batch_rng(1051)
    x, d = rng.normal(size=(3, 11)), rng.normal(size=(3, 11))
    relu = ns["ReLUModule"]()
    out = {"y": relu.forward(x)}
    out["g0"] = relu.backward(d)
    out["x_after"] = x
    return out


@check("test_relu")
def check_relu(got, ref):
    if got["y"].shape != ref["y"].shape or not np.allclose(got["y"], ref["y"], rtol=1e-12, atol=1e-12):
        return "relu forward"
    if not np.array_equal(got["x_after"], ref["x_after"]):
        return "relu must not change its input in place (the gradient check then sees other inputs)"
    return _gradient_check(got, ref)


@probe("test_relu_no_mutation")
def probe_relu_no_mutation(ns):
    rng = batch_rng(1052)
    x, d = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
    relu = ns["ReLUModule"]()
    relu.forward(x)
    dx = relu.backward(d)
    return {"dx": dx, "inputs_after": np.concatenate([x, d])}


@probe("test_softmax_forward")
def probe_softmax_forward(ns):
    z = batch_rng(1061).normal(scale=4.0, size=(6, 3))
    return {"s": ns["SoftMaxModule"]().forward(z), "z_after": z}


@probe("test_softmax_stability")
def probe_softmax_stability(ns):
    z = np.array([[-800.0, 790.0, 800.0], [3.0, 2.0, 1.0], [-1e4, -1e4 + 2, -1e4 + 1]])
    return {"s": ns["SoftMaxModule"]().forward(z)}


@probe("test_softmax_backward")
def probe_softmax_backward(ns):
    rng = batch_rng(1071)
    z, d = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    softmax = ns["SoftMaxModule"]()
    softmax.forward(z)
    return {"g0": softmax.backward(d), "d_after": d}


@check("test_softmax_backward")
def check_softmax_backward(got, ref):
    if not np.array_equal(got["d_after"], ref["d_after"]):
        return "softmax backward modified dout in place"
    return _gradient_check(got, ref)


@probe("test_cross_entropy")
def probe_cross_entropy(ns):
    rng = batch_rng(1081)
    p, y = _probabilities(rng, 8, 5), rng.integers(0, 5, size=8)
    return {"loss": ns["CrossEntropyModule"]().forward(p, y), "p_after": p}


@probe("test_cross_entropy_backward")
def probe_cross_entropy_backward(ns):
    rng = batch_rng(1091)
    p, y = _probabilities(rng, 6, 7, low=0.1), rng.integers(0, 7, size=6)
    ce = ns["CrossEntropyModule"]()
    return {"loss": ce.forward(p, y), "g0": ce.backward(p, y)}


@check("test_cross_entropy_backward")
def check_cross_entropy_backward(got, ref):
    return _forward_matches(got, ref, ["loss"], "loss (forward)") or _gradient_check(got, ref)


@probe("test_cross_entropy_stability")
def probe_cross_entropy_stability(ns):
    p, y = np.array([[0.0, 1.0], [0.3, 0.7], [1.0, 0.0]]), np.array([0, 1, 1])
    ce = ns["CrossEntropyModule"]()
    tiny = ce.forward(np.array([[0.0, 1e-320, 1.0], [1e-300, 1.0, 0.0]]), np.array([1, 0]))
    return {"loss": ce.forward(p, y), "dp": ce.backward(p, y), "loss_below_eps": tiny}


@check("test_cross_entropy_stability")
def check_cross_entropy_stability(got, ref):
    if got["loss"].shape != () or got["dp"].shape != (3, 2):
        return "the loss is a scalar and the gradient has the shape of P"
    if not (np.isfinite(got["loss"]) and np.all(np.isfinite(got["dp"])) and np.isfinite(got["loss_below_eps"])):
        return "a probability of exactly 0 must give a finite loss and gradient (clip before log / division)"
    if not np.isclose(got["loss"], ref["loss"], rtol=1e-6):
        return "cross-entropy with a zero probability: clip the true-class probability at 1e-12"
    return None


@probe("test_softmax_cross_entropy")
def probe_softmax_cross_entropy(ns):
    rng = batch_rng(1101)
    z, y = rng.normal(scale=2.0, size=(7, 5)), rng.integers(0, 5, size=7)
    big, y_big = np.array([[900.0, -900.0, 0.0], [5.0, 2000.0, 1990.0]]), np.array([1, 2])
    loss, dz = ns["softmax_cross_entropy"](z, y)
    loss_big, dz_big = ns["softmax_cross_entropy"](big, y_big)
    return {"loss": loss, "dz": dz, "loss_big": loss_big, "dz_big": dz_big, "z_after": z, "big_after": big}


@probe("test_mlp_structure")
def probe_mlp_structure(ns):
    out = {}
    for i, (d, hidden, c) in enumerate([(6, [], 5), (4, [7, 3], 2)]):
        model = ns["MLP"](d, hidden, c, np.random.default_rng(0))
        out[f"shapes{i}"] = np.array([np.shape(layer.params["weight"]) for layer in _linear_layers(model)])
        out[f"relus{i}"] = sum(isinstance(layer, ns["ReLUModule"]) for layer in model.layers)
        model = _mlp(ns, d, hidden, c, batch_rng(1101, i))
        # the first logit is negative for every input (its weights and bias are, the layer's input is >= 0
        # or, without hidden layers, mirrored): a ReLU after the last layer shows whatever the seed draws
        last = _linear_layers(model)[-1]
        w, b = np.array(last.params["weight"]), np.array(last.params["bias"])
        w[:, 0], b[0] = -np.abs(w[:, 0]), -1.0 - abs(b[0])
        last.params = {"weight": w, "bias": b}
        x = batch_rng(1111, i).normal(size=(19, d))
        out[f"logits{i}"] = model.forward(np.abs(x) if not hidden else x)
    # as the notebook's test: the same rng seed builds the same layers
    twins = [ns["MLP"](6, [5], 3, np.random.default_rng(9)) for _ in range(2)]
    out["same_seed_same_weights"] = np.array(all(
        np.array_equal(a.params["weight"], b.params["weight"])
        for a, b in zip(_linear_layers(twins[0]), _linear_layers(twins[1]))))
    return out


@check("test_mlp_structure")
def check_mlp_structure(got, ref):
    for i in range(2):
        if got[f"shapes{i}"].shape != ref[f"shapes{i}"].shape or np.any(got[f"shapes{i}"] != ref[f"shapes{i}"]):
            return "one LinearModule per consecutive pair of sizes"
        if got[f"relus{i}"] != ref[f"relus{i}"]:
            return "one ReLU after each hidden layer"
        if got[f"logits{i}"].shape != ref[f"logits{i}"].shape or not np.any(got[f"logits{i}"] < 0):
            return "logits of shape (N, C), with no ReLU after the last layer"
        if not np.allclose(got[f"logits{i}"], ref[f"logits{i}"], rtol=1e-6, atol=1e-9):
            return "the forward pass must be Linear, ReLU, ..., Linear in the order of the sizes"
    if not got["same_seed_same_weights"]:
        return "MLP must build its layers from the rng it is given"
    return None


@probe("test_mlp_gradients")
def probe_mlp_gradients(ns):
    rng, out = batch_rng(1121), {}
    for i, (n, d, hidden, c) in enumerate([(5, 3, [4], 6), (3, 6, [5, 2], 4), (2, 4, [], 3)]):
        model = _mlp(ns, d, hidden, c, rng)
        x, dlogits = rng.normal(size=(n, d)), rng.normal(size=(n, c))
        out[f"{i}logits"] = model.forward(x)
        out[f"{i}g0"] = model.backward(dlogits)
        for j, layer in enumerate(_linear_layers(model)):
            out[f"{i}g{2 * j + 1}"], out[f"{i}g{2 * j + 2}"] = layer.grads["weight"], layer.grads["bias"]
    return out


@check("test_mlp_gradients")
def check_mlp_gradients(got, ref):
    return (_forward_matches(got, ref, ["0logits", "1logits", "2logits"], "forward pass")
            or _gradient_check(got, ref, "0") or _gradient_check(got, ref, "1") or _gradient_check(got, ref, "2"))


@probe("test_sgd_step")
def probe_sgd_step(ns):
    # parameters and gradients set here, as the notebook's test does: sgd_step alone
    model = _stand_in(ns, batch_rng(1131), [(5, 4), (4, 3)])
    ns["sgd_step"](model, 0.3)
    return _weights(model)


@probe("test_accuracy")
def probe_accuracy(ns):
    rng = batch_rng(1141)
    scores = rng.normal(size=(11, 4))
    return {"acc": ns["accuracy"](scores, rng.integers(0, 4, size=11))}


def _set_like_the_notebook(model, rng):
    """The notebook's set_parameters: every parameter redrawn, scaled by 1/sqrt of its first dimension."""
    for layer in _linear_layers(model):
        layer.params = {k: rng.normal(size=np.shape(v)) / np.sqrt(np.shape(v)[0]) for k, v in layer.params.items()}


@probe("test_train")
def probe_train(ns):
    # the visible test's run, judged here as there: the training loss goes down over 5 epochs
    rng = np.random.default_rng(6)
    x_small, y_small = rng.normal(size=(50, 4)), rng.integers(0, 3, size=50)
    x_small[np.arange(50), y_small] += 2.0
    model = ns["MLP"](4, [8], 3, np.random.default_rng(0))
    _set_like_the_notebook(model, np.random.default_rng(0))
    history = ns["train"](model, x_small, y_small, x_small[:10], y_small[:10], lr=0.1, batch_size=8, epochs=5, seed=0)
    out = {"visible_train_loss": np.asarray(history["train_loss"], dtype=float)}
    x, y = _small_problem(1151)
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        model = _mlp(ns, 5, [6], 3, batch_rng(1152))
        if name == "a":  # the starting point, set here from the batch's seed: the reference records the same
            out.update({f"start_{k}": np.array(v, copy=True) for k, v in _weights(model).items()})
        history = ns["train"](model, x, y, x[40:], (y[40:] + 1) % 3, lr=0.05, batch_size=9, epochs=3,
                              seed=seed)
        out.update({f"{name}_{k}": v for k, v in _weights(model).items()})
        out[f"{name}_val_acc"] = np.asarray(history["val_acc"], dtype=float)
        out[f"{name}_val_loss"] = np.asarray(history["val_loss"], dtype=float)
    # the first epoch again alone, from the same start with the same seed: its weights are those after epoch 1
    # of run a, so the grader can judge a's first val_loss and val_acc entries too, not only the last ones
    model = _mlp(ns, 5, [6], 3, batch_rng(1152))
    ns["train"](model, x, y, x[40:], (y[40:] + 1) % 3, lr=0.05, batch_size=9, epochs=1, seed=5)
    out.update({f"e1_{k}": v for k, v in _weights(model).items()})
    model = _mlp(ns, 5, [6], 3, batch_rng(1153))
    history = ns["train"](model, x, y, x, y, lr=0.0, batch_size=12, epochs=1, seed=0)
    out["frozen_train_loss"] = np.asarray(history["train_loss"], dtype=float)
    out.update({f"frozen_{k}": v for k, v in _weights(model).items()})
    # as the notebook's test: a batch smaller than batch_size (here the only one) is trained on too
    single = _mlp(ns, 5, [], 3, batch_rng(1154))
    before = {k: np.array(v, copy=True) for k, v in _weights(single).items()}  # sgd_step may update in place
    ns["train"](single, x[:1], y[:1], x[:1], y[:1], lr=0.1, batch_size=7, epochs=1, seed=0)
    out["single_sample_change"] = np.array([np.abs(v - before[k]).sum() for k, v in _weights(single).items()])
    # what the notebook's test accepts as an entry of the history: a float or a NumPy scalar, not an array
    out["numbers"] = np.array(all(isinstance(v, numbers.Real) and np.ndim(v) == 0 for key in ("train_loss", "val_loss",
                                  "val_acc") for v in list(history[key])))
    return out


@check("test_train")
def check_train(got, ref):
    x, y = _small_problem(1151)
    if not got["numbers"]:
        return "the history must hold numbers (float or a NumPy scalar), not arrays"
    if not np.any(got["single_sample_change"] > 0):
        return "a batch smaller than batch_size must still be trained on"
    losses = got["visible_train_loss"]
    if losses.shape != (5,) or not losses[-1] < losses[0]:  # nan fails too
        return "the training loss should go down over 5 epochs of the visible test"
    # what the grader computes itself: the training loss of the returned weights against the reference's
    # (a model that did not learn, whatever history it reports, stays near its starting loss)
    start, trained, expected = (_mean_loss(ref if p == "start_" else got if p == "a_" else ref, x, y, p)
                                for p in ("start_", "a_", "a_"))
    if not np.isfinite(trained) or not start - trained >= 0.5 * (start - expected):
        return "training must lower the training loss (mini-batch SGD on the shuffled training set)"
    weights = [k[2:] for k in ref if k.startswith("a_W")]
    if any(not np.array_equal(got[f"a_{k}"], got[f"b_{k}"]) for k in weights):
        return "the same seed must reproduce training exactly"
    if all(np.array_equal(got[f"a_{k}"], got[f"c_{k}"]) for k in weights):
        return "different seeds must shuffle differently"
    val_acc = _accuracy(got, x[40:], (y[40:] + 1) % 3, "a_")
    if got["a_val_acc"].shape != (3,) or not abs(got["a_val_acc"][-1] - val_acc) <= 1e-6:
        return "val_acc must be the accuracy on the validation set after each epoch"
    val_loss = _mean_loss(got, x[40:], (y[40:] + 1) % 3, "a_")
    if got["a_val_loss"].shape != (3,) or not abs(got["a_val_loss"][-1] - val_loss) <= 1e-6:
        return "val_loss must be the mean loss on the validation set after each epoch"
    first_loss, first_acc = (f(got, x[40:], (y[40:] + 1) % 3, "e1_") for f in (_mean_loss, _accuracy))
    if not (abs(got["a_val_loss"][0] - first_loss) <= 1e-6 and abs(got["a_val_acc"][0] - first_acc) <= 1e-6):
        return "val_loss and val_acc must be measured after each epoch, the first one too"
    if any(not np.array_equal(got[k], ref[k]) for k in ref if k.startswith("frozen_") and k != "frozen_train_loss"):
        return "with lr=0 the parameters must not change"
    logits = _logits(ref, x, "frozen_")
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    full_loss = -np.mean(np.log((e / e.sum(axis=1, keepdims=True))[np.arange(len(y)), y]))
    if got["frozen_train_loss"].shape != (1,) or not abs(got["frozen_train_loss"][0] - full_loss) <= 1e-6:
        return "train_loss must be the mean of the mini-batch losses of the epoch"
    return None


def _random_labels():
    """The notebook's hidden overfit test: 50 samples with random labels, which only memorising fits. The
    same fixture, not the batch's: a set drawn otherwise let accumulating gradients memorise it too, and
    the re-check must never be laxer than the notebook's test."""
    draw = np.random.default_rng(81)
    return draw.normal(size=(50, 10)), draw.integers(0, 5, size=50)


@probe("test_overfit_small")
def probe_overfit_small(ns):
    x, y = _random_labels()
    model = ns["MLP"](10, [64], 5, np.random.default_rng(82))
    softmax, ce = ns["SoftMaxModule"](), ns["CrossEntropyModule"]()
    for _ in range(300):
        p = softmax.forward(model.forward(x))
        model.backward(softmax.backward(ce.backward(p, y)))
        ns["sgd_step"](model, 0.5)
    return _weights(model)


@check("test_overfit_small")
def check_overfit_small(got, ref):
    x, y = _random_labels()
    if not _accuracy(got, x, y) == 1.0:
        return "the MLP could not memorise 50 samples with random labels"
    return None


@probe("test_final_accuracy")
def probe_final_accuracy(ns):
    from mlp_utils import DATASET, load_split

    x_tr, _, _, _, x_te, y_te = load_split(seed=0)
    mu, sd = x_tr.mean(0), x_tr.std(0)
    # the test set and threshold are recorded too: the check uses the reference run's copies, never the student's
    return {**_weights(ns["model"]), "x_test": (x_te - mu) / np.where(sd > 0, sd, 1.0), "y_test": y_te,
            "threshold": DATASET.accuracy_threshold}


@check("test_final_accuracy")
def check_final_accuracy(got, ref):
    threshold = float(ref["threshold"])
    if _accuracy(got, ref["x_test"], ref["y_test"]) < threshold:
        return f"the trained model's test accuracy is below {threshold}"
    return None


# ------------------------------------------------------------------------------------------------
# Section 11: weight decay, dropout and the optimisers, each on layers the probe sets up itself.
# ------------------------------------------------------------------------------------------------

@probe("test_weight_decay")
def probe_weight_decay(ns):
    rng = batch_rng(1201)
    model = _stand_in(ns, rng, [(5, 6), (6, 4), (4, 3)])
    penalty = ns["add_weight_decay"](model, float(rng.uniform(0.05, 2.0)))
    # as the notebook's test: a number, not an array of one
    is_number = isinstance(penalty, numbers.Real) and np.ndim(penalty) == 0
    out = {"penalty": np.asarray(float(penalty) if is_number else np.nan), "penalty_is_number": np.array(is_number)}
    for j, layer in enumerate(_linear_layers(model)):
        out[f"gW{j}"], out[f"gb{j}"] = layer.grads["weight"], layer.grads["bias"]
    out.update(_weights(model))  # the parameters are left as they were
    return out


@probe("test_dropout")
def probe_dropout(ns):
    rng = batch_rng(1211)
    p = float(rng.uniform(0.15, 0.4))  # never 0.5, where keeping with probability p or 1 - p looks alike
    x = rng.uniform(0.5, 2.0, size=(100, 200)) * rng.choice([-1.0, 1.0], size=(100, 200))
    dout = rng.normal(size=x.shape)
    seed = int(rng.integers(2 ** 31))
    drop, twin = (ns["DropoutModule"](p, np.random.default_rng(seed)) for _ in range(2))
    given = x.copy()
    first = drop.forward(given)
    out = drop.forward(given)  # a second forward in training: a new mask, which backward must follow
    dx = drop.backward(dout.copy())
    result = {"p": np.asarray(p), "x": x, "dout": dout, "first": first, "out": out, "dx": dx,
              "input_after": given, "twin_first": twin.forward(x.copy())}
    drop.training = False
    return {**result, "eval_out": drop.forward(x.copy()), "eval_dx": drop.backward(dout.copy())}


@check("test_dropout")
def check_dropout(got, ref):
    """The masks are the student's own draws, so the check tests what defines inverted dropout, on the
    reference run's inputs, as the notebook's hidden test does: zeros at a rate close to p (20000 entries:
    0.03 is over 8 standard deviations), the other entries x / (1 - p), every entry drawn on its own (no two
    rows or columns of the mask alike: chance below 1e-11 for a correct one), a new mask at each forward,
    masks from the module's rng (the same seed, the same mask), the input left alone, backward through the
    last mask, the identity in evaluation."""
    p, x, dout = float(ref["p"]), ref["x"], ref["dout"]
    keys = ("first", "out", "dx", "input_after", "twin_first", "eval_out", "eval_dx")
    arrays = {k: got.get(k) for k in keys}
    if any(a is None or a.shape != x.shape or not _plain_float(a) for a in arrays.values()):
        return "dropout's results have the wrong shape, are missing or are not finite"
    out, first = arrays["out"], arrays["first"]
    if not np.array_equal(arrays["input_after"], x):
        return "forward modified its input"
    for sample in (first, out):
        kept = sample != 0
        if abs((1.0 - kept.mean()) - p) > 0.03:
            return "the fraction of entries set to zero in training is not close to p"
        if not np.allclose(sample[kept], x[kept] / (1.0 - p), rtol=1e-9, atol=0.0):
            return "the entries kept in training are not the input scaled by 1 / (1 - p)"
        if len({row.tobytes() for row in kept}) < len(kept) or len({col.tobytes() for col in kept.T}) < len(kept.T):
            return "the mask is not drawn entry by entry (rows or columns repeat)"
    if np.array_equal(first != 0, out != 0):
        return "each forward in training must draw a new mask"
    if not np.array_equal(arrays["twin_first"], first):
        return "the mask must be drawn from the module's rng (the same seed gives the same mask)"
    if not np.allclose(arrays["dx"], dout * np.where(out != 0, 1.0 / (1.0 - p), 0.0), rtol=1e-9, atol=1e-12):
        return "backward does not multiply by the mask and scale of the last forward"
    if not (np.array_equal(arrays["eval_out"], x) and np.array_equal(arrays["eval_dx"], dout)):
        return "in evaluation dropout is not the identity"
    return None


def _optimizer_trace(ns, optimizer, key, prefix=""):
    """Parameters after each of 6 steps on gradients drawn here: the first tiny (1e-5, where the place of eps
    decides Adam's step), then from tiny to large."""
    rng = batch_rng(key)
    model = _stand_in(ns, rng, [(4, 3), (3, 2)], with_grads=False)
    out = {}
    for t in range(6):
        scale = 1e-5 if t == 0 else 10.0 ** rng.uniform(-5, 1)
        for layer in _linear_layers(model):
            layer.grads = {k: scale * rng.normal(size=np.shape(v)) for k, v in layer.params.items()}
        optimizer.step(model)
        for j, layer in enumerate(_linear_layers(model)):
            out[f"{prefix}t{t}W{j}"] = np.array(layer.params["weight"], dtype=float)
            out[f"{prefix}t{t}b{j}"] = np.array(layer.params["bias"], dtype=float)
    return out


@probe("test_sgd_momentum")
def probe_sgd_momentum(ns):
    rng = batch_rng(1221)
    return _optimizer_trace(ns, ns["SGDMomentum"](lr=float(rng.uniform(0.01, 0.3)),
                                                  momentum=float(rng.uniform(0.5, 0.95))), 1222)


@probe("test_adam")
def probe_adam(ns):
    rng = batch_rng(1231)
    betas = {"beta1": float(rng.uniform(0.5, 0.95)), "beta2": float(rng.uniform(0.9, 0.9999))}
    return {**_optimizer_trace(ns, ns["Adam"](lr=float(rng.uniform(1e-3, 0.1)), **betas), 1232),
            # and a large eps, which every step's denominator feels
            **_optimizer_trace(ns, ns["Adam"](lr=float(rng.uniform(1e-3, 0.1)), eps=1e-3, **betas), 1233, "e")}
