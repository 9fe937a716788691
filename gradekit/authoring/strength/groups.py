"""Correct variants graded in groups: variants that rewrite different cells share one submission, so the
fairness half of a strength run costs one grading per group rather than one per variant.

A group is only ever evidence *for* its members. One that comes back with anything but full marks and two
agreeing judges (a lost point, a failed grading, a flag, a disagreement) is split, and each member is
graded alone: every lost point is then attributed to one variant, as if nothing had been grouped. What a
group assumes is that its members are independent: a correct rewrite of one cell does not change what the
tests of another cell observe, so it cannot hide another member's false fail. Draws (a redraw of the whole
notebook's free randomness) and variants that add or remove cells are always graded alone.
"""
from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # names in annotations only
    from nbformat import NotebookNode

Cell = tuple[str, int]  # (notebook, index of the cell in it)


@dataclass
class CorrectVariant:
    """A correct submission that differs from the reference: it must keep full marks."""
    student: str
    family: str  # "generated: <rule>", "catalogued" or "draw"
    label: str
    notebooks: dict  # {name: notebook}
    diff: str


def changed_cells(solved: dict[str, NotebookNode], variant: CorrectVariant) -> dict[Cell, dict] | None:
    """The cells `variant` changes against the solved notebooks, or None when it adds or removes cells (it
    cannot then be combined with another)."""
    changed = {}
    for name, nb in variant.notebooks.items():
        reference = solved[name].cells
        if len(nb.cells) != len(reference):
            return None
        changed.update({(name, i): cell for i, (cell, ref) in enumerate(zip(nb.cells, reference)) if cell != ref})
    return changed


@dataclass(eq=False)  # one group is one submission: compared by identity
class Group:
    """Variants graded as one submission (`student`); a group of one is the variant's own submission."""
    student: str
    members: list[CorrectVariant]
    notebooks: dict[str, NotebookNode]


def pack(variants: Iterable[CorrectVariant], solved: dict[str, NotebookNode]) -> list[Group]:
    """First fit: each variant joins the first group none of whose members changes one of its cells."""
    packs: list[tuple[list[CorrectVariant], dict[Cell, dict]]] = []
    alone: list[CorrectVariant] = []
    for v in variants:
        cells = changed_cells(solved, v) if v.family != "draw" else None
        if not cells:
            alone.append(v)
            continue
        home = next((p for p in packs if not cells.keys() & p[1].keys()), None)
        if home is None:
            packs.append(([v], dict(cells)))
        else:
            home[0].append(v)
            home[1].update(cells)
    groups = [Group(v.student, [v], v.notebooks) for v in alone]
    for k, (members, cells) in enumerate(packs):
        if len(members) == 1:
            groups.append(Group(members[0].student, members, members[0].notebooks))
            continue
        notebooks = {name: copy.deepcopy(solved[name]) for name in sorted({name for name, _ in cells})}
        for (name, i), cell in cells.items():
            notebooks[name].cells[i] = copy.deepcopy(cell)
        groups.append(Group(f"group-{k}", members, notebooks))
    return groups
