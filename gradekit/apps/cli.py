"""Command line of the course kit: `gradekit COMMAND` (or `python -m gradekit COMMAND`), run in a course
folder (the one with nbgrader_config.py) or given --course. An assignment may be left out when the
course has only one.

Every command is one row of COMMANDS: its handler, whether it needs a course folder and an assignment,
and which of the shared options it takes (`--jobs`: submissions graded at once; `--timeout`: wall seconds
per submission; both default to the course's `c.BatchGrading` settings, except strength's timeout, 120 s,
because a mutant may loop forever). Options take positive numbers only (argparse's usage error, exit 2).
Library code raises GradekitError; `main` prints it once with its fix and exits 1."""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from gradekit.core.errors import GradekitError
from gradekit.core.layout import CONFIG_FILE, Course


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    run: Callable[[Course, str | None, argparse.Namespace], int]  # (course, assignment, args) -> exit status
    options: Callable[[argparse.ArgumentParser], None] = lambda p: None
    needs_course: bool = True  # the folder must hold nbgrader_config.py
    assignment: bool = True  # takes an optional assignment argument
    shared: tuple[str, ...] = field(default=())  # of "jobs", "timeout"
    every_assignment: bool = False  # no assignment given: every one, rather than the only one
    timeout_default: float | None = None  # else BatchGrading.timeout


# ---- handlers: each gets the course, the assignment picked (None when the command takes none) and the args

def _generate(course: Course, assignment: str | None, args) -> int:
    from gradekit.core.nbgrader_run import generate

    for name in [assignment] if assignment else course.assignments():
        try:
            generate(course, name)
        except RuntimeError as err:
            raise GradekitError(f"{err}\n\nrelease/ and solutions/ of {name} were left as they were",
                                "if the gradebook already holds submissions, nbgrader will not change the "
                                "assignment's notebooks: finish grading this version, or move gradebook.db away "
                                "to start a new one") from None
        print(f"release/{name} and solutions/{name} regenerated from source/{name}")
    return 0


def _demo(course: Course, assignment, args) -> int:
    from gradekit.apps.demo import main as demo

    return demo(course)


def _grade(course: Course, assignment: str, args) -> int:
    from gradekit.core.settings import Limits
    from gradekit.grading.batch import grade

    limits = Limits.from_config(course, timeout=args.timeout, memory_mb=args.memory_limit)
    grade(course, assignment, students=args.student, jobs=args.jobs, limits=limits, force=args.force,
          retry_failed=args.retry_failed, feedback=not args.no_feedback, scheduler=args.scheduler,
          zip_file=args.zip, times_file=args.times, seed=args.seed)
    return 0


def _strength(course: Course, assignment: str, args) -> int:
    from gradekit.authoring.strength import run, summary_table

    report = run(course, assignment, notebooks=args.notebook, jobs=args.jobs, sample=args.sample,
                 seed=args.seed, timeout=args.timeout, fairness=not args.no_fairness, draws=args.draws)
    print(summary_table(report))
    if args.min_kill_rate is not None and (report.summary["all"].kill_rate or 0.0) < args.min_kill_rate:
        return 1
    return 1 if args.strict and (report.unfair or report.defects) else 0


def _check(course, assignment, args) -> int:
    from gradekit.apps.selfcheck import check

    return check(args.notebook, timeout=args.cell_timeout)


def _similarity(course: Course, assignment: str, args) -> int:
    from gradekit.grading.similarity import run
    from gradekit.records.report import write_report
    from gradekit.records.similarity_flags import describe

    print(describe(run(course, assignment)))
    print(f"report: {write_report(course, assignment)}")
    return 0


def _export(course: Course, assignment: str, args) -> int:
    from gradekit.records.export import write_export

    print(write_export(course, assignment))
    return 0


def _report(course: Course, assignment: str, args) -> int:
    from gradekit.records.report import write_report

    print(write_report(course, assignment))
    return 0


def _lms(course: Course, assignment: str, args) -> int:
    from gradekit.records.lms_import import summary, write_import

    try:
        out, filled = write_import(course, assignment, Path(args.gradebook), args.column, args.format,
                                   Path(args.roster) if args.roster else None, Path(args.out) if args.out else None)
    except (OSError, ValueError, KeyError) as err:
        raise GradekitError(str(err)) from None
    print(summary(out, filled))
    return 0


