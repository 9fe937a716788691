"""How often the instructor's solution fails one of its own trusted checks, over many random seeds.

A check must hold for every input a batch can draw: a failure here means a check depends on luck (an
honest student would fail with that seed too). Prints, per notebook, the seeds tried, the failures per
check and the time the sweep took. Usage: python benchmarks/seed_sweep.py [SEEDS_PER_NOTEBOOK]
"""
from __future__ import annotations

import secrets
import sys
import time
from collections import Counter
from pathlib import Path

from gradekit.core.layout import Course
from gradekit.plugins.trusted import reference_sweep

ROOT = Path(__file__).resolve().parents[1]

ASSIGNMENT = "assignment1"


def main(n: int) -> None:
    course = Course(ROOT)
    for notebook in course.notebooks(ASSIGNMENT):
        if not (course.probes(ASSIGNMENT) / f"{notebook}.py").is_file():
            continue
        seeds = [secrets.randbits(63) for _ in range(n)]
        t0 = time.perf_counter()
        failures = reference_sweep(ROOT, ASSIGNMENT, notebook, seeds)
        per_check = Counter(g for failed in failures.values() for g in failed)
        print(f"{notebook}: {len(failures)}/{n} seeds fail a check ({time.perf_counter() - t0:.0f} s) "
              f"{dict(per_check) or ''}")
        for seed, failed in list(failures.items())[:3]:
            print(f"  seed {seed}: {failed}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
