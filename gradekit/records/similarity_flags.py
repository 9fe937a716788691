"""The similarity flags as stored for the report: pairs for a TA to compare, never a score."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from gradekit.core.layout import Course


@dataclass
class Flag:
    a: str
    b: str
    signal: str  # "code" or "outputs"
    score: float
    detail: str
    lines: list = field(default_factory=list)


def stored_flags(course: Path, assignment: str) -> list[Flag]:
    path = Course(course).similarity_flags(assignment)
    return [Flag(**f) for f in json.loads(path.read_text())["flags"]] if path.exists() else []


def describe(flags: list[Flag]) -> str:
    if not flags:
        return "similarity: no pair flagged"
    lines = [f"similarity: {len(flags)} pairs to compare by hand (no score changed)"]
    lines += [f"  {f.a} and {f.b} ({f.signal}): {f.detail}" for f in flags]
    return "\n".join(lines)
