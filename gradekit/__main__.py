"""Command line of the course kit: `gradekit COMMAND` (or `python -m gradekit COMMAND`), run in a course
folder (the one with nbgrader_config.py) or given --course. An assignment may be left out when the
course has only one."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gradekit", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name, help_text, assignment=True):
        p = sub.add_parser(name, help=help_text, description=help_text)
        if assignment:
            p.add_argument("assignment", nargs="?", help="an assignment in source/ (default: the only one)")
        p.add_argument("--course", default=".", help="course folder (default: the current folder)")
        return p

    command("generate", "regenerate release/ and solutions/ from source/ (every assignment by default)")
    command("demo", "generate the release, autograde sample submissions in demo/, print the grade table",
            assignment=False)
    g = command("grade", "autograde submitted/ in parallel, with limits, statuses, export and report")
    g.add_argument("--jobs", type=int, help="submissions graded at once (default: BatchGrading.jobs, else one "
                                            "per core)")
    g.add_argument("--student", nargs="+", help="grade only these students")
    g.add_argument("--timeout", type=float, help="wall seconds per submission (default: BatchGrading.timeout)")
    g.add_argument("--memory-limit", type=int, help="MB per submission (default: BatchGrading.memory_limit_mb)")
    g.add_argument("--force", action="store_true", help="regrade submissions that already have a result")
    g.add_argument("--retry-failed", action="store_true", help="regrade submissions whose grading failed")
    g.add_argument("--no-feedback", action="store_true", help="skip generating feedback")
    g.add_argument("--zip", help="an LMS export (zip) to collect into submitted/ first (nbgrader zip_collect)")
    g.add_argument("--times", help="with --zip: a CSV of the LMS's submission times (columns student_id, "
                                   "submitted_at)")
    g.add_argument("--scheduler", help="address of a dask.distributed scheduler to grade on (shared filesystem)")
    g.add_argument("--seed", type=int, help="the trusted re-check's secret seed, to reproduce an earlier batch "
                                            "(its results record it); default: a new one each batch")
    st = command("strength", "mutation testing of the hidden tests: kill rate, false fails, flakes, report")
    st.add_argument("--notebook", nargs="+", help="only these notebooks (names without .ipynb)")
    st.add_argument("--jobs", type=int, help="mutants graded at once (default: one per core)")
    st.add_argument("--sample", type=int, help="grade a random sample of this many mutants per notebook")
    st.add_argument("--seed", type=int, default=0, help="seed of the sample")
    st.add_argument("--timeout", type=float, default=120.0, help="wall seconds per mutant")
    st.add_argument("--min-kill-rate", type=float, help="exit 1 when the overall kill rate is below this (0-1)")
    st.add_argument("--draws", type=int, default=50,
                    help="draws of the free randomness (init, seeds, shuffling) per notebook, for the flake rate")
    st.add_argument("--no-fairness", action="store_true", help="grade mutants only: no correct variants, no draws")
    st.add_argument("--strict", action="store_true",
                    help="exit 1 on any false fail, flake or test/re-check disagreement")
    ck = sub.add_parser("check", help="students: run a notebook's visible tests; exit 1 if any fails")
    ck.add_argument("notebook")
    ck.add_argument("--timeout", type=int, default=120, help="seconds per cell")
    command("similarity", "flag pairs of submissions to compare by hand (code, and outputs with different seeds); "
                          "scores are not changed")
    for name in ("export", "report"):
        command(name, f"rewrite the grading {name} from stored results")
    lm = command("lms", "fill an assignment column of the LMS's gradebook export from the current grades")
    lm.add_argument("--gradebook", required=True, help="the gradebook exported from the LMS (CSV)")
    lm.add_argument("--column", required=True, help='the assignment\'s column in it, e.g. "Assignment 1 (12345)"')
    lm.add_argument("--format", choices=["canvas", "moodle"], default="canvas", help="the LMS (default: canvas)")
    lm.add_argument("--roster", help="CSV with columns student_id,lms_id when nbgrader's ids are not the LMS's")
    lm.add_argument("--out", help="the import file (default: grading/<assignment>/<format>_import.csv)")
    du = command("due", "set the assignment's due date (in the gradebook) and recompute late penalties")
    du.add_argument("--at", required=True, help="'2026-12-04 23:59' (UTC) or with an offset, '2026-12-04T23:59+01:00'")
    ex = command("extension", "give a student more time (through nbgrader's gradebook) and recompute the penalty")
    ex.add_argument("student")
    ex.add_argument("--days", type=float, default=0)
    ex.add_argument("--hours", type=float, default=0)
    ex.add_argument("--reason", default="", help="kept in grading/<assignment>/extensions.json")
    command("extensions", "list the extensions granted for the assignment")
    rp = command("repair", "show what intake would do with a submission (files set aside, names taken, cells "
                           "placed in a notebook rebuilt from the release), without grading it")
    rp.add_argument("student")
    sub.add_parser("config", help="list the batch settings (c.BatchGrading.* in nbgrader_config.py)")
    return parser


def main(argv=None) -> int:
    from gradekit.core.layout import Course

    args = build_parser().parse_args(argv)
    course = Path(getattr(args, "course", ".")).resolve()
    if args.command in ("generate", "grade", "strength", "export", "report", "demo", "lms", "due", "extension",
                        "extensions", "repair", "similarity") \
            and not (course / "nbgrader_config.py").is_file():
        raise SystemExit(f"error: {course} is not a course folder (no nbgrader_config.py): run in one, "
                         "or give --course")
    if args.command == "generate":
        return generate(course, [Course(course).pick(args.assignment)] if args.assignment else None)
    if args.command == "repair":
        from gradekit.grading.intake import SubmissionRejected, discard, take_in

        assignment = Course(course).pick(args.assignment)
        if args.student not in Course(course).submitted_students(assignment):
            raise SystemExit(f"error: no submission in submitted/{args.student}/{assignment}/")
        try:
            print(take_in(course, assignment, args.student, Course(course).notebooks(assignment)).describe())
        except SubmissionRejected as err:
            print(f"not graded: {err}")
            return 1
        finally:
            discard(course, assignment, args.student)
        return 0
    if args.command == "grade":
        from traitlets import TraitError

        from gradekit.grading.batch import grade
        from gradekit.core.settings import Limits

        try:
            limits = Limits.from_config(course, timeout=args.timeout, memory_mb=args.memory_limit)
        except TraitError as err:
            raise SystemExit(f"error: {course / 'nbgrader_config.py'}: {err}")
        grade(course, Course(course).pick(args.assignment), students=args.student, jobs=args.jobs,
              limits=limits, force=args.force, retry_failed=args.retry_failed, feedback=not args.no_feedback,
              scheduler=args.scheduler, zip_file=args.zip, times_file=args.times, seed=args.seed)
        return 0
    if args.command == "check":
        from gradekit.apps.selfcheck import check
        return check(args.notebook, timeout=args.timeout)
    if args.command == "strength":
        return strength(course, Course(course).pick(args.assignment), args)
    if args.command in ("export", "report"):
        from gradekit.records.export import write_export
        from gradekit.records.report import write_report

        print((write_export if args.command == "export" else write_report)(
            course, Course(course).pick(args.assignment)))
        return 0
    if args.command == "similarity":
        from gradekit.records.report import write_report
        from gradekit.records.similarity_flags import describe
        from gradekit.grading.similarity import run

        assignment = Course(course).pick(args.assignment)
        print(describe(run(course, assignment)))
        print(f"report: {write_report(course, assignment)}")
        return 0
    if args.command in ("due", "extension", "extensions"):
        return late_command(course, Course(course).pick(args.assignment), args)
    if args.command == "lms":
        from gradekit.records.lms_import import summary, write_import

        try:
            out, filled = write_import(course, Course(course).pick(args.assignment), Path(args.gradebook), args.column,
                                       args.format, Path(args.roster) if args.roster else None,
                                       Path(args.out) if args.out else None)
        except (OSError, ValueError, KeyError) as err:
            raise SystemExit(f"error: {err}")
        print(summary(out, filled))
        return 0
    if args.command == "demo":
        from gradekit.apps.demo import main as demo
        return demo(course)
    if args.command == "config":
        from gradekit.core.settings import describe
        print(describe())
        return 0
    return 2


def generate(course: Path, assignments) -> int:
    from gradekit.core.nbgrader_run import generate as generate_assignment
    from gradekit.core.layout import Course

    for assignment in assignments or Course(course).assignments():
        try:
            generate_assignment(course, assignment)
        except RuntimeError as err:
            print(f"error: {err}\n\nrelease/ and solutions/ of {assignment} were left as they were. If the "
                  "gradebook already holds submissions, nbgrader will not change the assignment's notebooks: "
                  "finish grading this version, or move gradebook.db away to start a new one.", file=sys.stderr)
            return 1
        print(f"release/{assignment} and solutions/{assignment} regenerated from source/{assignment}")
    return 0


def strength(course: Path, assignment: str, args) -> int:
    from gradekit.authoring.strength import run

    report = run(course, assignment, notebooks=args.notebook, jobs=args.jobs, sample=args.sample,
                 seed=args.seed, timeout=args.timeout, fairness=not args.no_fairness, draws=args.draws)
    overall, fair = report["summary"]["all"], report["fairness"]
    rate = overall["kill_rate"] or 0.0
    pct = lambda g: "n/a" if g["rate"] is None else f"{100 * g['rate']:.1f}% of {g['graded']}"  # noqa: E731
    print(f"{'':16s}{'kill rate':>22s}{'false-fail rate':>22s}{'flake rate':>22s}")
    for key in sorted(k for k in report["summary"] if k != "all" and ":" not in k) + ["all"]:
        g = report["summary"][key]
        fails = pct(fair["per_notebook"][key] if key != "all" else fair["false_fails"]) if fair else "-"
        flakes = pct(fair["flakes_per_notebook"][key] if key != "all" else fair["flakes"]) if fair else "-"
        print(f"{key:16s}{100 * (g['kill_rate'] or 0):>14.1f}% of {g['total'] - g['equivalent']:<3d}"
              f"{fails:>22s}{flakes:>22s}")
    unfair = (fair["false_fails"]["failed"] + fair["flakes"]["failed"]) if fair else 0
    # on correct work any disagreement, on a mutant a gap (a test caught what the re-check missed), is a defect
    defects = [d for d in report["disagreements"] if d["correct"] or d["kind"] == "gap"]
    stricter = len(report["disagreements"]) - len(defects)
    print(f"{overall['killed']} mutants killed, {overall['survived']} survived, {overall['equivalent']} "
          f"equivalent; {len(defects)} test/re-check disagreements ({stricter} cells of mutants where the "
          f"re-check was the stricter judge); {report['seconds']:.0f} s; "
          f"report in grading/{assignment}/strength/strength.md")
    if args.min_kill_rate is not None and rate < args.min_kill_rate:
        return 1
    return 1 if args.strict and (unfair or defects) else 0



def late_command(course: Path, assignment: str, args) -> int:
    from gradekit.records.export import write_export
    from gradekit.records.lateness import describe_extensions, grant_extension, parse_moment, set_due_date

    if args.command == "extensions":
        print(describe_extensions(course, assignment))
        return 0
    if args.command == "due":
        try:
            changed = set_due_date(course, assignment, parse_moment(args.at))
        except ValueError as err:
            raise SystemExit(f"error: --at {args.at!r}: {err}")
    else:
        changed = grant_extension(course, assignment, args.student, days=args.days, hours=args.hours,
                                  reason=args.reason)
    print(f"late penalties changed for: {', '.join(changed) or 'nobody'}; export rewritten: "
          f"{write_export(course, assignment)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
