"""The semester on a real JupyterHub (deploy/hub): local accounts, nbgrader's exchange, a PostgreSQL
gradebook, each actor through the hub as themselves with their own token.

The instructor generates and releases assignment1 in formgrader; the TA sets a due date that has passed
and gives one student an extension; each student sees their own due date on the hub's deadline page; three
students fetch the assignment in the Assignment List, one fills in the solution, one a classic bug, one
nothing but a fork bomb, and each submits (the two without an extension are warned first); the TA collects
in formgrader, grades the batch with the kit as the unprivileged `ta` account (sandbox on, the bomb stopped
at the kernel's process cap), grades the written answer in formgrader, generates and releases feedback;
each student fetches their own feedback. Students cannot reach another student's server, formgrader, the
course folder, the gradebook's address, the exchange's inbox or this checkout's instructor files.
"""
from __future__ import annotations

import datetime
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from gradekit.authoring.submissions import submission_with_edits
from gradekit.core.cells import grade_id, is_solution_cell
from gradekit.core.nbgrader_run import nbgrader_env
from grader_tests import chromium
from grader_tests.chromium import Shots
from grader_tests.helpers import ASSIGNMENT, JOBS, KIT, NOTEBOOKS, NUMPY, ROOT, TORCH, bug_named, import_file

HUB_DIR = ROOT / "deploy" / "hub"
PROXY = HUB_DIR / "node_modules" / ".bin" / "configurable-http-proxy"
# this environment's Python by a path the accounts may traverse (not through grader_tests/, closed to them)
PYTHON = os.path.normpath(os.path.abspath(sys.executable))
FORK_BOMB = next(t for t in KIT.hostile.TRICKS if t.name == "fork-bomb")
TA_ATTACKS = ("root-in-sandbox", "environment-leak", "links-from-kernel")  # the red team, as the TA grades


def _missing() -> str | None:
    postgres_server = import_file(ROOT / "deploy" / "postgres_server.py")

    if os.geteuid() != 0:
        return "root, to create the course's accounts"
    if not PROXY.exists():
        return "configurable-http-proxy (npm ci --prefix deploy/hub)"
    return chromium.missing() or postgres_server.missing()


MISSING = _missing()
pytestmark = pytest.mark.skipif(MISSING is not None, reason=f"hub tests need {MISSING}; `make test` installs it in CI")


class Actor:
    """One person, talking to the hub and their own server with their own API token."""

    def __init__(self, hub, name: str, token: str):
        import requests

        self.hub, self.name, self.session = hub, name, requests.Session()
        self.session.headers["Authorization"] = f"token {token}"

    def server(self, path: str, method: str = "GET", user: str | None = None, **kwargs):
        url = f"{self.hub.url}/user/{user or self.name}/{path.lstrip('/')}"
        return self.session.request(method, url, timeout=600, **kwargs)

    def ok(self, path: str, method: str = "GET", step: str = "", **kwargs):
        response = self.server(path, method, **kwargs)
        assert response.status_code < 400, f"{self.name}, {step or path}: HTTP {response.status_code} {response.text[:500]}"
        return response.json() if response.text.strip().startswith(("{", "[")) else response.text

    def put_notebook(self, path: str, nb) -> None:
        self.ok(f"api/contents/{path}", "PUT", step=f"save {path}",
                data=json.dumps({"type": "notebook", "format": "json", "content": json.loads(nbformat.writes(nb))}))

    def get_notebook(self, path: str):
        return nbformat.from_dict(self.ok(f"api/contents/{path}", step=f"open {path}")["content"])

    def as_user(self, *cmd: str, cwd=None, env_extra=None) -> subprocess.CompletedProcess:
        env = {**nbgrader_env(), **(env_extra or {}), "HOME": str(self.hub.deployment.home(self.name)),
               "PATH": f"{os.path.dirname(PYTHON)}:/usr/local/bin:/usr/bin:/bin",
               "JUPYTER_CONFIG_PATH": self.hub.deployment.config_path(self.name)}
        # graders share the course folder through their group: files they write stay group-writable
        cmd = ["sh", "-c", 'umask 0007 && exec "$@"', "sh", *cmd]
        return subprocess.run([shutil.which("runuser"), "-u", self.name, "--", *cmd], capture_output=True, text=True, env=env,
                              cwd=cwd or self.hub.deployment.home(self.name), timeout=1200)


