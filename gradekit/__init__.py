"""gradekit: tooling beyond nbgrader for instructors and TAs: batch grading, grader strength, course checks.

Assignment-agnostic: everything it knows of an assignment comes from the course folder (see ARCHITECTURE.md).
"""
__version__ = "0.3.0"
