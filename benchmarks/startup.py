"""What a process of the kit pays before it does anything: every gradekit and nbgrader command, each
grading worker and each test that runs one starts a Python that imports nbformat (and through it jsonschema).

Prints, as medians of --repeat fresh interpreters in this one run: `import nbformat`, `import jsonschema`
as it is here and with its optional IRI checker (rfc3987-syntax, left out of requirements.txt) forced in
when it is installable from a folder given with --with-iri, and a whole `gradekit` command that reads the
course's configuration (`gradekit extensions` in a throwaway course with one empty notebook); then the imports that take longest.
Run: .venv/bin/python benchmarks/startup.py [--repeat 5] [--with-iri FOLDER]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]


def seconds(cmd: list[str], repeat: int, env: dict | None = None, cwd: Path | None = None) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, check=True)
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def slowest_imports(module: str, n: int = 5) -> list[tuple[float, str]]:
    """The n imports with the most time of their own (not counting what they import), in seconds."""
    err = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"], capture_output=True,
                         text=True, check=True).stderr
    rows = []
    for line in err.splitlines()[1:]:
        own, _, name = line.removeprefix("import time:").split("|")
        rows.append((int(own) / 1e6, name.strip()))
    return sorted(rows, reverse=True)[:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--with-iri", type=Path, help="a folder holding rfc3987-syntax and lark (pip --target)")
    args = parser.parse_args()
    py = sys.executable
    print(f"median of {args.repeat} fresh processes, seconds")
    print(f"  python -c pass           {seconds([py, '-c', 'pass'], args.repeat):6.2f}")
    print(f"  import nbformat          {seconds([py, '-c', 'import nbformat'], args.repeat):6.2f}")
    print(f"  import jsonschema        {seconds([py, '-c', 'import jsonschema'], args.repeat):6.2f}")
    if args.with_iri:
        env = {**os.environ, "PYTHONPATH": str(args.with_iri)}
        print(f"  ... with rfc3987-syntax  {seconds([py, '-c', 'import jsonschema'], args.repeat, env):6.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(ROOT / "nbgrader_config.py", tmp)
        (Path(tmp) / "source" / "empty").mkdir(parents=True)
        nbformat.write(nbformat.v4.new_notebook(), Path(tmp) / "source" / "empty" / "empty.ipynb")
        gradekit = [str(Path(py).parent / "gradekit"), "extensions", "empty"]
        print(f"  gradekit extensions      {seconds(gradekit, args.repeat, cwd=Path(tmp)):6.2f}")
        if args.with_iri:
            print(f"  ... with rfc3987-syntax  {seconds(gradekit, args.repeat, env, Path(tmp)):6.2f}")
    print("longest imports of their own in `import nbformat`:")
    for own, name in slowest_imports("nbformat"):
        print(f"  {own:6.3f} s  {name}")


if __name__ == "__main__":
    main()
