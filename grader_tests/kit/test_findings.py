"""NotebookFindings: typed notebook metadata that survives a round trip, ignores what it does not know,
and reaches the worker's reply from memory."""
from __future__ import annotations

import nbformat

from gradekit.plugins.findings import FAILED, METADATA_KEY, PASSED, NotebookFindings, record, take_recorded


def test_findings_round_trip_through_notebook_metadata():
    nb = nbformat.v4.new_notebook()
    findings = NotebookFindings(kernel_tests={"t1": PASSED}, trusted_checks={"t1": "wrong shape"}, overruled=["t1"],
                                verdicts={"t1": "wrong shape"}, verified=True, probe_seed=7)
    findings.save(nb)
    assert nb.metadata[METADATA_KEY]["probe_seed"] == 7
    assert NotebookFindings.of(nb) == findings
    assert NotebookFindings.of(nbformat.v4.new_notebook()) == NotebookFindings()  # nothing recorded: defaults


def test_unknown_keys_are_ignored():
    assert NotebookFindings.from_dict({"verified": True, "awarded_points": 100}) == NotebookFindings(verified=True)


def test_judges_reads_any_recheck_message_as_a_failure():
    findings = NotebookFindings(kernel_tests={"a": PASSED, "b": PASSED, "c": FAILED},
                                trusted_checks={"a": PASSED, "b": "off by 0.5"})
    assert findings.judges() == {"a": [PASSED, PASSED], "b": [PASSED, FAILED], "c": [FAILED, FAILED]}


def test_recorded_findings_are_taken_once():
    take_recorded()
    record("nb1", NotebookFindings(verified=True))
    assert take_recorded() == {"nb1": {**NotebookFindings(verified=True).__dict__}}
    assert take_recorded() == {}
