"""What a student who copies does to hide it, applied to a notebook's solution cells: rename the local
variables, reorder the functions and methods, rewrite the comments. The similarity benchmark and tests
measure the detector (gradekit/grading/similarity.py) against these copies. Each disguise keeps the code's meaning.
"""
from __future__ import annotations

import ast
import builtins
import copy
import io
import random
import tokenize

from gradekit.core.cells import is_solution_cell
from gradekit.grading.similarity import outermost_functions

DISGUISES = ("rename", "reorder", "comments", "all")


def _local_names(function: ast.FunctionDef) -> set[str]:
    """Arguments and variables bound in `function` (not globals, builtins or attributes)."""
    bound = {a.arg for a in function.args.args + function.args.kwonlyargs + function.args.posonlyargs}
    bound |= {a.arg for a in (function.args.vararg, function.args.kwarg) if a}
    bound |= {n.id for n in ast.walk(function) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    bound -= {name for n in ast.walk(function) if isinstance(n, (ast.Global, ast.Nonlocal)) for name in n.names}
    return bound - set(dir(builtins)) - {"self", "cls"}


def rename(source: str, rng: random.Random) -> str:
    """Rename the arguments and local variables of every outermost function, in place: the layout and the
    comments stay. Keyword arguments of calls (`f(axis=0)`) and attributes (`self.x`) are not touched."""

    lines = source.splitlines(keepends=True)
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    edits = []
    for function in outermost_functions(ast.parse(source)):
        names = {old: f"{rng.choice(['tmp', 'val', 'arr', 'res', 'q', 'z'])}_{i}"
                 for i, old in enumerate(sorted(_local_names(function)))}
        for k, tok in enumerate(tokens):
            if not (function.lineno <= tok.start[0] <= function.end_lineno) or tok.type != tokenize.NAME:
                continue
            if tok.string not in names or (k and tokens[k - 1].string == "."):
                continue
            following = tokens[k + 1].string if k + 1 < len(tokens) else ""
            if following == "=" and tok.start[0] > function.body[0].lineno - 1 and _in_call(tokens, k):
                continue  # a keyword argument of a call
            edits.append((tok.start, tok.end, names[tok.string]))
    for (row, col), (_, end), new in sorted(edits, reverse=True):
        line = lines[row - 1]
        lines[row - 1] = line[:col] + new + line[end:]
    return "".join(lines)


def _in_call(tokens, k) -> bool:
    """Whether token k sits directly inside a pair of parentheses (a call's arguments)."""
    depth = 0
    for tok in reversed(tokens[:k]):
        if tok.string in ")]}":
            depth += 1
        elif tok.string in "([{":
            if depth == 0:
                return tok.string == "("
            depth -= 1
        elif depth == 0 and (tok.string in (":", ";") or tok.type == tokenize.NEWLINE):
            return False
    return False


def reorder(source: str, rng: random.Random) -> str:
    """Reverse the order of sibling function and class definitions (top level and inside classes); what
    lies between them stays where it was. Reordering inside a block keeps the block's length, so one parse
    gives the line numbers of every block, innermost first."""
    lines = source.splitlines(keepends=True)
    tree = ast.parse(source)
    groups = [n.body for n in ast.walk(tree) if isinstance(n, ast.ClassDef)][::-1] + [tree.body]
    for body in groups:
        defs = [n for n in body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
        if len(defs) < 2:
            continue
        spans = [(min([n.lineno] + [d.lineno for d in n.decorator_list]) - 1, n.end_lineno) for n in defs]
        pieces = [lines[s:e] for s, e in spans][::-1]
        out, cursor = lines[:spans[0][0]], spans[0][0]
        for (s, e), piece in zip(spans, pieces):
            out += lines[cursor:s] + piece
            cursor = e
        lines = out + lines[cursor:]
    return "".join(lines)


def comments(source: str, rng: random.Random) -> str:
    """Drop the comment lines and write other ones before every third statement (never inside a string)."""
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    comment_rows = {t.start[0] for t in tokens if t.type == tokenize.COMMENT and t.line.lstrip().startswith("#")}
    statement_rows, starts = [], True
    for t in tokens:
        if t.type in (tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.COMMENT):
            starts = starts or t.type == tokenize.NEWLINE
            continue
        if starts:
            statement_rows.append(t.start[0])
        starts = False
    chosen = set(statement_rows[::3])
    out = []
    for row, line in enumerate(source.splitlines(), start=1):
        if row in comment_rows:
            continue
        if row in chosen:
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}# {rng.choice(['step', 'here we go', 'compute this', 'see the lecture', 'main part'])}")
        out.append(line)
    return "\n".join(out) + "\n"


def disguise_source(source: str, how: str, rng: random.Random) -> str:
    if how == "all":
        return comments(reorder(rename(source, rng), rng), rng)
    return {"rename": rename, "reorder": reorder, "comments": comments}[how](source, rng)


def disguised_copy(notebooks: dict, how: str, seed: int = 0) -> dict:
    """A copy of {name: notebook} with every solution cell disguised (cells that do not parse are kept)."""
    rng = random.Random(seed)
    out = {}
    for name, nb in copy.deepcopy(notebooks).items():
        for cell in nb.cells:
            if cell.cell_type == "code" and is_solution_cell(cell):
                try:
                    cell.source = disguise_source(cell.source, how, rng)
                except SyntaxError:
                    pass
        out[name] = nb
    return out


def population(course, assignment: str, composed: int = 40, copies: int = 20, seed: int = 0):
    """Submissions to measure the detector on, from the assignment's kit: the reference, each catalogued
    correct alternative and each catalogued bug on its own, `composed` students who each combine a random
    share of the alternatives and a bug or two (independent work, as far as one reference allows), and a
    disguised copy of `copies` of those students.

    Returns ({student: {notebook: nb}}, {(original, copy)}, names of the single alternatives)."""
    from gradekit.authoring.submissions import Edit, apply_edit, submission_with_edits
    from gradekit.authoring.variants import not_allowed, notebook_variants
    from gradekit.core.assignment_kit import kit_part
    from gradekit.core.layout import Course

    course = Course(course)
    rng = random.Random(seed)
    notebooks = course.notebooks(assignment)
    alternatives = getattr(kit_part(course, assignment, "alternatives"), "ALTERNATIVES", {})
    bugs = list(getattr(kit_part(course, assignment, "bugs"), "BUGS", []))
    students = {"reference": submission_with_edits(course, assignment, notebooks)}
    singles = set()
    for name, edits in alternatives.items():
        students[f"alt-{name}"] = submission_with_edits(course, assignment, notebooks, edits)
        singles.add(f"alt-{name}")
    for bug in bugs:
        students[f"bug-{bug.name}"] = submission_with_edits(course, assignment, notebooks, bug.edits)
    # alternatives grouped by the cells they rewrite: a student picks one way (or the reference's) per group
    groups: dict[frozenset, list] = {}
    for edits in alternatives.values():
        groups.setdefault(frozenset((e.notebook, e.cell) for e in edits), []).append(edits)
    # and the small equivalent rewrites of gradekit.authoring.variants (a @ b or np.matmul, ...), each taken or not
    rewrites = [[Edit(v.notebook, v.cell, v.original, v.replacement)] for nb in notebooks
                for v in notebook_variants(course.source(assignment) / f"{nb}.ipynb", nb,
                                           not_allowed(course, assignment))]
    for i in range(composed):
        chosen = [pick for options in groups.values() for pick in [rng.choice([None, *options])] if pick]
        chosen += [edits for edits in rewrites if rng.random() < 0.5]
        chosen += [bug.edits for bug in rng.sample(bugs, k=min(len(bugs), rng.choice([0, 1, 2])))]
        nbs = submission_with_edits(course, assignment, notebooks)
        for edits in chosen:
            trial = copy.deepcopy(nbs)
            try:
                for edit in edits:
                    apply_edit(trial[edit.notebook], edit)
            except ValueError:
                continue  # overlaps an edit already made
            nbs = trial
        students[f"student-{i:03d}"] = nbs
    pairs = set()
    for j, original in enumerate(rng.sample([s for s in students if s.startswith("student-")], k=min(copies, composed))):
        how = DISGUISES[j % len(DISGUISES)]
        students[f"copy-{how}-of-{original}"] = disguised_copy(students[original], how, seed=j)
        pairs.add((original, f"copy-{how}-of-{original}"))
    return students, pairs, singles
