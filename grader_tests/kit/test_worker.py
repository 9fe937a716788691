"""The grading worker's protocol: `ready`, then one reply per request line, whatever the line holds;
a submission that cannot be taken in is answered with the reason, and the worker keeps serving."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from gradekit.core.nbgrader_run import nbgrader_env
from grader_tests.helpers import WARMUP, warmup_course


def test_the_worker_answers_every_line_and_keeps_serving(tmp_path):
    course = warmup_course(tmp_path / "course")
    proc = subprocess.Popen([sys.executable, "-m", "gradekit.grading.worker", str(course), WARMUP, str(os.getpid())],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            cwd=course, env=nbgrader_env())
    try:
        assert proc.stdout.readline() == "ready\n"
        replies = []
        for line in ("not json", '{"no_such_field": 1}', json.dumps({"student": "nobody", "feedback": False})):
            proc.stdin.write(line + "\n")
            proc.stdin.flush()
            replies.append(json.loads(proc.stdout.readline()))
        assert replies[0]["error"].startswith("bad request") and replies[1]["error"].startswith("bad request")
        assert replies[2]["student"] == "nobody" and not replies[2]["success"]
        assert "not a folder" in replies[2]["rejected"], replies[2]
    finally:
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0  # stdin closed: the worker ends cleanly
