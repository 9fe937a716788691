"""Worker processes that grade submissions, and the limits they are held to.

Each submission is graded by a long-lived `python -m gradekit.grading.worker` process (nbgrader's own autograde,
in-process). The supervisor kills a worker, with everything it started, when its submission runs past
its wall time or memory limit, and starts a fresh one for the next submission. Nothing outlives the
batch: workers run in their own process group and get SIGKILL when the batch command dies
(PR_SET_PDEATHSIG), and so do their sandboxed kernels (gradekit/plugins/sandbox.py).
"""
from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from gradekit.core.layout import Course
from gradekit.core.nbgrader_run import THREAD_VARIABLES, nbgrader_env
from gradekit.core.settings import Limits, usable_cores


@dataclass
class GradingRequest:
    student: str
    feedback: bool = True
    probe_seed: int = 0  # the batch's secret seed for the trusted re-check (gradekit.plugins.trusted)


@dataclass
class WorkerReply:
    """What grading one submission produced, as the worker (or its supervisor) saw it."""
    student: str
    success: bool = False
    killed: str = ""  # "timeout", "memory" or "grading process died": the supervisor stopped it
    log: str = ""  # nbgrader's log of the autograde (tail)
    error: str = ""
    feedback: bool | None = None  # None: not asked for
    seconds: float = 0.0
    rejected: str = ""  # intake refused the submission (gradekit.grading.intake): the reason
    findings: dict = field(default_factory=dict)  # notebook -> NotebookFindings fields, from memory
    intake_flags: list = field(default_factory=list)
    repairs: list = field(default_factory=list)  # gradekit.grading.repair.Repair.record() of each rebuilt notebook
    notebooks: list = field(default_factory=list)  # the release's notebooks the submission had after intake

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, line: str) -> "WorkerReply":
        data = json.loads(line)
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


def process_tree(pid: int):
    import psutil

    try:
        proc = psutil.Process(pid)
        return [proc] + proc.children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def resident_mb(pid: int) -> float:
    import psutil

    total = 0
    for p in process_tree(pid):
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total / 2**20


def written_mb(folder: Path, most_entries: int) -> float:
    """Disk space a kernel's working copy takes (allocated blocks), walked without recursion and without
    following links; a folder of more than `most_entries` entries counts as full."""
    total, entries, stack = 0, 0, [str(folder)]
    while stack:
        try:
            with os.scandir(stack.pop()) as listing:
                for entry in listing:
                    entries += 1
                    if entries > most_entries:
                        return float("inf")
                    info = entry.stat(follow_symlinks=False)
                    total += info.st_blocks * 512
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
        except OSError:
            continue
    return total / 2**20


def kill_tree(pid: int) -> None:
    import psutil

    procs = process_tree(pid)
    for p in procs:
        try:
            p.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(procs, timeout=10)


class SupervisedWorker:
    """One `python -m gradekit.grading.worker` process, restarted after it is killed or dies."""

    def __init__(self, course: Path, assignment: str, threads: int, limits: Limits, log_path: Path):
        self.course, self.assignment, self.threads, self.limits = course, assignment, threads, limits
        self.log_path = log_path
        self.proc = None
        self.lines: queue.Queue = queue.Queue()

    def _start(self) -> None:
        env = nbgrader_env()
        for var in THREAD_VARIABLES:
            env[var] = str(self.threads)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "a") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gradekit.grading.worker", str(self.course), self.assignment, str(os.getpid())],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                text=True, cwd=self.course, env=env, start_new_session=True)
        self.lines = queue.Queue()
        proc, lines = self.proc, self.lines
        threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout] + [lines.put(None)],
                         daemon=True).start()
        if self._wait(deadline=time.monotonic() + 300) != "ready":
            raise RuntimeError(f"the grading process did not start; see {self.log_path}")

    def _wait(self, deadline: float, scratch: Path | None = None) -> str:
        """The worker's next line, or the reason it was killed: "timeout", "memory", "disk", "grading process
        died". `scratch`: the kernels' working copy of the submission being graded."""
        polls = 0
        while True:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                polls += 1
                if time.monotonic() > deadline:
                    self.kill()
                    return "timeout"
                if resident_mb(self.proc.pid) > self.limits.memory_mb:
                    self.kill()
                    return "memory"
                if scratch is not None and polls % 5 == 0 and scratch.is_dir() and \
                        written_mb(scratch, 1000 * self.limits.disk_mb) > self.limits.disk_mb:
                    self.kill()
                    return "disk"
                continue
            if line is None:
                self.kill()
                return "grading process died"
            return line.strip()

    def grade(self, student: str, feedback: bool, probe_seed: int = 0) -> WorkerReply:
        if self.proc is None:
            self._start()
        t0 = time.monotonic()
        self.proc.stdin.write(json.dumps(asdict(GradingRequest(student, feedback, probe_seed))) + "\n")
        self.proc.stdin.flush()
        line = self._wait(deadline=t0 + self.limits.timeout,
                          scratch=Course(self.course).scratch(self.assignment) / student)
        if line.startswith("{"):
            return WorkerReply.from_json(line)
        return WorkerReply(student, killed=line, seconds=time.monotonic() - t0)

    def kill(self) -> None:
        if self.proc is not None:
            kill_tree(self.proc.pid)
            self.proc = None


def grade_one_in_fresh_worker(course: str, assignment: str, student: str, feedback: bool, threads: int,
                              limits: dict, probe_seed: int = 0) -> str:
    """Grade one submission in its own supervised worker (the unit of work on a Dask cluster)."""
    course = Course(course)
    worker = SupervisedWorker(Path(course), assignment, threads, Limits(**limits),
                              course.logs(assignment) / f"dask-{os.getpid()}.log")
    try:
        return worker.grade(student, feedback, probe_seed).to_json()
    finally:
        worker.kill()


def run_local(course: Path, assignment: str, students: list[str], jobs: int, limits: Limits, feedback: bool,
              probe_seed: int = 0) -> Iterator[WorkerReply]:
    """Grade on this machine with `jobs` supervised workers; yields replies as they complete."""
    course = Course(course)
    threads = max(1, usable_cores() // jobs)  # cores / jobs BLAS threads per kernel, never more than the cores
    logs = course.logs(assignment)
    workers: queue.Queue = queue.Queue()
    for i in range(jobs):
        workers.put(SupervisedWorker(course, assignment, threads, limits, logs / f"worker-{i}.log"))

    def task(student):
        worker = workers.get()
        try:
            return worker.grade(student, feedback, probe_seed)
        finally:
            workers.put(worker)

    with ThreadPoolExecutor(jobs) as pool:
        try:
            for future in as_completed([pool.submit(task, s) for s in students]):
                yield future.result()
        finally:
            while not workers.empty():
                workers.get().kill()


def run_dask(course: Path, assignment: str, students: list[str], scheduler: str, limits: Limits, feedback: bool,
             probe_seed: int = 0) -> Iterator[WorkerReply]:
    """Grade on a dask.distributed cluster; the course folder must be on a filesystem all workers share."""
    from dask.distributed import Client
    from dask.distributed import as_completed as dask_completed

    with Client(scheduler) as client:
        futures = [client.submit(grade_one_in_fresh_worker, str(course), assignment, s, feedback, 1,
                                 asdict(limits), probe_seed, pure=False, key=f"grade-{s}-{time.time_ns()}")
                   for s in students]
        for future in dask_completed(futures):
            yield WorkerReply.from_json(future.result())
