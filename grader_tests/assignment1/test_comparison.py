"""The controlled comparison (source/assignment1/comparison.py) on the reference solutions: the SGD arms of
both implementations match within the stated tolerance, the tolerance still sees a small real difference,
and the timings and the size sweep measure what they say."""
from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

from gradekit.authoring.reference import load_reference
from gradekit.core.layout import Course
from grader_tests.helpers import ASSIGNMENT, ROOT, import_file

# comparison.py imports mlp_utils, which sits beside it (the notebooks run in that folder)
import_file(Course(ROOT).source(ASSIGNMENT) / "mlp_utils.py")
C = import_file(Course(ROOT).source(ASSIGNMENT) / "comparison.py")

SEEDS = (0, 1, 2)
EPOCHS = 4


@pytest.fixture(scope="module")
def references():
    part1 = load_reference(ROOT, ASSIGNMENT, "1_mlp_numpy")
    with contextlib.redirect_stdout(io.StringIO()):
        part2 = load_reference(ROOT, ASSIGNMENT, "2_mlp_pytorch")
    return part1, part2


@pytest.fixture(scope="module")
def setup(references):
    import torch

    part1, part2 = references
    X_tr, y_tr, X_va, y_va, X_te, y_te = part1["load_split"](seed=0)
    data = (*part1["standardize"](X_tr, X_va, X_te),)
    data = (data[0], y_tr, data[1], y_va, data[2], y_te)
    default_sizes = sizes_of(data)

    def numpy_arm(sizes=default_sizes, dtype=np.float64):
        model = part1["MLP"](sizes[0], list(sizes[1:-1]), sizes[-1], np.random.default_rng(0))
        return C.NumpyArm(model, part1["softmax_cross_entropy"], part1["sgd_step"], dtype=dtype)

    def torch_arm(make_optimizer, sizes=default_sizes, dtype=torch.float64):
        model = part2["MLP"](sizes[0], list(sizes[1:-1]), sizes[-1])
        return C.TorchArm(model, make_optimizer, part2["load_numpy_weights"], "", "cpu", dtype)

    return data, numpy_arm, torch_arm


def sizes_of(data):
    """The notebooks' layer sizes [D, 128, C] for the dataset's inputs and classes."""
    return [data[0].shape[1], 128, int(data[1].max()) + 1]


def runs(make_arm, data):
    return C.run_seeds(make_arm, data, sizes_of(data), seeds=SEEDS, epochs=EPOCHS)


def test_sgd_arms_of_both_implementations_match(setup):
    import torch

    data, numpy_arm, torch_arm = setup
    numpy_runs = runs(numpy_arm, data)
    torch_runs = runs(lambda: torch_arm(lambda p: torch.optim.SGD(p, lr=C.SGD_LR)), data)
    gap = C.curve_difference(numpy_runs, torch_runs)
    print(f"largest relative difference of the SGD loss curves: {gap:.1e} (tolerance {C.CURVE_TOLERANCE:.0e})")
    assert gap < C.CURVE_TOLERANCE / 1000, "the reference arms must match with a wide margin"
    assert C.curve_difference(numpy_runs, torch_runs, "val_acc") == 0.0
    # every seed starts from other weights: the runs are not copies of one another
    assert len({r["history"]["train_loss"][0] for r in numpy_runs}) == len(SEEDS)
    # the tolerance still sees a small change of the maths: weight decay of 1e-4 in the update
    decayed = runs(lambda: torch_arm(lambda p: torch.optim.SGD(p, lr=C.SGD_LR, weight_decay=1e-4)), data)
    assert C.curve_difference(numpy_runs, decayed) > 10 * C.CURVE_TOLERANCE


