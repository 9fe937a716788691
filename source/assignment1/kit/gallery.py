"""The grading gallery: the reference, the blank release, every catalogued bug, and fair variants.

A fair variant is a correct submission that differs from the reference in a way that must not cost
points (a harmless warning, a deleted test cell that nbgrader re-inserts, another seed). A tampered
variant edits the visible tests; nbgrader restores them, so it must still lose points. Correct solutions
written differently (kit/alternatives.py, gradekit.authoring.variants) are graded by the strength command's
fairness run instead.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gradekit.authoring.submissions import Edit, submission_with_edits, untouched_release
from gradekit.core.cells import grade_id

from . import ASSIGNMENT
from .bugs import BUGS, NUMPY, bug_named


@dataclass
class Submission:
    kind: str  # "reference", "blank", "bug", "fair" or "tampered"
    notebooks: dict
    expect_lost: dict = field(default_factory=dict)  # notebook -> grade_ids that must lose points


def _delete_cell(nb, cell_id):
    nb.cells = [c for c in nb.cells if grade_id(c) != cell_id]


def _empty_cell(nb, cell_id):
    for c in nb.cells:
        if grade_id(c) == cell_id:
            c.source = "pass"


def gallery_submissions(course: Path, notebooks: list[str]) -> dict[str, Submission]:
    subs = {
        "reference": Submission("reference", submission_with_edits(course, ASSIGNMENT, notebooks)),
        "blank": Submission("blank", untouched_release(course, ASSIGNMENT, notebooks)),
    }
    for bug in BUGS:
        if bug.notebooks <= set(notebooks):
            # only the notebooks the bug touches, to keep the gallery fast
            touched = sorted(bug.notebooks)
            subs[f"bug-{bug.name}"] = Submission("bug", submission_with_edits(course, ASSIGNMENT, touched, bug.edits),
                                                 {nb: set(bug.caught_by) for nb in touched})

    if NUMPY in notebooks:  # the variants below change part 1 only, so they submit part 1 only
        warn = Edit(NUMPY, "relu_module", "self.mask = x > 0",
                    'import warnings; warnings.warn("a harmless warning on stderr")\n        self.mask = x > 0')
        subs["fair-harmless-warning"] = Submission("fair", submission_with_edits(course, ASSIGNMENT, [NUMPY], [warn]))

        deleted = submission_with_edits(course, ASSIGNMENT, [NUMPY])
        _delete_cell(deleted[NUMPY], "test_linear_forward")
        _delete_cell(deleted[NUMPY], "test_overfit_small")
        subs["fair-deleted-test-cells"] = Submission("fair", deleted)

        subs["fair-other-seed"] = Submission(
            "fair", submission_with_edits(course, ASSIGNMENT, [NUMPY], [Edit(NUMPY, None, "SEED = 42", "SEED = 7")]))

        bug = bug_named("bias_grad_mean")
        tampered = submission_with_edits(course, ASSIGNMENT, [NUMPY], bug.edits)
        for cell_id in bug.caught_by:
            _empty_cell(tampered[NUMPY], cell_id)
        subs["tampered-emptied-tests"] = Submission("tampered", tampered, {NUMPY: set(bug.caught_by)})

    return subs

