"""A real `jupyter lab` server on 127.0.0.1 for browser tests, with the known traps handled once.

- runs as root only with --allow-root;
- HOME, JUPYTER_CONFIG_DIR, JUPYTER_DATA_DIR and JUPYTER_RUNTIME_DIR point into the test's folder, so
  neither the server nor Chromium writes into the real home;
- jupyter-lsp's autodetection and JupyterLab's news announcement popup are disabled;
- nbgrader's exchange root is set inside the test's folder.
"""
from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from gradekit.core.nbgrader_run import nbgrader_env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabServer:
    def __init__(self, root: Path, home: Path):
        self.root, self.home = Path(root), Path(home)
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.proc = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict:
        env = nbgrader_env()
        config = self.home / "jupyter-config"
        env.update(HOME=str(self.home), JUPYTER_CONFIG_DIR=str(config), JUPYTER_DATA_DIR=str(self.home / "jupyter-data"),
                   JUPYTER_RUNTIME_DIR=str(self.home / "jupyter-runtime"), JUPYTER_PLATFORM_DIRS="1")
        return env

    def _write_config(self) -> None:
        config = self.home / "jupyter-config"
        (config / "labconfig").mkdir(parents=True, exist_ok=True)
        (config / "labconfig" / "page_config.json").write_text(json.dumps(
            {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
        # render every cell (no virtual scrolling), so outputs far down the notebook exist in the page
        tracker = config / "lab" / "user-settings" / "@jupyterlab" / "notebook-extension"
        tracker.mkdir(parents=True, exist_ok=True)
        (tracker / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
        exchange = self.home / "exchange"
        exchange.mkdir(parents=True, exist_ok=True)
        (config / "nbgrader_config.py").write_text(f"c = get_config()\nc.Exchange.root = {str(exchange)!r}\n")

    def start(self, timeout: float = 60) -> "LabServer":
        self._write_config()
        log = open(self.home / "jupyter-lab.log", "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
             f"--port={self.port}", f"--ServerApp.token={self.token}", f"--ServerApp.root_dir={self.root}",
             "--LanguageServerManager.autodetect=False", "--ServerApp.open_browser=False"],
            cwd=self.root, env=self.env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited; see {self.home / 'jupyter-lab.log'}")
            try:
                urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2)
                return self
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"jupyter lab did not start in {timeout} s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)

    def page_url(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.url}/{path.lstrip('/')}{sep}token={self.token}"