def test_histories_timings_and_summary(setup):
    data, numpy_arm, _ = setup
    numpy_runs = runs(numpy_arm, data)
    for run in numpy_runs:
        assert all(len(v) == EPOCHS for v in run["history"].values())
        assert all(len(v) == EPOCHS and min(v) > 0 for v in run["seconds"].values())
        assert run["history"]["train_loss"][-1] < run["history"]["train_loss"][0]
    summary = C.summarize(numpy_runs)
    # after 4 epochs far above chance (0.1) and a linear model (about 0.3) on MNIST-1D
    assert summary["n_runs"] == len(SEEDS) and 0.35 < summary["test_acc_mean"] <= 1
    pooled = np.concatenate([r["seconds"]["step"][1:] for r in numpy_runs])  # warm-up epochs left out
    assert summary["seconds_per_epoch"]["step"] == pytest.approx(np.median(pooled))
    totals = np.concatenate([np.sum([r["seconds"][p] for p in C.PHASES], axis=0)[1:] for r in numpy_runs])
    assert summary["seconds_per_epoch"]["total"] == pytest.approx(np.median(totals))
    q1, q3 = summary["total_quartiles"]
    assert min(totals) <= q1 <= summary["seconds_per_epoch"]["total"] <= q3 <= max(totals)


def test_summary_leaves_out_the_warm_up_epoch():
    fake = [{"test_acc": a, "seconds": {p: [5.0, 1.0, 1.0, 3.0] for p in C.PHASES}} for a in (0.9, 0.8)]
    summary = C.summarize(fake)
    assert summary["seconds_per_epoch"]["data"] == 1.0
    assert summary["test_acc_mean"] == pytest.approx(0.85)
    assert summary["test_acc_std"] == pytest.approx(np.std([0.9, 0.8], ddof=1))


def _fake_runs(accuracies, epoch_ms):
    """Runs with these test accuracies, every epoch after the warm-up taking one of `epoch_ms` in turn."""
    return [{"test_acc": a, "seconds": {p: [1.0] + [t / 1000 / len(C.PHASES) for t in epoch_ms] for p in C.PHASES}}
            for a in accuracies]


def test_orderings_are_stated_only_where_the_ranges_do_not_overlap():
    fast = _fake_runs((0.50, 0.52, 0.54), (10, 11, 12, 13))
    slow = _fake_runs((0.51, 0.53, 0.55), (30, 31, 32, 33))
    close = _fake_runs((0.60, 0.61, 0.62), (11, 12, 13, 14))
    assert C.summarize(fast)["total_quartiles"] == pytest.approx((0.01075, 0.01225))
    (fast_slow,) = C.verdicts({"A": fast, "B": slow})
    assert "A is faster than B (2.7 times" in fast_slow and "do not differ beyond the spread" in fast_slow
    (fast_close,) = C.verdicts({"A": fast, "C": close})
    assert "same time as far as this run can tell" in fast_close
    assert "C is more accurate, by 9.0 points" in fast_close
    assert len(C.verdicts({"A": fast, "B": slow, "C": close})) == 3


def test_arms_take_turns_seed_by_seed_from_the_same_start(setup):
    data, numpy_arm, _ = setup
    started = []

    def recording(name):
        def make():
            started.append(name)
            return numpy_arm()
        return make

    arms = C.run_arms({"a": recording("a"), "b": recording("b"), "c": recording("c")}, data, sizes_of(data),
                      seeds=(0, 1, 2), epochs=1)
    assert started == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]
    assert [r["seed"] for r in arms["b"]] == [0, 1, 2]
    # the same code from the same weights and batches: the same curves, whatever the turn
    assert C.curve_difference(arms["a"], arms["c"]) == 0.0


def test_the_start_is_not_the_exercise_initialisation():
    """comparison.py is released: its weights come from PyTorch's default, not the Kaiming exercise of part 1."""
    (W, b), _ = C.initial_parameters([400, 300, 10], 0)
    bound = 1 / np.sqrt(400)
    assert np.abs(W).max() <= bound and np.abs(b).max() <= bound
    assert W.std() == pytest.approx(bound / np.sqrt(3), rel=0.02)  # uniform, not N(0, 2 / 400)


def test_same_seed_same_weights_and_batches():
    a, b = C.initial_parameters([5, 4, 3], 7), C.initial_parameters([5, 4, 3], 7)
    assert all(np.array_equal(x, y) for (x, _), (y, _) in zip(a, b))
    assert not np.array_equal(a[0][0], C.initial_parameters([5, 4, 3], 8)[0][0])
    orders = C.batch_orders(10, 4, 2, seed=1)
    assert [len(batch) for batch in orders[0]] == [4, 4, 2]
    assert sorted(np.concatenate(orders[1])) == list(range(10))
    assert not np.array_equal(np.concatenate(orders[0]), np.concatenate(orders[1]))