def _late(course: Course, assignment: str, args) -> int:
    from gradekit.records.export import write_export
    from gradekit.records.lateness import describe_extensions, grant_extension, parse_moment, set_due_date

    if args.command == "extensions":
        print(describe_extensions(course, assignment))
        return 0
    if args.command == "due":
        try:
            changed = set_due_date(course, assignment, parse_moment(args.at))
        except ValueError as err:
            raise GradekitError(f"--at {args.at!r}: {err}", "give '2026-12-04 23:59' (UTC) or "
                                "'2026-12-04T23:59+01:00'") from None
    else:
        changed = grant_extension(course, assignment, args.student, days=args.days, hours=args.hours,
                                  reason=args.reason)
    print(f"late penalties changed for: {', '.join(changed) or 'nobody'}; export rewritten: "
          f"{write_export(course, assignment)}")
    return 0


def _repair(course: Course, assignment: str, args) -> int:
    from gradekit.grading.intake import SubmissionRejected, discard, take_in

    if args.student not in course.submitted_students(assignment):
        raise GradekitError(f"no submission in submitted/{args.student}/{assignment}/")
    try:
        print(take_in(course, assignment, args.student, course.notebooks(assignment)).describe())
    except SubmissionRejected as err:
        print(f"not graded: {err}")
        return 1
    finally:
        discard(course, assignment, args.student)
    return 0


def _config(course, assignment, args) -> int:
    from gradekit.core.settings import describe

    print(describe())
    return 0


# ---- each command's own options

def _grade_options(p):
    p.add_argument("--student", nargs="+", help="grade only these students")
    p.add_argument("--memory-limit", type=_positive(int), help="MB per submission (default: BatchGrading.memory_limit_mb)")
    p.add_argument("--force", action="store_true", help="regrade submissions that already have a result")
    p.add_argument("--retry-failed", action="store_true", help="regrade submissions whose grading failed")
    p.add_argument("--no-feedback", action="store_true", help="skip generating feedback")
    p.add_argument("--zip", help="an LMS export (zip) to collect into submitted/ first (nbgrader zip_collect)")
    p.add_argument("--times", help="with --zip: a CSV of the LMS's submission times (columns student_id, "
                                   "submitted_at)")
    p.add_argument("--scheduler", help="address of a dask.distributed scheduler to grade on (shared filesystem)")
    p.add_argument("--seed", type=int, help="the trusted re-check's secret seed, to reproduce an earlier batch "
                                            "(its results record it); default: a new one each batch")


def _strength_options(p):
    p.add_argument("--notebook", nargs="+", help="only these notebooks (names without .ipynb)")
    p.add_argument("--sample", type=int, help="grade a random sample of this many mutants per notebook")
    p.add_argument("--seed", type=int, default=0, help="seed of the sample")
    p.add_argument("--min-kill-rate", type=float, help="exit 1 when the overall kill rate is below this (0-1)")
    p.add_argument("--draws", type=int, default=50,
                   help="draws of the free randomness (init, seeds, shuffling) per notebook, for the flake rate")
    p.add_argument("--no-fairness", action="store_true", help="grade mutants only: no correct variants, no draws")
    p.add_argument("--strict", action="store_true", help="exit 1 on any false fail, flake or test/re-check "
                                                         "disagreement")


def _check_options(p):
    p.add_argument("notebook")
    p.add_argument("--cell-timeout", "--timeout", type=_positive(int), default=120,
                   help="seconds per cell (default: 120)")


def _lms_options(p):
    p.add_argument("--gradebook", required=True, help="the gradebook exported from the LMS (CSV)")
    p.add_argument("--column", required=True, help='the assignment\'s column in it, e.g. "Assignment 1 (12345)"')
    p.add_argument("--format", choices=["canvas", "moodle"], default="canvas", help="the LMS (default: canvas)")
    p.add_argument("--roster", help="CSV with columns student_id,lms_id when nbgrader's ids are not the LMS's")
    p.add_argument("--out", help="the import file (default: grading/<assignment>/<format>_import.csv)")


def _due_options(p):
    p.add_argument("--at", required=True, help="'2026-12-04 23:59' (UTC) or with an offset, '2026-12-04T23:59+01:00'")


