"""What grading learned about one notebook, written into the autograded notebook's metadata.

Typed fields under metadata["gradekit"] (nbgrader_config.py keeps this key through
ClearMetadataPreprocessor), never prose to parse back out of logs. The batch command does not read them
back from the autograded notebook: the worker, which runs nbgrader in its own process, takes them from
memory (`record` / `take_recorded`) and sends them in its reply.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # names in annotations only
    from nbformat import NotebookNode

METADATA_KEY = "gradekit"
PASSED, FAILED = "passed", "failed"


@dataclass
class NotebookFindings:
    # grade_id -> "passed" or "failed": the notebook's own test, as it ran in the student's kernel
    kernel_tests: dict[str, str] = field(default_factory=dict)
    # grade_id -> "passed" or the failure message of the grader's trusted re-check (gradekit.plugins.trusted)
    trusted_checks: dict[str, str] = field(default_factory=dict)
    # grade_ids whose test passed in the kernel and failed the re-check (the cell scores 0)
    overruled: list[str] = field(default_factory=list)
    output_truncated: bool = False  # the notebook printed past the output cap; the rest was dropped
    # grade_id -> "passed" or the grader's reason: what every graded cell was scored on (gradekit.plugins.verdicts)
    verdicts: dict[str, str] = field(default_factory=dict)
    verified: bool = False  # every graded cell had a grader-side check (the assignment has probes)
    probe_seed: int = 0  # the secret seed the probes' inputs were drawn from (a regrade reproduces it)

    def save(self, nb: NotebookNode) -> None:
        nb.metadata[METADATA_KEY] = asdict(self)

    @classmethod
    def of(cls, nb: NotebookNode) -> "NotebookFindings":
        return cls.from_dict(nb.metadata.get(METADATA_KEY, {}))

    @classmethod
    def from_dict(cls, data: dict) -> "NotebookFindings":
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})

    def judges(self) -> dict[str, list[str]]:
        """{grade_id: [the notebook's own test, the trusted re-check]}, each "passed" or "failed"."""
        return {g: [kernel, PASSED if self.trusted_checks.get(g) == PASSED else FAILED]
                for g, kernel in self.kernel_tests.items()}


_RECORDED: dict[str, NotebookFindings] = {}


def record(notebook: str, findings: NotebookFindings) -> None:
    """Keep a notebook's findings in this process for the worker's reply."""
    _RECORDED[notebook] = findings


def take_recorded() -> dict[str, dict]:
    """The findings recorded since the last call, as plain data; the record is emptied."""
    out = {nb: asdict(f) for nb, f in _RECORDED.items()}
    _RECORDED.clear()
    return out
