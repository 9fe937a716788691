"""Repair, never guess: a damaged notebook rebuilt from the release with the student's answers in place.

Editors and students damage notebooks in ways that break nbgrader (its issues #1941, #1933, #1083, #981):
metadata stripped (an editor, Colab, a jupytext round trip), cells copied with their `grade_id`, split or
merged, a solution moved below its test, a cell's type changed, a file saved under another name. Before
grading, each submitted notebook is matched to its release cell by cell:

1. by `grade_id` (nbgrader's metadata); a solution that appears twice: consecutive copies are the parts of
   a split cell and are joined, otherwise the last one counts; a copied test cell is ignored (nbgrader puts
   every test back from the gradebook);
2. by cell id (nbformat 4.5);
3. by the released stub's first line (a solution cell the student edited still starts from the stub's
   signature), when exactly one unmatched cell holds it;
4. by position after the released cell before it (a written answer under its question), when that
   neighbour is found unchanged.

A notebook whose solution cells all keep their metadata, once each, in the release's order, is graded as
it is. Otherwise a clean copy of the release is built with every located answer in its cell and the
student's own extra cells after the released cell they followed, and graded instead; it runs in the
release's order, so a solution moved below its test still counts. What was done is recorded as a mapping
(released cell, how it was found, the student's cell) for the TA. Two different cells that both fit one
answer make the notebook ambiguous: it is not graded and a TA is shown the candidates.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import nbformat

if TYPE_CHECKING:  # names in annotations only
    from nbformat import NotebookNode

STUB_LINES = ("# YOUR CODE HERE", "raise NotImplementedError()", "YOUR ANSWER HERE")


@dataclass
class Placement:
    cell: str  # the released cell's grade_id
    how: str  # "grade_id", "cell id", "stub", "position", "joined", "last copy", "not found"
    student_cells: list[int] = field(default_factory=list)  # indices in the submitted notebook
    released: str = ""  # the first lines of the released cell and of the student's, side by side for a TA
    student: str = ""

    def describe(self) -> str:
        where = ", ".join(f"#{i + 1}" for i in self.student_cells) or "-"
        return f"{self.cell} <- cell {where} ({self.how})"


@dataclass
class Repair:
    notebook: str
    placements: list[Placement] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)
    rebuilt: object = None  # the notebook to grade, or None when the submission is graded as it is

    @property
    def repaired(self) -> bool:
        return self.rebuilt is not None

    def record(self) -> dict:
        """Plain data for the result and the report."""
        return {"notebook": self.notebook, "notes": self.notes,
                "placements": [vars(p) for p in self.placements if p.how != "grade_id"]}

    def flag(self) -> str:
        moved = [p.describe() for p in self.placements if p.how != "grade_id"]
        return (f"repaired {self.notebook}: " + "; ".join(self.notes + moved))[:1500]


def _meta(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def _gid(cell) -> str | None:
    gid = _meta(cell).get("grade_id")
    return gid if isinstance(gid, str) else None


def _is_solution(cell) -> bool:
    return bool(_meta(cell).get("solution"))


def _text(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _stub_key(cell) -> str | None:
    """The first telling line of a released stub: its signature, or its first line of text."""
    for line in _text(cell).splitlines():
        stripped = line.strip()
        if stripped and not any(stripped.startswith(s) for s in STUB_LINES) and len(stripped) >= 8:
            return stripped
    return None


def _only_stub(text: str, stub: str) -> bool:
    """Whether a cell is still the released stub (nothing of the student's in it)."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return text.strip() == stub or all(any(line.startswith(s) for s in STUB_LINES) for line in lines)


def intact(released: NotebookNode, submitted: NotebookNode) -> bool:
    """Whether nbgrader can grade the submission as it is: every released solution once, with its metadata
    and type, every graded id at most once, solutions and tests in the release's order."""
    order = [_gid(c) for c in released.cells if _gid(c)]
    kinds = {_gid(c): (c.cell_type, _is_solution(c)) for c in released.cells if _gid(c)}
    seen = [_gid(c) for c in submitted.cells if _gid(c) in kinds]
    if len(seen) != len(set(seen)):
        return False
    for cell in submitted.cells:
        gid = _gid(cell)
        if gid in kinds and (cell.cell_type, _is_solution(cell)) != kinds[gid]:
            return False
    solutions = [g for g in order if kinds[g][1]]
    if any(g not in seen for g in solutions):
        return False
    position = {g: i for i, g in enumerate(order)}
    return [position[g] for g in seen] == sorted(position[g] for g in seen)


def repair(released: NotebookNode, submitted: NotebookNode, notebook: str) -> Repair:
    """Match `submitted` to `released` (both nbformat v4 notebooks); see the module's docstring."""
    result = Repair(notebook)
    if intact(released, submitted):
        return result
    cells = submitted.cells
    used: set[int] = set()
    released_ids = {_gid(c): c for c in released.cells if _gid(c)}
    released_sources = {_text(c).strip() for c in released.cells}
    answers = [c for c in released.cells if _is_solution(c) and _gid(c)]
    found: dict[str, Placement] = {}

    # 1. by grade_id
    by_gid: dict[str, list[int]] = {}
    for i, cell in enumerate(cells):
        if _gid(cell) in released_ids:
            by_gid.setdefault(_gid(cell), []).append(i)
    for gid, where in by_gid.items():
        if not _is_solution(released_ids[gid]):
            used.update(where)
            if len(where) > 1:
                result.notes.append(f"test or read-only cell {gid} appears {len(where)} times: copies ignored")
            continue
        used.update(where)
        stub, key = _text(released_ids[gid]).strip(), _stub_key(released_ids[gid])
        answered = [i for i in where if not _only_stub(_text(cells[i]), stub)] or where[-1:]
        if len(answered) < len(where):
            result.notes.append(f"{gid}: {len(where) - len(answered)} unanswered copies of its stub ignored")
        where = answered
        with_key = [i for i in where if key and key in _text(cells[i])]
        if len(where) == 1:
            found[gid] = Placement(gid, "grade_id", where)
        elif len(with_key) <= 1 and all(b == a + 1 for a, b in zip(where, where[1:])):
            found[gid] = Placement(gid, "joined", where)
            result.notes.append(f"{gid} was split into {len(where)} cells: joined")
        else:
            found[gid] = Placement(gid, "last copy", where[-1:])
            result.notes.append(f"{gid} appears {len(where)} times: the last one counts")

    # 2. by cell id, 3. by the stub's first line, 4. by position after an unchanged neighbour
    for answer in answers:
        gid = _gid(answer)
        if gid in found:
            continue
        same_id = [i for i, c in enumerate(cells) if i not in used and answer.get("id") and c.get("id") == answer.get("id")]
        if len(same_id) == 1:
            found[gid] = Placement(gid, "cell id", same_id)
            used.update(same_id)
            continue
        key = _stub_key(answer)
        holders = [i for i, c in enumerate(cells) if i not in used and key and key in _text(c)
                   and _text(c).strip() not in released_sources - {_text(answer).strip()}]
        distinct = {_text(cells[i]).strip() for i in holders}
        if len(holders) == 1 or (holders and len(distinct) == 1):
            found[gid] = Placement(gid, "stub", holders[-1:])
            used.update(holders)
            continue
        if len(holders) > 1:
            result.ambiguous.append(f"{gid}: cells {', '.join(f'#{i + 1}' for i in holders)} all start from its stub")
            continue
        position = _after_neighbour(released, answer, cells, used)
        if position is not None:
            found[gid] = Placement(gid, "position", [position])
            used.add(position)
        else:
            found[gid] = Placement(gid, "not found")
            result.notes.append(f"no answer found for {gid}: the release's stub is graded")

    result.placements = [found[_gid(a)] for a in answers if _gid(a) in found]
    for answer in answers:
        place = found.get(_gid(answer))
        if place:
            place.released = _text(answer)[:160]
            place.student = "\n".join(_text(cells[i]) for i in place.student_cells)[:160]
    if result.ambiguous:
        return result
    result.rebuilt = _rebuild(released, cells, found, used, released_sources, result)
    return result


def _after_neighbour(released, answer, cells, used) -> int | None:
    index = next(i for i, c in enumerate(released.cells) if c is answer)
    if index == 0:
        return None
    anchor = _text(released.cells[index - 1]).strip()
    spots = [i for i, c in enumerate(cells) if _text(c).strip() == anchor]
    if len(spots) != 1:
        return None
    following = spots[0] + 1
    if following < len(cells) and following not in used and cells[following].cell_type in ("code", "markdown"):
        return following
    return None


def _rebuild(released, cells, found, used, released_sources, result):
    nb = copy.deepcopy(released)
    for cell in nb.cells:
        place = found.get(_gid(cell)) if _is_solution(cell) else None
        if place and place.student_cells:
            parts = [_text(cells[i]) for i in place.student_cells]
            if any(cells[i].cell_type != cell.cell_type for i in place.student_cells):
                result.notes.append(f"{_gid(cell)} had another cell type: graded as {cell.cell_type}")
            cell.source = "\n".join(parts)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    # the student's own cells (helpers, scratch work) after the released cell they followed
    anchors = {}
    for i, cell in enumerate(cells):
        text = _text(cell).strip()
        if i in used or not text or text in released_sources:
            continue
        before = _preceding_released(cells, i, found, released)
        anchors.setdefault(before, []).append(i)
    result.notes += _order_notes(found, released, cells)
    out = []
    if None in anchors:
        out += [_extra(cells[i]) for i in anchors[None]]
    for index, cell in enumerate(nb.cells):
        out.append(cell)
        out += [_extra(cells[i]) for i in anchors.get(index, [])]
    if any(anchors.values()):
        result.notes.append(f"{sum(len(v) for v in anchors.values())} cells of the student's own kept after the "
                            "released cells they followed")
    nb.cells = out
    return nb


def _preceding_released(cells, i, found, released) -> int | None:
    """Index in the release of the released cell nearest above student cell i."""
    by_student = {j: g for g, p in found.items() for j in p.student_cells}
    position = {_gid(c): k for k, c in enumerate(released.cells) if _gid(c)}
    by_text = {_text(c).strip(): k for k, c in enumerate(released.cells)}
    for j in range(i - 1, -1, -1):
        if j in by_student:
            return position[by_student[j]]
        gid = _gid(cells[j])
        if gid in position:
            return position[gid]
        if _text(cells[j]).strip() in by_text:
            return by_text[_text(cells[j]).strip()]
    return None


def _extra(cell):
    if cell.cell_type == "code":
        new = nbformat.v4.new_code_cell(_text(cell))
    elif cell.cell_type == "markdown":
        new = nbformat.v4.new_markdown_cell(_text(cell))
    else:
        new = nbformat.v4.new_raw_cell(_text(cell))
    return new


def _order_notes(found, released, cells) -> list[str]:
    """Solutions the student had moved below a released cell that follows them (their test): in the
    rebuilt copy they run in their place."""
    first = {}
    for i, cell in enumerate(cells):
        first.setdefault(_gid(cell), i)
    order = [_gid(c) for c in released.cells if _gid(c)]
    notes = []
    for gid, place in found.items():
        if not place.student_cells:
            continue
        later = [h for h in order[order.index(gid) + 1:] if h not in found and first.get(h, 1e9) < place.student_cells[0]]
        if later:
            notes.append(f"{gid} was below {later[0]}: it runs in its place, before it")
    return notes


# ------------------------------------------------------------------------------------------------
# Notebook file names
# ------------------------------------------------------------------------------------------------

_COPY = re.compile(r"(\s*\(\d+\)|[-_ ]copy\d*|\s+\d+)$", re.IGNORECASE)


def normal_name(stem: str) -> str:
    """`part1 (1)`, `part1-Copy1`, `Part1` all become `part1`."""
    previous = None
    stem = stem.strip()
    while previous != stem:
        previous, stem = stem, _COPY.sub("", stem).strip()
    return re.sub(r"[\s_-]+", "_", stem.lower())


def match_names(wanted: list[str], found: list[str]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """({wanted stem: found stem} taken under another name, {wanted stem: candidates} when ambiguous), for
    the wanted notebooks that are not there under their own name."""
    taken, ambiguous = {}, {}
    for stem in wanted:
        if stem in found:
            continue
        candidates = [f for f in found if f not in wanted and normal_name(f) == normal_name(stem)]
        if len(candidates) == 1:
            taken[stem] = candidates[0]
        elif candidates:
            ambiguous[stem] = sorted(candidates)
    return taken, ambiguous
