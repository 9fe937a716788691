"""The supervisor's side of a worker: the reply protocol, and the limits it enforces by killing the
process with its children (wall time, memory, disk, a worker that dies)."""
from __future__ import annotations

import queue
import subprocess
import sys
import time

import psutil

from gradekit.core.settings import Limits
from gradekit.grading.supervision import SupervisedWorker, WorkerReply, written_mb


def test_a_reply_round_trips_and_ignores_unknown_fields():
    reply = WorkerReply("alice", success=True, findings={"nb": {"verified": True}}, notebooks=["nb"])
    assert WorkerReply.from_json(reply.to_json()) == reply
    assert WorkerReply.from_json('{"student": "bob", "score": 100}') == WorkerReply("bob")


def test_written_mb_counts_blocks_without_following_links(tmp_path):
    (tmp_path / "data").write_bytes(b"x" * 3 * 2**20)
    (tmp_path / "link").symlink_to("/usr")
    assert 2.9 < written_mb(tmp_path, 100) < 3.5
    for i in range(20):
        (tmp_path / f"f{i}").touch()
    assert written_mb(tmp_path, 10) == float("inf")  # too many entries counts as full


def _worker(tmp_path, limits: Limits, code: str) -> SupervisedWorker:
    """A SupervisedWorker watching a process of ours instead of a grading worker."""
    worker = SupervisedWorker(tmp_path, "a", 1, limits, tmp_path / "log")
    worker.proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    worker.lines = queue.Queue()
    return worker


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_past_its_wall_time_the_worker_and_its_children_are_killed(tmp_path):
    code = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); time.sleep(60)"
    worker = _worker(tmp_path, Limits(timeout=1), code)
    time.sleep(0.5)
    pids = [p.pid for p in psutil.Process(worker.proc.pid).children(recursive=True)] + [worker.proc.pid]
    assert len(pids) == 2
    t0 = time.monotonic()
    assert worker._wait(deadline=time.monotonic() + 1) == "timeout"
    assert time.monotonic() - t0 < 15 and worker.proc is None
    assert all(_gone(pid) for pid in pids)


def test_past_its_memory_the_worker_is_killed(tmp_path):
    worker = _worker(tmp_path, Limits(memory_mb=100), "import time; a = bytearray(300 * 2**20); time.sleep(60)")
    assert worker._wait(deadline=time.monotonic() + 30) == "memory"


def test_past_its_disk_limit_the_worker_is_killed(tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "big").write_bytes(b"x" * 3 * 2**20)
    worker = _worker(tmp_path, Limits(disk_mb=1), "import time; time.sleep(60)")
    assert worker._wait(deadline=time.monotonic() + 30, scratch=scratch) == "disk"


def test_a_worker_that_dies_is_reported_and_a_line_is_passed_on(tmp_path):
    worker = _worker(tmp_path, Limits(), "pass")
    worker.lines.put('{"student": "alice"}\n')
    assert worker._wait(deadline=time.monotonic() + 30) == '{"student": "alice"}'
    worker.lines.put(None)  # the reader thread's end of stdout
    assert worker._wait(deadline=time.monotonic() + 30) == "grading process died"
