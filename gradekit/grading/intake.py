"""Intake: a submission's files copied into a private folder before anything reads them.

`submitted/<student>/<assignment>/` is written by the exchange, an LMS zip or a person, and its content is
the student's. Before grading, its regular files are copied into
grading/<assignment>/intake/<student>/<assignment>/ (grader-only; nbgrader's autograde reads from there)
and everything else is set aside with a flag that names it:

- symbolic links, hard links (a second name of a file elsewhere), devices, FIFOs and sockets;
- code beside the notebooks: .py/.pyc/.so/.pth files and folders that hold any, which would be imported
  instead of an installed package or one of the release's helpers (only the release's own helper modules,
  which nbgrader copies from source/, sit beside the notebooks);
- files past the limits on count and bytes (notebooks are kept first);
- a notebook larger than the per-notebook limit fails the submission with that reason.

Files are opened without following links and checked to be the file that was listed. A notebook saved
under another name is taken when it clearly is the release's, and a damaged one is rebuilt from the
release with the student's answers in place (gradekit.grading.repair); both are flagged.
"""
from __future__ import annotations

import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path

from gradekit.core.files import MAX_DEPTH, MAX_NOTEBOOK_MB, MAX_TOTAL_MB, walk
from gradekit.core.layout import Course

CODE_SUFFIXES = (".py", ".pyc", ".pyo", ".pyd", ".so", ".pth")
MAX_FILES = 200
class SubmissionRejected(Exception):
    """The submission cannot be graded at all (the reason is shown as its failure)."""


@dataclass
class Intake:
    folder: Path  # the private copy nbgrader grades
    kept: list[str] = field(default_factory=list)
    set_aside: dict[str, str] = field(default_factory=dict)  # relative path -> why
    renamed: dict[str, str] = field(default_factory=dict)  # the release's file name -> the student's
    repairs: list = field(default_factory=list)  # gradekit.grading.repair.Repair of every rebuilt notebook

    def flags(self) -> list[str]:
        flags = [f"took {theirs} as {ours}" for ours, theirs in sorted(self.renamed.items())]
        flags += [r.flag() for r in self.repairs]
        if self.set_aside:
            items = "; ".join(f"{path} ({why})" for path, why in sorted(self.set_aside.items())[:12])
            more = f"; and {len(self.set_aside) - 12} more" if len(self.set_aside) > 12 else ""
            flags.append(f"set aside at intake: {items}{more}")
        return flags

    def describe(self) -> str:
        """What intake did, for `gradekit repair`: files kept and set aside, names taken, cells placed."""
        lines = [f"kept: {', '.join(self.kept) or 'nothing'}"]
        lines += [f"set aside: {path} ({why})" for path, why in sorted(self.set_aside.items())]
        lines += [f"took {theirs} as {ours}" for ours, theirs in sorted(self.renamed.items())]
        for r in self.repairs:
            lines.append(f"{r.notebook}: rebuilt from the release")
            lines += [f"  {note}" for note in r.notes]
            lines += [f"  {p.describe()}" for p in r.placements]
        return "\n".join(lines)


def _kind(mode: int, links: int) -> str | None:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return None
    if not stat.S_ISREG(mode):
        return "not a regular file (device, FIFO or socket)"
    if links > 1:
        return "a hard link to a file elsewhere"
    return None


def _holds_code(folder: Path) -> bool:
    return any(not stat.S_ISDIR(i.st_mode) and rel.endswith(CODE_SUFFIXES) for rel, i in walk(folder))


def _copy_exactly(src: Path, dest: Path, expected: os.stat_result) -> None:
    """Copy one file, refusing a link or a file that is not the one listed."""
    fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    try:
        info = os.fstat(fd)
        if (info.st_ino, info.st_dev) != (expected.st_ino, expected.st_dev) or not stat.S_ISREG(info.st_mode):
            raise OSError("the file changed while it was copied")
        dest.parent.mkdir(parents=True, exist_ok=True)
        with os.fdopen(os.dup(fd), "rb") as reader, open(dest, "xb") as writer:
            shutil.copyfileobj(reader, writer)
    finally:
        os.close(fd)


