"""Part 2 on a GPU: the PyTorch notebook, its trusted re-check, and the bug only a GPU can show.

Grading runs on the CPU; students with a GPU run the same notebook on `cuda`. This script, for a machine
with CUDA and PyTorch (no Jupyter needed), runs every code cell of source/assignment1/2_mlp_pytorch.ipynb
in order as the grader would (a cell's error is recorded, the rest still run), then:
- prints the device, each failed cell, the trained model's test accuracy and the time per epoch;
- runs the trusted re-check's probes (source/assignment1/probes/2_mlp_pytorch.py) on the result and
  judges them against the CPU reference (grading/assignment1/reference_probes/, computed by the grader);
- runs the notebook again with `x.to(device)` deleted from train_one_epoch: on the CPU that bug is
  invisible (the strength report's two survivors), on a GPU the training cell must fail.
Run: python3 source/assignment1/kit/benchmarks/gpu_check.py   (from the course folder; needs grading/)
"""
from __future__ import annotations

import contextlib
import io
import json
import linecache
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]  # the course folder
FOLDER = Path(__file__).resolve().parents[2]  # source/assignment1
NOTEBOOK = "2_mlp_pytorch"


def run_cells(replace=None) -> tuple[dict, list]:
    """Execute the notebook's code cells in one namespace; returns (namespace, [(cell id, error)])."""
    cells = json.loads((FOLDER / f"{NOTEBOOK}.ipynb").read_text())["cells"]
    namespace, failures = {"__name__": "__main__"}, []
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        if replace:
            source = source.replace(*replace, 1)  # the first: train_one_epoch's, as the strength mutant
        source = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))) + "\n"
        name = f"<cell {cell['metadata'].get('nbgrader', {}).get('grade_id')} {len(linecache.cache)}>"
        linecache.cache[name] = (len(source), None, source.splitlines(True), name)  # for inspect, as IPython
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(source, name, "exec"), namespace)
        except BaseException as err:  # noqa: BLE001 - record, go on, as nbgrader does
            failures.append((cell["metadata"].get("nbgrader", {}).get("grade_id"), f"{type(err).__name__}: {err}"[:160]))
    return namespace, failures


def trusted_verdicts(namespace) -> dict:
    import numpy as np

    sys.path.insert(0, str(ROOT))  # a bare GPU machine may have the checkout but not the kit installed
    from gradekit.plugins.trusted import ERROR_KEY, judge, load_arrays, load_checks

    module = load_checks(FOLDER / "probes" / f"{NOTEBOOK}.py")
    student = {}
    for grade_id, probe in module.PROBES.items():
        try:
            student[grade_id] = {k: np.asarray(v) for k, v in probe(namespace).items()}
        except Exception as err:  # noqa: BLE001
            student[grade_id] = {ERROR_KEY: np.array(f"{type(err).__name__}: {err}")}
    reference = sorted((ROOT / "grading" / "assignment1" / "reference_probes").glob(f"{NOTEBOOK}-*.npz"))
    if not reference:
        return {"error": "no CPU reference results: run the grader once (gradekit demo) first"}
    reference = load_arrays(reference[-1])
    for grade_id in ("test_load_numpy_weights", "test_mlp_returns_logits"):  # float32 outputs
        worst = max(float(np.max(np.abs(student[grade_id][k] - v)) / max(1e-12, float(np.max(np.abs(v)))))
                    for k, v in reference[grade_id].items())
        print(f"  {grade_id}: largest difference from the grader's CPU, relative to the largest value: {worst:.1e}")
    return judge(module, student, reference)


def main() -> int:
    import torch

    os.chdir(FOLDER)
    sys.path.insert(0, str(FOLDER))
    print(f"torch {torch.__version__}, cuda available: {torch.cuda.is_available()}, "
          f"device: {torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'cpu'}")
    t0 = time.perf_counter()
    namespace, failures = run_cells()
    print(f"reference notebook on {namespace.get('DEVICE')}: {time.perf_counter() - t0:.1f} s, "
          f"failed cells: {failures or 'none'}")
    metrics = namespace.get("torch_metrics") or {}
    for key in ("test_accuracy", "seconds_per_epoch", "epochs"):
        if key in metrics:
            print(f"  {key}: {metrics[key]}")
    verdicts = trusted_verdicts(namespace)
    print("trusted re-check on the GPU-trained notebook:",
          {k: v for k, v in verdicts.items() if v} or "every check passed")
    _, failures = run_cells(("x, y = x.to(device), y.to(device)\n", "pass\n"))
    print(f"without x.to(device) in train_one_epoch: failed cells: {failures or 'none'}")
    available = torch.cuda.is_available
    torch.cuda.is_available = lambda: False  # the same notebook on this machine's CPU, for the ratio
    cpu_namespace, failures = run_cells()
    torch.cuda.is_available = available
    cpu = (cpu_namespace.get("torch_metrics") or {}).get("seconds_per_epoch")
    gpu = metrics.get("seconds_per_epoch")
    if cpu and gpu:
        print(f"seconds per epoch: GPU {gpu:.4f}, CPU (1 thread) {cpu:.4f}, GPU/CPU {gpu / cpu:.2f}; "
              f"CPU run failed cells: {failures or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