class Hub:
    def __init__(self, deployment, token):
        import requests

        self.deployment, self.url = deployment, deployment.url
        self.log = deployment.root / "state" / "hub.log"
        self.api = requests.Session()
        self.api.headers["Authorization"] = f"token {token}"

    def actor(self, name: str) -> Actor:
        reply = self.api.post(f"{self.url}/hub/api/users/{name}/tokens", json={
            "note": "semester test", "scopes": [f"access:servers!user={name}", f"read:users!user={name}"]})
        assert reply.status_code in (200, 201), reply.text
        started = self.api.post(f"{self.url}/hub/api/users/{name}/server")
        assert started.status_code in (201, 202, 400), f"{name}: server did not start: {self.log_tail()}"
        for _ in range(240):
            status = self.api.get(f"{self.url}/hub/api/users/{name}").json()
            if status.get("servers", {}).get("", {}).get("ready"):
                return Actor(self, name, reply.json()["token"])
            time.sleep(0.5)
        raise AssertionError(f"{name}'s server never became ready: {self.log_tail()}")

    def log_tail(self) -> str:
        return self.log.read_text()[-4000:] if self.log.exists() else "(no hub log)"


class Screens:
    """Each actor in Chromium, logged in through the hub's login page with their own password; a numbered
    screenshot of every step ($GRADEKIT_SCREENSHOTS/hub-semester/), named after actor and step."""

    def __init__(self, browser, hub):
        self.browser, self.hub, self.shots = browser, hub, Shots("hub-semester")
        self.pages = {}

    def login(self, name: str):
        context = self.browser.new_context(viewport={"width": 1400, "height": 900})
        context.set_default_timeout(90_000)
        page = context.new_page()
        page.goto(f"{self.hub.url}/hub/login")
        page.fill("input[name=username]", name)
        page.fill("input[name=password]", self.hub.deployment.passwords[name])
        page.keyboard.press("Enter")
        page.wait_for_url(f"**/user/{name}/**")
        self.pages[name] = page
        return page

    def shot(self, name: str, step: str) -> None:
        self.shots(self.pages[name], f"{name.split('gk', 1)[-1][4:] or name}-{step}")

    def formgrader_button(self, name: str, icon: str, step: str) -> None:
        """Press one of the assignment row's buttons in formgrader's "Manage Assignments" and wait for its
        success dialog (an error dialog fails the step with its text)."""
        from playwright.sync_api import expect

        page = self.pages[name]
        page.goto(f"{self.hub.url}/user/{name}/formgrader/manage_assignments")
        page.locator("tr", has_text=ASSIGNMENT).first.locator(f".glyphicon-{icon}").click()
        outcome = page.locator("#success-modal, #error-modal").last
        expect(outcome).to_be_visible(timeout=300_000)
        page.wait_for_timeout(500)  # the dialog fades in
        self.shot(name, step)
        assert outcome.get_attribute("id") == "success-modal", f"{name}, {step}: {outcome.inner_text()[:1500]}"
        outcome.locator("button.close").first.click()
        expect(outcome).to_be_hidden()

    def lab_panel(self, name: str, menu_item: str):
        """Open a panel of nbgrader's JupyterLab extension from its menu."""
        from playwright.sync_api import expect

        page = self.pages[name]
        page.goto(f"{self.hub.url}/user/{name}/lab?reset")
        page.locator("#jp-main-dock-panel").wait_for(timeout=120_000)
        page.get_by_role("menuitem", name="Nbgrader", exact=True).click()
        page.get_by_role("menuitem", name=menu_item, exact=True).click()
        expect(page.locator("#nbgrader-assignment-list" if menu_item == "Assignment List" else "#formgrader")
               ).to_be_visible(timeout=60_000)
        return page


@pytest.fixture(scope="module")
def screens(hub, browser):
    return Screens(browser, hub)


