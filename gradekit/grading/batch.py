"""Batch autograding for TAs: parallel, observable, resumable, honest (`gradekit grade`).

Orchestration: which submissions to grade, grading them in supervised workers (gradekit.grading.supervision),
turning each worker's reply and the autograded notebooks' findings (gradekit.plugins.findings) into one Result
(gradekit.records.results) with exactly one status, then the export and the class report.
"""
from __future__ import annotations

import itertools
import re
import shutil
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from gradekit.core.errors import GradekitError
from gradekit.core.layout import Course, student_id_problem
from gradekit.core.nbgrader_run import run_nbgrader
from gradekit.core.settings import Limits, batch_settings, usable_cores
from gradekit.grading import similarity
from gradekit.grading.intake import discard
from gradekit.grading.supervision import WorkerReply, run_dask, run_local
from gradekit.grading.suspicious import submission_flags
from gradekit.plugins import trusted
from gradekit.plugins.findings import NotebookFindings
from gradekit.records import similarity_flags
from gradekit.records.export import write_export
from gradekit.records.report import write_report
from gradekit.records.results import Result, ResultStore, Status, apply_scores, read_grades, submission_sha

if TYPE_CHECKING:  # names in annotations only
    from typing import TextIO

TRUSTED_OVERRULED = "trusted re-check failed where the notebook's own test passed"

FAILURE_PATTERNS = [
    (r"NotJSONError|Notebook does not appear to be JSON|Unreadable Notebook|NotebookValidationError"
     r"|is not valid JSON|validation error", "invalid notebook"),
    (r"in add_missing_grade_cells|in add_missing_cells",
     "invalid notebook: nbgrader's cell metadata was removed, so the test cells cannot be put back"),
    (r"DeadKernelError|Kernel died|kernel died|Kernel didn't respond", "kernel died"),
    (r"CellTimeoutError|Timeout waiting for|timed out|TimeoutError", "timeout"),
    (r"MemoryError", "memory"),
]


# The last line of a Python traceback: "nbgrader.api.MissingEntry: No assignment with ID ..."
EXCEPTION_LINE = re.compile(r"^(?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*(?:Error|Exception|Entry|Exit)\b(?::|$)")


def classify_failure(text: str) -> str:
    for pattern, reason in FAILURE_PATTERNS:
        if re.search(pattern, text):
            return reason
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    # the cause, not nbgrader's closing "Please see the the above traceback" line
    causes = [line for line in lines if EXCEPTION_LINE.match(line)] or [
        line for line in lines if ("ERROR" in line or "Error" in line) and "above traceback" not in line]
    return "nbgrader error: " + (causes[-1][:200] if causes else "unknown (see grading/logs)")


def purge_grade(course: Path, assignment: str, student: str) -> None:
    """Remove any earlier grade of a submission that now failed, so nothing stale looks current."""
    from nbgrader.api import Gradebook, MissingEntry
    course = Course(course)
    with Gradebook(course.gradebook_url) as gb:
        try:
            gb.remove_submission(assignment, student)
        except MissingEntry:
            pass
    for folder in (course.autograded(student, assignment), course.feedback(student, assignment)):
        shutil.rmtree(folder, ignore_errors=True)


