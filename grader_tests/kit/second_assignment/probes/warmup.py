"""Trusted re-check of warmup.ipynb: the student's functions on inputs no test cell used."""
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from gradekit.plugins.probe_api import probe


@probe("test_weighted_mean")
def probe_weighted_mean(ns):
    rng = np.random.default_rng(101)
    x, w = rng.normal(size=17), rng.uniform(0, 3, size=17)
    return {"mean": ns["weighted_mean"](x, w), "equal": ns["weighted_mean"](x, np.full(17, 0.5))}


@probe("test_weighted_variance")
def probe_weighted_variance(ns):
    rng = np.random.default_rng(102)
    x, w = rng.normal(1.0, 4.0, size=19), rng.uniform(0, 3, size=19)
    x_before, w_before = x.copy(), w.copy()
    out = {"variance": ns["weighted_variance"](x, w), "equal": ns["weighted_variance"](x, np.ones(19))}
    return {**out, "inputs_changed": not (np.array_equal(x, x_before) and np.array_equal(w, w_before))}
