"""The hub's laptop demo (`course_hub.py up --dummy`): no accounts and no isolation, one shared password,
SQLite in the course folder. It starts, prints the accounts, lets a student and the TA log in with the
shared password, gives the student the Assignment List and the TA formgrader, and refuses a wrong password."""
from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time

import pytest

from gradekit.core.nbgrader_run import nbgrader_env
from grader_tests.helpers import ROOT, import_file

HUB = ROOT / "deploy" / "hub"
PROXY = HUB / "node_modules" / ".bin" / "configurable-http-proxy"
pytestmark = pytest.mark.skipif(not PROXY.exists(), reason="the hub's demo needs configurable-http-proxy "
                                                           "(npm ci --prefix deploy/hub); `make test` installs it in CI")


def login(url: str, user: str, password: str, attempts: int = 1):
    """A session logged in through the hub's form. With attempts > 1, a login that lands back on the login
    page is tried again (a loaded machine's hub has been seen to drop one), as a person would."""
    import requests

    for attempt in range(attempts):
        session = requests.Session()
        session.get(f"{url}/hub/login", timeout=30)
        reply = session.post(f"{url}/hub/login?next=", timeout=120, allow_redirects=True, data={
            "username": user, "password": password, "_xsrf": session.cookies.get("_xsrf", "")})
        if "/hub/login" not in reply.url:
            break
        time.sleep(2)
    return session, reply


def until_ready(session, url: str, user: str, path: str, expect: int = 200, is_answer=lambda reply: True,
                relogin=None):
    """The user's own server's answer to `path` (through the hub's OAuth redirects and its spawn-pending
    pages, which are the hub's, not the server's), once it is `expect` and `is_answer` takes it for the
    server's own reply (a loaded hub can show a page of its own on the way), or the last reply after two
    minutes. `relogin` (a function returning a new session) is called when the hub sends the session back to
    its login page, which a loaded hub has done once to a session that had logged in."""
    reply = None
    for _ in range(240):
        reply = session.get(f"{url}/user/{user}/{path}", timeout=30)
        if reply.url.startswith(f"{url}/user/{user}/") and reply.status_code == expect and is_answer(reply):
            return reply
        if relogin is not None and reply.url.startswith(f"{url}/hub/login"):
            session = relogin()
        time.sleep(0.5)
    return reply


def described(reply) -> str:
    """A reply as a failure message: status, the redirects it went through, the start of its body."""
    hops = " -> ".join(f"{hop.status_code} {hop.url}" for hop in reply.history)
    return f"{reply.status_code} {reply.url} (via {hops or 'no redirect'}): {reply.text[:500]}"


def json_reply(reply) -> bool:
    return reply.text.lstrip().startswith("{")


def test_the_laptop_demo(tmp_path):
    import requests

    course_hub = import_file(HUB / "course_hub.py")

    port = course_hub.free_port()
    proc = subprocess.Popen([sys.executable, str(HUB / "course_hub.py"), "up", "--dummy", "--root", str(tmp_path / "hub"),
                             "--port", str(port)], env=nbgrader_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    try:
        lines = []
        while not any("student" in line for line in lines[-3:]) or len(lines) < 6:
            line = proc.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        printed = "".join(lines)
        # keep reading the hub's log: a full pipe would block the hub (and its servers) on their next line
        threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
        assert f"course hub at http://127.0.0.1:{port}/" in printed and "SQLite" in printed, printed
        accounts = dict(re.findall(r"^\s+(?:instructor|TA|student)\s+(\S+)\s+password (\S+)", printed, re.M))
        url = f"http://127.0.0.1:{port}"
        student = next(name for name in accounts if name.startswith("student"))
        ta = next(name for name in accounts if name.startswith("ta"))
        for _ in range(240):
            try:
                if requests.get(f"{url}/hub/api", timeout=5).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.5)

        _, refused = login(url, student, "wrong-" + secrets.token_hex(4))
        assert "/user/" not in refused.url, "a wrong password was let in"
        session, _ = login(url, student, accounts[student], attempts=5)
        again = lambda: login(url, student, accounts[student], attempts=5)[0]  # noqa: E731
        listed = until_ready(session, url, student, "assignments?course_id=deep-learning-101", is_answer=json_reply,
                             relogin=again)
        assert listed.status_code == 200 and json_reply(listed) and listed.json()["success"], described(listed)
        hidden = until_ready(session, url, student, "formgrader", expect=404, relogin=again)
        assert hidden.status_code == 404, f"formgrader is for graders: {described(hidden)}"
        session, _ = login(url, ta, accounts[ta], attempts=5)
        shown = until_ready(session, url, ta, "formgrader", relogin=lambda: login(url, ta, accounts[ta], attempts=5)[0])
        assert shown.status_code == 200, described(shown)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
