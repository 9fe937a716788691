"""Verdicts the student's code cannot rewrite: probes in the kernel, references and judgement in the grader.

The hidden tests run in the student's kernel, after the student's code, so a submission can rewrite them
(patch numpy.allclose, swallow exceptions, forge outputs). The grader therefore awards no point on the
kernel's word (gradekit.plugins.verdicts): every graded cell of an assignment with probes
(source/<assignment>/probes/<notebook>.py, instructor only) is judged here.

1. After the whole notebook has run, one extra cell runs the probes in the student's kernel. Each probe
   calls the student's functions on inputs drawn from a secret seed of this batch (`batch_rng(n)`, `batch_seed(n)`;
   the kernel cannot predict them) and returns plain arrays. They come back as one output of that cell,
   through the kernel protocol: never as a file the kernel could rewrite afterwards.
2. The grader decodes them with allow_pickle=False (numbers and strings only: no objects, no code, no
   lying __eq__), and computes the same probes with the same seed on the instructor's solution, from a
   read-only snapshot of source/ taken when the batch starts, in a sandboxed kernel of its own.
3. Each check compares the kernel's arrays with the reference's (or with a property the grader computes
   itself from them); it never compares two numbers that both came from the kernel.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import io
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import types
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gradekit.core.atomic import write_atomically
from gradekit.core.files import remove_tree
from gradekit.core.layout import RUN_LEFTOVERS, Course

if TYPE_CHECKING:  # names in annotations only
    from types import ModuleType

    from nbformat import NotebookNode

PROBE_MIME = "application/x-gradekit-probes"  # the probe cell's one output: a base64 npz archive
PROBE_CELL_TAG = "gradekit-probes"
MAX_PROBE_BYTES = 200 * 2**20
ERROR_KEY = "__error__"
# Run before a probe file, in the kernel and in the grader alike: the decorators that register probes and
# checks by grade id, and the batch's random inputs, so that the probe files hold nothing but probes and checks.
PRELUDE = """\
import numpy as _np
PROBES, CHECKS = {{}}, {{}}
SEED = {seed}
def _register(table, grade_id):
    if grade_id in table:
        raise ValueError(f"a second probe or check for {{grade_id!r}}")
    def register(fn):
        table[grade_id] = fn
        return fn
    return register
probe = lambda grade_id: _register(PROBES, grade_id)
check = lambda grade_id: _register(CHECKS, grade_id)
def batch_rng(*key):
    \"\"\"A NumPy generator for this batch's inputs: the same in the student's kernel and the reference's.\"\"\"
    return _np.random.default_rng([SEED, *key])
def batch_seed(*key):
    \"\"\"An integer seed (for torch.Generator) derived from this batch's seed.\"\"\"
    return int(batch_rng(*key).integers(2**31 - 1))
"""


class ProbeError(RuntimeError):
    """The instructor's probes do not fit the notebook, or the reference fails them: grading stops."""


class ProbeFileError(ProbeError):
    """A probe file that does not load or does not fit its notebook: no other seed can help."""


def probe_path(course: Path, assignment: str, notebook: str) -> Path:
    course = Course(course)
    return course.probes(assignment) / f"{notebook}.py"


SHARED_PROBES = "shared.py"  # helpers for every probe file of an assignment (probes/shared.py), optional


def probe_source(probe_file: Path) -> str:
    """A probe file as it runs, in the kernel and in the grader: the assignment's shared helpers (if any)
    first, then the file itself."""
    probe_file = Path(probe_file)
    shared = probe_file.parent / SHARED_PROBES
    head = f"# ---- {SHARED_PROBES}\n{shared.read_text()}\n# ---- {probe_file.name}\n" if shared.is_file() else ""
    return head + probe_file.read_text()


def prelude(seed: int) -> str:
    return PRELUDE.format(seed=int(seed))


# ------------------------------------------------------------------------------------------------
# The batch's secret seed
# ------------------------------------------------------------------------------------------------

def current_seed(course: Path, assignment: str) -> int:
    """The seed of the last batch (grading/<assignment>/probe_seed, grader-only); a new one if none."""
    course = Course(course)
    path = course.probe_seed(assignment)
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return new_seed(course, assignment)