@pytest.fixture(scope="module")
def hub():
    import requests

    postgres_server = import_file(ROOT / "deploy" / "postgres_server.py")
    course_hub = import_file(HUB_DIR / "course_hub.py")

    root = Path(tempfile.mkdtemp(prefix="gradekit-hub-"))
    root.chmod(0o755)  # the accounts (and the database server's) live below it
    tag = secrets.token_hex(2)
    d = course_hub.Deployment(root=root, instructor=f"gk{tag}prof", ta=f"gk{tag}ta",
                              students=[f"gk{tag}s{i}" for i in (1, 2, 3)], port=course_hub.free_port())
    postgres_folder = root / "postgres"
    url = postgres_server.start(postgres_folder, course_hub.free_port(), password=secrets.token_urlsafe(12))
    old_modes, proc = {}, None
    try:
        config = course_hub.prepare(d, url)
        old_modes = course_hub.share_interpreter()  # CI's Python lives under /root
        old_modes.update(course_hub.protect_checkout())
        token = secrets.token_hex(16)
        env = {**nbgrader_env(), "COURSE_HUB_API_TOKEN": token}
        log = open(root / "state" / "hub.log", "w")
        proc = subprocess.Popen([str(Path(sys.executable).parent / "jupyterhub"), "-f", str(config)],
                                cwd=root / "state", env=env, stdout=log, stderr=subprocess.STDOUT)
        for _ in range(120):
            try:
                if requests.get(f"{d.url}/hub/api", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            assert proc.poll() is None, (root / "state" / "hub.log").read_text()[-3000:]
            time.sleep(0.5)
        yield Hub(d, token)
    finally:
        if proc:
            proc.terminate()
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
        for pid in subprocess.run(["pgrep", "-u", ",".join(d.users)], capture_output=True, text=True).stdout.split():
            subprocess.run(["kill", "-9", pid])
        course_hub.restore_modes(old_modes)
        postgres_server.stop(postgres_folder)
        course_hub.remove_accounts(d)
        shutil.rmtree(root, ignore_errors=True)


def test_the_semester_loop(hub, screens):
    from playwright.sync_api import expect

    d = hub.deployment
    prof, ta = hub.actor(d.instructor), hub.actor(d.ta)
    good, buggy, blank = (hub.actor(name) for name in d.students)

    # instructor: generate and release in formgrader
    page = screens.login(prof.name)
    screens.formgrader_button(prof.name, "education", "formgrader-generated")
    screens.formgrader_button(prof.name, "cloud-upload", "formgrader-released")
    page.goto(f"{hub.url}/user/{prof.name}/formgrader/manage_assignments")
    expect(page.locator("tr", has_text=ASSIGNMENT).first).to_contain_text("released")
    screens.shot(prof.name, "formgrader-assignments")

    # TA: a due date that has passed, and an extension for one student
    due = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1, hours=1)  # 2 started days
    for step in (("due", ASSIGNMENT, "--at", due.strftime("%Y-%m-%d %H:%M")),
                 ("extension", ASSIGNMENT, good.name, "--days", "3", "--reason", "a private reason")):
        done = ta.as_user(PYTHON, "-m", "gradekit", *step, cwd=d.course)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]

    # students: their own deadline on the hub's deadline page, nobody else's
    for student in (good, buggy, blank):
        page = screens.login(student.name)
        page.goto(f"{hub.url}/services/deadlines/")
        row = page.locator("#deadlines td.due").first
        expect(row).to_contain_text(f"{ASSIGNMENT}: due ")
        screens.shot(student.name, "deadline-page")
        text = page.locator("body").inner_text()
        others = [s.name for s in (good, buggy, blank) if s is not student]
        assert student.name in text and not any(o in text for o in others), text
        assert "a private reason" not in text, text
        if student is good:
            assert "your extension: 3 days" in row.inner_text() and "a submission now" not in text, text
        else:
            assert "extension" not in row.inner_text() and "a submission now is 1 day" in text, text

    # students: fetch in the Assignment List, work, submit in the Assignment List (warned first when late)
    bug = bug_named("bias_grad_mean")
    for student, edits in ((good, ()), (buggy, bug.edits), (blank, None)):
        page = screens.lab_panel(student.name, "Assignment List")
        released_row = page.locator("#released_assignments_list .list_item", has_text=ASSIGNMENT)
        expect(released_row).to_be_visible(timeout=60_000)
        screens.shot(student.name, "assignment-list")
        released_row.get_by_role("button", name="Fetch").click()
        fetched_row = page.locator("#fetched_assignments_list .list_item", has_text=ASSIGNMENT).first
        expect(fetched_row).to_be_visible(timeout=60_000)
        screens.shot(student.name, "fetched")
        fetched = {name: student.get_notebook(f"{ASSIGNMENT}/{name}.ipynb") for name in NOTEBOOKS}
        assert all(grade_id(c) for nb in fetched.values() for c in nb.cells if is_solution_cell(c)), "not the release"
        if edits is not None:  # the work: the reference solution in the stubs, then the bug's edits
            for name, nb in submission_with_edits(d.course, ASSIGNMENT, NOTEBOOKS, edits).items():
                student.put_notebook(f"{ASSIGNMENT}/{name}.ipynb", nb)
        else:  # nothing done, but a fork bomb where the first answer goes, then attacks on the TA's account
            for name, nb in KIT.hostile.hostile_submission(d.course, FORK_BOMB).items():
                if name == NUMPY:
                    KIT.hostile.first_solution_cell(nb).source += "\n" + "\n".join(
                        a.code for a in KIT.redteam.ATTACKS if a.name in TA_ATTACKS)
                student.put_notebook(f"{ASSIGNMENT}/{name}.ipynb", nb)
        if student is good:  # the sandbox must hide the course folder from the kernel, even as the TA
            nb = student.get_notebook(f"{ASSIGNMENT}/{NUMPY}.ipynb")
            nb.cells.append(nbformat.v4.new_code_cell(
                f"import os\nprint('course sources', 'VISIBLE' if os.path.exists({str(d.course / 'source')!r}) "
                "else 'hidden')"))
            student.put_notebook(f"{ASSIGNMENT}/{NUMPY}.ipynb", nb)
        fetched_row.get_by_role("button", name="Submit").click()
        if student is not good:  # past their due date: the first press only warns
            warning = page.locator("#submission-message")
            expect(warning).to_contain_text("after your due date", timeout=60_000)
            assert "loses 20% of its score" in warning.inner_text(), warning.inner_text()
            screens.shot(student.name, "late-warning")
            page.get_by_role("button", name="Ok").click()
            assert not list((d.exchange / "deep-learning-101" / "inbound").glob(f"{student.name}+*")), \
                "the first press submitted"
            fetched_row.get_by_role("button", name="Submit").click()
        expect(page.locator("#submitted_assignments_list .list_item", has_text=ASSIGNMENT).first
               ).to_be_visible(timeout=60_000)
        screens.shot(student.name, "submitted")

    # TA: collect in formgrader, grade with the kit as the `ta` account, grade the written answer by hand
    page = screens.login(ta.name)
    screens.formgrader_button(ta.name, "cloud-download", "formgrader-collected")
    instructor_files = {p: p.read_bytes() for p in sorted((d.course / "source" / ASSIGNMENT).rglob("*")) if p.is_file()}
    graded = ta.as_user(PYTHON, "-m", "gradekit", "grade", ASSIGNMENT, "--jobs", str(JOBS), cwd=d.course,
                        env_extra=KIT.redteam.SECRET_ENV)  # as a TA's server has JUPYTERHUB_API_TOKEN
    assert graded.returncode == 0, graded.stdout[-3000:] + graded.stderr[-3000:]
    owner = {p.owner() for p in (d.course / "autograded").rglob("*.ipynb")}
    logs = "".join(p.read_text()[-3000:] for p in sorted((d.course / "grading").rglob("*.log"))[:1])
    assert owner == {d.ta}, f"grading ran as {owner}, not as the TA's account: {graded.stdout[-2000:]}{logs}"
    bomb = KIT.hostile.evidence(d.course, blank.name)
    assert bomb, f"the fork bomb left no evidence: {graded.stdout[-3000:]}"
    forked, stop = re.match(r"forked (\d+), then (\w+)", bomb).groups()
    assert stop == "BlockingIOError" and int(forked) < 512, f"the TA's kernels have no process cap: {bomb}"
    # graded as the TA: no sysctl, cgroup or device written, the TA's environment not passed on, no link followed
    assert "refused" in bomb and "wrote" not in bomb and "moved into" not in bomb, bomb
    assert not any(k in bomb for k in KIT.redteam.SECRET_ENV) and "NBGRADER_DB_URL" not in bomb, bomb
    assert "linked" in bomb, bomb  # the links were made in the kernel's copy, and nothing followed them
    assert all(p.read_bytes() == data for p, data in instructor_files.items()), "grading changed source/"
    autograded = nbformat.read(d.course / "autograded" / good.name / ASSIGNMENT / f"{NUMPY}.ipynb", 4)
    outputs = "".join(o.get("text", "") for c in autograded.cells if c.cell_type == "code" for o in c.outputs)
    assert "course sources hidden" in outputs, "the kernel graded as the TA saw the course's sources"
    scores = {}
    for student in (good, buggy, blank):
        submissions = ta.ok(f"formgrader/api/student_notebook_submissions/{student.name}/{ASSIGNMENT}",
                            step="list submissions")
        scores[student.name] = {nb["name"]: nb["score"] for nb in submissions}
        for nb in submissions:
            if nb["name"] == TORCH and nb["needs_manual_grade"]:  # in formgrader's grading view
                page.goto(f"{hub.url}/user/{ta.name}/formgrader/submissions/{nb['id']}/")
                page.wait_for_load_state("networkidle")  # formgrader renders its grades after loading them
                score = page.locator("input.score").last
                for _ in range(60):
                    if score.input_value() != "3":  # typed again if a late render cleared the field
                        score.fill("3")
                        score.press("Enter")
                    grades = ta.ok("formgrader/api/grades", params={"submission_id": nb["id"]}, step="open grades")
                    if next(g for g in grades if g["name"] == "comparison_discussion")["manual_score"] == 3:
                        break
                    time.sleep(0.5)
                else:
                    raise AssertionError(f"{ta.name}, grade by hand: the score typed in formgrader was not saved")
                if student is good:
                    score.scroll_into_view_if_needed()
                    screens.shot(ta.name, "formgrader-graded-by-hand")
    assert scores[good.name] == {NUMPY: 59, TORCH: 25}, scores
    assert scores[buggy.name][NUMPY] < 59 and scores[blank.name] == {NUMPY: 0, TORCH: 0}, scores
    page.goto(f"{hub.url}/user/{ta.name}/formgrader/manage_submissions/{ASSIGNMENT}")
    expect(page.locator("tr", has_text=good.name).first).to_contain_text("87 / 88")
    screens.shot(ta.name, "formgrader-graded")
    screens.formgrader_button(ta.name, "comment", "formgrader-feedback-generated")
    screens.formgrader_button(ta.name, "envelope", "formgrader-feedback-released")

    # each student fetches their own feedback in the Assignment List: score and hints, no hidden test
    for student, expected in ((good, "59.0 / 59.0"), (buggy, "test_linear_backward"), (blank, "0.0 / 59.0")):
        page = screens.lab_panel(student.name, "Assignment List")
        page.locator("#submitted_assignments_list").get_by_role("button", name="Fetch Feedback").first.click()
        folder = []
        for _ in range(120):
            folder = student.ok(f"api/contents/{ASSIGNMENT}/feedback", step="list feedback")["content"]
            if folder:
                break
            time.sleep(0.5)
        assert folder, f"{student.name} got no feedback"
        screens.shot(student.name, "feedback-fetched")
        pages = student.ok(f"api/contents/{folder[0]['path']}", step="open feedback")["content"]
        html = "".join(student.ok(f"api/contents/{p['path']}")["content"] for p in pages)
        assert expected in html and "BEGIN HIDDEN TESTS" not in html, (student.name, expected)
        page.goto(f"{hub.url}/user/{student.name}/files/{folder[0]['path']}/{NUMPY}.html")
        expect(page.get_by_text(expected).first).to_be_visible()
        screens.shot(student.name, "feedback")

    # what students must not reach, in the browser
    page = screens.pages[good.name]
    page.goto(f"{hub.url}/user/{buggy.name}/lab")
    expect(page.get_by_text("403").first).to_be_visible()
    screens.shot(good.name, "another-students-server-refused")

    # what students must not reach
    assert good.server("api/contents", user=buggy.name).status_code in (403, 404), "another student's server"
    assert good.server("formgrader").status_code == 404, "formgrader is for graders only"
    denied = {
        "the course folder": d.course / "source" / ASSIGNMENT / f"{NUMPY}.ipynb",
        "the gradebook address": d.course / "gradebook_url",
        "this checkout's source": ROOT / "source" / ASSIGNMENT / f"{NUMPY}.ipynb",
        "this checkout's grader tests": ROOT / "grader_tests" / "helpers.py",
    }
    for what, path in denied.items():
        assert path.is_file(), f"{path} is not there: refusing to read it would prove nothing"
        assert good.as_user("cat", str(path)).returncode != 0, f"a student can read {what}"
    inbound = d.exchange / "deep-learning-101" / "inbound"
    assert good.as_user("ls", str(inbound)).returncode != 0, "a student can list the submissions"
    assert good.as_user(PYTHON, "-c", "import nbgrader").returncode == 0, "students' servers need nbgrader"
