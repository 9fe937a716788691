"""Nothing secret reaches students: no solution code and no hidden test in any file of release/, and no
hidden test in solutions/ (which a course may post after the deadline)."""
from __future__ import annotations

import re

import nbformat

from gradekit.core.cells import is_solution_cell
from gradekit.core.layout import Course
from grader_tests.helpers import ASSIGNMENT

REGION = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END \1", re.S)


def _significant(line: str) -> str | None:
    line = line.strip()
    if len(line) < 12 or line.startswith("#"):
        return None
    return line


def secret_lines(source_nb, kinds=("SOLUTION", "HIDDEN TESTS")) -> set[str]:
    """Lines inside solution or hidden-test regions (`kinds`) that appear nowhere else in the source notebook."""
    secret, public = set(), set()
    for cell in source_nb.cells:
        text = cell.source
        if is_solution_cell(cell) and not REGION.search(text):  # a written answer: the whole cell is replaced
            if "SOLUTION" in kinds:
                secret.update(filter(None, map(_significant, text.splitlines())))
            continue
        for match in REGION.finditer(text):
            if match.group(1) in kinds:
                secret.update(filter(None, map(_significant, match.group(2).splitlines())))
        public.update(filter(None, map(_significant, REGION.sub("", text).splitlines())))
    # a secret line that is part of a public one (e.g. of a signature or a commented line) is not secret
    return {line for line in secret - public if not any(line in p for p in public)}


def _student_visible_text(path) -> str:
    """What a student can read in a file: for notebooks the decoded cell sources and outputs."""
    if path.suffix != ".ipynb":
        return path.read_text(errors="replace")
    nb = nbformat.read(path, as_version=4)
    parts = []
    for cell in nb.cells:
        parts.append(cell.source)
        for out in cell.get("outputs", []):
            parts.append(str(out.get("text", "")) + str(out.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


def find_leaks(files: dict[str, str], secrets: set[str]) -> list[tuple[str, str]]:
    return [(name, line) for line in sorted(secrets) for name, text in files.items() if line in text]


def test_no_secret_line_in_any_release_file(course):
    visible = {p.name: _student_visible_text(p) for p in Course(course).release(ASSIGNMENT).rglob("*")
               if p.is_file() and "__pycache__" not in p.parts}
    for nb_path in Course(course).source(ASSIGNMENT).glob("*.ipynb"):
        secrets = secret_lines(nbformat.read(nb_path, as_version=4))
        assert len(secrets) > 20, f"{nb_path.name}: expected solution and hidden-test code to check"
        leaks = find_leaks(visible, secrets)
        assert not leaks, f"secret lines from {nb_path.name} in release/: {leaks[:5]}"


def test_solutions_hold_the_solution_code_and_no_hidden_test(course):
    """solutions/ may be shared with students after the deadline: the reference code is there, the hidden
    tests (next year's grading) are not. The same check finds every secret line in source/."""
    for nb_path in Course(course).solutions(ASSIGNMENT).glob("*.ipynb"):
        source = nbformat.read(Course(course).source(ASSIGNMENT) / nb_path.name, as_version=4)
        solution_code = secret_lines(source, ("SOLUTION",))
        hidden = secret_lines(source, ("HIDDEN TESTS",)) - solution_code  # a line in both is solution code
        assert len(hidden) > 20, nb_path.name
        text = {nb_path.name: _student_visible_text(nb_path)}
        assert len(find_leaks(text, solution_code)) == len(solution_code), f"{nb_path.name}: solution code missing"
        leaks = find_leaks(text, hidden)
        assert not leaks, f"hidden-test lines in solutions/{nb_path.name}: {leaks[:5]}"
        assert "# HINT:" not in nb_path.read_text()
        in_source = find_leaks({nb_path.name: _student_visible_text(Course(course).source(ASSIGNMENT) / nb_path.name)},
                               solution_code | hidden)
        assert len(in_source) == len(solution_code | hidden), "the leak check missed secrets in source/"


def test_release_has_stubs_and_markers_removed(course):
    for nb_path in Course(course).release(ASSIGNMENT).glob("*.ipynb"):
        nb = nbformat.read(nb_path, as_version=4)
        for cell in nb.cells:
            assert "### BEGIN" not in cell.source and "### END" not in cell.source, f"{nb_path.name}: markers left"
            if is_solution_cell(cell) and cell.cell_type == "code":
                assert "raise NotImplementedError()" in cell.source, f"{nb_path.name}: a solution cell has no stub"


def test_instructor_only_files_stay_out_of_student_folders(course):
    """The trusted re-check's probes, the assignment's kit and the hints of hidden tests never reach a student's copy."""
    assert (Course(course).source(ASSIGNMENT) / "probes").is_dir() and (Course(course).source(ASSIGNMENT) / "kit").is_dir()
    for folder in ("release", "solutions"):
        names = {p.name for p in (course / folder / ASSIGNMENT).rglob("*")}
        assert not {"probes", "kit"} & names and not any(n.endswith("_metrics.json") for n in names), (folder, names)
    for nb_path in Course(course).release(ASSIGNMENT).glob("*.ipynb"):
        assert "# HINT:" not in nb_path.read_text(), f"{nb_path.name}: a hidden test's hint was released"
