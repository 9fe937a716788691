"""A long-lived grading process: `python -m gradekit.worker COURSE ASSIGNMENT`.

Reads one JSON request per line on stdin ({"student": ID, "feedback": bool}), runs nbgrader's own
autograde (and generate_feedback) for that student in-process through nbgrader's API, and writes one JSON
result per line. Importing nbgrader once per worker instead of once per student is what makes the batch
command cheaper than one `nbgrader autograde` process per student. The supervising process
(gradekit.batch) enforces wall time and memory by killing this process and its kernels.
"""
from __future__ import annotations

import json
import os
import sys
import time


def make_api(course: str):
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=course).load_config()
    config.CourseDirectory.root = course
    coursedir = CourseDirectory(config=config)
    return NbGraderAPI(coursedir=coursedir, config=config)


def handle(api, assignment: str, request: dict) -> dict:
    student = request["student"]
    t0 = time.perf_counter()
    result = api.autograde(assignment, student, force=True, create=True)
    out = {"student": student, "success": bool(result.get("success")),
           "log": (result.get("log") or "")[-20000:], "error": (result.get("error") or "")[-5000:]}
    out["grade_seconds"] = time.perf_counter() - t0
    if out["success"] and request.get("feedback"):
        feedback = api.generate_feedback(assignment, student, force=True)
        out["feedback"] = bool(feedback.get("success"))
        if not out["feedback"]:
            out["log"] += "\n[feedback] " + (feedback.get("error") or "")[-2000:]
    out["seconds"] = time.perf_counter() - t0
    return out


def die_with_parent() -> None:
    """Linux: get SIGKILL when the supervising process dies, so a killed batch leaves no grader behind."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def main(argv=None) -> int:
    course, assignment = (argv or sys.argv[1:])[:2]
    die_with_parent()
    # Keep stdout for the protocol: anything else printed (logs, library chatter) goes to stderr.
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    api = make_api(course)
    protocol.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            out = handle(api, assignment, json.loads(line))
        except Exception as err:  # noqa: BLE001 - report, never die on one submission
            out = {"student": json.loads(line).get("student"), "success": False, "log": "",
                   "error": f"{type(err).__name__}: {err}", "seconds": 0.0}
        protocol.write(json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
