"""Record the problem-size sweep of part 2 on a machine with a GPU, as the reference figures students see.

Runs comparison.sweep for part 1's NumPy code, part 2's code on the CPU (one thread) and on CUDA, all from
the instructor's reference solution, on the same machine, and writes source/assignment1/gpu_reference.json
with the GPU's name, the CPU, the date and the library versions. Part 2 plots that file when the student's
machine has no GPU. Run on a GPU machine, from the course folder:
    python3 source/assignment1/kit/benchmarks/gpu_sweep.py [--out PATH]
"""
from __future__ import annotations

import argparse
import contextlib
import datetime
import io
import json
import os
import platform
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[4]  # the course folder
FOLDER = Path(__file__).resolve().parents[2]  # source/assignment1
sys.path.insert(0, str(ROOT))  # a bare GPU machine may have the checkout but not the kit installed
sys.path.insert(0, str(FOLDER))


def cpu_name() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def main() -> int:
    import comparison as C
    import numpy as np
    import torch

    from gradekit.authoring.reference import load_reference

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=FOLDER / "gpu_reference.json")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA device: nothing recorded")
        return 1
    part1 = load_reference(ROOT, "assignment1", "1_mlp_numpy")
    with contextlib.redirect_stdout(io.StringIO()):
        part2 = load_reference(ROOT, "assignment1", "2_mlp_pytorch")

    def numpy_arm(sizes):
        model = part1["MLP"](sizes[0], sizes[1:-1], sizes[-1], np.random.default_rng(0))
        return C.NumpyArm(model, part1["softmax_cross_entropy"], part1["sgd_step"], dtype=np.float32)

    def torch_arm(device):
        def make(sizes):
            model = part2["MLP"](sizes[0], sizes[1:-1], sizes[-1])
            return C.TorchArm(model, lambda p: torch.optim.SGD(p, lr=C.SGD_LR), part2["load_numpy_weights"],
                              "", device, torch.float32)
        return make

    rows = C.sweep(numpy_arm, "NumPy") + C.sweep(torch_arm("cpu"), "PyTorch CPU")
    rows += C.sweep(torch_arm("cuda"), "PyTorch CUDA")
    record = {"device": torch.cuda.get_device_name(0), "cpu": f"{cpu_name()}, one thread",
              "date": datetime.date.today().isoformat(), "torch": torch.__version__, "numpy": np.__version__,
              "cuda": torch.version.cuda, "rows": rows}
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    for row in rows:
        print(f"{row['backend']:13s} width {row['width']:5d} batch {row['batch_size']:4d}: "
              f"{1000 * row['seconds_per_epoch']:9.2f} ms per epoch")
    for fast, slow in (("PyTorch CUDA", "PyTorch CPU"), ("PyTorch CUDA", "NumPy"), ("PyTorch CPU", "NumPy")):
        print(f"{fast} faster than {slow} from width:", C.crossovers(rows, fast, slow))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