def new_seed(course: Path, assignment: str, seed: int | None = None) -> int:
    """Draw (or set) the batch's seed and record it for plain nbgrader runs that follow."""
    from gradekit.core.atomic import write_atomically

    course = Course(course)
    seed = draw_seed() if seed is None else int(seed)
    path = course.probe_seed(assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, f"{seed}\n")
    return seed


def draw_seed() -> int:
    return secrets.randbelow(2**62)


# Spare seeds: drawn with a batch's own seed, their reference results computed in the same run of each
# reference notebook (one more run of the probes each), kept for later batches, which then start without
# running the references. Each is one empty file named <snapshot>-<environment>-<seed> beside the results it
# belongs to (grader-only, like the seed itself): a changed source/, a changed kit or an upgraded package
# makes the spares of before useless. A batch takes one by removing its file, which only one grader can
# do, so no two batches ever share a seed.
_SPARE_NAME = re.compile(r"([0-9a-f]{16})-([0-9a-f]{16})-([0-9]{1,19})")


@functools.lru_cache(maxsize=1)
def environment_digest() -> str:
    """What, besides source/, the reference results depend on: the probe cell and its prelude as this kit
    writes them, Python's version and the version of every package installed in this environment (its
    site-packages, not whatever the current folder or PYTHONPATH adds; read once per process, about 0.1 s)."""
    import sysconfig
    from importlib import metadata

    installed = sorted({sysconfig.get_path("purelib"), sysconfig.get_path("platlib")})
    packages = sorted(f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions(path=installed))
    text = "\n".join([sys.version, PRELUDE, probe_cell("", 0).source, *packages])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _spare_prefix(course: Course, assignment: str) -> str:
    return f"{snapshot(course, assignment).name}-{environment_digest()}"


def add_spare_seeds(course: Path, assignment: str, seeds: list[int]) -> None:
    course = Course(course)
    folder = course.spare_seeds(assignment)
    folder.mkdir(parents=True, exist_ok=True)
    prefix = _spare_prefix(course, assignment)
    for seed in seeds:
        (folder / f"{prefix}-{int(seed)}").touch()


def take_spare_seed(course: Path, assignment: str, notebooks: list[str]) -> int | None:
    """A spare seed of the current source/ and environment whose reference results for `notebooks` are all
    cached and readable, now no longer spare; None when there is none. Other spares are removed on the way."""
    course = Course(course)
    folder = course.spare_seeds(assignment)
    if not folder.is_dir():
        return None
    current = _spare_prefix(course, assignment)
    for path in sorted(folder.iterdir()):
        try:
            path.unlink()  # taken: by this grader only
        except OSError:
            continue  # another grader took it (or not a file: never ours to use)
        match = _SPARE_NAME.fullmatch(path.name)
        if not match or f"{match[1]}-{match[2]}" != current:
            continue
        seed = int(match[3])
        if all(load_arrays(_cache_file(course, assignment, nb, seed)) is not None for nb in notebooks):
            return seed
    return None


# ------------------------------------------------------------------------------------------------
# A read-only snapshot of source/
# ------------------------------------------------------------------------------------------------

def _source_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        parts = path.relative_to(folder).parts
        if (path.is_file() and not path.is_symlink() and path.suffix in (".py", ".ipynb")
                and "__pycache__" not in parts and parts[0] != "kit"):
            digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def snapshot(course: Path, assignment: str) -> Path:
    """A read-only copy of source/<assignment> (notebooks, helpers, probes; not kit/), named by its content,
    taken once: the reference results and the checks come from it, never from the live folder."""
    course = Course(course)
    source = course.source(assignment)
    dest = course.snapshots(assignment) / _source_digest(source)
    if dest.is_dir():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".partial-", dir=dest.parent))
    shutil.copytree(source, tmp / "copy", symlinks=True, ignore=shutil.ignore_patterns(
        "kit", *RUN_LEFTOVERS))
    for base, dirs, files in os.walk(tmp / "copy"):
        for name in files:
            path = Path(base) / name
            if path.is_symlink():
                path.unlink()  # an instructor's link is never followed by grading
            else:
                path.chmod(0o444)
    for base, dirs, _ in os.walk(tmp / "copy", topdown=False):
        os.chmod(base, 0o555)
    try:
        os.rename(tmp / "copy", dest)
    except OSError:  # another grader made it first
        pass
    shutil.rmtree(tmp, ignore_errors=True)
    return dest


