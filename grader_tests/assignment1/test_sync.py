"""release/ and solutions/ are committed; they must be exactly what nbgrader generates from source/."""
from __future__ import annotations

from pathlib import Path

import pytest

from grader_tests.helpers import ASSIGNMENT, ROOT

REGENERATE = "run `make generate` (gradekit generate) and commit release/ and solutions/"


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts and ".ipynb_checkpoints" not in p.parts}


@pytest.mark.parametrize("folder", ["release", "solutions"])
def test_committed_folder_matches_a_fresh_generation(course, folder):
    committed = _files(ROOT / folder / ASSIGNMENT)
    fresh = _files(course / folder / ASSIGNMENT)
    assert sorted(committed) == sorted(fresh), f"{folder}/ has other files than a fresh generation: {REGENERATE}"
    stale = [name for name in fresh if committed[name] != fresh[name]]
    assert not stale, f"{folder}/{ASSIGNMENT}: {stale} differ from a fresh generation: {REGENERATE}"


def test_source_notebooks_are_committed_without_outputs():
    import nbformat

    for path in (ROOT / "source").rglob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        with_output = [i for i, c in enumerate(nb.cells)
                       if c.cell_type == "code" and (c.outputs or c.execution_count)]
        assert not with_output, f"{path.name}: cells {with_output} have outputs; clear them before committing"
