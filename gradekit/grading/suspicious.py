"""Flags for a TA: code in a submission that reaches for the grading machinery, and edited test cells.

Nothing here changes a score (the trusted re-check and the sandbox do the defending); it tells a TA
which submissions to open. The scan reads the code the student wrote or changed: code cells whose
source differs from every cell of the released notebook.
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat

from gradekit.core.layout import Course

if TYPE_CHECKING:  # names in annotations only
    from nbformat import NotebookNode

# Modules whose attributes a submission has no reason to overwrite; the assignment's own helper modules
# (the .py files released beside its notebooks) are added per assignment.
GUARDED_MODULES = {"np", "numpy", "torch", "nn", "F", "builtins", "sys", "os", "IPython",
                   "testing", "unittest", "math", "random", "time"}
# Calls that hook the interpreter or the kernel, leave the process or reach outside the folder: as a
# method or module function (sys.settrace, os._exit), and as bare names (exec, eval).
SUSPICIOUS_CALLS = {
    "settrace", "setprofile", "set_custom_exc", "_exit", "exit", "kill", "fork", "system", "popen", "Popen",
    "run_line_magic", "register_magic_function", "socket", "create_connection", "urlopen", "CDLL",
    "get_objects", "_getframe", "currentframe", "signal", "pthread_sigmask", "alarm", "chdir", "unlink",
    "rmtree", "symlink", "makedirs", "glob", "walk", "listdir", "scandir", "expanduser",
}
SUSPICIOUS_NAME_CALLS = {"exec", "eval", "compile", "__import__", "setattr", "globals", "open", "exit", "quit"}
SUSPICIOUS_ATTRIBUTES = {"input_transformers_post", "input_transformers_cleanup", "ast_transformers",
                         "displayhook", "excepthook", "showtraceback", "_showtraceback", "events",
                         "__builtins__", "__class__", "__code__", "__globals__"}
SUSPICIOUS_METHODS = {"__eq__", "__ne__", "__array__", "__array_ufunc__", "__array_function__", "__bool__",
                      "__float__", "__getattr__", "__instancecheck__", "__del__"}
SUSPICIOUS_IMPORTS = {"ctypes", "subprocess", "socket", "multiprocessing", "signal", "gc", "inspect",
                      "urllib", "requests", "http", "shutil", "pickle", "builtins", "threading"}


def _root_name(node) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def scan_source(source: str, guarded: set[str] = GUARDED_MODULES) -> list[str]:
    """What in this code a TA should look at, as short phrases; [] for ordinary code."""
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    except (RecursionError, MemoryError, ValueError):
        return ["code nested too deeply for Python's parser"]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for target in targets:
                if isinstance(target, ast.Attribute) and _root_name(target) in guarded:
                    found.append(f"overwrites {ast.unparse(target)}")
                elif isinstance(target, ast.Attribute) and target.attr in SUSPICIOUS_ATTRIBUTES:
                    found.append(f"sets {target.attr}")
        elif isinstance(node, ast.Call):
            func = node.func
            if (isinstance(func, ast.Attribute) and func.attr in SUSPICIOUS_CALLS
                    or isinstance(func, ast.Name) and func.id in SUSPICIOUS_CALLS | SUSPICIOUS_NAME_CALLS):
                found.append(f"calls {ast.unparse(func)}")
        elif isinstance(node, ast.Attribute) and node.attr in SUSPICIOUS_ATTRIBUTES:
            found.append(f"uses {node.attr}")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in SUSPICIOUS_METHODS:
            found.append(f"defines {node.name}")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            found += [f"imports {m}" for m in modules if m.split(".")[0] in SUSPICIOUS_IMPORTS]
    return sorted(set(found))


def notebook_flags(released: NotebookNode, submitted: NotebookNode, name: str, helpers: set[str] = ()) -> list[str]:
    """Flags of one submitted notebook against its release: suspicious code, edited or deleted test cells."""
    release_sources = {c.source for c in released.cells}
    tests = {c.metadata["nbgrader"]["grade_id"]: c.source for c in released.cells
             if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")
             and not c.metadata["nbgrader"].get("solution")}
    flags = []
    found = sorted({f for c in submitted.cells if c.cell_type == "code" and c.source not in release_sources
                    for f in scan_source(c.source, GUARDED_MODULES | set(helpers))})
    if found:
        flags.append(f"suspicious code in {name}: {', '.join(found[:8])}"
                     + (f" (+{len(found) - 8} more)" if len(found) > 8 else ""))
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in submitted.cells}
    edited = sorted(g for g, src in tests.items() if by_id.get(g) != src)
    if edited:
        flags.append(f"test cells edited or deleted in {name} (nbgrader restored them): " + ", ".join(edited))
    return flags


def submission_flags(course: Path, assignment: str, student: str) -> list[str]:
    """Flags for each notebook of a submission (see notebook_flags)."""
    course, flags = Course(course), []
    helpers = {p.stem for p in course.release(assignment).glob("*.py")}
    from gradekit.core.files import read_regular

    for released in sorted(course.release(assignment).glob("*.ipynb")):
        data = read_regular(course.submitted(student, assignment) / released.name)  # never through a link
        try:
            flags += notebook_flags(nbformat.read(released, as_version=4), nbformat.reads(data.decode(), as_version=4),
                                    released.stem, helpers)
        except Exception:  # noqa: BLE001 - missing or unreadable: grading itself reports it
            continue
    return flags
