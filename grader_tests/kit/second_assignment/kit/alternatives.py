"""Correct solutions written differently: each must keep full marks."""
from gradekit.authoring.submissions import Edit

from .bugs import NOTEBOOK

ALTERNATIVES = {
    "numpy_average": [Edit(NOTEBOOK, "weighted_mean", "return float(np.sum(w * x) / np.sum(w))",
                           "return np.average(x, weights=w)")],
    "variance_from_moments": [Edit(
        NOTEBOOK, "weighted_variance", "return float(np.sum(w * (x - weighted_mean(x, w)) ** 2) / np.sum(w))",
        "return weighted_mean(x * x, w) - weighted_mean(x, w) ** 2")],
}


def draw(notebook: str, k: int) -> list:
    """Nothing in the warm-up is left to chance: no draws."""
    return []
