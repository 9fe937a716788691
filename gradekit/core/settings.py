"""Settings of the batch command, read from the course's nbgrader_config.py like nbgrader's own.

`c.BatchGrading.timeout = 900` in nbgrader_config.py; `gradekit config` lists every setting
with its help and default. Command-line flags override the file for one run.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from traitlets import Float, Integer, TraitError, validate
from traitlets.config import Configurable

from gradekit.core.layout import Course


class BatchGrading(Configurable):
    timeout = Float(600.0, help="Wall seconds for all notebooks of one submission and its feedback; a "
                                "submission still running then fails with reason 'timeout'.").tag(config=True)
    memory_limit_mb = Integer(4096, help="Resident memory (MB) of one submission's grading process and its "
                                         "kernels together; over it, the submission fails with reason "
                                         "'memory'.").tag(config=True)
    jobs = Integer(0, help="Submissions graded at once on this machine; 0: one per core it may use "
                           "($GRADEKIT_CORES, else the process's CPU affinity). Each gets cores / jobs BLAS "
                           "threads.").tag(config=True)
    disk_limit_mb = Integer(1024, help="What the kernels of one submission may write into their working copy "
                                       "(MB, or a thousand files per MB); over it, the submission fails with "
                                       "reason 'disk'.").tag(config=True)
    spare_seeds = Integer(8, help="Secret seeds for later batches, drawn by a batch that has to run the trusted "
                                  "re-check's reference notebooks: their reference results cost one more run of "
                                  "the probes each, and the next batches then start without running the "
                                  "references (each batch takes one seed, never another's). 0: none.").tag(config=True)

    @validate("timeout", "memory_limit_mb", "jobs", "disk_limit_mb", "spare_seeds")
    def _not_negative(self, proposal):
        may_be_zero = proposal["trait"].name in ("jobs", "spare_seeds")
        if proposal["value"] < 0 or (not may_be_zero and proposal["value"] == 0):
            raise TraitError(f"BatchGrading.{proposal['trait'].name} must be positive, got {proposal['value']!r}")
        return proposal["value"]


@dataclass
class Limits:
    """What one submission may use (the values a worker process is supervised with)."""
    timeout: float = BatchGrading.timeout.default_value
    memory_mb: int = BatchGrading.memory_limit_mb.default_value
    disk_mb: int = BatchGrading.disk_limit_mb.default_value

    @classmethod
    def from_config(cls, course: Path, timeout: float | None = None, memory_mb: int | None = None) -> Limits:
        settings = batch_settings(course)
        return cls(timeout=float(timeout or settings.timeout), memory_mb=int(memory_mb or settings.memory_limit_mb),
                   disk_mb=int(settings.disk_limit_mb))


def batch_settings(course: Path) -> BatchGrading:
    """The course's BatchGrading settings (TraitError, naming the setting, when one is invalid)."""
    course = Course(course)
    return BatchGrading(config=course.config)


CORES_VARIABLE = "GRADEKIT_CORES"


def usable_cores() -> int:
    """Cores a batch may use: $GRADEKIT_CORES when set (a machine shared with other work), else the cores this
    process may run on (its affinity, which a container or a scheduler may have narrowed)."""
    value = os.environ.get(CORES_VARIABLE, "")
    if value.isdigit() and int(value) > 0:
        return int(value)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def describe() -> str:
    """Every setting, its help and default, as `--help-all` lists nbgrader's."""
    return BatchGrading.class_get_help()