# ------------------------------------------------------------------------------------------------
# Probes in the kernel
# ------------------------------------------------------------------------------------------------

def probe_cell(source: str, seed: int):
    """The cell appended to a notebook to run its probes in the kernel (removed again before saving). Its
    one output carries the arrays; the grader reads nothing else of it."""
    code = f"""\
def __gradekit_probes():
    import base64, io, numpy
    from IPython.display import display
    probes = {{"__name__": "gradekit_probes"}}
    exec(compile({prelude(seed) + source!r}, "<gradekit probes>", "exec"), probes)
    arrays = {{}}
    for grade_id, probe in probes["PROBES"].items():
        try:
            for key, value in probe(globals()).items():
                arrays[grade_id + "/" + key] = numpy.asarray(value)
        except BaseException as err:  # the student's code may raise anything, SystemExit included
            arrays[grade_id + "/{ERROR_KEY}"] = numpy.array(f"{{type(err).__name__}}: {{err}}"[:500])
    buffer = io.BytesIO()
    numpy.savez(buffer, **arrays)
    display({{{PROBE_MIME!r}: base64.b64encode(buffer.getvalue()).decode()}}, raw=True)
__gradekit_probes()
del __gradekit_probes
"""
    import nbformat

    cell = nbformat.v4.new_code_cell(code)
    cell.metadata["tags"] = [PROBE_CELL_TAG]
    return cell


def arrays_from_outputs(outputs: list) -> dict[str, dict[str, np.ndarray | None]] | None:
    """{grade_id: {key: array}} from the probe cell's outputs; None unless exactly one probe output is there
    and it decodes. An entry that is not plain data (an object array) is kept as None and fails its check."""
    found = [o for o in outputs if o.get("output_type") in ("display_data", "execute_result")
             and PROBE_MIME in o.get("data", {})]
    if len(found) != 1 or not isinstance(found[0]["data"][PROBE_MIME], str):
        return None
    text = found[0]["data"][PROBE_MIME]
    if len(text) > MAX_PROBE_BYTES * 4 // 3 + 4:
        return None
    try:
        return _decode(base64.b64decode(text, validate=True))
    except Exception:  # noqa: BLE001 - a corrupt or hostile archive is simply no evidence
        return None


def _decode(data: bytes) -> dict:
    out: dict[str, dict] = {}
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        for name in archive.files:
            grade_id, _, key = name.partition("/")
            try:
                out.setdefault(grade_id, {})[key] = archive[name]
            except ValueError:
                out.setdefault(grade_id, {})[key] = None
    return out


def load_arrays(path: Path) -> dict | None:
    """Arrays from a file the grader itself wrote (the reference cache)."""
    try:
        return _decode(Path(path).read_bytes())
    except Exception:  # noqa: BLE001
        return None


# ------------------------------------------------------------------------------------------------
# Judgement in the grader
# ------------------------------------------------------------------------------------------------

def load_checks(probe_file: Path, seed: int = 0):
    """The probe module loaded in the grader's process, for its CHECKS."""
    module = types.ModuleType(f"gradekit_probes_{Path(probe_file).stem}")
    module.__file__ = str(probe_file)
    try:
        exec(compile(prelude(seed) + probe_source(probe_file), str(probe_file), "exec"), module.__dict__)
    except Exception as err:  # the instructor's file: whatever it raises stops grading, named
        raise ProbeFileError(f"{Path(probe_file).name} does not load: {type(err).__name__}: {err}") from err
    return module


def _plain(value) -> bool:
    return value is not None and value.dtype.kind in "biuf" and bool(np.all(np.isfinite(value)))


