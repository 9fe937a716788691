"""Batch autograding for TAs: parallel, observable, resumable, honest (`python -m gradekit grade`).

Each submission is graded by nbgrader's own autograde (same preprocessors, same gradebook), in a
supervised worker process that is killed when the submission runs past its wall time or memory limit.
Every submission ends with exactly one status: graded, needs_manual, or failed (with a reason); results
are stored one file per student, written atomically, so a batch killed half way resumes where it stopped.
"""
from __future__ import annotations

import hashlib
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import nbformat

from .course import ASSIGNMENT, gradebook_url, nbgrader_env, notebook_names, read_grades
from .nbgrader_ext import OUTPUT_LIMIT_MESSAGE, TRUSTED_OVERRULED
from .suspicious import submission_flags

GRADED, NEEDS_MANUAL, FAILED = "graded", "needs_manual", "failed"


@dataclass
class Limits:
    timeout: float = 600.0  # wall seconds per submission
    memory_mb: int = 4096  # resident memory of the grading process and its kernels

    @classmethod
    def from_config(cls, course: Path, timeout=None, memory_mb=None) -> "Limits":
        from traitlets.config.loader import PyFileConfigLoader

        section = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config().get("BatchGrading", {})
        return cls(timeout=float(timeout or section.get("timeout", cls.timeout)),
                   memory_mb=int(memory_mb or section.get("memory_limit_mb", cls.memory_mb)))


@dataclass
class Result:
    student: str
    status: str
    reason: str = ""
    score: float | None = None
    max_score: float | None = None
    manual_pending: float = 0.0
    seconds: float = 0.0
    graded_at: str = ""
    submission_sha: str = ""
    flags: list[str] = field(default_factory=list)
    tests: dict[str, list] = field(default_factory=dict)  # "notebook:grade_id" -> [score, max]
    # "notebook:grade_id" -> [the notebook's own test, the trusted re-check], each "passed" or "failed"
    judges: dict[str, list] = field(default_factory=dict)

    @property
    def disagreements(self) -> list[str]:
        """Cells where the notebook's test and the trusted re-check reached different verdicts."""
        return sorted(cell for cell, (kernel, recheck) in self.judges.items() if kernel != recheck)


# ------------------------------------------------------------------------------------------------
# Supervised grading processes
# ------------------------------------------------------------------------------------------------


def _tree(pid: int):
    import psutil

    try:
        proc = psutil.Process(pid)
        return [proc] + proc.children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _rss_mb(pid: int) -> float:
    import psutil

    total = 0
    for p in _tree(pid):
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total / 2**20


def _kill_tree(pid: int) -> None:
    import psutil

    procs = _tree(pid)
    for p in procs:
        try:
            p.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(procs, timeout=10)


class SupervisedWorker:
    """One `python -m gradekit.worker` process, restarted after it is killed or dies."""

    def __init__(self, course: Path, assignment: str, threads: int, limits: Limits, log_path: Path):
        self.course, self.assignment, self.threads, self.limits = course, assignment, threads, limits
        self.log_path = log_path
        self.proc = None
        self.lines: queue.Queue = queue.Queue()

    def _start(self) -> None:
        env = nbgrader_env()
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env[var] = str(self.threads)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "a") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gradekit.worker", str(self.course), self.assignment],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                text=True, cwd=self.course, env=env, start_new_session=True)
        self.lines = queue.Queue()
        proc, lines = self.proc, self.lines
        threading.Thread(target=lambda: [lines.put(l) for l in proc.stdout] + [lines.put(None)],
                         daemon=True).start()
        if self._wait(deadline=time.monotonic() + 300).get("ready") is not True:
            raise RuntimeError(f"the grading process did not start; see {self.log_path}")

    def _wait(self, deadline: float) -> dict:
        while True:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if time.monotonic() > deadline:
                    self.kill()
                    return {"killed": "timeout"}
                if _rss_mb(self.proc.pid) > self.limits.memory_mb:
                    self.kill()
                    return {"killed": "memory"}
                continue
            if line is None:
                self.kill()
                return {"killed": "grading process died"}
            return json.loads(line)

    def grade(self, student: str, feedback: bool) -> dict:
        if self.proc is None:
            self._start()
        t0 = time.monotonic()
        self.proc.stdin.write(json.dumps({"student": student, "feedback": feedback}) + "\n")
        self.proc.stdin.flush()
        out = self._wait(deadline=t0 + self.limits.timeout)
        out.setdefault("student", student)
        out.setdefault("seconds", time.monotonic() - t0)
        return out

    def kill(self) -> None:
        if self.proc is not None:
            _kill_tree(self.proc.pid)
            self.proc = None


