"""What the kit's generic commands and tests need to know about assignment 1, kept with the assignment.

Never released (nbgrader_config.py ignores kit/). Loaded by gradekit.core.assignment_kit:
- bugs: the catalogue of classic mistakes, each with the tests that must catch it;
- alternatives: correct solutions written differently, and draws of the free randomness (strength);
- gallery: the submissions grader_tests grade (reference, blank, bugs, fair and tampered variants);
- hostile: submissions that attack the grader (grader_tests/assignment1/test_hostile.py);
- demo: the sample submissions of `gradekit demo`;
- redteam: attacks by a student who has read the kit, each beside its honest twin (grader_tests/assignment1/test_redteam.py).
"""
from pathlib import Path

ASSIGNMENT = Path(__file__).resolve().parent.parent.name
