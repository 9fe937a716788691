"""Command line of the course kit: `python -m gradekit COMMAND` (see README)."""
from __future__ import annotations

import argparse
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gradekit", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("generate", help="regenerate release/ and solutions/ from source/")
    sub.add_parser("demo", help="generate the release, autograde sample submissions, print the grade table")
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
    if args.command == "demo":
        from .demo import main as demo
        return demo()
    return 2


if __name__ == "__main__":
    sys.exit(main())