def finalize(course: Path, assignment: str, reply: WorkerReply, limits: Limits, sha: str) -> Result:
    """The one Result of a submission, from the worker's reply, the gradebook and the notebooks' findings."""
    course = Course(course)
    student = reply.student
    discard(course, assignment, student)  # a killed worker leaves its copies behind
    result = Result(student, Status.FAILED, seconds=round(reply.seconds, 2), submission_sha=sha,
                    graded_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    if reply.killed == "timeout":
        result.reason = f"timeout: still running after {limits.timeout:g} s"
    elif reply.killed == "memory":
        result.reason = f"memory: over {limits.memory_mb} MB"
    elif reply.killed == "disk":
        result.reason = f"disk: its kernels wrote over {limits.disk_mb} MB (or as many thousand files)"
    elif reply.killed:
        result.reason = reply.killed
    elif reply.rejected:
        result.reason = reply.rejected
    elif not reply.success:
        result.reason = classify_failure(reply.log + "\n" + reply.error)
    result.flags += list(reply.intake_flags) + submission_flags(course, assignment, student)
    result.repairs = list(reply.repairs)
    if result.reason:
        purge_grade(course, assignment, student)
        return result

    grades = {nb: g for (_, nb), g in read_grades(course, assignment, student=student).items()}
    submitted = set(reply.notebooks)  # after intake, which may have taken a notebook saved under another name
    result.flags += [f"missing notebook {nb}" for nb in course.notebooks(assignment) if nb not in submitted]
    if reply.feedback is False:
        result.flags.append("feedback failed")
    # from the worker's memory, never read back from a folder
    findings = {nb: NotebookFindings.from_dict(f) for nb, f in sorted(reply.findings.items())
                if nb in course.notebooks(assignment)}
    result.flags += findings_flags(findings)
    result.verified = bool(findings) and all(f.verified for f in findings.values())
    result.probe_seed = next((f.probe_seed for f in findings.values() if f.probe_seed), 0)
    if not result.verified:
        result.flags.append("unverified: " + (", ".join(nb for nb, f in findings.items() if not f.verified)
                                              or "no notebook graded") + " without grader-side checks")
    result.judges = {f"{nb}:{g}": v for nb, f in findings.items() for g, v in f.judges().items()}
    result.tests = {f"{nb}:{t}": list(v) for nb, g in grades.items() for t, v in g.autograded.items()}
    return apply_scores(result, grades.values())


def findings_flags(findings: dict[str, NotebookFindings]) -> list[str]:
    """What a TA should look at, from each notebook's findings. Overruled cells passed the notebook's test
    in the student's kernel but failed the grader's re-check (gradekit.plugins.trusted): the notebook's own tests
    were made to lie, or the code only works on the tests' inputs."""
    flags = []
    if any(f.output_truncated for f in findings.values()):
        flags.append("output truncated")
    overruled = [f"{nb}:{g}" for nb, f in findings.items() for g in f.overruled]
    return flags + ([f"{TRUSTED_OVERRULED}: {', '.join(overruled)}"] if overruled else [])


# ------------------------------------------------------------------------------------------------
# The command
# ------------------------------------------------------------------------------------------------


def require_registered(course: Path, assignment: str) -> None:
    """Stop before grading when the gradebook does not know the assignment: nbgrader would fail every
    submission with a message that hides the cause, and flag every test cell as edited."""
    from nbgrader.api import Gradebook, MissingEntry

    course = Course(course)
    url = course.gradebook_url
    with Gradebook(url) as gb:
        try:
            gb.find_assignment(assignment)
            return
        except MissingEntry:
            pass
    raise GradekitError(f"the gradebook ({url}) has no assignment {assignment!r}",
                        f"run `gradekit generate {assignment}` (nbgrader generate_assignment) in {course} first, "
                        "then grade again")


def collect_zip(course: Path, assignment: str, zip_file: Path, times_file: Path | None = None) -> None:
    """Unpack an LMS export with nbgrader's zip_collect into submitted/<student>/<assignment>/; the LMS's
    submission times, if given, go beside it for gradekit.plugins.zip_collector.LmsCollector."""
    from gradekit.plugins.zip_collector import TIMES_FILE, read_times

    course = Course(course)
    archive = course.lms_archive(assignment)
    archive.mkdir(parents=True, exist_ok=True)
    (archive / TIMES_FILE).unlink(missing_ok=True)  # times belong to the zip they came with
    if times_file:
        try:
            read_times(Path(times_file))
        except (OSError, ValueError) as err:
            raise GradekitError(f"--times: {err}")
        shutil.copy(times_file, archive / TIMES_FILE)
    shutil.copy(zip_file, archive / Path(zip_file).name)
    run_nbgrader(course, "zip_collect", assignment, "--force")


SEED_ATTEMPTS = 5


def prepare_trusted_references(course: Path, assignment: str, seed: int | None = None, out: TextIO | None = None) -> int:
    """Choose the batch's secret seed (or take the one given, to reproduce a batch), take the snapshot of
    source/ and have the reference results of the trusted re-check ready before grading starts, so that no
    submission's time limit pays for them; returns the seed.

    A spare seed left by an earlier batch comes with its results. Otherwise the seed is drawn, with
    `BatchGrading.spare_seeds` more for later batches, and each reference notebook runs once for all of them;
    a seed on which the reference fails its own checks is never used, and when every one fails, new ones are
    drawn. Progress goes to `out` (default: standard output as it is at the call)."""
    course = Course(course)
    out = out or sys.stdout
    snap = trusted.snapshot(course, assignment)
    probed = [nb for nb in course.notebooks(assignment) if (snap / "probes" / f"{nb}.py").is_file()]
    if seed is None and probed:
        spare = trusted.take_spare_seed(course, assignment, probed)
        if spare is not None:
            print("trusted re-check: reference results ready (computed with an earlier batch)", file=out)
            return trusted.new_seed(course, assignment, spare)
    attempts = SEED_ATTEMPTS if seed is None else 1
    spares = batch_settings(course).spare_seeds if seed is None and probed else 0
    for attempt in itertools.count(1):  # returns, or raises at the last attempt
        seeds = [trusted.draw_seed() if seed is None else int(seed)] + [trusted.draw_seed() for _ in range(spares)]
        failed: dict[int, dict] = {}
        try:
            for notebook in probed:
                todo = [s for s in seeds if not trusted.has_reference(course, assignment, notebook, s)]
                t0 = time.perf_counter()
                for s, own in (trusted.compute_references(course, assignment, notebook, todo) if todo else {}).items():
                    failed.setdefault(s, {}).update({f"{notebook}:{g}": m for g, m in own.items()})
                print(f"trusted re-check of {notebook}: reference results ready ({time.perf_counter() - t0:.1f} s"
                      + (f", with {spares} spare seeds" if spares else "") + ")", file=out)
        except trusted.ProbeError as err:
            if isinstance(err, trusted.ProbeFileError) or attempt == attempts:
                raise GradekitError(str(err)) from None
            print(f"trusted re-check: {err}; drawing other seeds", file=out)
            continue
        usable = [s for s in seeds if s not in failed]
        if usable:
            trusted.add_spare_seeds(course, assignment, usable[1:])
            return trusted.new_seed(course, assignment, usable[0])
        example = f"with seed {seeds[0]}: {failed[seeds[0]]}"
        if attempt == attempts:
            raise GradekitError(f"the reference solution fails its own checks {example}")
        print(f"trusted re-check: the reference fails a check with every seed drawn ({example}); drawing others",
              file=out)


def status_line(r: Result) -> str:
    score = f"{r.score:g}/{r.max_score:g}" if r.score is not None else "-"
    extra = r.reason or ", ".join(r.flags)
    if r.status == Status.NEEDS_MANUAL:
        extra = f"{r.manual_pending:g} points to grade by hand" + (f"; {extra}" if extra else "")
    return f"{r.student:<28s} {r.status.value:<12s} {score:>9s} {r.seconds:6.1f} s  {extra}".rstrip()


def grade(course: Path, assignment: str, students: list[str] | None = None, jobs: int | None = None,
          limits: Limits | None = None, force: bool = False, retry_failed: bool = False, feedback: bool = True,
          scheduler: str | None = None, zip_file: Path | None = None, times_file: Path | None = None,
          progress: bool = True, seed: int | None = None, out: TextIO | None = None) -> dict[str, Result]:
    """Grade submissions; returns the results of every selected student (graded now or before). Progress and
    the summary go to `out` (default: standard output as it is at the call)."""
    from tqdm import tqdm

    course = Course(course)
    out = out or sys.stdout
    limits = limits or Limits.from_config(course)
    jobs = jobs or batch_settings(course).jobs or usable_cores()
    if zip_file:
        collect_zip(course, assignment, Path(zip_file), times_file)
    course.pick(assignment)
    available = course.submitted_students(assignment)
    selected = list(students) if students else available
    unknown = sorted(set(selected) - set(available))
    if unknown:
        raise GradekitError(f"no submission in submitted/<student>/{assignment}/ for: {', '.join(unknown)}",
                            "check the names against submitted/, or collect the submissions first")

    require_registered(course, assignment)
    store = ResultStore(course, assignment)
    todo, results = [], {}
    shas = {s: submission_sha(course, assignment, s) for s in selected}
    for s in selected:
        prev = store.load(s)
        done = prev is not None and prev.submission_sha == shas[s] and not force
        if done and not (retry_failed and prev.status == Status.FAILED):
            results[s] = prev
        else:
            todo.append(s)
    for s in todo:
        store.delete(s)  # until it is graded again, nothing claims a current grade for it
    print(f"{len(selected)} submissions: {len(results)} already graded (use --force to regrade), "
          f"{len(todo)} to grade with {1 if scheduler else jobs} {'cluster' if scheduler else 'local'} "
          f"job{'s' if jobs > 1 else ''}; limits {limits.timeout:g} s, {limits.memory_mb} MB each", file=out)

    # an id nbgrader would read as a pattern of other students' names is never handed to it
    problems = {s: student_id_problem(s) for s in todo}
    gradeable = [s for s in todo if not problems[s]]
    replies = [WorkerReply(s, rejected=f"invalid student id: {problems[s]}") for s in todo if problems[s]]
    if gradeable:
        probe_seed = prepare_trusted_references(course, assignment, seed, out)
        graded = (run_dask(course, assignment, gradeable, scheduler, limits, feedback, probe_seed) if scheduler
                  else run_local(course, assignment, gradeable, jobs, limits, feedback, probe_seed))
        replies = itertools.chain(replies, graded)
    with tqdm(total=len(todo), unit="sub", disable=not progress or not todo, file=sys.stderr,
              dynamic_ncols=True) as bar:
        for reply in replies:
            try:
                result = finalize(course, assignment, reply, limits, shas[reply.student])
            except Exception as err:  # noqa: BLE001 - one submission never stops the batch
                result = Result(reply.student, Status.FAILED, reason=f"grading error: {type(err).__name__}: {err}"[:300],
                                submission_sha=shas[reply.student])
                purge_grade(course, assignment, reply.student)
            store.save(result)
            results[result.student] = result
            bar.write(status_line(result), file=out)
            bar.update()

    try:  # flags for a person; a failure here must not cost the batch its export and report
        print(similarity_flags.describe(similarity.run(course, assignment)), file=out)
    except Exception as err:  # noqa: BLE001 - the batch's summary is written whatever went wrong
        course.similarity_flags(assignment).unlink(missing_ok=True)  # no stale pairs in the report
        print(f"similarity: not computed ({type(err).__name__}: {err})", file=out)
    export = write_export(course, assignment)
    report = write_report(course, assignment)
    counts = {}
    for r in results.values():
        counts[r.status.value] = counts.get(r.status.value, 0) + 1
    print(f"done: {', '.join(f'{n} {s}' for s, n in sorted(counts.items()))}; export {export.relative_to(course)}, "
          f"report {report.relative_to(course)}", file=out)
    return results