def take_in(course: Path, assignment: str, student: str, notebooks: list[str]) -> Intake:
    """Copy a submission's acceptable files into its private folder (replacing an earlier copy)."""
    course = Course(course)
    source = course.submitted(student, assignment)
    dest = course.intake(assignment) / student / assignment
    shutil.rmtree(dest.parent, ignore_errors=True)
    dest.mkdir(parents=True)
    intake = Intake(dest)
    if source.is_symlink() or not source.is_dir():
        raise SubmissionRejected("the submission's folder is a link or not a folder")
    wanted = {f"{nb}.ipynb" for nb in notebooks}
    entries = list(walk(source))
    # notebooks first, so that the limits never cost a notebook
    entries.sort(key=lambda e: (e[0] not in wanted, e[0]))
    skipped_dirs: list[str] = []
    files, total = 0, 0
    for rel, info in entries:
        if any(rel.startswith(d + "/") for d in skipped_dirs):
            continue
        why = _kind(info.st_mode, info.st_nlink)
        top = "/" not in rel
        if why is None and stat.S_ISDIR(info.st_mode):
            if rel.count("/") >= MAX_DEPTH:
                why = f"a folder nested over {MAX_DEPTH} levels deep"
            elif top and _holds_code(source / rel):
                why = "a folder with code beside the notebooks: only the release's helpers are used"
            else:
                continue
        elif why is None and top and rel.endswith(CODE_SUFFIXES):
            why = "code beside the notebooks: only the release's helper modules are used"
        elif why is None and rel in wanted and info.st_size > MAX_NOTEBOOK_MB * 2**20:
            raise SubmissionRejected(f"submission too large: {rel} is {info.st_size / 2**20:.0f} MB "
                                     f"(limit {MAX_NOTEBOOK_MB} MB per notebook)")
        elif why is None and (files + 1 > MAX_FILES or total + info.st_size > MAX_TOTAL_MB * 2**20):
            why = f"over the submission's limits ({MAX_FILES} files, {MAX_TOTAL_MB} MB)"
        if why:
            intake.set_aside[rel] = why
            if stat.S_ISDIR(info.st_mode):
                skipped_dirs.append(rel)
            continue
        try:
            _copy_exactly(source / rel, dest / rel, info)
        except OSError as err:
            intake.set_aside[rel] = f"could not be read safely ({err.strerror or err})"
            continue
        files, total = files + 1, total + info.st_size
        intake.kept.append(rel)
    _take_renamed(intake, notebooks)
    if not wanted & set(intake.kept):
        why = "; ".join(f"{n} ({intake.set_aside[n]})" for n in sorted(wanted & set(intake.set_aside)))
        raise SubmissionRejected("no notebook to grade" + (f": set aside at intake: {why}" if why else
                                                           f" (expected {', '.join(sorted(wanted))})"))
    _repair(course, assignment, intake, notebooks)
    return intake


def _take_renamed(intake: Intake, notebooks: list[str]) -> None:
    """A notebook saved under another name (`name (1).ipynb`, `name-Copy1.ipynb`, another case) is taken
    as the release's when it is the only one that fits; two that fit need a TA."""
    from gradekit.grading.repair import match_names

    found = [rel[:-6] for rel in intake.kept if "/" not in rel and rel.endswith(".ipynb")]
    taken, ambiguous = match_names(notebooks, found)
    if ambiguous:
        raise SubmissionRejected("needs a TA: more than one file could be " + "; ".join(
            f"{stem}.ipynb ({', '.join(c + '.ipynb' for c in cands)})" for stem, cands in sorted(ambiguous.items())))
    for stem, theirs in taken.items():
        os.rename(intake.folder / f"{theirs}.ipynb", intake.folder / f"{stem}.ipynb")
        intake.kept[intake.kept.index(f"{theirs}.ipynb")] = f"{stem}.ipynb"
        intake.renamed[f"{stem}.ipynb"] = f"{theirs}.ipynb"


def _repair(course: Path, assignment: str, intake: Intake, notebooks: list[str]) -> None:
    """Rebuild each damaged notebook from the release with the student's answers (gradekit.grading.repair)."""
    import nbformat

    from gradekit.grading.repair import repair

    course = Course(course)
    for stem in notebooks:
        path, released = intake.folder / f"{stem}.ipynb", course.release(assignment) / f"{stem}.ipynb"
        if not path.is_file() or not released.is_file():
            continue
        try:
            submitted = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
        except Exception:  # noqa: BLE001 - not a notebook: nbgrader reports it with its cause
            continue
        result = repair(nbformat.read(released, as_version=4), submitted, stem)
        if result.ambiguous:
            raise SubmissionRejected(f"needs a TA: {stem}.ipynb cannot be matched to the release without a "
                                     f"guess: {'; '.join(result.ambiguous)}")
        if result.repaired:
            path.unlink()
            nbformat.write(result.rebuilt, path)
            intake.repairs.append(result)


def discard(course: Path, assignment: str, student: str) -> None:
    """Remove a submission's private copies: its intake folder and its kernels' working copies
    (gradekit.plugins.preprocessors.bounded_execute), without following any link a kernel made."""
    from gradekit.core.files import remove_tree

    course = Course(course)
    remove_tree(course.intake(assignment) / student)
    remove_tree(course.scratch(assignment) / student)  # exactly this student's


