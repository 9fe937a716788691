"""Grader strength: mutants the tests must catch, correct variants and draws they must pass, graded as one
batch (measure.py); the results as types with their statistics (report.py); strength.md, the figure and
the summary table (render.py)."""
from gradekit.authoring.strength.measure import EQUIVALENTS_FILE, run
from gradekit.authoring.strength.render import summary_table
from gradekit.authoring.strength.report import StrengthReport

__all__ = ["EQUIVALENTS_FILE", "StrengthReport", "run", "summary_table"]
