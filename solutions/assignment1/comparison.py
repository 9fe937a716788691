"""A controlled comparison of the two implementations, and a sweep of problem sizes (CPU and GPU).

You do not need to edit this file, and nothing in it solves an exercise: it drives *your* code from both
notebooks under the same conditions, so that a difference it measures comes from the implementation:
- the same data, the same initial weights (`initial_parameters`) and the same order of mini-batches
  (`batch_orders`) for every arm, over several seeds;
- the arms of one notebook interleaved, seed by seed (`run_arms`), so that a slow spell of a busy machine
  falls on every arm alike, not on whichever ran at the time;
- the same dtype (float64) and one CPU thread for both libraries;
- time per epoch split into data (cutting the batch), forward + backward, and optimizer step, taken as
  the median over epochs after a warm-up epoch, with evaluation outside the timer, and the quartiles of
  the whole epoch's time as its spread; one arm is called faster than another only when their quartile
  ranges do not overlap, and two accuracies differ only when their mean ± std ranges do not
  (`verdicts`);
- training and validation loss and accuracy measured on the whole sets after every epoch.
Part 1 runs the NumPy arm and saves it; part 2 runs PyTorch with the same SGD (its curves must match
part 1's within `CURVE_TOLERANCE`) and with Adam, and sets the three side by side. Part 1's arm ran in
another kernel at another time: its time against part 2's is a fair comparison only as far as the
machine's load stayed the same, which the printed spreads help to judge.
"""
from __future__ import annotations

import contextlib
import time

import numpy as np
from mlp_utils import GRADING, figure

# Nothing in this file is graded, so a grading run (mlp_utils.GRADING) measures a shorter version (fewer
# seeds, epochs and sizes) and says so under its tables.
SHORTENED = GRADING
SEEDS = (0, 1) if SHORTENED else (0, 1, 2, 3, 4)
EPOCHS = 5 if SHORTENED else 20
BATCH_SIZE = 32
SGD_LR = 0.1
ADAM_LR = 1e-3
# Largest relative difference between the NumPy and PyTorch SGD training-loss curves that counts as a
# match: float64 arithmetic in a different order differs by about 1e-12; a real difference in the maths
# (a missing bias gradient, another loss) shows within the first epoch, at 1e-3 or more.
CURVE_TOLERANCE = 1e-6
PHASES = ("data", "forward_backward", "step")
# Part 1's optimisers against torch.optim's: each trains the controlled network for one epoch from the same
# start and batches, with these settings (the keyword arguments of both part 1's classes and torch.optim's),
# and the final weights must agree within OPTIMISER_TOLERANCE (largest difference relative to the largest
# weight). float64 in a different order drifts by about 1e-13 over the 94 steps; a missing bias correction,
# a velocity that is reset or a square root in the wrong place differ by 1e-3 or more.
OPTIMISER_CHECK = {"SGD with momentum": {"lr": 0.05, "momentum": 0.9}, "Adam": {"lr": 1e-3}}
OPTIMISER_TOLERANCE = 1e-8


def initial_parameters(sizes, seed):
    """[(W, b)] for layer sizes [D, H1, ..., C], float64, W of shape (D_in, D_out) as in part 1.

    Weights and biases uniform in (-1/sqrt(D_in), 1/sqrt(D_in)), PyTorch's default for nn.Linear: any
    fixed start serves a comparison, and this one is neither implementation's own."""
    rng = np.random.default_rng(seed)
    params = []
    for d_in, d_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / np.sqrt(d_in)
        params.append((rng.uniform(-bound, bound, size=(d_in, d_out)), rng.uniform(-bound, bound, size=d_out)))
    return params


def batch_orders(n, batch_size, epochs, seed):
    """For each epoch, the list of index arrays of its mini-batches (a new shuffle each epoch)."""
    rng = np.random.default_rng(seed)
    permutations = [rng.permutation(n) for _epoch in range(epochs)]
    return [[perm[i:i + batch_size] for i in range(0, n, batch_size)] for perm in permutations]


