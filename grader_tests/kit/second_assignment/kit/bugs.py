"""Classic mistakes in the warm-up, each with the tests that must catch it."""
from gradekit.authoring.submissions import Bug, Edit

NOTEBOOK = "warmup"

BUGS = [
    Bug("mean_divides_by_n", "divides by the number of samples instead of the weight sum",
        (Edit(NOTEBOOK, "weighted_mean", "np.sum(w * x) / np.sum(w)", "np.sum(w * x) / len(x)"),),
        ("test_weighted_mean", "test_weighted_variance")),
    Bug("variance_unweighted", "averages the squared deviations without the weights",
        (Edit(NOTEBOOK, "weighted_variance", "np.sum(w * (x - weighted_mean(x, w)) ** 2) / np.sum(w)",
              "np.mean((x - weighted_mean(x, w)) ** 2)"),),
        ("test_weighted_variance",)),
]


def bug_named(name: str) -> Bug:
    return next(b for b in BUGS if b.name == name)