def default_check(got: dict, ref: dict, rtol: float = 1e-6, atol: float = 1e-9) -> str | None:
    """Same keys, same shapes, finite, integers equal, floats equal within tolerance (a probe module may set
    DEFAULT_TOLERANCE = (rtol, atol), e.g. for float32 results, whose rounding differs between CPUs)."""
    for key, expected in ref.items():
        value = got.get(key)
        if value is None or value.shape != expected.shape:
            return "the result has the wrong shape or is missing"
        if expected.dtype.kind in "biu":
            if value.dtype.kind not in "biu" or not np.array_equal(value, expected):
                return "the result differs from the expected one"
        elif expected.dtype.kind in "f" and (not _plain(value) or not np.allclose(value, expected, rtol=rtol, atol=atol)):
            return "the result differs from the expected one"
        elif expected.dtype.kind not in "biuf" and not np.array_equal(value, expected):
            return "the result differs from the expected one"
    return None


def judge(module: ModuleType, student: dict | None, reference: dict) -> dict[str, str | None]:
    """{grade_id: None if the check passed, else a message for the student (no reference values)}."""
    verdicts = {}
    for grade_id, ref in reference.items():
        got = (student or {}).get(grade_id)
        if student is None:
            verdicts[grade_id] = "the grader's re-check produced no results (was the notebook's state broken?)"
        elif got is None:
            verdicts[grade_id] = "the grader's re-check produced no result for this test"
        elif ERROR_KEY in got:
            # never the exception's text or type name: the kernel chose both, and verdicts reach feedback
            verdicts[grade_id] = "your code raised an error when the grader called it on new inputs"
        else:
            try:
                if grade_id in module.CHECKS:
                    verdicts[grade_id] = module.CHECKS[grade_id](got, ref)
                else:
                    verdicts[grade_id] = default_check(got, ref, *getattr(module, "DEFAULT_TOLERANCE", ()))
            except Exception as err:  # noqa: BLE001 - malformed results fail the check, never the grader
                verdicts[grade_id] = f"the results could not be checked ({type(err).__name__})"
            if verdicts[grade_id] is not None and not isinstance(verdicts[grade_id], str):
                verdicts[grade_id] = "the results could not be checked"
    return verdicts


def check_coverage(module: ModuleType, nb: NotebookNode, notebook: str) -> None:
    """Every graded cell has a probe and every probe a graded cell (ProbeError otherwise)."""
    from gradekit.plugins.verdicts import graded_test_cells

    cells, probes = {g for g, _ in graded_test_cells(nb)}, set(module.PROBES)
    problems = []
    if cells - probes:
        problems.append(f"graded cells without a probe: {', '.join(sorted(cells - probes))}")
    if probes - cells:
        problems.append(f"probes for no graded cell: {', '.join(sorted(probes - cells))}")
    if set(module.CHECKS) - probes:
        problems.append(f"checks without a probe: {', '.join(sorted(set(module.CHECKS) - probes))}")
    if problems:
        raise ProbeFileError(f"probes/{notebook}.py does not fit {notebook}.ipynb: {'; '.join(problems)} (every "
                         "graded cell needs a probe; remove the probe file to grade the notebook unverified)")


# ------------------------------------------------------------------------------------------------
# The reference, computed sandboxed from the snapshot
# ------------------------------------------------------------------------------------------------

def reference_arrays(course: Path, assignment: str, notebook: str, seed: int | None = None,
                     timeout: int = 600) -> dict:
    """The probes computed on the instructor's solution with this seed, from the snapshot of source/, in a
    sandboxed kernel; cached in grading/<assignment>/reference_probes/ (grader-only). ProbeError when the
    probes do not fit the notebook or the reference fails its own checks."""
    course = Course(course)
    seed = current_seed(course, assignment) if seed is None else int(seed)
    cache = _cache_file(course, assignment, notebook, seed)
    arrays = load_arrays(cache) if cache.is_file() else None
    if arrays is None:  # not computed yet, or a file that does not read: computed again
        failed = compute_references(course, assignment, notebook, [seed], timeout)
        if failed:
            raise ProbeError(f"the reference solution fails its own checks in {notebook} with seed {seed}: "
                             f"{failed[seed]}")
        arrays = load_arrays(cache)
    if arrays is None:
        raise ProbeError(f"the reference results of {notebook} with seed {seed} do not read back from {cache}")
    return arrays


