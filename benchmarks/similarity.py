"""Precision and recall of the similarity flags (gradekit/grading/similarity.py), and their cost.

Builds a class from the assignment's kit (gradekit.authoring.disguise.population): the reference, each correct
alternative and each bug on its own, students who combine several alternatives and a bug or two, and a
disguised copy of some of them (renamed variables, reordered functions, rewritten comments, all three).
Prints precision and recall of the code signal over the copy pairs, recall per disguise, the flags among
the single correct alternatives (there must be none), the seconds per 100 submissions, and the score
distribution of independent and copied pairs.
Run: .venv/bin/python benchmarks/similarity.py [--course .] [--composed 60] [--copies 24] [ASSIGNMENT]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from gradekit.authoring.disguise import DISGUISES, population
from gradekit.core.layout import Course
from gradekit.grading.similarity import Document, code_limit, code_scores, compare, released_cells, solution_cells


def documents(course: Path, assignment: str, students: dict) -> tuple[list[Document], dict]:
    solution_ids, stubs = released_cells(course, assignment)
    docs = [Document(s, {k: v for nb in solution_ids for k, v in solution_cells(nbs[nb], nb, solution_ids[nb]).items()})
            for s, nbs in students.items()]
    return docs, stubs


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--course", default=".")
    parser.add_argument("--composed", type=int, default=60)
    parser.add_argument("--copies", type=int, default=24)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("assignment", nargs="?")
    args = parser.parse_args()
    course = Path(args.course).resolve()
    assignment = Course(course).pick(args.assignment)
    students, pairs, singles = population(course, assignment, args.composed, args.copies, args.seed)
    docs, stubs = documents(course, assignment, students)

    t0 = time.perf_counter()
    flags = compare(docs, stubs)
    seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    compare(docs[:100], stubs)
    per_100 = time.perf_counter() - t0

    flagged = {tuple(sorted((f.a, f.b))) for f in flags if f.signal == "code"}
    positives = {tuple(sorted(p)) for p in pairs}
    found = flagged & positives
    print(f"{len(docs)} submissions, {len(positives)} disguised copies, {len(docs) * (len(docs) - 1) // 2} pairs")
    print(f"flagged pairs: {len(flagged)}; precision {len(found) / max(1, len(flagged)):.3f}, "
          f"recall {len(found) / max(1, len(positives)):.3f}")
    for how in DISGUISES:
        mine = {p for p in positives if any(s.startswith(f"copy-{how}-") for s in p)}
        print(f"  recall, {how:9s}: {len(mine & found)}/{len(mine)}")
    among_singles = [p for p in flagged if set(p) <= singles | {"reference"}]
    print(f"flags among the {len(singles)} single correct alternatives and the reference: {len(among_singles)}")
    for p in sorted(flagged - positives):
        print(f"  not a copy, flagged: {p[0]} and {p[1]}")
    for p in sorted(positives - found):
        print(f"  copy missed: {p[1]}")
    matrix, _ = code_scores(docs, stubs)
    index = {d.student: i for i, d in enumerate(docs)}
    copies = sorted(matrix[index[a], index[b]] for a, b in positives)
    others = sorted((matrix[i, j] for i in range(len(docs)) for j in range(i + 1, len(docs))
                     if tuple(sorted((docs[i].student, docs[j].student))) not in positives), reverse=True)
    print(f"pair scores (flagged above {code_limit(len(docs)):.1f}): copies {' '.join(f'{x:.1f}' for x in copies)}; "
          f"highest other pairs {' '.join(f'{x:.1f}' for x in others[:10])}")
    print(f"seconds: {seconds:.2f} for all {len(docs)}; {per_100:.2f} for 100 submissions (pairs grow with the square)")


if __name__ == "__main__":
    main()
