"""The course on a JupyterHub: accounts, nbgrader's exchange, the course folder, a PostgreSQL gradebook.

`make hub` runs `python deploy/hub/course_hub.py up`: as root it prepares everything below under
`--root` (default /srv/gradekit-hub), prints the URL and the accounts, and runs the hub in the foreground.

- Accounts: an instructor and a TA (both in the group `graders`) and students, local Linux accounts with
  random passwords (PAM login), homes under ROOT/home. Without root, `--dummy` runs a laptop demo: every
  server runs as the current user (one shared password, no isolation: never for a real course).
- nbgrader's exchange at ROOT/exchange, world-writable with the sticky bit, as nbgrader documents; the
  course's nbgrader settings for everybody (exchange, course id) in ROOT/etc/jupyter/everyone.
- The course folder ROOT/home/<instructor>/course (a copy of this kit's course: nbgrader_config.py and
  source/), owned by the instructor and the group `graders`, closed to everybody else. The gradebook URL
  lies beside it in `gradebook_url`, readable by the graders only.
- Formgrader and the assignment-creation tools only for the graders; students get the Assignment List, the
  validate button, their own deadlines (the hub's deadline service) and a warning before a late submit.
  What keeps students out is file permissions (course folder, gradebook URL, this
  checkout), not the hidden menu: a student who re-enables formgrader finds no course and no database.
- Students' servers cannot read this checkout's instructor files: `protect_checkout` removes other users'
  access to everything in it but the environment (.venv), the package (gradekit/) and this folder.
"""
from __future__ import annotations

import argparse
import grp
import json
import os
import pwd
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(CHECKOUT / "deploy"))
import postgres_server  # noqa: E402 (from deploy/, put on the path just above: this script runs by its path)
from postgres_server import free_port  # noqa: E402

# this environment's commands, by a path that does not pass through folders closed to the students
VENV_BIN = os.path.dirname(os.path.normpath(os.path.abspath(sys.executable)))
HERE = Path(__file__).resolve().parent
COURSE_ID = "deep-learning-101"
GRADERS_GROUP = "graders"
PUBLIC_IN_CHECKOUT = {".venv", "gradekit", "deploy"}  # what students' servers need to run


@dataclass
class Deployment:
    root: Path
    instructor: str = "instructor"
    ta: str = "ta"
    students: list[str] = field(default_factory=lambda: ["student1", "student2", "student3"])
    port: int = 8000
    dummy: bool = False
    passwords: dict[str, str] = field(default_factory=dict)

    @property
    def graders(self) -> list[str]:
        return [self.instructor, self.ta]

    @property
    def users(self) -> list[str]:
        return [*self.graders, *self.students]

    @property
    def exchange(self) -> Path:
        return self.root / "exchange"

    def home(self, user: str) -> Path:
        return self.root / "home" / user

    @property
    def course(self) -> Path:
        return self.home(self.instructor) / "course"

    def config_dir(self, role: str) -> Path:
        return self.root / "etc" / "jupyter" / role

    def config_path(self, user: str) -> str:
        """JUPYTER_CONFIG_PATH of a user's server (and of the commands a grader runs in its terminal)."""
        role = "graders" if user in self.graders else "students"
        return os.pathsep.join([str(self.config_dir(role)), str(self.config_dir("everyone"))])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def run(*cmd: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kwargs)


def create_accounts(d: Deployment) -> None:
    """Local accounts with random passwords; graders share a group that owns the course folder."""
    try:
        grp.getgrnam(GRADERS_GROUP)
    except KeyError:
        run("groupadd", GRADERS_GROUP)
    (d.root / "home").mkdir(parents=True, exist_ok=True)
    for user in d.users:
        try:
            pwd.getpwnam(user)
        except KeyError:
            run("useradd", "--create-home", "--home-dir", str(d.home(user)), "--shell", "/bin/bash", user)
        d.passwords[user] = secrets.token_urlsafe(9)
        run("chpasswd", input=f"{user}:{d.passwords[user]}\n")
        d.home(user).chmod(0o700)
    for user in d.graders:
        run("usermod", "--append", "--groups", GRADERS_GROUP, user)
    d.home(d.instructor).chmod(0o750)  # the TA reaches the course folder through the instructor's home
    shutil.chown(d.home(d.instructor), group=GRADERS_GROUP)


def remove_accounts(d: Deployment) -> None:
    for user in d.users:
        subprocess.run(["userdel", "--remove", user], capture_output=True)
    subprocess.run(["groupdel", GRADERS_GROUP], capture_output=True)


