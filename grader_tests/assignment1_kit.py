"""Assignment 1 as the tests see it: the kit's own course, the assignment's name, its kit (source/assignment1/kit)."""
from pathlib import Path

from gradekit.core.assignment_kit import load_kit
from gradekit.core.layout import Course

ROOT = Path(__file__).resolve().parents[1]  # the kit's checkout: the course of assignment 1
ASSIGNMENT = "assignment1"
NOTEBOOKS = Course(ROOT).notebooks(ASSIGNMENT)
KIT = load_kit(ROOT, ASSIGNMENT)

BUGS, bug_named, NUMPY, TORCH = KIT.bugs.BUGS, KIT.bugs.bug_named, KIT.bugs.NUMPY, KIT.bugs.TORCH
ALTERNATIVES = KIT.alternatives.ALTERNATIVES
gallery_submissions = KIT.gallery.gallery_submissions
TRICKS, honest_twins, write_hostile, evidence = (KIT.hostile.TRICKS, KIT.hostile.honest_twins,
                                                 KIT.hostile.write_hostile, KIT.hostile.evidence)