def test_sweep_times_every_size_and_finds_crossovers(setup):
    import torch

    _, numpy_arm, torch_arm = setup
    rows = C.sweep(lambda sizes: numpy_arm(sizes, np.float32), "NumPy", widths=(16, 64), batch_sizes=(8, 64),
                   n_samples=256, repeats=2)
    rows += C.sweep(lambda sizes: torch_arm(lambda p: torch.optim.SGD(p, lr=0.1), sizes, torch.float32),
                    "PyTorch CPU", widths=(16, 64), batch_sizes=(8, 64), n_samples=256, repeats=2)
    assert {(r["backend"], r["width"], r["batch_size"]) for r in rows} == {
        (b, w, s) for b in ("NumPy", "PyTorch CPU") for w in (16, 64) for s in (8, 64)}
    assert all(r["seconds_per_epoch"] > 0 for r in rows)
    synthetic = [{"backend": b, "width": w, "batch_size": 1, "seconds_per_epoch": t}
                 for b, w, t in (("gpu", 1, 5), ("gpu", 2, 5), ("gpu", 4, 5), ("cpu", 1, 1), ("cpu", 2, 6), ("cpu", 4, 20))]
    assert C.crossovers(synthetic, "gpu", "cpu") == {1: 2}
    assert C.crossovers(synthetic, "cpu", "gpu") == {1: 1}


def test_part1_optimisers_match_torch_optim_and_a_slip_does_not(setup, references):
    """The check of part 2's optimiser cell: the reference's SGDMomentum and Adam end one epoch where
    torch.optim's do, far inside the tolerance, and slips of an update rule end far outside it."""
    import torch

    data, _, torch_arm = setup
    part1, _ = references
    sizes = sizes_of(data)

    def numpy_weights(make_optimizer):
        model = part1["MLP"](sizes[0], sizes[1:-1], sizes[-1], np.random.default_rng(0))
        return C.final_parameters(C.NumpyArm(model, part1["softmax_cross_entropy"], make_optimizer=make_optimizer),
                                  data, sizes)

    sgd, adam = C.OPTIMISER_CHECK["SGD with momentum"], C.OPTIMISER_CHECK["Adam"]
    torch_sgd = C.final_parameters(torch_arm(lambda p: torch.optim.SGD(p, **sgd)), data, sizes)
    torch_adam = C.final_parameters(torch_arm(lambda p: torch.optim.Adam(p, **adam)), data, sizes)
    gaps = {"sgd": C.parameter_difference(numpy_weights(lambda: part1["SGDMomentum"](**sgd)), torch_sgd),
            "adam": C.parameter_difference(numpy_weights(lambda: part1["Adam"](**adam)), torch_adam)}
    print("reference against torch.optim:", gaps, "tolerance", C.OPTIMISER_TOLERANCE)
    assert max(gaps.values()) < C.OPTIMISER_TOLERANCE / 1000, gaps
    assert C.parameter_difference(C.initial_parameters(sizes, 0), torch_adam) > 0.1, "the epoch moves the weights"

    class AdamWithoutCorrection(part1["Adam"]):
        """Adam whose step counter stays at a huge value: the bias corrections vanish."""
        def step(self, model):
            self.t = 10 ** 6
            super().step(model)

    slips = {"eps 1e-7": numpy_weights(lambda: part1["Adam"](eps=1e-7, **adam)),
             "no bias correction": numpy_weights(lambda: AdamWithoutCorrection(**adam))}
    for slip, weights in slips.items():
        assert C.parameter_difference(weights, torch_adam) > 1000 * C.OPTIMISER_TOLERANCE, slip
    nesterov = C.final_parameters(torch_arm(lambda p: torch.optim.SGD(p, nesterov=True, **sgd)), data, sizes)
    assert C.parameter_difference(nesterov, torch_sgd) > 1000 * C.OPTIMISER_TOLERANCE
    assert C.parameter_difference(torch_sgd[:1], torch_sgd) == float("inf"), "another shape never matches"
