"""The demo's sample submissions besides the reference and the blank release."""
from .bugs import bug_named


def sample_edits() -> dict:
    return {"sample-variance-unweighted": list(bug_named("variance_unweighted").edits)}
