"""What grading learned about one notebook, written into the autograded notebook's metadata.

The one channel from the grading pipeline (gradekit.preprocessors.bounded_execute, running inside
nbgrader) to the batch command and the strength report: typed fields under metadata["gradekit"], never
prose to parse back out of logs. nbgrader_config.py keeps this key through ClearMetadataPreprocessor.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

METADATA_KEY = "gradekit"
PASSED, FAILED = "passed", "failed"


@dataclass
class NotebookFindings:
    # grade_id -> "passed" or "failed": the notebook's own test, as it ran in the student's kernel
    kernel_tests: dict[str, str] = field(default_factory=dict)
    # grade_id -> "passed" or the failure message of the grader's trusted re-check (gradekit.trusted)
    trusted_checks: dict[str, str] = field(default_factory=dict)
    # grade_ids whose test passed in the kernel and failed the re-check (the cell scores 0)
    overruled: list[str] = field(default_factory=list)
    output_truncated: bool = False  # the notebook printed past the output cap; the rest was dropped
    shipped_probe_file: bool = False  # the submission brought its own results file for the re-check

    def save(self, nb) -> None:
        nb.metadata[METADATA_KEY] = asdict(self)

    @classmethod
    def of(cls, nb) -> "NotebookFindings":
        data = nb.metadata.get(METADATA_KEY, {})
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})

    def judges(self) -> dict[str, list[str]]:
        """{grade_id: [the notebook's own test, the trusted re-check]}, each "passed" or "failed"."""
        return {g: [kernel, PASSED if self.trusted_checks.get(g) == PASSED else FAILED]
                for g, kernel in self.kernel_tests.items()}
