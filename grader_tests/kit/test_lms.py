"""Grades into the LMS (gradekit/records/lms_import.py): a Canvas gradebook export of a few hundred students round trip, a
Moodle export, a roster, and everything a TA must be told instead of a guess."""
from __future__ import annotations

import csv
import io
import random
import subprocess
import sys

import pytest

from gradekit.core.nbgrader_run import nbgrader_env
from gradekit.records.lms_import import FORMATS, fill
from grader_tests.helpers import ROOT

COLUMN = "Assignment 1 (4471)"


def canvas_export(n: int, seed: int = 0) -> tuple[str, list[str]]:
    """A Canvas gradebook export: the points row, a test student, other assignments' columns already graded."""
    rng = random.Random(seed)
    out = io.StringIO(newline="")
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Quiz 0 (4470)", COLUMN,
                "Project (4472)", "Current Score"])
    w.writerow(["    Points Possible", "", "", "", "", "10", "78", "100", "(read only)"])
    logins = [f"s{k:04d}" for k in range(n)]
    for k, login in enumerate(logins):
        w.writerow([f"Name{k}, Student{k}", str(9000 + k), f"SIS{k}", login, "DL101",
                    str(rng.randint(0, 10)), "", str(rng.randint(0, 100)), "55"])
    w.writerow(["Student, Test", "8999", "", "", "DL101", "", "", "", ""])
    return out.getvalue(), logins


def kit_rows(logins, seed=1):
    """Rows as the kit's export gives them: most graded, some waiting for manual grading, some failed."""
    rng = random.Random(seed)
    rows = []
    for login in logins:
        status = rng.choices(["graded", "needs_manual", "failed"], [90, 7, 3])[0]
        score = "" if status == "failed" else f"{rng.randint(0, 78)}.0"
        rows.append({"student_id": login, "status": status, "score": score,
                     "reason": "timeout after 600 s" if status == "failed" else ""})
    return rows


def parse(text):
    return list(csv.reader(io.StringIO(text)))


def test_canvas_round_trip_puts_every_score_in_its_row():
    export, logins = canvas_export(300)
    rows = kit_rows(logins[:-5]) + kit_rows(["zz-not-in-canvas"])  # 5 never submitted, 1 unknown to Canvas
    filled = fill(export, COLUMN, rows, FORMATS["canvas"])
    table = parse(filled.text)
    assert table[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", COLUMN], "only this column"
    assert table[1][0].strip() == "Points Possible" and table[1][-1] == "78"
    by_login = {r[3]: r[-1] for r in table[2:] if r[3]}
    expected = {r["student_id"]: r for r in rows}
    for login in logins:
        row = expected.get(login)
        if row and row["status"] == "graded":
            assert float(by_login[login]) == float(row["score"]), login
        else:
            assert by_login[login] == "", f"{login}: {row and row['status']} must stay blank"
    graded = [r for r in rows if r["status"] == "graded" and r["student_id"] in by_login]
    assert len(filled.filled) == len(graded) > 250
    assert set(filled.blank) == {r["student_id"] for r in rows
                                 if r["status"] != "graded" and r["student_id"] in by_login}
    assert any("timeout" in why for why in filled.blank.values())
    assert filled.not_submitted == logins[-5:]
    assert filled.not_in_lms == ["zz-not-in-canvas"]
    assert table[-1][0] == "Student, Test" and len(table) == 300 + 3
    # a second run, on the import file itself, changes nothing
    assert fill(filled.text, COLUMN, rows, FORMATS["canvas"]).text == filled.text


def test_roster_maps_nbgrader_ids_and_a_wrong_column_is_named():
    export, logins = canvas_export(3)
    roster = {f"jupyter-{k}": login for k, login in enumerate(logins)}
    rows = [{"student_id": f"jupyter-{k}", "status": "graded", "score": f"{70 + k}.0"} for k in range(3)]
    filled = fill(export, COLUMN, rows, FORMATS["canvas"], roster)
    assert [r[-1] for r in parse(filled.text)[2:5]] == ["70", "71", "72"]
    with pytest.raises(ValueError, match="Quiz 0"):
        fill(export, "Assignment 9", rows, FORMATS["canvas"])


def test_moodle_export_is_matched_by_id_number():
    text = ("First name,Last name,ID number,Institution,Department,Email address,Assignment: MLP (Real),"
            "Last downloaded from this course\r\n"
            "Ada,L,u1,,,ada@example.org,,1700000000\r\nAlan,T,u2,,,alan@example.org,,1700000000\r\n")
    rows = [{"student_id": "u1", "status": "graded", "score": "77.5"},
            {"student_id": "u2", "status": "needs_manual", "score": "74.0"}]
    filled = fill(text, "Assignment: MLP (Real)", rows, FORMATS["moodle"])
    table = parse(filled.text)
    assert table[0][-1] == "Assignment: MLP (Real)" and "Last downloaded from this course" not in table[0]
    assert [r[-1] for r in table[1:]] == ["77.5", ""] and list(filled.blank) == ["u2"]


def test_the_command_explains_a_missing_column(tmp_path):
    export, _ = canvas_export(2)
    (tmp_path / "canvas.csv").write_text(export)
    (tmp_path / "nbgrader_config.py").write_text((ROOT / "nbgrader_config.py").read_text())
    (tmp_path / "source" / "a1").mkdir(parents=True)
    (tmp_path / "source" / "a1" / "nb.ipynb").write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    out = subprocess.run([sys.executable, "-m", "gradekit", "lms", "a1", "--course", str(tmp_path), "--gradebook",
                          str(tmp_path / "canvas.csv"), "--column", "Nope"], env=nbgrader_env(),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and "has no column 'Nope'" in out.stderr and "Traceback" not in out.stderr, out.stderr