def write_configs(d: Deployment, gradebook_url: str | None) -> None:
    """The exchange, the course folder, and the Jupyter settings of each role."""
    d.exchange.mkdir(parents=True, exist_ok=True)
    d.exchange.chmod(0o1777)  # nbgrader: every user writes here; the sticky bit keeps their files theirs
    everyone = d.config_dir("everyone")
    everyone.mkdir(parents=True, exist_ok=True)
    (everyone / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\n"
        f"c.Exchange.root = {str(d.exchange)!r}\n"
        f"c.CourseDirectory.course_id = {COURSE_ID!r}\n")
    # JupyterHub >= 4.1 forbids framing single-user pages, which blanks formgrader's frame (nbgrader #1870)
    (everyone / "jupyter_server_config.json").write_text(json.dumps(
        {"ServerApp": {"tornado_settings": {"headers": {"Content-Security-Policy": "frame-ancestors 'self'"}}}},
        indent=1))
    students = d.config_dir("students")
    (students / "labconfig").mkdir(parents=True, exist_ok=True)
    # the warning before a late submit (gradekit.apps.late_warning) answers the Assignment List's submit first
    (students / "jupyter_server_config.json").write_text(json.dumps({"ServerApp": {"jpserver_extensions": {
        "nbgrader.server_extensions.formgrader": False,
        "nbgrader.server_extensions.course_list": False,
        "gradekit.apps.late_warning": True}}}, indent=1))
    (students / "labconfig" / "page_config.json").write_text(json.dumps({"disabledExtensions": {
        "@jupyter/nbgrader:formgrader": True, "@jupyter/nbgrader:course-list": True,
        "@jupyter/nbgrader:create-assignment": True}}, indent=1))
    graders = d.config_dir("graders")
    graders.mkdir(parents=True, exist_ok=True)
    # several graders: nbgrader makes what it writes group-writable (course folder and exchange), and the
    # course's exchange folder belongs to the graders' group, so the TA collects what the instructor released
    (graders / "nbgrader_config.py").write_text("c = get_config()  # noqa: F821\nc.CourseDirectory.groupshared = True\n")
    if not d.dummy:
        (d.exchange / COURSE_ID).mkdir(exist_ok=True)
        shutil.chown(d.exchange / COURSE_ID, user=d.instructor, group=GRADERS_GROUP)
        (d.exchange / COURSE_ID).chmod(0o2775)

    # the course: the kit's config and sources, owned by the instructor and the graders' group
    d.course.mkdir(parents=True, exist_ok=True)
    shutil.copy(CHECKOUT / "nbgrader_config.py", d.course / "nbgrader_config.py")
    shutil.copytree(CHECKOUT / "source", d.course / "source", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*_metrics.json", ".ipynb_checkpoints"))
    if gradebook_url:
        (d.course / "gradebook_url").write_text(gradebook_url + "\n")
    if not d.dummy:
        for path in [d.course, *d.course.rglob("*")]:
            shutil.chown(path, user=d.instructor, group=GRADERS_GROUP)
            path.chmod(0o2770 if path.is_dir() else 0o660)
        if gradebook_url:
            (d.course / "gradebook_url").chmod(0o640)


def protect_checkout(checkout: Path = CHECKOUT) -> dict[Path, int]:
    """Close this checkout to other users except what their servers run; returns the old modes."""
    old = {}
    checkout.chmod(checkout.stat().st_mode | 0o011)  # others may traverse to .venv and gradekit/
    for path in checkout.iterdir():
        if path.name not in PUBLIC_IN_CHECKOUT:
            old[path] = path.stat().st_mode & 0o7777
            path.chmod(old[path] & ~0o007)
    return old


def closed_ancestors(path: str) -> list[Path]:
    """Folders above `path` that other users may not traverse."""
    path = Path(path)
    return [a for a in path.parents if a.is_dir() and not a.stat().st_mode & 0o001]


def share_interpreter() -> dict[Path, int]:
    """Let the accounts traverse to this environment's Python (for example a pyenv build under /root);
    returns the old modes. Only traversal (o+x), never listing or reading a folder."""
    old = {}
    for folder in interpreter_blockers():
        old[folder] = folder.stat().st_mode & 0o7777
        folder.chmod(old[folder] | 0o001)
    return old


def interpreter_blockers() -> list[Path]:
    """The folders that keep other accounts from running this environment's Python."""
    targets = (os.path.realpath(sys.executable), sys.base_prefix, VENV_BIN)
    return sorted({folder for target in targets for folder in closed_ancestors(target)})


def restore_modes(old: dict[Path, int]) -> None:
    for path, mode in old.items():
        path.chmod(mode)


def hub_config(d: Deployment) -> Path:
    """jupyterhub_config.py for this deployment (read by `jupyterhub -f`)."""
    state = d.root / "state"
    state.mkdir(parents=True, exist_ok=True)
    state.chmod(0o700)
    settings = {
        "port": d.port, "hub_port": free_port(), "proxy_api_port": free_port(), "deadlines_port": free_port(),
        "state": str(state),
        "venv_bin": VENV_BIN,
        "proxy": str(HERE / "node_modules" / ".bin" / "configurable-http-proxy"),
        "graders": d.graders, "students": d.students, "admin": d.instructor, "dummy": d.dummy,
        "dummy_password": d.passwords.get("*", ""), "course": str(d.course),
        "outbound": str(d.exchange / COURSE_ID / "outbound"),
        "config_path": {user: d.config_path(user) for user in d.users},
        "homes": {user: str(d.home(user)) for user in d.users},
    }
    path = state / "jupyterhub_config.py"
    path.write_text(f"SETTINGS = {settings!r}\n" + (HERE / "jupyterhub_config.py").read_text())
    return path


def prepare(d: Deployment, gradebook_url: str | None) -> Path:
    """Everything but the running hub; returns the hub's config file."""
    d.root.mkdir(parents=True, exist_ok=True)
    d.root.chmod(0o755)
    if d.dummy:
        d.passwords["*"] = secrets.token_urlsafe(9)
        for user in d.users:
            d.home(user).mkdir(parents=True, exist_ok=True)
    else:
        create_accounts(d)
    write_configs(d, gradebook_url)
    return hub_config(d)


def start_postgres(d: Deployment) -> str:
    """Debian's PostgreSQL for the gradebook, data under ROOT/postgres, on a local port; returns its URL."""
    return postgres_server.start(d.root / "postgres", free_port(), password=secrets.token_urlsafe(12))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "down"],
                        help="up: prepare and run the hub; down: stop its database, remove its accounts and --root")
    parser.add_argument("--root", type=Path, default=Path("/srv/gradekit-hub"))
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--dummy", action="store_true", help="laptop demo without root: no accounts, no isolation")
    parser.add_argument("--sqlite", action="store_true", help="keep the SQLite gradebook in the course folder")
    parser.add_argument("--share-python", action="store_true",
                        help="let the accounts traverse the folders above this environment's Python (o+x)")
    args = parser.parse_args()
    if os.geteuid() != 0 and not args.dummy:
        print("error: run as root to create the accounts (or pass --dummy for a laptop demo)", file=sys.stderr)
        return 1
    d = Deployment(root=args.root.resolve(), port=args.port, dummy=args.dummy)
    if args.command == "down":
        if (d.root / "postgres" / "data").is_dir():
            postgres_server.stop(d.root / "postgres")
        if not d.dummy:
            remove_accounts(d)
        shutil.rmtree(d.root, ignore_errors=True)
        print(f"removed the course hub's accounts and {d.root}")
        return 0
    url = None if args.sqlite or args.dummy else start_postgres(d)
    config = prepare(d, url)
    if not d.dummy:
        closed = interpreter_blockers()
        if closed and not args.share_python:
            print(f"error: the accounts cannot run this environment's Python: {', '.join(map(str, closed))} "
                  "is closed to them. Use a Python installed for all users, or pass --share-python to let them "
                  "traverse it (o+x).", file=sys.stderr)
            return 1
        share_interpreter()
        protect_checkout()
    env = {**os.environ, "PATH": f"{VENV_BIN}:{os.environ['PATH']}"}
    print(f"course hub at {d.url}/  (gradebook: {'PostgreSQL' if url else 'SQLite in the course folder'})")
    for user in d.users:
        role = "instructor" if user == d.instructor else "TA" if user == d.ta else "student"
        print(f"  {role:10s} {user:10s} password {d.passwords.get(user) or d.passwords['*']}")
    os.chdir(config.parent)
    os.execve(f"{VENV_BIN}/jupyterhub", ["jupyterhub", "-f", str(config)], env)


if __name__ == "__main__":
    sys.exit(main())
