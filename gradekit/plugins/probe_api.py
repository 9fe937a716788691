"""What a probe file (source/<assignment>/probes/<notebook>.py) may use without defining it: the names
that gradekit.plugins.trusted's PRELUDE defines before the file runs, in the student's kernel and in the grader.

A probe file imports them from here under `if TYPE_CHECKING:`, so that editors and linters know them while
the running file takes the prelude's (the kernel never imports the kit):

    from typing import TYPE_CHECKING
    if TYPE_CHECKING:
        from gradekit.plugins.probe_api import batch_rng, batch_seed, check, probe

The contract: `@probe(grade_id)` registers `fn(ns) -> {key: array}`, run in the kernel with the notebook's
namespace `ns`; `@check(grade_id)` registers `fn(got, ref) -> message | None`, run in the grader on the
kernel's arrays and the reference's; every graded cell needs a probe and every probe a graded cell
(trusted.check_coverage fails the batch otherwise).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

Probe = Callable[[Mapping[str, Any]], Mapping[str, Any]]
Check = Callable[[Mapping[str, np.ndarray], Mapping[str, np.ndarray]], "str | None"]


def probe(grade_id: str) -> Callable[[Probe], Probe]:
    """Register the probe of the graded cell `grade_id`."""
    raise NotImplementedError("defined by gradekit.plugins.trusted's prelude when the probes run")


def check(grade_id: str) -> Callable[[Check], Check]:
    """Register the check of the graded cell `grade_id` (without one, trusted.default_check applies)."""
    raise NotImplementedError("defined by gradekit.plugins.trusted's prelude when the probes run")


def batch_rng(*key: int) -> np.random.Generator:
    """A NumPy generator drawn from the batch's secret seed and `key`: the same in kernel and reference."""
    raise NotImplementedError("defined by gradekit.plugins.trusted's prelude when the probes run")


def batch_seed(*key: int) -> int:
    """An integer seed (for torch.Generator) drawn from the batch's secret seed and `key`."""
    raise NotImplementedError("defined by gradekit.plugins.trusted's prelude when the probes run")
