"""The kernel manager nbgrader's Execute uses for students' notebooks: the kernel runs in gradekit/plugins/sandbox.py.

Configured in nbgrader_config.py (c.SandboxedKernelManager.*). Where the machine cannot create Linux
namespaces the kernel still gets the resource limits, and the grader logs once that instructor files are
readable by student code (see the README, "What the defences do not cover").
"""
from __future__ import annotations

import os
import pwd
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.paths import jupyter_runtime_dir
from traitlets import Bool, Integer, List, Unicode, default

from gradekit.core.files import remove_tree
from gradekit.plugins import sandbox

# Set to "1" in every kernel the kit grades in, so that an assignment can shorten what is shown but not
# graded (a timing demonstration, a sweep); tests and probes must not depend on it.
GRADING_ENV = "GRADEKIT_GRADING"


@lru_cache(maxsize=1)
def namespaces_available() -> bool:
    return sandbox.namespaces_available()


class SandboxedKernelManager(AsyncKernelManager):
    enabled = Bool(True, help="Run students' kernels in gradekit/plugins/sandbox.py.").tag(config=True)
    hidden_paths = List(Unicode(), help="Folders the kernel must not see (except its own submission and "
                                        "the Python environment).").tag(config=True)
    memory_mb = Integer(8192, help="Address-space limit of the kernel (MB); 0: none.").tag(config=True)
    file_mb = Integer(200, help="Largest file the kernel may write (MB); 0: none.").tag(config=True)
    open_files = Integer(1024, help="Open files limit of the kernel; 0: none.").tag(config=True)
    processes = Integer(512, help="Most processes and threads the kernel and everything it starts may have "
                                  "at once; 0: no limit. As root: a pids cgroup of its own; otherwise "
                                  "RLIMIT_NPROC inside the kernel's user namespace (it counts only that "
                                  "namespace's processes). Without either, no limit, logged once.").tag(config=True)

    kernel_user = Unicode("nobody", help="Graded as root: the unprivileged account the kernel runs as (it "
                                         "gets write access to its own folder only). Graded as another user, "
                                         "the kernel keeps that user's id outside its user namespace."
                          ).tag(config=True)
    environment = List(Unicode(), help="Environment variables a kernel keeps besides the sandbox's allow "
                                       "list (gradekit/plugins/sandbox.py ENV_ALLOWED); everything else, tokens and "
                                       "database URLs included, stays with the grader.").tag(config=True)

    @default("environment")
    def _environment_default(self):
        return [GRADING_ENV]

    def _sandboxed(self) -> bool:
        return self.enabled and namespaces_available()

    async def _async_pre_start_kernel(self, **kw):
        kw["env"] = {**kw.get("env", os.environ), GRADING_ENV: "1"}
        if self._sandboxed():
            # No network in the sandbox: talk to the kernel over Unix sockets in a folder of its own.
            Path(jupyter_runtime_dir()).mkdir(parents=True, exist_ok=True)
            self._ipc_dir = tempfile.mkdtemp(prefix="gk-", dir=jupyter_runtime_dir())
            self.transport, self.ip = "ipc", str(Path(self._ipc_dir) / "k")
            # the kernel's /tmp is private: keep the connection file where it can read it
            self.connection_file = str(Path(self._ipc_dir) / "kernel.json")
        elif self.enabled and not getattr(SandboxedKernelManager, "_warned", False):
            SandboxedKernelManager._warned = True
            self.log.warning("gradekit: Linux namespaces unavailable; student kernels get resource limits "
                             "only and can read files outside their folder")
        result = await super()._async_pre_start_kernel(**kw)
        uid = self._kernel_uid()
        if uid is not None:  # what the unprivileged kernel must write: its folder, its sockets
            cwd = (self._launch_args or {}).get("cwd")
            for path in [self._ipc_dir, self.connection_file] + ([cwd] if cwd else []):
                os.chown(path, uid, uid)
            if cwd:
                for base, dirs, files in os.walk(cwd):
                    for name in dirs + files:
                        os.lchown(os.path.join(base, name), uid, uid)
        return result

    def _kernel_uid(self) -> int | None:
        """The account a root grader's kernel runs as; None when the grader is not root."""
        if not self._sandboxed() or os.geteuid() != 0:
            return None
        try:
            return pwd.getpwnam(self.kernel_user).pw_uid
        except KeyError:
            return int(self.kernel_user) if self.kernel_user.isdigit() else 65534

    def _process_cap(self) -> list[str]:
        """The sandbox's option that bounds the kernel's processes (a fork bomb), or none."""
        if not self.processes or not self._sandboxed():
            return self._no_cap("no namespaces")
        if os.geteuid() != 0:  # in the kernel's own user namespace, RLIMIT_NPROC counts only its processes
            return [f"--processes={self.processes}"]
        if getattr(self, "_cgroup", None):  # a restart: the old kernel's cgroup goes
            sandbox.remove_pids_cgroup(self._cgroup)
        self._cgroup = sandbox.new_pids_cgroup(self.processes)  # Linux exempts root from RLIMIT_NPROC
        return [f"--cgroup={self._cgroup}"] if self._cgroup else self._no_cap("no writable pids cgroup")

    def _no_cap(self, why: str) -> list[str]:
        if self.processes and not getattr(SandboxedKernelManager, "_warned_processes", False):
            SandboxedKernelManager._warned_processes = True
            self.log.warning(f"gradekit: student kernels get no process limit here ({why})")
        return []

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        if self.ipykernel:  # as nbclient decides to pass hist_file: no input history, nobody reads it
            cmd.append("--HistoryManager.enabled=False")
        if not self.enabled:
            return cmd
        cwd = (self._launch_args or {}).get("cwd") or "."
        # the worker's pid: a kernel started while its worker is being killed exits instead of living on
        wrapper = [sys.executable, sandbox.__file__, f"--parent-pid={os.getpid()}", f"--memory-mb={self.memory_mb}",
                   f"--file-mb={self.file_mb}", f"--open-files={self.open_files}", *self._process_cap(),
                   *[f"--env={name}" for name in self.environment]]
        if self._kernel_uid() is not None:
            wrapper.append(f"--uid={self._kernel_uid()}")
        if self._sandboxed():
            matplotlib_cache = Path.home() / ".cache" / "matplotlib"  # read-only; seeds the kernel's own
            wrapper += [f"--writable={cwd}", f"--writable={self._ipc_dir}", f"--keep={sys.prefix}",
                        f"--keep={sys.base_prefix}", f"--keep={matplotlib_cache}"]
            wrapper += [f"--hide={p}" for p in self.hidden_paths]
        else:
            wrapper.append("--no-namespaces")
        return wrapper + ["--"] + cmd

    async def shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:
        """Kill the kernel instead of asking it to stop: its outputs are already in hand and nothing it
        does afterwards may count. Asked politely (jupyter_client interrupts it first), the sandboxed
        kernel failed to exit in about half the runs measured, and the manager then waits
        `shutdown_wait_time` (5 s) before killing it: seconds added to every notebook graded."""
        await super().shutdown_kernel(now=True, restart=restart)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart)
        if getattr(self, "_ipc_dir", None) and not restart:
            remove_tree(Path(self._ipc_dir))  # the kernel writes here too: any depth, never through a link
        if getattr(self, "_cgroup", None) and not restart:
            sandbox.remove_pids_cgroup(self._cgroup)
            self._cgroup = None
