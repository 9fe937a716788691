"""A local PostgreSQL server (Debian's `postgresql` package) for the course's gradebook.

`initdb` a cluster in a folder, start it on a local port, create a role and a database for the course:
`start` for the hub deployment (it keeps running), `postgres()` for tests (a throwaway server, stopped and
removed afterwards). PostgreSQL refuses to run as root, so as root the server runs as the
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
        import psycopg  # noqa: F401 (only whether it is installed)
    except ImportError:
        return "the psycopg package (pip install -r requirements.txt)"
    return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    user = _server_user()
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", user, "--", *cmd]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kwargs)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip()[-1500:]}")
    return done


def start(folder: Path, port: int, database: str = "gradebook", role: str = "course",
          password: str = "course-pw") -> str:
    """Create a cluster in `folder` (new) and start it on 127.0.0.1:`port`; returns the SQLAlchemy URL of
    `database`, owned by `role`."""
    folder = Path(folder)
    data, sockets = folder / "data", folder / "socket"
    for path in (folder, data, sockets):
        path.mkdir(parents=True, exist_ok=path is folder)
    folder.chmod(0o755)
    for path in (data, sockets):
        shutil.chown(path, user=_server_user())
    _as_server_user([_bin("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                     "--no-instructions"])
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c max_connections=200"
    _as_server_user([_bin("pg_ctl"), "-D", str(data), "-o", options, "-l", str(data / "server.log"), "-w",
                     "start"])
    psql = [_bin("psql") or "psql", "-h", str(sockets), "-p", str(port), "-U", "postgres", "-v", "ON_ERROR_STOP=1"]
    _as_server_user([*psql, "-c", f"CREATE ROLE {role} LOGIN PASSWORD '{password}'"])
    _as_server_user([*psql, "-c", f"CREATE DATABASE {database} OWNER {role}"])
    # only the role's password opens the database over TCP; trust stays on the server's own socket
    hba = data / "pg_hba.conf"
    hba.write_text("local all postgres trust\nhost all all 127.0.0.1/32 scram-sha-256\n")
    shutil.chown(hba, user=_server_user())
    _as_server_user([_bin("pg_ctl"), "-D", str(data), "reload"])
    return f"postgresql://{role}:{password}@127.0.0.1:{port}/{database}"


def stop(folder: Path) -> None:
    _as_server_user([_bin("pg_ctl"), "-D", str(Path(folder) / "data"), "-m", "fast", "-w", "stop"])


@contextmanager
def postgres(database: str = "gradebook", role: str = "course", password: str = "course-pw"):
    """A throwaway server on a free port; yields its URL. Its files live in a new folder under the system's
    temporary folder (pytest's own folders are private to the user running the tests, which the server's
    account may not be), removed when it stops."""
    folder = Path(tempfile.mkdtemp(prefix="gradekit-postgres-"))
    try:
        yield start(folder, free_port(), database, role, password)
    finally:
        stop(folder)
        shutil.rmtree(folder, ignore_errors=True)
