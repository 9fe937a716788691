"""Verdicts the student's code cannot rewrite: probes in the kernel, judgement in the grader.

The hidden tests run in the student's kernel, after the student's code, so a submission can rewrite
them (patch numpy.allclose, swallow exceptions, lie from __eq__). This module adds a second verdict for
every graded cell that has a probe (source/<assignment>/probes/<notebook>.py, instructor only):

1. After the whole notebook has run, one extra cell runs the probes in the student's kernel. Each probe
   calls the student's functions on inputs no test cell used and returns plain arrays, which the kernel
   saves with numpy.savez. No expected value ever enters the kernel, so the only way to produce the
   right arrays is code that computes them.
2. The grader loads the file with allow_pickle=False (numbers and strings only: no objects, no code),
   computes the same probes on the reference solution in a clean kernel (cached by content hash), and
   runs each check in its own process, which no student code has touched.
3. A graded cell whose check fails gets an error output (TrustedCheckFailed), so nbgrader's own
   scoring gives it 0. When the kernel's tests had passed it, the notebook is flagged for a TA.
"""
from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
import types
from pathlib import Path

import numpy as np

from .layout import Course

PROBE_FILE = ".gradekit_probes.npz"  # written by the probe cell in the kernel's working directory
PROBE_CELL_TAG = "gradekit-probes"
MAX_PROBE_BYTES = 200 * 2**20
ERROR_KEY = "__error__"
FAILED_ENAME = "TrustedCheckFailed"
# Run before a probe file, in the kernel and in the grader alike: the decorators that register probes and
# checks by grade id, so that the probe files hold nothing but probes and checks.
PRELUDE = """\
PROBES, CHECKS = {}, {}
def _register(table, grade_id):
    def register(fn):
        table[grade_id] = fn
        return fn
    return register
probe = lambda grade_id: _register(PROBES, grade_id)
check = lambda grade_id: _register(CHECKS, grade_id)
"""


def probe_path(course: Path, assignment: str, notebook: str) -> Path:
    return Course(course).probes(assignment) / f"{notebook}.py"


def probe_cell(probe_source: str, out_file: str):
    """The cell appended to a notebook to run its probes in the kernel (removed again before saving)."""
    code = f"""\
def __gradekit_probes():
    import numpy
    probes = {{"__name__": "gradekit_probes"}}
    exec(compile({PRELUDE + probe_source!r}, "<gradekit probes>", "exec"), probes)
    arrays = {{}}
    for grade_id, probe in probes["PROBES"].items():
        try:
            for key, value in probe(globals()).items():
                arrays[grade_id + "/" + key] = numpy.asarray(value)
        except BaseException as err:  # the student's code may raise anything, SystemExit included
            arrays[grade_id + "/{ERROR_KEY}"] = numpy.array(f"{{type(err).__name__}}: {{err}}"[:500])
    numpy.savez({out_file!r}, **arrays)
__gradekit_probes()
del __gradekit_probes
"""
    import nbformat

    cell = nbformat.v4.new_code_cell(code)
    cell.metadata["tags"] = [PROBE_CELL_TAG]
    return cell


def load_arrays(path: Path) -> dict[str, dict[str, np.ndarray | None]] | None:
    """{grade_id: {key: array}} from a probe file; None if it is missing or unreadable. An entry that is
    not plain data (an object array, which would need unpickling) is kept as None and fails its check."""
    path = Path(path)
    if not path.is_file() or path.stat().st_size > MAX_PROBE_BYTES:
        return None
    out: dict[str, dict] = {}
    try:
        with np.load(path, allow_pickle=False) as archive:
            for name in archive.files:
                grade_id, _, key = name.partition("/")
                try:
                    out.setdefault(grade_id, {})[key] = archive[name]
                except ValueError:
                    out.setdefault(grade_id, {})[key] = None
    except Exception:  # noqa: BLE001 - a corrupt or hostile file is simply no evidence
        return None
    return out


def load_checks(probe_file: Path):
    """The probe module loaded in the grader's process, for its CHECKS."""
    module = types.ModuleType(f"gradekit_probes_{probe_file.stem}")
    module.__file__ = str(probe_file)
    exec(compile(PRELUDE + probe_file.read_text(), str(probe_file), "exec"), module.__dict__)
    return module


