"""Grading a batch: intake and repair, worker processes and their supervision, suspicious-code and
similarity flags, the batch command. Imports core, plugins and records."""
