"""Tests of assignment 1's content: its notebooks, helpers, sanity values, and its grading (the gallery's bugs
and alternatives, fairness, feedback, leaks, hostile and red-team submissions)."""