def default_check(got: dict, ref: dict, rtol: float = 1e-6, atol: float = 1e-9) -> str | None:
    """Same keys, same shapes, integers equal, floats equal within tolerance (a probe module may set
    DEFAULT_TOLERANCE = (rtol, atol), e.g. for float32 results, whose rounding differs between CPUs)."""
    for key, expected in ref.items():
        value = got.get(key)
        if value is None or value.shape != expected.shape:
            return "the result has the wrong shape or is missing"
        if expected.dtype.kind in "biu":
            if value.dtype.kind not in "biu" or not np.array_equal(value, expected):
                return "the result differs from the expected one"
        elif value.dtype.kind not in "biuf" or not np.allclose(value, expected, rtol=rtol, atol=atol):
            return "the result differs from the expected one"
    return None


def judge(module, student: dict | None, reference: dict) -> dict[str, str | None]:
    """{grade_id: None if the check passed, else a message for the student (no reference values)}."""
    verdicts = {}
    for grade_id, ref in reference.items():
        got = (student or {}).get(grade_id)
        if student is None:
            verdicts[grade_id] = "the grader's re-check produced no results (was the notebook's state broken?)"
        elif got is None:
            verdicts[grade_id] = "the grader's re-check produced no result for this test"
        elif ERROR_KEY in got:
            error = got[ERROR_KEY]
            verdicts[grade_id] = f"your code raised {str(error)[:300] if error is not None else 'an error'}"
        else:
            try:
                if grade_id in module.CHECKS:
                    verdicts[grade_id] = module.CHECKS[grade_id](got, ref)
                else:
                    verdicts[grade_id] = default_check(got, ref, *getattr(module, "DEFAULT_TOLERANCE", ()))
            except Exception as err:  # noqa: BLE001 - malformed results fail the check, never the grader
                verdicts[grade_id] = f"the results could not be checked ({type(err).__name__})"
    return verdicts


def _cache_key(course: Path, assignment: str, notebook: str) -> str:
    digest = hashlib.sha256()
    folder = Course(course).source(assignment)
    for path in sorted(folder.rglob("*")):
        parts = path.relative_to(folder).parts
        if path.is_file() and path.suffix in (".py", ".ipynb") and "__pycache__" not in parts and parts[0] != "kit":
            digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    digest.update(notebook.encode())
    return digest.hexdigest()[:16]


def reference_arrays(course: Path, assignment: str, notebook: str, timeout: int = 600) -> dict:
    """The probes computed on the instructor's solution, executed in a clean kernel; cached in
    grading/<assignment>/reference_probes/ (hidden from students' kernels like the rest of the course)."""
    layout = Course(course)
    cache = layout.reference_cache(assignment) / f"{notebook}-{_cache_key(course, assignment, notebook)}.npz"
    if not cache.is_file():
        import nbformat
        from nbclient import NotebookClient

        source = layout.source(assignment)
        # inside the course, which students' kernels cannot see (/tmp may be visible to them)
        scratch = layout.grading(assignment)
        scratch.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="reference-run-", dir=scratch) as tmp:
            work = Path(tmp) / assignment
            shutil.copytree(source, work, ignore=shutil.ignore_patterns("probes", "kit", "*_metrics.json", "__pycache__"))
            nb = nbformat.read(source / f"{notebook}.ipynb", as_version=4)
            nb.cells.append(probe_cell(probe_path(course, assignment, notebook).read_text(), PROBE_FILE))
            # the kernel's own chatter (e.g. its warning about TCP without encryption) stays out of the
            # TA's terminal; a failing probe is reported below
            NotebookClient(nb, timeout=timeout, kernel_name="python3",
                           resources={"metadata": {"path": str(work)}}).execute(stderr=subprocess.DEVNULL)
            arrays = load_arrays(work / PROBE_FILE)
            errors = {g: v[ERROR_KEY] for g, v in (arrays or {}).items() if ERROR_KEY in v}
            if arrays is None or errors:
                raise RuntimeError(f"the reference solution fails its own probes in {notebook}: {errors}")
            cache.parent.mkdir(parents=True, exist_ok=True)
            partial = cache.with_suffix(f".{id(arrays)}.tmp.npz")
            shutil.copy(work / PROBE_FILE, partial)
            partial.replace(cache)  # atomic: graders running side by side never read half a file
            for old in cache.parent.glob(f"{notebook}-*.npz"):
                if old != cache and not old.name.endswith(".tmp.npz"):
                    old.unlink(missing_ok=True)
    return load_arrays(cache)


def fail_cell(cell, message: str) -> None:
    """Give a graded cell an error output, which nbgrader scores as 0, with the reason for the student."""
    import nbformat

    cell.outputs.append(nbformat.v4.new_output(
        "error", ename=FAILED_ENAME, evalue=message, traceback=[f"{FAILED_ENAME}: {message}"]))
