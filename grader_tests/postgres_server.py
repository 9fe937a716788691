"""A throwaway PostgreSQL server (Debian's `postgresql` package) for the gradebook tests.

`initdb` a cluster in a temporary folder, start it on a free local port, create a role and a database for
the course, and stop it afterwards. PostgreSQL refuses to run as root, so as root the server runs as the
`postgres` account that Debian's package creates. `missing()` says in one line what is absent, for a skip.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path


def _bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _server_user() -> str | None:
    """The account the server runs as: this one, or `postgres` when this one is root."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid()).pw_name
    try:
        return pwd.getpwnam("postgres").pw_name
    except KeyError:
        return None


def missing() -> str | None:
    if not (_bin("initdb") and _bin("pg_ctl")):
        return "Debian's postgresql (apt-get install postgresql); `make test` installs it in CI as root"
    if _server_user() is None:
        return "a `postgres` account to run the server as (root may not run PostgreSQL)"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "the psycopg package (pip install -r requirements.txt)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    user = _server_user()
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", user, "--", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=120, **kwargs)


@contextmanager
def postgres(database: str = "gradebook", role: str = "course", password: str = "course-pw"):
    """Run a server on a free port; yields the SQLAlchemy URL of `database`, owned by `role`.

    Its files live in a new folder under the system's temporary folder (pytest's own folders are private to
    the user running the tests, which the server's account may not be), removed when it stops."""
    folder = Path(tempfile.mkdtemp(prefix="gradekit-postgres-"))
    data, sockets = folder / "data", folder / "socket"
    for path in (data, sockets):
        path.mkdir(parents=True)
        shutil.chown(path, user=_server_user())
    folder.chmod(0o755)
    port = _free_port()
    _as_server_user([_bin("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                     "--no-instructions"])
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off"
    _as_server_user([_bin("pg_ctl"), "-D", str(data), "-o", options, "-l", str(data / "server.log"), "-w",
                     "start"])
    try:
        psql = [_bin("psql") or "psql", "-h", str(sockets), "-p", str(port), "-U", "postgres", "-v", "ON_ERROR_STOP=1"]
        _as_server_user([*psql, "-c", f"CREATE ROLE {role} LOGIN PASSWORD '{password}'"])
        _as_server_user([*psql, "-c", f"CREATE DATABASE {database} OWNER {role}"])
        yield f"postgresql://{role}:{password}@127.0.0.1:{port}/{database}"
    finally:
        _as_server_user([_bin("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"])
        shutil.rmtree(folder, ignore_errors=True)