@contextlib.contextmanager
def one_thread():
    """NumPy's BLAS (and PyTorch, if loaded) on one thread, restored afterwards."""
    import sys

    from threadpoolctl import threadpool_limits

    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch else None
    with threadpool_limits(limits=1):
        if torch:
            torch.set_num_threads(1)
        try:
            yield
        finally:
            if torch:
                torch.set_num_threads(before)


class NumpyArm:
    """Part 1's code: an MLP with .layers (LinearModule params 'weight', 'bias'), the fused
    softmax_cross_entropy(logits, y) -> (loss, dlogits) and sgd_step(model, lr), or instead of sgd_step
    make_optimizer(), a new optimiser object of section 11 (with .step(model)) for each run."""

    def __init__(self, model, softmax_cross_entropy, sgd_step=None, lr=SGD_LR, dtype=np.float64, make_optimizer=None):
        self.model, self.loss_and_grad, self.sgd_step, self.lr, self.dtype = model, softmax_cross_entropy, sgd_step, lr, dtype
        self.make_optimizer, self.optimizer = make_optimizer, None
        self.name = "NumPy SGD"

    def _linear(self):
        return [layer for layer in self.model.layers if "weight" in getattr(layer, "params", {})]

    def set_parameters(self, params):
        linear = self._linear()
        assert len(linear) == len(params), "one LinearModule per (W, b) pair"
        for layer, (W, b) in zip(linear, params):
            layer.params["weight"], layer.params["bias"] = W.astype(self.dtype), b.astype(self.dtype)
        self.optimizer = self.make_optimizer() if self.make_optimizer else None

    def parameters(self):
        """[(W, b)] of the linear layers, in part 1's layout, as float64 arrays."""
        return [(np.array(layer.params["weight"], dtype=np.float64), np.array(layer.params["bias"], dtype=np.float64))
                for layer in self._linear()]

    def data(self, X, y):
        return np.asarray(X, dtype=self.dtype), np.asarray(y)

    def batch(self, X, y, index):
        return X[index], y[index]

    def forward_backward(self, x, y):
        loss, dlogits = self.loss_and_grad(self.model.forward(x), y)
        self.model.backward(dlogits)
        return loss

    def step(self):
        if self.optimizer is not None:
            self.optimizer.step(self.model)
        else:
            self.sgd_step(self.model, self.lr)

    def evaluate(self, X, y):
        logits = self.model.forward(X)
        loss, _ = self.loss_and_grad(logits, y)
        return float(loss), float(np.mean(np.argmax(logits, axis=1) == y))

    def sync(self):
        pass


class TorchArm:
    """Part 2's code: an nn.Module MLP, load_numpy_weights(model, params) and an optimizer factory."""

    def __init__(self, model, make_optimizer, load_numpy_weights, name, device="cpu", dtype=None):
        import torch

        self.torch = torch
        self.device = torch.device(device)
        self.dtype = dtype or torch.float64
        self.model = model.to(self.device, self.dtype)
        self.make_optimizer, self.load_numpy_weights, self.name = make_optimizer, load_numpy_weights, name
        self.optimizer = None

    def set_parameters(self, params):
        self.load_numpy_weights(self.model, [(W.astype(np.float64), b.astype(np.float64)) for W, b in params])
        self.model.to(self.device, self.dtype)
        self.optimizer = self.make_optimizer(self.model.parameters())
        self.n_inputs = params[0][0].shape[0]

    def parameters(self):
        """[(W, b)] of the linear layers in the order forward applies them, in part 1's layout (W of shape
        (D_in, D_out)), as float64 arrays."""
        from mlp_utils import linear_layers

        return [(layer.weight.detach().cpu().double().numpy().T, layer.bias.detach().cpu().double().numpy())
                for layer in linear_layers(self.model, self.n_inputs)]

    def data(self, X, y):
        torch = self.torch
        return (torch.as_tensor(np.asarray(X), dtype=self.dtype, device=self.device),
                torch.as_tensor(np.asarray(y), dtype=torch.int64, device=self.device))

    def batch(self, X, y, index):
        index = self.torch.as_tensor(index, device=self.device)
        return X[index], y[index]

    def forward_backward(self, x, y):
        self.model.train()
        self.optimizer.zero_grad()
        loss = self.torch.nn.functional.cross_entropy(self.model(x), y)
        loss.backward()
        return loss

    def step(self):
        self.optimizer.step()

    def evaluate(self, X, y):
        self.model.eval()
        with self.torch.no_grad():
            logits = self.model(X)
            loss = self.torch.nn.functional.cross_entropy(logits, y).item()
            return loss, (logits.argmax(dim=1) == y).double().mean().item()

    def sync(self):
        if self.device.type == "cuda":
            self.torch.cuda.synchronize()


