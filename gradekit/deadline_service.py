"""The students' deadline page: a JupyterHub service that shows each student their own due dates.

nbgrader keeps due dates and extensions in the gradebook, which students cannot read, and its Assignment
List shows neither. This service runs as a grader (it reads the gradebook), behind the hub's login: a
student opens /services/deadlines/ (the hub's Services menu) and sees their own due date per assignment,
with their extension and the late policy; nobody can ask for another student's. The students' servers ask
/services/deadlines/api/me with their own token before a submit (gradekit.late_warning).

Run by the hub (deploy/hub/jupyterhub_config.py):
    python -m gradekit.deadline_service --course COURSE_FOLDER
"""
from __future__ import annotations

import argparse
import html
import json
import os
import secrets
from pathlib import Path
from urllib.parse import urlparse

from .deadlines import describe, student_deadlines

SERVICE_NAME = "deadlines"


def make_app(course: Path):
    from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
    from jupyterhub.utils import url_path_join
    from tornado import web

    class Own(HubOAuthenticated, web.RequestHandler):
        """The logged-in user's deadlines: the identity comes from the hub (cookie or token), never from
        the request's arguments."""

        def deadlines(self):
            return student_deadlines(course, self.current_user["name"])

    class Page(Own):
        @web.authenticated
        def get(self):
            rows = "".join(
                f"<tr><td>{html.escape(d.assignment)}</td><td class='due'>{html.escape(describe(d))}</td>"
                f"<td>{html.escape(d.policy)}</td></tr>" for d in self.deadlines())
            name = html.escape(self.current_user["name"])
            self.set_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
            self.finish(PAGE.format(name=name, rows=rows or "<tr><td colspan=3>No due dates yet.</td></tr>"))

    class Api(Own):
        @web.authenticated
        def get(self):
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"student": self.current_user["name"],
                                    "assignments": [d.as_json() for d in self.deadlines()]}))

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


def main(argv=None) -> int:
    from tornado.ioloop import IOLoop

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", type=Path, default=Path("."), help="the course folder (nbgrader_config.py)")
    args = parser.parse_args(argv)
    url = urlparse(os.environ["JUPYTERHUB_SERVICE_URL"])
    make_app(args.course.resolve()).listen(url.port, url.hostname)
    IOLoop.current().start()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
