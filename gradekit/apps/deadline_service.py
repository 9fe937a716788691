"""The students' deadline page: a JupyterHub service that shows each student their own due dates.

nbgrader keeps due dates and extensions in the gradebook, which students cannot read, and its Assignment
List shows neither. This service runs as a grader (it reads the gradebook), behind the hub's login: a
student opens /services/deadlines/ (the hub's Services menu) and sees their own due date per assignment,
with their extension and the late policy; nobody can ask for another student's. The students' servers ask
/services/deadlines/api/me with their own token before a submit (gradekit.apps.late_warning).

Run by the hub (deploy/hub/jupyterhub_config.py):
    python -P -m gradekit.apps.deadline_service --course COURSE_FOLDER --released-in EXCHANGE/COURSE_ID/outbound

It never writes: the gradebook is opened read-only (gradekit.records.deadlines.read_only_gradebook), read in a
thread beside the event loop and kept CACHE_SECONDS per student.
"""
from __future__ import annotations

import argparse
import html
import json
import os
import secrets
import time
from pathlib import Path
from urllib.parse import urlparse

from gradekit.records.deadlines import describe, student_deadlines

SERVICE_NAME = "deadlines"


CACHE_SECONDS = 30  # a student reloading the page (or a loop of requests) reads the gradebook twice a minute


def make_app(course: Path, released_in: Path | None = None):
    from concurrent.futures import ThreadPoolExecutor

    from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
    from jupyterhub.utils import url_path_join
    from tornado import web
    from tornado.ioloop import IOLoop

    from gradekit.core.layout import Course

    course = Course(course)
    course_id = course.directory.course_id
    pool = ThreadPoolExecutor(2)  # the gradebook is read beside the event loop, never on it
    cache: dict[str, tuple[float, list]] = {}

    def read(student: str) -> list:
        released = None
        if released_in is not None:  # only what the exchange holds: no unreleased assignment's name or date
            released = {p.name for p in released_in.iterdir() if p.is_dir()} if released_in.is_dir() else set()
        return student_deadlines(course, student, released=released)

    class Own(HubOAuthenticated, web.RequestHandler):
        """The logged-in user's deadlines: the identity comes from the hub (cookie or token), never from
        the request's arguments."""

        async def deadlines(self):
            student, now = self.current_user["name"], time.monotonic()
            hit = cache.get(student)
            if hit is None or now - hit[0] > CACHE_SECONDS:
                hit = cache[student] = (now, await IOLoop.current().run_in_executor(pool, read, student))
            return hit[1]

    class Page(Own):
        @web.authenticated
        async def get(self):
            rows = "".join(
                f"<tr><td>{html.escape(d.assignment)}</td><td class='due'>{html.escape(describe(d))}</td>"
                f"<td>{html.escape(d.policy)}</td></tr>" for d in await self.deadlines())
            name = html.escape(self.current_user["name"])
            self.set_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
            self.finish(PAGE.format(name=name, rows=rows or "<tr><td colspan=3>No due dates yet.</td></tr>"))

    class Api(Own):
        @web.authenticated
        async def get(self):
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"student": self.current_user["name"], "course_id": course_id,
                                    "assignments": [d.as_json() for d in await self.deadlines()]}))

    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", f"/services/{SERVICE_NAME}/")
    return web.Application([
        (prefix, Page),
        (url_path_join(prefix, "api/me"), Api),
        (url_path_join(prefix, "oauth_callback"), HubOAuthCallbackHandler),
    ], cookie_secret=secrets.token_bytes(32))


PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Your deadlines</title>
<style>body{{font-family:sans-serif;margin:2em}} td,th{{padding:.4em 1em;text-align:left;border-bottom:1px solid #ccc}}</style>
</head><body>
<h1>Your deadlines</h1>
<p>Signed in as <b id="student">{name}</b>. Due dates include any extension you were granted.</p>
<table id="deadlines"><tr><th>Assignment</th><th>Your due date</th><th>Late policy</th></tr>{rows}</table>
<p>Submitting after your due date: the Assignment List asks you to confirm first.</p>
</body></html>
"""


def main(argv: list[str] | None = None) -> int:
    from tornado.ioloop import IOLoop

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", type=Path, default=Path("."), help="the course folder (nbgrader_config.py)")
    parser.add_argument("--released-in", type=Path, help="the exchange's outbound folder of the course: only "
                                                         "assignments released there are shown")
    args = parser.parse_args(argv)
    url = urlparse(os.environ["JUPYTERHUB_SERVICE_URL"])
    make_app(args.course.resolve(), args.released_in).listen(url.port, url.hostname)
    IOLoop.current().start()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
