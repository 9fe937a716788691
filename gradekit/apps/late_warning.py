"""A warning before a late submit, in nbgrader's own Assignment List: a Jupyter server extension for the
students' servers (jpserver_extensions: {"gradekit.apps.late_warning": true}).

It answers the Assignment List's submit request ahead of nbgrader's handler. When the student's own due
date (from the deadline service, gradekit.apps.deadline_service, asked with the server's own token) has passed,
the first press of Submit does not submit: the Assignment List shows "Assignment not submitted:" with the
due date and what a submission now loses; pressing Submit again within CONFIRM_SECONDS submits late. When
the deadline service cannot be reached the submit goes ahead: a warning never stops a submission.
"""
from __future__ import annotations

import json
import os
import time

CONFIRM_SECONDS = 600
URL_VARIABLE = "GRADEKIT_DEADLINES_URL"  # the deadline service's api/me, set by the hub's spawner


def _jupyter_server_extension_points():
    return [{"module": "gradekit.apps.late_warning"}]


def _load_jupyter_server_extension(server_app):
    from jupyter_server.utils import url_path_join
    from nbgrader.server_extensions.assignment_list.handlers import AssignmentActionHandler
    from tornado import web

    warned: dict[str, float] = {}  # assignment -> when the student was warned (this server's memory)

    class WarnBeforeLateSubmit(AssignmentActionHandler):
        @web.authenticated
        async def post(self, action):
            try:
                data = {"assignment_id": self.get_argument("assignment_id"), "course_id": self.get_argument("course_id")}
            except Exception:  # noqa: BLE001 - nbgrader's JSON body, as its own handler reads it
                data = self.get_json_body() or {}
            assignment = str(data.get("assignment_id", ""))
            warning = await self._late(str(data.get("course_id", "")), assignment)
            if warning and time.monotonic() - warned.get(assignment, -1e9) > CONFIRM_SECONDS:
                warned[assignment] = time.monotonic()
                self.finish(json.dumps({"success": False, "value": warning}))
                return
            warned.pop(assignment, None)
            return super().post(action)

        async def _late(self, course_id: str, assignment: str) -> str | None:
            from tornado.httpclient import AsyncHTTPClient

            from gradekit.records.deadlines import Deadline, describe

            url, token = os.environ.get(URL_VARIABLE), os.environ.get("JUPYTERHUB_API_TOKEN")
            if not url or not token:
                return None
            try:
                reply = await AsyncHTTPClient().fetch(url, headers={"Authorization": f"token {token}"},
                                                      request_timeout=10)
                answer = json.loads(reply.body)
                rows = answer["assignments"] if answer.get("course_id") in (None, course_id) else []
            except Exception as err:  # noqa: BLE001 - no deadline known: submit as nbgrader would
                self.log.warning("gradekit: deadline service unreachable (%s); submitting without a check", err)
                return None
            row = next((r for r in rows if r.get("assignment") == assignment), None)
            if not row or not row.get("seconds_late_now"):
                return None
            return (f"{describe(Deadline.from_json(row))}.\n\nThis is after your due date. To submit anyway, press Submit "
                    f"again within {CONFIRM_SECONDS // 60} minutes.")

    web_app = server_app.web_app
    before = list(web_app.default_router.rules)
    route = url_path_join(web_app.settings["base_url"], r"/assignments/(?P<action>submit)")
    web_app.add_handlers(".*$", [(route, WarnBeforeLateSubmit)])
    # ahead of nbgrader's own route for the same path, whatever order the extensions were loaded in
    ours = [r for r in web_app.default_router.rules if r not in before]
    for rule in ours:
        web_app.default_router.rules.remove(rule)
    web_app.default_router.rules[0:0] = ours
    server_app.log.info("gradekit: the Assignment List warns before a late submit")
