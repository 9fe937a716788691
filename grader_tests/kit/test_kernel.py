"""The sandboxed kernel itself (gradekit/plugins/kernel.py, sandbox.py), run through nbclient as nbgrader
runs it: what a student's code can reach from inside, and what is left of it afterwards."""
from __future__ import annotations

import os

import nbformat
import pytest
from nbclient import NotebookClient

from gradekit.plugins import sandbox
from gradekit.plugins.kernel import SandboxedKernelManager, namespaces_available

needs_sandbox = pytest.mark.skipif(not namespaces_available(), reason="Linux namespaces unavailable here")


def _run(folder, *sources: str) -> tuple[list[str], NotebookClient]:
    """Execute the cells in a sandboxed kernel working in `folder`; (each cell's printed text, the client)."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    client = NotebookClient(nb, timeout=120, kernel_manager_class=SandboxedKernelManager,
                            resources={"metadata": {"path": str(folder)}})
    client.execute()
    return ["".join(o.get("text", "") for o in cell.outputs) for cell in nb.cells], client


@needs_sandbox
@pytest.mark.skipif(os.uname().machine not in sandbox.KEY_SYSCALLS, reason="no keyring filter for this machine")
def test_the_kernel_keyring_is_refused(tmp_path):
    # a key in a keyring the next student's kernel could read; the process keyring here, so that a
    # sandbox without the filter leaves nothing behind either
    (add_key, _, keyctl), _ = sandbox.KEY_SYSCALLS[os.uname().machine]
    [added, read], _ = _run(tmp_path, f"""
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
key = libc.syscall({add_key}, b"user", b"gradekit-test", b"secret", 6, -2)
print(key, ctypes.get_errno())""", f"""
KEYCTL_GET_KEYRING_ID = 0
print(libc.syscall({keyctl}, KEYCTL_GET_KEYRING_ID, -4, 0), ctypes.get_errno())""")
    assert added.split() == ["-1", "1"], f"add_key: {added}"  # EPERM
    assert read.split() == ["-1", "1"], f"keyctl: {read}"


@needs_sandbox
def test_a_deep_tree_in_the_sockets_folder_is_removed_with_it(tmp_path):
    [sockets], _ = _run(tmp_path, """
import os
from ipykernel import get_connection_file
folder = os.path.dirname(get_connection_file())  # the same path outside the sandbox
os.chdir(folder)
for _ in range(3000):
    os.mkdir("d")
    os.chdir("d")
print(folder)""")
    assert os.path.basename(sockets.strip()).startswith("gk-"), sockets
    assert not os.path.exists(sockets.strip()), "the kernel's sockets folder outlived it"


@needs_sandbox
def test_the_kernel_is_killed_not_asked_to_stop(tmp_path):
    # asked to stop, a kernel runs its exit handlers: code after the last cell, which could change
    # files the grade is read from, and seconds of waiting on every notebook when it hangs there
    _run(tmp_path, """
import atexit, pathlib
atexit.register(pathlib.Path("after-the-last-cell").write_text, "ran")""")
    assert not (tmp_path / "after-the-last-cell").exists(), "the kernel ran code after its last cell"