def run(arm, data, params, orders, evaluate=True):
    """Train `arm` from `params` over the mini-batches of `orders` (one list per epoch).

    - data: (X_train, y_train, X_val, y_val, X_test, y_test) NumPy arrays
    Returns a dict: 'history' (per-epoch 'train_loss', 'train_acc', 'val_loss', 'val_acc', on the whole
    sets after each epoch), 'test_acc', and 'seconds' (per phase, a list with one entry per epoch).
    """
    train, val, test = (arm.data(data[i], data[i + 1]) for i in (0, 2, 4))
    arm.set_parameters(params)
    history = {key: [] for key in ("train_loss", "train_acc", "val_loss", "val_acc")}
    seconds = {phase: [] for phase in PHASES}
    clock = time.perf_counter
    for order in orders:
        spent = dict.fromkeys(PHASES, 0.0)
        for index in order:
            arm.sync()
            t0 = clock()
            x, y = arm.batch(*train, index)
            arm.sync()
            t1 = clock()
            arm.forward_backward(x, y)
            arm.sync()
            t2 = clock()
            arm.step()
            arm.sync()
            t3 = clock()
            spent["data"] += t1 - t0
            spent["forward_backward"] += t2 - t1
            spent["step"] += t3 - t2
        for phase in PHASES:
            seconds[phase].append(spent[phase])
        if evaluate:
            for split, (X, y) in (("train", train), ("val", val)):
                loss, acc = arm.evaluate(X, y)
                history[f"{split}_loss"].append(loss)
                history[f"{split}_acc"].append(acc)
    return {"history": history, "test_acc": arm.evaluate(*test)[1], "seconds": seconds}


def run_arms(make_arms, data, sizes, seeds=SEEDS, epochs=EPOCHS, batch_size=BATCH_SIZE):
    """Every arm on every seed, interleaved: for each seed, each arm in turn, from a new arm
    (`make_arms[name]()`) with that seed's weights and batch order. The arm that goes first moves on by
    one at each seed, so no arm is always the one timed first.

    Returns {name: [one run per seed]}, each run a dict of `run`'s keys and 'seed'.
    """
    names = list(make_arms)
    runs = {name: [] for name in names}
    with one_thread():
        for i, seed in enumerate(seeds):
            orders = batch_orders(len(data[0]), batch_size, epochs, seed)
            first = i % len(names)
            for name in names[first:] + names[:first]:
                runs[name].append({"seed": int(seed),
                                   **run(make_arms[name](), data, initial_parameters(sizes, seed), orders)})
    return runs


def run_seeds(make_arm, data, sizes, seeds=SEEDS, epochs=EPOCHS, batch_size=BATCH_SIZE):
    """`run_arms` for one arm: its list of runs, one per seed."""
    return run_arms({"arm": make_arm}, data, sizes, seeds, epochs, batch_size)["arm"]


def final_parameters(arm, data, sizes, seed=0, epochs=1, batch_size=BATCH_SIZE):
    """The arm's [(W, b)] after training from seed's weights over seed's batches, without evaluation."""
    with one_thread():
        run(arm, data, initial_parameters(sizes, seed), batch_orders(len(data[0]), batch_size, epochs, seed),
            evaluate=False)
    return arm.parameters()


def parameter_difference(params_a, params_b):
    """Largest absolute difference between two [(W, b)] lists, relative to the largest entry of the second."""
    a = np.concatenate([np.ravel(np.asarray(p, dtype=np.float64)) for pair in params_a for p in pair])
    b = np.concatenate([np.ravel(np.asarray(p, dtype=np.float64)) for pair in params_b for p in pair])
    if a.shape != b.shape:
        return float("inf")
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def epoch_seconds(runs):
    """The whole time of every epoch after each run's first (warm-up) epoch, pooled over the runs."""
    return np.concatenate([np.sum([r["seconds"][p] for p in PHASES], axis=0)[1:] for r in runs])