def grade_one_in_fresh_worker(course: str, assignment: str, student: str, feedback: bool, threads: int,
                              limits: dict) -> dict:
    """Grade one submission in its own supervised worker (the unit of work on a Dask cluster)."""
    worker = SupervisedWorker(Path(course), assignment, threads, Limits(**limits),
                              Path(course) / "grading" / assignment / "logs" / f"dask-{os.getpid()}.log")
    try:
        return worker.grade(student, feedback)
    finally:
        worker.kill()


def run_local(course, assignment, students, jobs, limits, feedback, logs):
    """Grade on this machine with `jobs` supervised workers; yields raw results as they complete."""
    threads = max(1, (os.cpu_count() or 1) // jobs)
    workers: queue.Queue = queue.Queue()
    for i in range(jobs):
        workers.put(SupervisedWorker(course, assignment, threads, limits, logs / f"worker-{i}.log"))

    def task(student):
        worker = workers.get()
        try:
            return worker.grade(student, feedback)
        finally:
            workers.put(worker)

    with ThreadPoolExecutor(jobs) as pool:
        try:
            for future in as_completed([pool.submit(task, s) for s in students]):
                yield future.result()
        finally:
            while not workers.empty():
                workers.get().kill()


def run_dask(course, assignment, students, scheduler, limits, feedback):
    """Grade on a dask.distributed cluster; the course folder must be on a filesystem all workers share."""
    from dask.distributed import Client, as_completed as dask_completed

    with Client(scheduler) as client:
        futures = [client.submit(grade_one_in_fresh_worker, str(course), assignment, s, feedback, 1,
                                 asdict(limits), pure=False, key=f"grade-{s}-{time.time_ns()}")
                   for s in students]
        for future in dask_completed(futures):
            yield future.result()


# ------------------------------------------------------------------------------------------------
# Results
# ------------------------------------------------------------------------------------------------


def submission_sha(course: Path, assignment: str, student: str) -> str:
    folder = course / "submitted" / student / assignment
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


class ResultStore:
    """One JSON file per student under grading/<assignment>/results/, replaced atomically."""

    def __init__(self, course: Path, assignment: str):
        self.folder = course / "grading" / assignment / "results"
        self.folder.mkdir(parents=True, exist_ok=True)

    def path(self, student: str) -> Path:
        return self.folder / f"{student}.json"

    def load(self, student: str) -> Result | None:
        try:
            return Result(**json.loads(self.path(student).read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def save(self, result: Result) -> None:
        tmp = self.path(result.student).with_suffix(".json.tmp")
        tmp.write_text(json.dumps(asdict(result), indent=1))
        os.replace(tmp, self.path(result.student))

    def delete(self, student: str) -> None:
        self.path(student).unlink(missing_ok=True)

    def all(self) -> dict[str, Result]:
        return {p.stem: r for p in sorted(self.folder.glob("*.json")) if (r := self.load(p.stem))}


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

    with Gradebook(gradebook_url(course)) as gb:
        try:
            gb.remove_submission(assignment, student)
        except MissingEntry:
            pass
    for folder in ("autograded", "feedback"):
        shutil.rmtree(course / folder / student / assignment, ignore_errors=True)


def finalize(course: Path, assignment: str, raw: dict, limits: Limits, sha: str) -> Result:
    student = raw["student"]
    result = Result(student, FAILED, seconds=round(float(raw.get("seconds", 0.0)), 2), submission_sha=sha,
                    graded_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    log = raw.get("log", "") + "\n" + raw.get("error", "")
    if raw.get("killed") == "timeout":
        result.reason = f"timeout: still running after {limits.timeout:g} s"
    elif raw.get("killed") == "memory":
        result.reason = f"memory: over {limits.memory_mb} MB"
    elif raw.get("killed"):
        result.reason = raw["killed"]
    elif not raw.get("success"):
        result.reason = classify_failure(log)
    result.flags += submission_flags(course, assignment, student)
    if result.reason:
        purge_grade(course, assignment, student)
        return result

    grades = {nb: g for (_, nb), g in read_grades(course, assignment, student=student).items()}
    submitted = {p.stem for p in (course / "submitted" / student / assignment).glob("*.ipynb")}
    result.flags += [f"missing notebook {nb}" for nb in notebook_names(course, assignment) if nb not in submitted]
    if OUTPUT_LIMIT_MESSAGE in log:
        result.flags.append("output truncated")
    if raw.get("feedback") is False:
        result.flags.append("feedback failed")
    metadata = _grading_metadata(course, assignment, student)
    result.flags += trusted_flags(metadata)
    result.judges = judges_verdicts(metadata)
    result.tests = {f"{nb}:{t}": list(v) for nb, g in grades.items() for t, v in g.autograded.items()}
    return apply_scores(result, grades.values())


def _grading_metadata(course: Path, assignment: str, student: str) -> dict[str, dict]:
    """{notebook: what the grading pipeline recorded in its metadata (gradekit.nbgrader_ext)}."""
    return {path.stem: nbformat.read(path, as_version=4).metadata.get("gradekit", {})
            for path in sorted((course / "autograded" / student / assignment).glob("*.ipynb"))}


def judges_verdicts(metadata: dict[str, dict]) -> dict[str, list[str]]:
    """{"notebook:grade_id": [verdict of the notebook's own test, verdict of the trusted re-check]}, each
    "passed" or "failed", for every cell the re-check judges."""
    out = {}
    for notebook, meta in metadata.items():
        for grade_id, kernel in meta.get("kernel_tests", {}).items():
            recheck = meta.get("trusted_checks", {}).get(grade_id)
            out[f"{notebook}:{grade_id}"] = [kernel, "passed" if recheck == "passed" else "failed"]
    return out


def trusted_flags(metadata: dict[str, dict]) -> list[str]:
    """Cells whose test passed in the student's kernel but failed the grader's re-check (gradekit.trusted):
    the notebook's own tests were made to lie, or the code only works on the tests' inputs."""
    overruled, others = [], []
    for stem, meta in metadata.items():
        flags = meta.get("flags", [])
        overruled += [f"{stem}:{f.rsplit(': ', 1)[-1]}" for f in flags if f.startswith(TRUSTED_OVERRULED)]
        others += [f"{f} in {stem}" for f in flags if not f.startswith(TRUSTED_OVERRULED)]
    return others + ([f"{TRUSTED_OVERRULED}: {', '.join(overruled)}"] if overruled else [])


def apply_scores(result: Result, grades) -> Result:
    """Score, maximum, points still to grade by hand and status of a graded submission, from its
    notebooks' gradebook grades (used when grading, and again at export to include manual grades)."""
    grades = list(grades)
    result.score = sum(g.score for g in grades)
    result.max_score = sum(g.max_score for g in grades)
    result.manual_pending = sum(g.tests[t][1] for g in grades for t in g.pending_manual)
    result.status = NEEDS_MANUAL if result.manual_pending else GRADED
    return result


# ------------------------------------------------------------------------------------------------
# The command
# ------------------------------------------------------------------------------------------------


def require_registered(course: Path, assignment: str) -> None:
    """Stop before grading when the gradebook does not know the assignment: nbgrader would fail every
    submission with a message that hides the cause, and flag every test cell as edited."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(gradebook_url(course)) as gb:
        try:
            gb.find_assignment(assignment)
            return
        except MissingEntry:
            pass
    raise SystemExit(f"error: the gradebook ({gradebook_url(course)}) has no assignment {assignment!r}: run "
                     f"`python -m gradekit generate` (nbgrader generate_assignment {assignment}) in {course} "
                     "first, then grade again")


def submitted_students(course: Path, assignment: str) -> list[str]:
    return sorted(p.parent.name for p in (course / "submitted").glob(f"*/{assignment}") if p.is_dir())


def collect_zip(course: Path, assignment: str, zip_file: Path) -> None:
    """Unpack an LMS export with nbgrader's zip_collect into submitted/<student>/<assignment>/."""
    from .course import run_nbgrader

    archive = course / "downloaded" / assignment / "archive"
    archive.mkdir(parents=True, exist_ok=True)
    shutil.copy(zip_file, archive / Path(zip_file).name)
    run_nbgrader(course, "zip_collect", assignment, "--force")


def prepare_trusted_references(course: Path, assignment: str, out=sys.stdout) -> None:
    """Compute (or find cached) the reference results of the trusted re-check before grading starts, so
    that no submission's time limit pays for them."""
    from . import trusted

    for notebook in notebook_names(course, assignment):
        if trusted.probe_path(course, assignment, notebook).is_file():
            t0 = time.perf_counter()
            trusted.reference_arrays(course, assignment, notebook)
            print(f"trusted re-check of {notebook}: reference results ready ({time.perf_counter() - t0:.1f} s)",
                  file=out)


def status_line(r: Result) -> str:
    score = f"{r.score:g}/{r.max_score:g}" if r.score is not None else "-"
    extra = r.reason or ", ".join(r.flags)
    if r.status == NEEDS_MANUAL:
        extra = f"{r.manual_pending:g} points to grade by hand" + (f"; {extra}" if extra else "")
    return f"{r.student:<28s} {r.status:<12s} {score:>9s} {r.seconds:6.1f} s  {extra}".rstrip()


def grade(course: Path, assignment: str = ASSIGNMENT, students=None, jobs=None, limits: Limits | None = None,
          force=False, retry_failed=False, feedback=True, scheduler=None, zip_file=None, progress=True,
          out=sys.stdout) -> dict[str, Result]:
    """Grade submissions; returns the results of every selected student (graded now or before)."""
    from tqdm import tqdm

    from .export import write_export
    from .report import write_report

    course = Path(course).resolve()
    limits = limits or Limits.from_config(course)
    jobs = jobs or os.cpu_count() or 1
    if zip_file:
        collect_zip(course, assignment, Path(zip_file))
    available = submitted_students(course, assignment)
    selected = list(students) if students else available
    unknown = sorted(set(selected) - set(available))
    if unknown:
        raise SystemExit(f"no submission in submitted/<student>/{assignment}/ for: {', '.join(unknown)}")

    require_registered(course, assignment)
    store = ResultStore(course, assignment)
    todo, results = [], {}
    shas = {s: submission_sha(course, assignment, s) for s in selected}
    for s in selected:
        prev = store.load(s)
        done = prev is not None and prev.submission_sha == shas[s] and not force
        if done and not (retry_failed and prev.status == FAILED):
            results[s] = prev
        else:
            todo.append(s)
    for s in todo:
        store.delete(s)  # until it is graded again, nothing claims a current grade for it
    print(f"{len(selected)} submissions: {len(results)} already graded (use --force to regrade), "
          f"{len(todo)} to grade with {1 if scheduler else jobs} {'cluster' if scheduler else 'local'} "
          f"job{'s' if jobs > 1 else ''}; limits {limits.timeout:g} s, {limits.memory_mb} MB each", file=out)

    if todo:
        prepare_trusted_references(course, assignment, out)
    logs = course / "grading" / assignment / "logs"
    raw_results = (run_dask(course, assignment, todo, scheduler, limits, feedback) if scheduler
                   else run_local(course, assignment, todo, jobs, limits, feedback, logs))
    with tqdm(total=len(todo), unit="sub", disable=not progress or not todo, file=sys.stderr,
              dynamic_ncols=True) as bar:
        for raw in raw_results:
            result = finalize(course, assignment, raw, limits, shas[raw["student"]])
            store.save(result)
            results[result.student] = result
            bar.write(status_line(result), file=out)
            bar.update()

    export = write_export(course, assignment)
    report = write_report(course, assignment)
    counts = {}
    for r in results.values():
        counts[r.status] = counts.get(r.status, 0) + 1
    print(f"done: {', '.join(f'{n} {s}' for s, n in sorted(counts.items()))}; export {export.relative_to(course)}, "
          f"report {report.relative_to(course)}", file=out)
    return results
