"""gradekit: the course kit's tooling beyond nbgrader (generation, grading helpers) for TAs and instructors."""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
