"""`python -m gradekit`: the command line (gradekit.apps.cli)."""
import sys

from gradekit.apps.cli import main

if __name__ == "__main__":
    sys.exit(main())