def summarize(runs):
    """Test accuracy mean and std over the runs; per phase, the median seconds per epoch after the first
    (warm-up) epoch of each run, pooled over runs; for the whole epoch, the median and the quartiles."""
    accs = np.array([r["test_acc"] for r in runs])
    medians = {phase: float(np.median(np.concatenate([r["seconds"][phase][1:] for r in runs])))
               for phase in PHASES}
    q1, total, q3 = (float(q) for q in np.percentile(epoch_seconds(runs), [25, 50, 75]))
    return {"test_acc_mean": float(accs.mean()), "test_acc_std": float(accs.std(ddof=1)) if len(accs) > 1 else 0.0,
            "seconds_per_epoch": {**medians, "total": total}, "total_quartiles": (q1, q3), "n_runs": len(runs)}


def _apart(a, b):
    """Whether two ranges (low, high) do not overlap."""
    return a[1] < b[0] or b[1] < a[0]


def verdicts(arms):
    """What the figures support, one sentence per pair of arms: time per epoch (median, quartiles) and
    test accuracy (mean ± std over seeds). An ordering is stated only where the two ranges do not overlap."""
    summaries = {name: summarize(runs) for name, runs in arms.items()}
    names = list(summaries)
    lines = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            sa, sb = summaries[a], summaries[b]
            ta, tb = sa["seconds_per_epoch"]["total"], sb["seconds_per_epoch"]["total"]
            if _apart(sa["total_quartiles"], sb["total_quartiles"]):
                fast, slow = (a, b) if ta < tb else (b, a)
                time = f"{fast} is faster than {slow} ({max(ta, tb) / min(ta, tb):.1f} times: the quartiles do not overlap)"
            else:
                time = f"{a} and {b} take the same time as far as this run can tell (the quartiles overlap)"
            ra, rb = ((s["test_acc_mean"] - s["test_acc_std"], s["test_acc_mean"] + s["test_acc_std"]) for s in (sa, sb))
            if _apart(ra, rb):
                high, low = (a, b) if sa["test_acc_mean"] > sb["test_acc_mean"] else (b, a)
                gap = 100 * abs(sa["test_acc_mean"] - sb["test_acc_mean"])
                acc = f"{high} is more accurate, by {gap:.1f} points (beyond the spread over seeds)"
            else:
                acc = "their accuracies do not differ beyond the spread over seeds"
            lines.append(f"{time}; {acc}.")
    return lines


def mean_history(runs):
    """The per-epoch mean of each curve over the runs."""
    keys = runs[0]["history"]
    return {k: list(np.mean([r["history"][k] for r in runs], axis=0)) for k in keys}


def curve_difference(runs_a, runs_b, key="train_loss"):
    """Largest relative difference between two sets of runs' `key` curves, seed by seed, over all epochs."""
    by_seed = {r["seed"]: np.asarray(r["history"][key]) for r in runs_b}
    worst = 0.0
    for r in runs_a:
        a, b = np.asarray(r["history"][key]), by_seed[r["seed"]]
        worst = max(worst, float(np.max(np.abs(a - b) / np.maximum(1e-12, np.abs(a) + np.abs(b)))))
    return worst


