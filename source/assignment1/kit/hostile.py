"""The hostile gallery: submissions that try to cheat the grader or break the batch, one trick each.

Most tricks are added to the untouched release (every stub still raises NotImplementedError), whose
honest grade is 0: any point they earn is a point the trick stole. The tricks that fool the notebook's own
tests are added to a catalogued bug instead (`base`): wrong code that runs, which is what a cheat hides;
their honest twin (the bug alone) is graded beside them. Each names its expected outcome:

- "graded": graded, and no test scores more than honestly (0 on the release, or the twin's score);
- "failed": the submission fails with a reason (timeout, memory, kernel died, invalid), the batch goes on;
- "either": one of the two (which limit stops it first depends on the machine).

grader_tests/assignment1/test_hostile.py grades all of them, beside a correct submission, with the batch command.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from gradekit.authoring.submissions import submission_with_edits, untouched_release
from gradekit.core.cells import grade_id
from gradekit.core.layout import Course

from . import ASSIGNMENT
from .bugs import bug_named

NUMPY, TORCH = "1_mlp_numpy", "2_mlp_pytorch"
EVIDENCE = "EVIDENCE "  # what a trick could see, printed by it (its cell's outputs) for the test to read


@dataclass
class Trick:
    name: str
    threat: str  # the line of the threat model (issue 5) it covers
    code: str = ""  # appended to the first solution cell of `notebook`
    notebook: str = NUMPY
    expect: str = "graded"
    base: str = ""  # a catalogued bug (kit/bugs.py) to start from instead of the untouched release
    edit_cells: str = ""  # "empty-tests" or "delete-tests"
    extra_files: dict = field(default_factory=dict)  # file name -> bytes, shipped beside the notebook
    # its kernel never finishes: only the time limit ends it, whatever the limit is, so a test may grade it
    # with a shorter one
    hangs: bool = False


_SOLVE_FROM_SOURCE = r'''
import glob, json, os
_found = []
_course = os.path.abspath("../../..")
for _pattern in (_course + "/source/*/1_mlp_numpy.ipynb", _course + "/solutions/*/1_mlp_numpy.ipynb",
                 "/tmp/**/source/assignment1/1_mlp_numpy.ipynb", "/work/*/source/assignment1/1_mlp_numpy.ipynb"):
    _found += glob.glob(_pattern, recursive=True)[:1]
print("EVIDENCE read: " + repr(_found))
for _path in _found[:1]:
    for _cell in json.load(open(_path))["cells"]:
        if _cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            exec("".join(_cell["source"]).replace("%matplotlib inline", ""), globals())
'''

_OVERWRITE_INSTRUCTOR_FILES = r'''
import glob, os
_log = []
_targets = (glob.glob("../../../source/*/probes/*.py") + glob.glob("../../../source/*/*.ipynb")
            + glob.glob("../../../release/*/*.ipynb") + glob.glob("../../../grading/*/reference_probes/*")
            + ["../../../gradebook.db", "../../../nbgrader_config.py",
               "../../../submitted/reference/assignment1/1_mlp_numpy.ipynb",
               os.path.expanduser("~/.ipython/profile_default/startup/00-cheat.py")])
for _path in _targets:
    try:
        os.makedirs(os.path.dirname(_path), exist_ok=True)
        with open(_path, "w") as _f:
            _f.write("import numpy; numpy.allclose = lambda *a, **k: True\n")
        _log.append("wrote " + _path)
    except OSError as _err:
        _log.append(f"refused {_path}: {type(_err).__name__}")
print("EVIDENCE " + " | ".join(_log))
'''

TRICKS = [
    Trick("patch-numpy", "monkeypatch numpy and numpy.testing (hiding a wrong bias gradient)",
          "np.allclose = lambda *a, **k: True\nnp.array_equal = lambda *a, **k: True\n"
          "np.isclose = lambda *a, **k: True\nnp.testing.assert_allclose = lambda *a, **k: None\n"
          "np.max = lambda *a, **k: 0.0\n", base="bias_grad_mean", expect="graded"),
    Trick("patch-helper-module", "monkeypatch the kit's helper module (hiding a wrong bias gradient)",
          "import mlp_utils\nmlp_utils.check_close = check_close = lambda *a, **k: None\n"
          "mlp_utils.rel_error = rel_error = lambda *a, **k: 0.0\n", base="bias_grad_mean", expect="graded"),
    Trick("patch-builtins", "monkeypatch builtins",
          "import builtins\nbuiltins.all = lambda *a, **k: True\nbuiltins.any = lambda *a, **k: True\n"
          "builtins.abs = lambda *a, **k: 0.0\n"),
    Trick("patch-torch", "monkeypatch torch (hiding a training loop without zero_grad)", notebook=TORCH,
          base="missing_zero_grad", expect="graded", code=(
          "torch.allclose = lambda *a, **k: True\ntorch.equal = lambda *a, **k: True\n"
          "torch.testing.assert_close = lambda *a, **k: None\ntorch.autograd.gradcheck = lambda *a, **k: True\n")),
    Trick("lying-array-subclass", "return objects that lie (__eq__ always True)", r'''
class _Liar(np.ndarray):
    def __eq__(self, other): return True
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return np.zeros(np.broadcast(*[np.asarray(i) for i in inputs if hasattr(i, "shape") or np.isscalar(i)]).shape)
def _lie(*args, **kwargs): return np.zeros((1, 1)).view(_Liar)
standardize = _lie
class LinearModule:
    def __init__(self, n_in, n_out, rng):
        self.params = {"weight": np.zeros((n_in, n_out)).view(_Liar), "bias": np.zeros(n_out).view(_Liar)}
        self.grads = dict(self.params)
    forward = backward = lambda self, *a: _lie()
'''),
    Trick("fake-array-protocol", "return objects with a fake __array__", r'''
class _Fake:
    def __array__(self, dtype=None, copy=None): return np.zeros(3)
    def __eq__(self, other): return True
    def __sub__(self, other): return 0.0
    __rsub__ = __sub__
    def __getattr__(self, name): return self
    def __call__(self, *a, **k): return self
    def __iter__(self): return iter([self, self, self])
def standardize(*args): return _Fake(), _Fake(), _Fake()
'''),
    Trick("custom-exception-handler", "hook the IPython shell: custom exception handlers",
          "get_ipython().set_custom_exc((BaseException,), lambda shell, etype, value, tb, tb_offset=None: None)\n"),
    Trick("input-transformer", "hook the IPython shell: input transformers",
          "get_ipython().input_transformers_post.append(\n"
          "    lambda lines: ['pass\\n'] if any(k in ''.join(lines) for k in ('check_close', 'assert', 'probe')) else lines)\n"),
    Trick("hide-tracebacks", "hook the IPython shell: display and traceback hooks",
          "_ip = get_ipython()\n_ip.showtraceback = lambda *a, **k: None\n_ip._showtraceback = lambda *a, **k: None\n"
          "import sys\nsys.displayhook = lambda value: None\n"),
    Trick("settrace-skip-asserts", "hook the interpreter: sys.settrace", r'''
import linecache, sys
def _skip(frame, event, arg):
    if not frame.f_code.co_filename.startswith(("<ipython", "/tmp/ipykernel")):
        return None  # trace the notebook's cells only
    if event == "line":
        text = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
        if text.startswith(("assert", "check_close")):
            try:
                frame.f_lineno = frame.f_lineno + 1
            except ValueError:
                pass
    return _skip
sys.settrace(_skip)
''', base="bias_grad_mean", expect="either", hangs=True),
    Trick("emptied-test-cells", "edit test cells", edit_cells="empty-tests"),
    # intake rebuilds the notebook from the release (gradekit.grading.repair): graded, the tests back, 0 points
    Trick("deleted-cells-and-metadata", "delete test cells and their metadata", edit_cells="delete-tests"),
    Trick("sys-exit", "exit the process: sys.exit", "import sys\nsys.exit(0)\n"),
    Trick("os-exit", "exit the process: os._exit", "import os\nos._exit(0)\n", expect="failed"),
    Trick("kill-parent", "exit the process: signal the grader", "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n",
          expect="either"),
    Trick("loop-catching-interrupt", "loop forever, catching KeyboardInterrupt",
          "import time\nwhile True:\n    try:\n        time.sleep(0.1)\n    except KeyboardInterrupt:\n        pass\n",
          expect="failed", hangs=True),
    Trick("block-in-c", "block in C code (catastrophic regex backtracking)",
          "import re\nre.match(r'(a+)+$', 'a' * 64 + 'b')\n", expect="failed", hangs=True),
    Trick("allocate-until-swap", "allocate until the machine swaps",
          "_blocks = []\nwhile True:\n    _blocks.append(np.ones(2**24))\n", expect="either"),
    Trick("print-gigabytes", "print gigabytes",
          "import sys\nfor _ in range(400):\n    sys.stdout.write('x' * 2**20 + '\\n')\n"),
    Trick("spawn-processes", "spawn processes", r'''
import subprocess, sys
for _ in range(8):
    subprocess.Popen(["sleep", "987"], start_new_session=True)
subprocess.Popen([sys.executable, "-c", "import time, os\nwhile True:\n    time.sleep(0.5)\n    os.utime('.')"],
                 start_new_session=True)
'''),
    Trick("fork-bomb", "exhaust the machine's processes (fork bomb)", r'''
import os
_forked = 0
try:
    while _forked < 1500:  # bounded all the same: the test grades it only where a cap applies
        if os.fork() == 0:  # small children, so that what runs out is processes, not memory
            try:
                os.execv("/bin/sleep", ["sleep", "20"])
            finally:
                os._exit(0)
        _forked += 1
except OSError as _err:
    _stop = type(_err).__name__
else:
    _stop = "no limit"
print(f"EVIDENCE forked {_forked}, then {_stop}")
'''),
    Trick("read-instructor-files", "read instructor files (source/, solutions/)", _SOLVE_FROM_SOURCE),
    Trick("write-instructor-files", "write instructor files (source/, the gradebook, startup scripts)",
          _OVERWRITE_INSTRUCTOR_FILES),
    Trick("network", "use the network", r'''
import socket
_names = [name for _, name in socket.if_nameindex()]
try:
    socket.create_connection(("10.0.0.1", 80), timeout=2).close()
    _reach = "connected"
except OSError as _err:
    _reach = type(_err).__name__
print(f"EVIDENCE interfaces {_names}; connect {_reach}")
'''),
    Trick("sabotage-probe-writer", "break the grader's re-check (numpy.savez)",
          "np.savez = lambda *a, **k: None\n"),
    Trick("ship-probe-file", "ship a results file for the grader's re-check",
          extra_files={".gradekit_probes.npz": b"not a real archive"}),
]


def first_solution_cell(nb):
    return next(c for c in nb.cells if c.cell_type == "code"
                and c.metadata.get("nbgrader", {}).get("solution") and not c.metadata["nbgrader"].get("grade"))


def hostile_submission(course: Path, trick: Trick) -> dict:
    """{notebook name: notebook} of the trick: the untouched release of one notebook with the trick in it."""
    if trick.base:
        nb = submission_with_edits(course, ASSIGNMENT, [trick.notebook], bug_named(trick.base).edits)[trick.notebook]
    else:
        nb = untouched_release(course, ASSIGNMENT, [trick.notebook])[trick.notebook]
    if trick.code:
        cell = first_solution_cell(nb)
        cell.source += "\n\n# --- hostile ---\n" + trick.code
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"
             and not c.metadata["nbgrader"].get("solution")]
    if trick.edit_cells == "empty-tests":
        for cell in tests:
            cell.source = "pass"
    elif trick.edit_cells == "delete-tests":
        ids = {grade_id(c) for c in tests}
        nb.cells = [c for c in nb.cells if grade_id(c) not in ids]
        for cell in nb.cells:
            cell.metadata.pop("nbgrader", None)
    return {trick.notebook: nb}


def honest_twins(course: Path) -> dict[str, dict]:
    """{student: notebooks} of the bugs the tricks start from, without the tricks."""
    return {f"twin-{t.base}": submission_with_edits(course, ASSIGNMENT, [t.notebook], bug_named(t.base).edits)
            for t in TRICKS if t.base}


def write_hostile(course: Path, trick: Trick, student: str) -> Path:
    folder = Course(course).submitted(student, ASSIGNMENT)
    folder.mkdir(parents=True, exist_ok=True)
    for name, nb in hostile_submission(course, trick).items():
        nbformat.write(nb, folder / f"{name}.ipynb")
    for name, data in trick.extra_files.items():
        (folder / name).write_bytes(data)
    return folder


def evidence(course: Path, student: str, notebook: str = NUMPY) -> str:
    """What a trick printed as evidence, from the graded notebook (the kernel's files are never kept)."""
    nb = nbformat.read(Course(course).autograded(student, ASSIGNMENT) / f"{notebook}.ipynb", as_version=4)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                   if o.get("output_type") == "stream")
    return "\n".join(line[len(EVIDENCE):] for line in text.splitlines() if line.startswith(EVIDENCE))