def has_reference(course: Path, assignment: str, notebook: str, seed: int) -> bool:
    """Whether readable reference results of `notebook` with `seed` are cached for the current snapshot."""
    return load_arrays(_cache_file(Course(course), assignment, notebook, seed)) is not None


def _cache_file(course: Course, assignment: str, notebook: str, seed: int) -> Path:
    return course.reference_cache(assignment) / f"{notebook}-{snapshot(course, assignment).name}-{int(seed)}.npz"


def compute_references(course: Path, assignment: str, notebook: str, seeds: list[int],
                       timeout: int = 600) -> dict[int, dict]:
    """Run the reference of `notebook` once, its probes once per seed, and cache the results of every seed
    on which the reference passes its own checks; returns {seed: {grade_id: message}} for the others."""
    course = Course(course)
    runs = _run_reference(course, assignment, snapshot(course, assignment), notebook, [int(s) for s in seeds],
                          timeout)
    failed = {}
    for seed, (arrays, own) in zip(seeds, runs):
        if own:
            failed[int(seed)] = own
            continue
        cache = _cache_file(course, assignment, notebook, seed)
        cache.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        np.savez(buffer, **{f"{g}/{k}": v for g, values in arrays.items() for k, v in values.items()})
        write_atomically(cache, buffer.getvalue())  # graders running side by side never read half a file
    return failed


def reference_sweep(course: Path, assignment: str, notebook: str, seeds: list[int], timeout: int = 1200) -> dict:
    """{seed: {grade_id: message}} for every seed on which the instructor's solution fails one of its own
    checks; empty when the checks hold on all of them. The notebook runs once and the probes once per seed,
    so that a check which depends on luck in the drawn inputs is found before a batch draws such a seed."""
    course = Course(course)
    snap = snapshot(course, assignment)
    runs = _run_reference(course, assignment, snap, notebook, list(seeds), timeout)
    return {seed: own for seed, (_, own) in zip(seeds, runs) if own}


def _run_reference(course: Course, assignment: str, snap: Path, notebook: str, seeds: list[int],
                   timeout: int) -> list[tuple[dict, dict]]:
    """Run the snapshot's notebook in a sandboxed kernel, then its probes once per seed; per seed the arrays
    and the checks the reference fails on itself (a probe that raises, or no results at all, counts as a
    failed check of that seed). ProbeFileError when the probe file does not load or fit the notebook."""
    import nbformat
    from nbclient import NotebookClient

    from gradekit.plugins.kernel import SandboxedKernelManager

    probes = snap / "probes" / f"{notebook}.py"
    nb = nbformat.read(snap / f"{notebook}.ipynb", as_version=4)
    check_coverage(load_checks(probes, seeds[0]), nb, notebook)
    scratch = course.scratch(assignment)
    scratch.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="reference-", dir=scratch))
    first = len(nb.cells)
    try:
        for entry in snap.iterdir():
            if entry.is_file() and entry.suffix != ".ipynb":
                shutil.copyfile(entry, work / entry.name)
        nb.cells.extend(probe_cell(probe_source(probes), seed) for seed in seeds)
        # the kernel's own chatter stays out of the TA's terminal; a failing probe is reported below
        NotebookClient(nb, timeout=timeout, kernel_name="python3", kernel_manager_class=SandboxedKernelManager,
                       config=course.config, resources={"metadata": {"path": str(work)}}).execute(
            stderr=subprocess.DEVNULL)
    finally:
        remove_tree(work)
    runs = []
    for seed, cell in zip(seeds, nb.cells[first:]):
        arrays = arrays_from_outputs(cell.outputs)
        if arrays is None:  # this seed is unusable, as one the reference fails a check on
            runs.append(({}, {"probes": "no results from the probe cell"}))
            continue
        errors = {g: f"its probe raised {v[ERROR_KEY]}" for g, v in arrays.items() if ERROR_KEY in v}
        if errors:  # a probe that raises on this seed's inputs
            runs.append((arrays, errors))
            continue
        runs.append((arrays, {g: m for g, m in judge(load_checks(probes, seed), arrays, arrays).items() if m}))
    return runs


