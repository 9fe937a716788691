"""Sample submissions of `gradekit demo`, besides the reference and the blank release."""
from .bugs import bug_named

SAMPLE_BUGS = ["softmax_no_max_subtraction", "bias_grad_mean"]


def sample_edits() -> dict:
    """{student id: edits of the reference solution}."""
    return {f"sample-bug-{name}": list(bug_named(name).edits) for name in SAMPLE_BUGS}
