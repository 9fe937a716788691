"""Correct variants of the reference solution: rewrites that change how the code is written, not what it
computes. The strength command grades them like submissions; each one that loses a point is a false fail.

They come from the syntax tree, like gradekit.authoring.mutants: one rewrite of one expression inside a
`### BEGIN SOLUTION` / `### END SOLUTION` region per variant, so the diff shows just that rewrite. The
rules are the equivalent ways students write the same thing (a NumPy scalar for a float, a function for a
method, `np.matmul` or `einsum` for `@`, a mask product for `np.where`, an in-place update of the student's
own array, `inference_mode` for `no_grad`, ...). A rule that the instructions of one cell rule out is listed, with the reason, in
source/<assignment>/fairness.json under "not_allowed" as "<rule>@<grade_id>".
"""
from __future__ import annotations

import ast
import json
from pathlib import Path

import nbformat

from gradekit.authoring.mutants import Mutant, cell_mutants
from gradekit.core.cells import SOLUTION_MARKERS, grade_id, is_solution_cell
from gradekit.core.layout import Course

FAIRNESS_FILE = "fairness.json"
REDUCTIONS = ("sum", "mean", "max", "min", "argmax")
AUGMENTABLE = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}


def _rewrites(node, lib: str, uses_torch: bool):
    """(rule, replacement text) for every equivalent way of writing `node`."""
    src = ast.unparse
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        if node.func.id == "float" and len(node.args) == 1 and not node.keywords:
            yield "float() -> np.float64()", f"np.float64({src(node.args[0])})"
            if uses_torch:  # float32 is the working precision of a PyTorch notebook
                yield "float() -> np.float32()", f"np.float32({src(node.args[0])})"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
        left, right = src(node.left), src(node.right)
        yield "@ -> matmul", f"{lib}.matmul({left}, {right})"
        yield "@ -> einsum", f"{lib}.einsum('ij,jk->ik', {left}, {right})"
    if isinstance(node, ast.Attribute) and node.attr == "T" and isinstance(node.ctx, ast.Load):
        yield ".T -> transpose", f"{src(node.value)}.transpose(1, 0)"  # the same for arrays and tensors
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        method, owner = node.func.attr, node.func.value
        is_module = isinstance(owner, ast.Name) and owner.id in ("np", "torch", "F", "nn")
        if method in REDUCTIONS and not node.args and not is_module:
            args = ", ".join([src(owner)] + [src(k) for k in node.keywords])
            yield "method -> function", f"{lib}.{method}({args})"
        if method == "zero_grad" and not node.args and not node.keywords:
            yield "zero_grad(set_to_none=True)", f"{src(owner)}.zero_grad(set_to_none=True)"
            yield "zero_grad(set_to_none=False)", f"{src(owner)}.zero_grad(set_to_none=False)"
        if method == "no_grad" and src(owner) == "torch" and not node.args:
            yield "no_grad -> inference_mode", "torch.inference_mode()"
        if src(node.func) == "np.where" and len(node.args) == 3 and src(node.args[2]) in ("0", "0.0"):
            yield "np.where -> mask product", f"{src(node.args[1])} * {src(node.args[0])}"
        if src(node.func) == "np.maximum" and len(node.args) == 2 and isinstance(
                node.args[1], (ast.Constant, ast.Name, ast.Attribute)):
            yield "np.maximum -> np.clip", f"np.clip({src(node.args[0])}, {src(node.args[1])}, None)"
        if method == "eval" and not node.args and not node.keywords and not is_module:
            yield "eval() -> train(False)", f"{src(owner)}.train(False)"
    if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Subscript)
            and isinstance(node.value, ast.BinOp) and type(node.value.op) in AUGMENTABLE
            and src(node.value.left) == src(node.targets[0])):
        # an update of an array the student's own code owns (e.g. a parameter), in place
        yield "out-of-place -> in-place", f"{src(node.targets[0])} {AUGMENTABLE[type(node.value.op)]}= " \
                                          f"{src(node.value.right)}"
    if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Subscript) and type(node.op) in AUGMENTABLE:
        target = src(node.target)
        yield "in-place -> out-of-place", f"{target} = {target} {AUGMENTABLE[type(node.op)]} {src(node.value)}"


def cell_variants(notebook: str, cell_id: str, source: str, uses_torch: bool) -> list[Mutant]:
    """One record per rewrite, in the shape of a mutant (one change at one site; `operator` names the rule)."""
    lib = "torch" if uses_torch else "np"

    def rewrites(node, _parent):
        return ((rule, node, replacement) for rule, replacement in _rewrites(node, lib, uses_torch))

    return cell_mutants(notebook, cell_id, source, rewrites)


def not_allowed(course: Path, assignment: str) -> dict[str, str]:
    """{"<rule>@<grade_id>": reason} of rewrites the instructions rule out in that cell."""
    course = Course(course)
    path = course.source(assignment) / FAIRNESS_FILE
    return json.loads(path.read_text()).get("not_allowed", {}) if path.exists() else {}


def notebook_variants(path, notebook: str, excluded: set[str] = ()) -> list[Mutant]:
    nb = nbformat.read(path, as_version=4)
    uses_torch = any("import torch" in c.source for c in nb.cells if c.cell_type == "code")
    result = []
    for cell in nb.cells:
        if cell.cell_type == "code" and is_solution_cell(cell) and SOLUTION_MARKERS[0] in cell.source:
            result += [v for v in cell_variants(notebook, grade_id(cell), cell.source, uses_torch)
                       if f"{v.operator}@{v.cell}" not in excluded]
    return result
