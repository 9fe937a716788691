"""Reference test accuracy of both notebooks over seeds, and its margin to the hidden tests' thresholds.

The hidden test `test_final_accuracy` requires the trained model to reach a threshold on the test set.
A student may change SEED, so the reference must clear the threshold for every seed, with a margin.
Run: .venv/bin/python source/assignment1/kit/benchmarks/accuracy_over_seeds.py [--seeds 10]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from gradekit.reference import load_reference  # noqa: E402

COURSE = Path(__file__).resolve().parents[4]  # the course folder: source/assignment1/kit/benchmarks/..

NUMPY_THRESHOLD = 0.93  # keep in sync with test_final_accuracy in 1_mlp_numpy.ipynb
TORCH_THRESHOLD = 0.93  # keep in sync with test_final_accuracy in 2_mlp_pytorch.ipynb


def numpy_accuracies(seeds):
    ref = load_reference(COURSE, "assignment1", "1_mlp_numpy")
    X_tr, y_tr, X_va, y_va, X_te, y_te = ref["load_digits_split"](seed=0)
    X_tr, X_va, X_te = ref["standardize"](X_tr, X_va, X_te)
    rows = []
    for seed in seeds:
        model = ref["MLP"](X_tr.shape[1], [128], 10, np.random.default_rng(seed))
        t0 = time.perf_counter()
        ref["train"](model, X_tr, y_tr, X_va, y_va, lr=0.1, batch_size=32, epochs=20, seed=seed)
        seconds = time.perf_counter() - t0
        rows.append((seed, ref["accuracy"](model.forward(X_te), y_te), seconds))
    return rows


def torch_accuracies(seeds):
    import contextlib
    import io

    import torch

    with contextlib.redirect_stdout(io.StringIO()):
        ref = load_reference(COURSE, "assignment1", "2_mlp_pytorch")
    data = ref["load_digits_standardized"](seed=0)
    device = torch.device("cpu")
    rows = []
    for seed in seeds:
        train_loader, val_loader, test_loader = ref["make_loaders"](*data, batch_size=32, seed=seed)
        torch.manual_seed(seed)
        model = ref["MLP"](64, [128], 10)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        t0 = time.perf_counter()
        ref["fit"](model, train_loader, val_loader, optimizer, torch.nn.CrossEntropyLoss(), device, 20)
        seconds = time.perf_counter() - t0
        rows.append((seed, ref["evaluate"](model, test_loader, device), seconds))
    return rows


def report(name, rows, threshold):
    accs = np.array([acc for _, acc, _ in rows])
    print(f"\n{name}: test accuracy of the reference over {len(rows)} seeds (threshold {threshold})")
    for seed, acc, seconds in rows:
        print(f"  seed {seed:3d}: {acc:.4f}   ({seconds:.2f} s training)")
    print(f"  min {accs.min():.4f}  mean {accs.mean():.4f}  max {accs.max():.4f}  std {accs.std():.4f}")
    margin = accs.min() - threshold
    print(f"  margin of the worst seed to the threshold: {margin:+.4f} "
          f"({margin * 360:.0f} test images of 360); {'OK' if margin > 0 else 'FLAKY'}")
    return margin > 0


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args()
    seeds = range(args.seeds)
    ok = report("1_mlp_numpy", numpy_accuracies(seeds), NUMPY_THRESHOLD)
    ok &= report("2_mlp_pytorch", torch_accuracies(seeds), TORCH_THRESHOLD)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
