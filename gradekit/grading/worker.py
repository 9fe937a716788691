"""A long-lived grading process: `python -m gradekit.grading.worker COURSE ASSIGNMENT SUPERVISOR_PID`.

Reads one GradingRequest per line on stdin, runs nbgrader's own autograde (and generate_feedback) for
that student in-process through nbgrader's API, and writes one WorkerReply per line (both JSON, see
gradekit.grading.supervision). Importing nbgrader once per worker instead of once per student is what makes the
batch command cheaper than one `nbgrader autograde` process per student. The supervisor enforces wall
time and memory by killing this process and its kernels.
"""
from __future__ import annotations

import json
import os
import sys
import time
from typing import TYPE_CHECKING

from gradekit.grading.supervision import GradingRequest, WorkerReply
from gradekit.plugins.sandbox import die_with_parent

if TYPE_CHECKING:  # names in annotations only
    from nbgrader.apps import NbGraderAPI


def make_api(course: str):
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    from gradekit.core.layout import Course

    course = Course(course)
    config = course.config
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


def handle(api: NbGraderAPI, course: str, assignment: str, request: GradingRequest) -> WorkerReply:
    """Intake, autograde from the private copy, feedback; the kernel's scratch folders removed after."""
    from gradekit.core.layout import Course, student_id_problem
    from gradekit.grading.intake import SubmissionRejected, discard, take_in
    from gradekit.plugins.findings import take_recorded

    course = Course(course)
    t0 = time.perf_counter()
    if problem := student_id_problem(request.student):  # nbgrader would grade every id the pattern matches
        return WorkerReply(request.student, rejected=f"invalid student id: {problem}")
    take_recorded()
    try:
        intake = take_in(course.root, assignment, request.student, course.notebooks(assignment))
    except SubmissionRejected as err:
        discard(course.root, assignment, request.student)
        return WorkerReply(request.student, rejected=str(err), seconds=time.perf_counter() - t0)
    api.coursedir.submitted_directory = str(course.intake(assignment).relative_to(course.root))
    api.config.BoundedExecute.probe_seed = request.probe_seed
    try:
        result = api.autograde(assignment, request.student, force=True, create=True)
    finally:
        discard(course.root, assignment, request.student)
    reply = WorkerReply(request.student, success=bool(result.get("success")),
                        log=(result.get("log") or "")[-20000:], error=(result.get("error") or "")[-5000:],
                        findings=take_recorded(), intake_flags=intake.flags(),
                        repairs=[r.record() for r in intake.repairs],
                        notebooks=sorted(n[:-6] for n in intake.kept if n.endswith(".ipynb") and "/" not in n))
    if reply.success and request.feedback:
        feedback = api.generate_feedback(assignment, request.student, force=True)
        reply.feedback = bool(feedback.get("success"))
        if not reply.feedback:
            reply.log += "\n[feedback] " + (feedback.get("error") or "")[-2000:]
    reply.seconds = time.perf_counter() - t0
    return reply


def main(argv: list[str] | None = None) -> int:
    course, assignment, supervisor = (argv or sys.argv[1:])[:3]
    die_with_parent(int(supervisor))
    # Keep stdout for the protocol: anything else printed (logs, library chatter) goes to stderr.
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    api = make_api(course)
    protocol.write("ready\n")
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            request = GradingRequest(**json.loads(line))
        except (ValueError, TypeError) as err:  # a line the supervisor did not write: answer it, keep serving
            protocol.write(WorkerReply("", error=f"bad request: {err}").to_json() + "\n")
            continue
        try:
            reply = handle(api, course, assignment, request)
        except Exception as err:  # noqa: BLE001 - report, never die on one submission
            reply = WorkerReply(request.student, error=f"{type(err).__name__}: {err}")
        protocol.write(reply.to_json() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