def _extension_options(p):
    p.add_argument("student")
    p.add_argument("--days", type=float, default=0)
    p.add_argument("--hours", type=float, default=0)
    p.add_argument("--reason", default="", help="kept in grading/<assignment>/extensions.json")


def _student_option(p):
    p.add_argument("student")


COMMANDS = (
    Command("generate", "regenerate release/ and solutions/ from source/ (every assignment by default)", _generate,
            every_assignment=True),
    Command("demo", "generate the release, autograde sample submissions in demo/, print the grade table", _demo,
            assignment=False),
    Command("grade", "autograde submitted/ in parallel, with limits, statuses, export and report", _grade,
            _grade_options, shared=("jobs", "timeout")),
    Command("strength", "mutation testing of the hidden tests: kill rate, false fails, flakes, report", _strength,
            _strength_options, shared=("jobs", "timeout"), timeout_default=120.0),  # a mutant may loop forever
    Command("check", "students: run a notebook's visible tests; exit 1 if any fails", _check, _check_options,
            needs_course=False, assignment=False),
    Command("similarity", "flag pairs of submissions to compare by hand (code, and outputs with different seeds); "
                          "scores are not changed", _similarity),
    Command("export", "rewrite grades.csv from stored results", _export),
    Command("report", "rewrite the class report from stored results", _report),
    Command("lms", "fill an assignment column of the LMS's gradebook export from the current grades", _lms,
            _lms_options),
    Command("due", "set the assignment's due date (in the gradebook) and recompute late penalties", _late,
            _due_options),
    Command("extension", "give a student more time (through nbgrader's gradebook) and recompute the penalty",
            _late, _extension_options),
    Command("extensions", "list the extensions granted for the assignment", _late),
    Command("repair", "show what intake would do with a submission (files set aside, names taken, cells placed "
                      "in a notebook rebuilt from the release), without grading it", _repair, _student_option),
    Command("config", "list the batch settings (c.BatchGrading.* in nbgrader_config.py)", _config,
            needs_course=False, assignment=False),
)
def _positive(kind: type) -> Callable[[str], float]:
    """An argparse type: a number of `kind` above 0, else the usual usage error naming the option."""
    def parse(text: str):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
        return value
    parse.__name__ = kind.__name__  # argparse names the type in its message
    return parse


def _jobs_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--jobs", type=_positive(int),
                   help="submissions graded at once (default: BatchGrading.jobs, else one per core)")


def _timeout_option(p: argparse.ArgumentParser, default: float | None) -> None:
    shown = f"{default:g}" if default else "BatchGrading.timeout"
    p.add_argument("--timeout", type=_positive(float), default=default,
                   help=f"wall seconds per submission (default: {shown})")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gradekit", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for c in COMMANDS:
        p = sub.add_parser(c.name, help=c.help, description=c.help)
        if c.assignment:
            p.add_argument("assignment", nargs="?", help="an assignment in source/ (default: the only one)")
        if c.needs_course:
            p.add_argument("--course", default=".", help="course folder (default: the current folder)")
        if "jobs" in c.shared:
            _jobs_option(p)
        if "timeout" in c.shared:
            _timeout_option(p, c.timeout_default)
        c.options(p)
    return parser


def _validate_settings(course: Course) -> None:
    """The course's c.BatchGrading settings, read and validated before a command starts."""
    from traitlets import TraitError

    from gradekit.core.settings import batch_settings

    try:
        batch_settings(course)
    except TraitError as err:
        raise GradekitError(f"{course / CONFIG_FILE}: {err}", "correct the setting in the course's config") from None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from gradekit.core.nbgrader_run import nbgrader_env

    # nbgrader's gradebook runs `alembic` by name: a TA may call .venv/bin/gradekit without activating .venv
    os.environ["PATH"] = nbgrader_env()["PATH"]
    command = next(c for c in COMMANDS if c.name == args.command)
    course = Course(Path(getattr(args, "course", ".")))
    try:
        if command.needs_course:
            if not (course / CONFIG_FILE).is_file():
                raise GradekitError(f"{course.root} is not a course folder (no {CONFIG_FILE})", "run in one, or give --course")
            _validate_settings(course)
        picks = command.assignment and command.needs_course and (args.assignment or not command.every_assignment)
        assignment = course.pick(args.assignment) if picks else None
        return command.run(course, assignment, args)
    except GradekitError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