def print_table(arms, lines_of_code=None):
    """One row per arm: test accuracy mean ± std, the median time per epoch, phase by phase and in all,
    the quartiles of the whole epoch's time, and the lines of code."""
    lines_of_code = lines_of_code or {}
    print(f"{'':14s}{'test accuracy (%)':>20s}{'data':>9s}{'fwd+bwd':>9s}{'step':>9s}{'total':>9s}"
          f"{'quartiles':>16s}{'lines':>7s}")
    print(f"{'':14s}{'mean ± std':>20s}{'(ms per epoch, median)':>36s}{'of total':>16s}")
    for name, runs in arms.items():
        s = summarize(runs)
        t = s["seconds_per_epoch"]
        acc = f"{100 * s['test_acc_mean']:.2f} ± {100 * s['test_acc_std']:.2f}"
        spread = "–".join(f"{1000 * q:.2f}" for q in s["total_quartiles"])
        loc = lines_of_code.get(name, "")
        print(f"{name:14s}{acc:>20s}" + "".join(f"{1000 * t[p]:9.2f}" for p in (*PHASES, "total"))
              + f"{spread:>16s}{loc!s:>7s}")
    runs = next(iter(arms.values()))
    print(f"({len(runs)} seeds per arm, {len(runs[0]['seconds']['step'])} epochs, float64, one CPU thread"
          + ("; shortened for grading" if SHORTENED else "") + ")")


# ---------------------------------------------------------------------------------------------
# Problem-size sweep: where does a GPU start to pay?
# ---------------------------------------------------------------------------------------------

SWEEP_WIDTHS = (64, 256) if SHORTENED else (64, 256, 1024, 4096)
SWEEP_BATCHES = (32, 512)
SWEEP_SAMPLES = 1024 if SHORTENED else 2048
SWEEP_INPUTS, SWEEP_CLASSES = 64, 10


def sweep(make_arm, backend, widths=SWEEP_WIDTHS, batch_sizes=SWEEP_BATCHES, n_samples=SWEEP_SAMPLES, repeats=2):
    """Seconds per epoch of one hidden layer of each width, for each batch size, on synthetic data.

    - make_arm(sizes): a new arm for layer sizes [64, width, 10] (float32, on the backend's device)
    Returns a list of rows {'backend', 'width', 'batch_size', 'seconds_per_epoch'} (median of `repeats`
    epochs after one warm-up epoch; no evaluation).
    """
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n_samples, SWEEP_INPUTS)).astype(np.float32)
    y = rng.integers(0, SWEEP_CLASSES, size=n_samples)
    data = (X, y, X[:1], y[:1], X[:1], y[:1])
    rows = []
    with one_thread():
        for width in widths:
            sizes = [SWEEP_INPUTS, width, SWEEP_CLASSES]
            for batch_size in batch_sizes:
                orders = batch_orders(n_samples, batch_size, repeats + 1, seed=0)
                out = run(make_arm(sizes), data, initial_parameters(sizes, 0), orders, evaluate=False)
                per_epoch = np.sum([out["seconds"][p] for p in PHASES], axis=0)
                rows.append({"backend": backend, "width": int(width), "batch_size": int(batch_size),
                             "seconds_per_epoch": float(np.median(per_epoch[1:]))})
    return rows


def crossovers(rows, fast, slow):
    """For each batch size, the smallest width from which `fast` takes less time per epoch than `slow`
    (None if it never does)."""
    table = {(r["backend"], r["width"], r["batch_size"]): r["seconds_per_epoch"] for r in rows}
    out = {}
    for batch_size in sorted({r["batch_size"] for r in rows}):
        widths = sorted(w for b, w, bs in table if b == fast and bs == batch_size and (slow, w, bs) in table)
        winning = [w for w in widths if table[(fast, w, batch_size)] < table[(slow, w, batch_size)]]
        out[batch_size] = winning[0] if winning else None
    return out


@figure
def plot_sweep(rows, title=""):
    """Seconds per epoch against hidden width, one line per backend and batch size (log-log)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    styles = ["-", "--", ":", "-."]
    backends = list(dict.fromkeys(r["backend"] for r in rows))
    batches = sorted({r["batch_size"] for r in rows})
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for backend, color in zip(backends, colors):
        for batch_size, style in zip(batches, styles):
            points = sorted((r["width"], r["seconds_per_epoch"]) for r in rows
                            if r["backend"] == backend and r["batch_size"] == batch_size)
            if points:
                ax.plot(*zip(*points), style, marker="o", color=color, label=f"{backend}, batch {batch_size}")
    ax.set(xscale="log", yscale="log", xlabel="hidden units", ylabel="seconds per epoch",
           title=title or f"One epoch of {SWEEP_SAMPLES} samples, {SWEEP_INPUTS}-H-{SWEEP_CLASSES}, float32")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
