"""Tests of the kit itself (gradekit/): layers, batch, verdicts, late policy, LMS file, self-check, similarity,
damage, strength, a second assignment."""
