"""What gradekit.grading.similarity needs to know about assignment 1: where the notebooks set their seed.

Both notebooks train from `SEED = <int>`; two submissions with different seeds that print the same
trained numbers to the last digit copied the numbers (or ignore the seed).
"""
SEED_PATTERN = r"^SEED\s*=\s*(\d+)"
