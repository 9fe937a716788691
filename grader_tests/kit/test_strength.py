"""The grader strength command: mutants from the syntax tree, graded like submissions, kill rates."""
from __future__ import annotations

import copy
import json
import shutil

import nbformat
import pytest

from gradekit.authoring.mutants import cell_mutants, notebook_mutants
from gradekit.authoring.strength import EQUIVALENTS_FILE, run
from gradekit.authoring.strength.groups import CorrectVariant, pack
from gradekit.authoring.submissions import apply_edit
from gradekit.authoring.variants import cell_variants
from grader_tests.helpers import ALTERNATIVES, JOBS, ROOT

TINY_SOLUTION = """def scale(x, k):
    \"\"\"x * k + 1 for positive k, else 1.\"\"\"
    ### BEGIN SOLUTION
    if k > 0:
        return x * k + 1
    return 1
    ### END SOLUTION
"""


def _tiny_course(root, solution=TINY_SOLUTION, test="assert scale(2, 3) == 7\n### BEGIN HIDDEN TESTS\n"
                                                       "assert scale(0, 5) == 1\n### END HIDDEN TESTS", more=()):
    """A course with one notebook: the scale exercise, then `more` (solution, test, name) exercises."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    def meta(**kw):
        return {"nbgrader": {"schema_version": 3, "task": False, **kw}}

    nb.cells = [nbformat.v4.new_markdown_cell("Compute $x k + 1$."), nbformat.v4.new_code_cell("import numpy as np")]
    for code, check, name in [(solution, test, "scale"), *more]:
        nb.cells += [nbformat.v4.new_code_cell(code, metadata=meta(grade=False, solution=True, locked=False,
                                                                    grade_id=name)),
                     nbformat.v4.new_code_cell(check, metadata=meta(grade=True, solution=False, locked=True, points=1,
                                                                    grade_id=f"test_{name}"))]
    for i, cell in enumerate(nb.cells):
        cell.id = f"c{i}"
    (root / "source" / "tiny").mkdir(parents=True)
    nbformat.write(nb, root / "source" / "tiny" / "tiny.ipynb")
    shutil.copy(ROOT / "nbgrader_config.py", root)
    return root


def test_mutants_come_from_the_syntax_tree_inside_solution_regions():
    mutants = cell_mutants("tiny", "scale", TINY_SOLUTION)
    changes = {(m.operator, m.original, m.replacement) for m in mutants}
    assert ("comparison operator", "k > 0", "k >= 0") in changes
    assert ("arithmetic operator", "x * k + 1", "x * k - 1") in changes
    assert ("arithmetic operator", "x * k", "x / k") in changes
    assert ("constant nudged", "1", "2") in changes
    assert all(m.line >= 4 for m in mutants), "the signature and docstring are not mutated"
    assert len({m.id for m in mutants}) == len(mutants)


def test_real_notebooks_have_every_kind_of_mutant():
    ops = {m.operator for nb in ("1_mlp_numpy", "2_mlp_pytorch")
           for m in notebook_mutants(ROOT / "source" / "assignment1" / f"{nb}.ipynb", nb)}
    for op in ("arithmetic operator", "comparison operator", "axis flipped", "keepdims dropped", "constant nudged",
               ".T dropped", "statement deleted", "= -> +=", "sum -> mean", "max -> min", "dim flipped"):
        assert op in ops, op


def test_strength_on_a_tiny_notebook_with_equivalents(tmp_path):
    course = _tiny_course(tmp_path / "tiny")
    report = run(course, "tiny", jobs=JOBS, timeout=60, out_dir=tmp_path / "out", progress=False)
    by_change = {(r.operator, r.change.split(": ", 2)[-1]): r for r in report.mutants}
    ge = by_change[("comparison operator", "`k > 0` -> `k >= 0`")]
    assert ge.status == "survived" and "+    if k >= 0:" in ge.diff
    assert by_change[("arithmetic operator", "`x * k + 1` -> `x * k - 1`")].caught_by == ["tiny:test_scale"]
    all_ = report.summary["all"]
    assert 0 < all_.kill_rate < 1 and all_.equivalent == 0
    md = (tmp_path / "out" / "strength.md").read_text()
    assert "## Survivors" in md and "k >= 0" in md and (tmp_path / "out" / "kill_rate.png").exists()

    (course / "source" / "tiny" / EQUIVALENTS_FILE).write_text(json.dumps(
        {ge.id: {"mutant": ge.change, "reason": "k is never 0 in this exercise"}}))
    again = run(course, "tiny", jobs=JOBS, timeout=60, out_dir=tmp_path / "out2", progress=False).summary["all"]
    assert again.equivalent == 1 and again.total == all_.total
    assert again.kill_rate == again.killed / (again.total - 1) > all_.kill_rate
    stored = json.loads((tmp_path / "out2" / "strength.json").read_text())["summary"]["all"]
    assert stored["kill_rate"] == again.kill_rate and stored["equivalent"] == 1  # the JSON has the rates too


@pytest.mark.parametrize("name", sorted(ALTERNATIVES))
def test_alternative_edits_apply(name):
    for edit in ALTERNATIVES[name]:
        apply_edit(nbformat.read(ROOT / "source" / "assignment1" / f"{edit.notebook}.ipynb", 4), edit)


def test_correct_variants_come_from_the_syntax_tree():
    source = ("def f(x, w, layer, opt):\n    ### BEGIN SOLUTION\n    y = x @ w.T\n    layer['w'] = layer['w'] - 0.1 * y\n"
              "    opt.zero_grad()\n    return float(y.sum(axis=0))\n    ### END SOLUTION\n")
    rewrites = {(v.operator, v.replacement) for v in cell_variants("nb", "f", source, uses_torch=False)}
    assert ("@ -> matmul", "np.matmul(x, w.T)") in rewrites
    assert ("@ -> einsum", "np.einsum('ij,jk->ik', x, w.T)") in rewrites
    assert (".T -> transpose", "w.transpose(1, 0)") in rewrites
    assert ("out-of-place -> in-place", "layer['w'] -= 0.1 * y") in rewrites
    assert ("zero_grad(set_to_none=True)", "opt.zero_grad(set_to_none=True)") in rewrites
    assert ("float() -> np.float64()", "np.float64(y.sum(axis=0))") in rewrites
    assert ("method -> function", "np.sum(y, axis=0)") in rewrites
    assert not any(r == "float() -> np.float32()" for r, _ in rewrites), "float32 only where torch is used"


def test_fairness_finds_a_false_fail_on_a_tiny_notebook(tmp_path):
    """The false-fail measure can fail: an over-specified type check rejects a NumPy float."""
    course = _tiny_course(tmp_path / "tiny", solution=TINY_SOLUTION.replace("return x * k + 1", "return float(x * k + 1)"),
                          test="assert type(scale(2, 3)) is float and scale(2, 3) == 7")
    report = run(course, "tiny", jobs=JOBS, timeout=60, sample=1, out_dir=tmp_path / "out", progress=False)
    fair = report.fairness
    assert fair.false_fails.failed == 1 and fair.per_test["tiny:test_scale"].failed == 1, fair
    failed = next(r for r in report.variants if r.failed)
    assert failed.family == "generated: float() -> np.float64()" and "np.float64(x * k + 1)" in failed.diff
    assert fair.flakes.graded == 0  # no draws for a notebook the kit knows nothing random about
    assert "# Fairness" in (tmp_path / "out" / "strength.md").read_text()


def _variant(student, family, notebook):
    return CorrectVariant(student, family, student, {"nb": notebook}, "")


def test_variants_of_different_cells_share_a_submission_and_draws_go_alone():
    solved = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"x{i} = {i}") for i in range(3)])

    def edited(**sources):
        nb = copy.deepcopy(solved)
        for i, text in sources.items():
            nb.cells[int(i[1:])].source = text
        return nb

    longer = copy.deepcopy(solved)
    longer.cells.append(nbformat.v4.new_code_cell("extra = 1"))
    variants = [_variant("a", "generated: r", edited(c0="x0 = 0 + 0")), _variant("b", "generated: r", edited(c0="x0 = 0 * 1")),
                _variant("c", "catalogued", edited(c1="x1 = 1 + 0", c2="x2 = 2 + 0")), _variant("d", "draw", edited(c2="x2 = 3")),
                _variant("e", "catalogued", longer)]
    groups = pack(variants, {"nb": solved})
    assert sorted([v.student for v in g.members] for g in groups) == [["a", "c"], ["b"], ["d"], ["e"]]
    together = next(g for g in groups if len(g.members) == 2)
    assert [c.source for c in together.notebooks["nb"].cells] == ["x0 = 0 + 0", "x1 = 1 + 0", "x2 = 2 + 0"]
    assert [c.source for c in solved.cells] == ["x0 = 0", "x1 = 1", "x2 = 2"], "the reference is left as it was"
    alone = {g.student: g for g in groups if len(g.members) == 1}
    assert set(alone) == {"b", "d", "e"} and alone["e"].notebooks["nb"] is longer


def test_a_group_that_loses_a_point_is_split_and_the_loss_attributed(tmp_path):
    """An over-specified type check fails one variant; the variants of another cell graded in its group keep
    full marks once graded alone."""
    half = "def half(x):\n    ### BEGIN SOLUTION\n    return float(x / 2)\n    ### END SOLUTION\n"
    course = _tiny_course(tmp_path / "tiny", solution=TINY_SOLUTION.replace("return x * k + 1", "return float(x * k + 1)"),
                          test="assert type(scale(2, 3)) is float and scale(2, 3) == 7",
                          more=[(half, "assert half(4) == 2.0", "half")])
    report = run(course, "tiny", jobs=JOBS, timeout=60, sample=1, out_dir=tmp_path / "out", progress=False)
    lost = {r.label: r.lost for r in report.variants}
    assert report.groups_split == 1 and report.variant_submissions < len(report.variants), (report.variant_submissions, lost)
    assert [label for label, tests in lost.items() if tests] == [next(
        r.label for r in report.variants if "np.float64(x * k + 1)" in r.diff)], lost
    assert any("/ half:" in label for label in lost), lost
    assert set(sum(lost.values(), [])) == {"tiny:test_scale"}
