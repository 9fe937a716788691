"""Command line of the course kit: `python -m gradekit COMMAND` (see README)."""
from __future__ import annotations

import argparse
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gradekit", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("generate", help="regenerate release/ and solutions/ from source/")
    sub.add_parser("demo", help="generate the release, autograde sample submissions, print the grade table")
    g = sub.add_parser("grade", help="autograde submitted/ in parallel, with limits, statuses, export and report")
    g.add_argument("assignment", nargs="?", default="assignment1")
    g.add_argument("--jobs", type=int, help="submissions graded at once (default: one per core)")
    g.add_argument("--student", nargs="+", help="grade only these students")
    g.add_argument("--timeout", type=float, help="wall seconds per submission (default: nbgrader_config.py)")
    g.add_argument("--memory-limit", type=int, help="MB per submission (default: nbgrader_config.py)")
    g.add_argument("--force", action="store_true", help="regrade submissions that already have a result")
    g.add_argument("--retry-failed", action="store_true", help="regrade submissions whose grading failed")
    g.add_argument("--no-feedback", action="store_true", help="skip generating feedback")
    g.add_argument("--zip", help="an LMS export (zip) to collect into submitted/ first (nbgrader zip_collect)")
    g.add_argument("--scheduler", help="address of a dask.distributed scheduler to grade on (shared filesystem)")
    g.add_argument("--course", default=None, help="course folder (default: this kit's folder)")
    st = sub.add_parser("strength", help="mutation testing of the hidden tests: kill rate, survivors, report")
    st.add_argument("assignment", nargs="?", default="assignment1")
    st.add_argument("--notebook", nargs="+", help="only these notebooks (names without .ipynb)")
    st.add_argument("--jobs", type=int, help="mutants graded at once (default: one per core)")
    st.add_argument("--sample", type=int, help="grade a random sample of this many mutants per notebook")
    st.add_argument("--seed", type=int, default=0, help="seed of the sample")
    st.add_argument("--timeout", type=float, default=120.0, help="wall seconds per mutant")
    st.add_argument("--min-kill-rate", type=float, help="exit 1 when the overall kill rate is below this (0-1)")
    st.add_argument("--course", default=None)
    ck = sub.add_parser("check", help="students: run a notebook's visible tests; exit 1 if any fails")
    ck.add_argument("notebook")
    ck.add_argument("--timeout", type=int, default=120, help="seconds per cell")
    for name in ("export", "report"):
        p = sub.add_parser(name, help=f"rewrite the grading {name} from stored results")
        p.add_argument("assignment", nargs="?", default="assignment1")
        p.add_argument("--course", default=None)
    args = parser.parse_args(argv)

    if args.command == "generate":
        from .course import generate
        try:
            generate()
        except RuntimeError as err:
            print(f"error: {err}\n\nrelease/ and solutions/ were left as they were. If the gradebook already "
                  "holds submissions, nbgrader will not change the assignment's notebooks: finish grading "
                  "this version, or move gradebook.db away to start a new one.", file=sys.stderr)
            return 1
        print("release/ and solutions/ regenerated from source/")
        return 0
    if args.command == "grade":
        from pathlib import Path

        from . import ROOT
        from .batch import Limits, grade
        course = Path(args.course or ROOT)
        limits = Limits.from_config(course, timeout=args.timeout, memory_mb=args.memory_limit)
        grade(course, args.assignment, students=args.student, jobs=args.jobs, limits=limits, force=args.force,
              retry_failed=args.retry_failed, feedback=not args.no_feedback, scheduler=args.scheduler,
              zip_file=args.zip)
        return 0
    if args.command == "check":
        from .selfcheck import check
        return check(args.notebook, timeout=args.timeout)
    if args.command == "strength":
        from pathlib import Path

        from . import ROOT
        from .strength import run
        course = Path(args.course or ROOT)
        report = run(course, args.assignment, notebooks=args.notebook, jobs=args.jobs, sample=args.sample,
                     seed=args.seed, timeout=args.timeout)
        overall = report["summary"]["all"]
        rate = overall["kill_rate"] or 0.0
        print(f"kill rate {100 * rate:.1f}% ({overall['killed']} killed, {overall['survived']} survived, "
              f"{overall['equivalent']} equivalent) in {report['seconds']:.0f} s; report in "
              f"grading/{args.assignment}/strength/strength.md")
        for key in sorted(k for k in report["summary"] if k != "all" and ":" not in k):
            g = report["summary"][key]
            print(f"  {key}: {100 * (g['kill_rate'] or 0):.1f}% of {g['total'] - g['equivalent']}")
        return 1 if args.min_kill_rate is not None and rate < args.min_kill_rate else 0
    if args.command in ("export", "report"):
        from pathlib import Path

        from . import ROOT
        from .export import write_export
        from .report import write_report
        course = Path(args.course or ROOT)
        path = (write_export if args.command == "export" else write_report)(course, args.assignment)
        print(path)
        return 0
    if args.command == "demo":
        from .demo import main as demo
        return demo()
    return 2


if __name__ == "__main__":
    sys.exit(main())
