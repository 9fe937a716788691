"""An assignment's own kit: source/<assignment>/kit/, a Python package kept with the assignment.

The generic commands learn about one assignment only from it (and from its notebooks and probes):
- kit/alternatives.py: ALTERNATIVES {name: [Edit]} of correct solutions written differently, and
  draw(notebook, k) -> [Edit], the k-th redraw of everything the instructions leave free (strength);
- kit/demo.py: sample_edits() -> {student: [Edit]}, the demo's buggy samples;
- kit/bugs.py: BUGS, the catalogue of classic mistakes (gradekit.authoring.submissions.Bug), for benchmarks;
- kit/similarity.py: SEED_PATTERN, a regular expression whose group is the seed a notebook sets
  (gradekit.grading.similarity compares the outputs of submissions whose seeds differ); MARGIN to override;
anything else in it (test galleries, the assignment's own benchmarks) is the assignment's business. An
assignment without a kit is graded, checked and measured all the same, with fewer samples.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from gradekit.core.layout import Course


def load_kit(course: Path, assignment: str) -> ModuleType | None:
    """The kit package of `assignment` with every module in it imported, or None when it has none."""
    course = Course(course)
    folder = course.kit(assignment)
    init = folder / "__init__.py"
    if not init.is_file():
        return None
    # one package per kit folder: a throwaway copy of the course gets its own
    name = f"gradekit_kit_{assignment}_{hashlib.sha1(str(folder).encode()).hexdigest()[:8]}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[str(folder)])
        package = importlib.util.module_from_spec(spec)
        sys.modules[name] = package
        try:
            spec.loader.exec_module(package)
        except BaseException:
            del sys.modules[name]
            raise
    package = sys.modules[name]
    for module in sorted(folder.glob("*.py")):
        if module.stem != "__init__":
            setattr(package, module.stem, importlib.import_module(f"{name}.{module.stem}"))
    return package


def kit_part(course: Path, assignment: str, part: str) -> ModuleType | None:
    """One module of the assignment's kit (e.g. "alternatives"), or None."""
    kit = load_kit(course, assignment)
    return getattr(kit, part, None) if kit else None
