"""Mutants of the reference solution: one small, syntax-tree-derived change a student could make.

Only code inside `### BEGIN SOLUTION` / `### END SOLUTION` regions is mutated. Each mutant replaces one
source segment (found through the syntax tree's positions) with its mutated form, so the diff shows
just the change.
"""
from __future__ import annotations

import ast
import copy
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import nbformat

from gradekit.core.cells import SOLUTION_MARKERS, grade_id, is_solution_cell

BINOP_SWAPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
               ast.MatMult: ast.Mult, ast.FloorDiv: ast.Div, ast.Pow: ast.Mult}
COMPARE_SWAPS = {ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Eq: ast.NotEq,
                 ast.NotEq: ast.Eq}
NAME_SWAPS = {"sum": "mean", "mean": "sum", "max": "min", "min": "max", "maximum": "minimum",
              "minimum": "maximum", "argmax": "argmin", "argmin": "argmax"}
AXIS_KEYWORDS = ("axis", "dim")


@dataclass(frozen=True)
class Mutant:
    notebook: str
    cell: str
    operator: str
    line: int  # line in the cell, 1-based
    original: str
    replacement: str
    source: str  # the whole mutated cell source

    @property
    def id(self) -> str:
        key = f"{self.notebook}|{self.cell}|{self.operator}|{self.original}|{self.replacement}|{self.line}"
        return hashlib.sha1(key.encode()).hexdigest()[:10]

    def describe(self) -> str:
        return f"{self.operator}: line {self.line}: `{self.original}` -> `{self.replacement}`"


def solution_lines(source: str) -> set[int]:
    """1-based line numbers strictly inside solution regions."""
    inside, lines = False, set()
    for number, line in enumerate(source.splitlines(), start=1):
        if line.strip() == SOLUTION_MARKERS[0]:
            inside = True
        elif line.strip() == SOLUTION_MARKERS[1]:
            inside = False
        elif inside:
            lines.add(number)
    return lines


def _segment_offsets(source: str, node) -> tuple[int, int]:
    starts = [0]
    for line in source.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return (starts[node.lineno - 1] + _char_col(source, node.lineno, node.col_offset),
            starts[node.end_lineno - 1] + _char_col(source, node.end_lineno, node.end_col_offset))


def _char_col(source: str, lineno: int, byte_col: int) -> int:
    line = source.splitlines(keepends=True)[lineno - 1]
    return len(line.encode()[:byte_col].decode(errors="ignore"))


def _edits(node, parent_stmt):
    """(operator name, node to replace, replacement text) for every mutation of `node`."""
    if isinstance(node, ast.BinOp) and type(node.op) in BINOP_SWAPS:
        new = copy.deepcopy(node)
        new.op = BINOP_SWAPS[type(node.op)]()
        yield "arithmetic operator", node, ast.unparse(new)
    elif isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in COMPARE_SWAPS:
        new = copy.deepcopy(node)
        new.ops = [COMPARE_SWAPS[type(node.ops[0])]()]
        yield "comparison operator", node, ast.unparse(new)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        yield "sign dropped", node, ast.unparse(node.operand)
    elif isinstance(node, ast.Attribute) and node.attr == "T":
        yield ".T dropped", node, ast.unparse(node.value)
    elif isinstance(node, ast.Attribute) and node.attr in NAME_SWAPS:
        new = copy.deepcopy(node)
        new.attr = NAME_SWAPS[node.attr]
        yield f"{node.attr} -> {NAME_SWAPS[node.attr]}", node, ast.unparse(new)
    elif isinstance(node, ast.Call):
        for i, kw in enumerate(node.keywords):
            if kw.arg in AXIS_KEYWORDS and isinstance(kw.value, ast.Constant) and kw.value.value in (0, 1, -1):
                new = copy.deepcopy(node)
                new.keywords[i].value = ast.Constant(0 if kw.value.value in (1, -1) else 1)
                yield f"{kw.arg} flipped", node, ast.unparse(new)
            if kw.arg == "keepdims":
                new = copy.deepcopy(node)
                del new.keywords[i]
                yield "keepdims dropped", node, ast.unparse(new)
    elif isinstance(node, ast.Constant) and type(node.value) in (int, float) and not isinstance(node.value, bool):
        nudged = node.value + 1 if isinstance(node.value, int) else node.value * 1.5 if node.value else 1e-3
        yield "constant nudged", node, repr(nudged)
    elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
        yield "boolean flipped", node, repr(not node.value)
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], (ast.Subscript, ast.Attribute)):
        yield "= -> +=", node, f"{ast.unparse(node.targets[0])} += {ast.unparse(node.value)}"
    if isinstance(node, (ast.Expr, ast.Assign, ast.AugAssign)) and parent_stmt is not None:
        yield "statement deleted", node, "pass"


def cell_mutants(notebook: str, cell_id: str, source: str, rewrites: Callable = _edits) -> list[Mutant]:
    """One Mutant per (name, node, replacement) that `rewrites(node, parent_statement)` yields for a node
    inside a solution region (gradekit.authoring.variants passes its equivalent rewrites instead of mutations)."""
    allowed = solution_lines(source)
    tree = ast.parse(source)
    mutants, seen = [], set()
    parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
    for node in ast.walk(tree):
        if not hasattr(node, "lineno") or node.lineno not in allowed or node.end_lineno not in allowed:
            continue
        parent = parents.get(node)
        body_parent = parent if isinstance(node, ast.stmt) and isinstance(getattr(parent, "body", None), list) else None
        for operator, target, replacement in rewrites(node, body_parent):
            start, end = _segment_offsets(source, target)
            original = source[start:end]
            if replacement == original:
                continue
            mutated = source[:start] + replacement + source[end:]
            key = (mutated,)
            if key in seen:
                continue
            try:
                ast.parse(mutated)
            except SyntaxError:
                continue
            seen.add(key)
            mutants.append(Mutant(notebook, cell_id, operator, target.lineno, original.strip().splitlines()[0][:120],
                                  replacement.splitlines()[0][:120], mutated))
    return sorted(mutants, key=lambda m: (m.line, m.operator, m.replacement))


def notebook_mutants(path, notebook: str) -> list[Mutant]:
    nb = nbformat.read(path, as_version=4)
    result = []
    for cell in nb.cells:
        if cell.cell_type == "code" and is_solution_cell(cell) and SOLUTION_MARKERS[0] in cell.source:
            result += cell_mutants(notebook, grade_id(cell), cell.source)
    return result
