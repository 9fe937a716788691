"""nbgrader's exchange collect, taking from each student only what their own account submitted.

The exchange's inbox is writable by every student (nbgrader's design: `nbgrader submit` runs as the
student), and a submission is a folder named `<student>+<assignment>+<time>+<random>`. nbgrader's own
collect takes the newest folder per *name* and only logs a warning when its owner is someone else, so a
student who writes `victim+<assignment>+<later time>+x` replaces a classmate's submission. This collector
takes, per student, the newest folder that is a real folder (not a link), owned by the account of that
name, under a student id the kit grades (gradekit.core.layout.student_id_problem); every other one is
left where it is, with an error line naming it and why. The collect runs as the TA and nbgrader's copy follows
links, so a link in a submission would bring in whatever the TA can read: only its regular files and
folders are copied, never through a link (links and special files are named in the log and left out).
Configured in nbgrader_config.py:

    c.ExchangeFactory.collect = "gradekit.plugins.exchange_collect.OwnerCheckedCollect"
"""
from __future__ import annotations

import fnmatch
import glob
import os
import pwd
import shutil
import stat
import tempfile
from collections import defaultdict
from pathlib import Path

from nbgrader.exchange.default.collect import ExchangeCollect

from gradekit.core.files import walk
from gradekit.core.layout import student_id_problem


def owner_problem(path: str, student: str) -> str:
    """Why the inbox entry at `path` is not `student`'s own submission, or ""."""
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode):
        return "not a folder"
    try:
        owner = pwd.getpwuid(info.st_uid).pw_name
    except KeyError:
        owner = f"uid {info.st_uid}"
    return "" if owner == student else f"submitted as {student!r} by the account {owner!r}"


class OwnerCheckedCollect(ExchangeCollect):
    def init_src(self):
        super().init_src()  # the inbox's checks and the due date; its choice is then made from accepted entries only
        wanted = self.coursedir.student_id or "*"
        pattern = os.path.join(glob.escape(self.inbound_path), f"*+{glob.escape(self.coursedir.assignment_id)}+*")
        accepted = defaultdict(list)
        for path in glob.glob(pattern):
            record = self._path_to_record(path)
            student = record["username"]
            if not fnmatch.fnmatchcase(student, wanted):
                continue
            problem = student_id_problem(student) or owner_problem(path, student)
            if problem:
                self.log.error("not collected: %s (%s)", record["filename"], problem)
                continue
            accepted[student].append(record)
        self.src_records = [self._choose(records) for _, records in sorted(accepted.items())]

    def _choose(self, records: list[dict]) -> dict:
        """The newest submission, or with CollectApp.before_duedate the newest one made before the due date
        (the newest of all when there is none), as nbgrader's own collect chooses."""
        newest_first = self._sort_by_timestamp(records)
        if self.before_duedate and self.duedate is not None:
            on_time = [r for r in newest_first if r["timestamp"] <= self.duedate]
            return (on_time or newest_first)[0]
        return newest_first[0]

    def do_copy(self, src, dest, log=None):
        """nbgrader's copy (its size limits, ignore patterns and group permissions) of a staging copy that
        holds only the submission's regular files and folders."""
        with tempfile.TemporaryDirectory() as staging:
            left_out = copy_regular(Path(src), Path(staging) / "submission")
            for rel in left_out:
                self.log.error("not collected from %s: %s (a link or a special file)", src, rel)
            super().do_copy(str(Path(staging) / "submission"), dest, log)


def copy_regular(source: Path, dest: Path) -> list[str]:
    """Copy the regular files and folders of `source` into a new folder `dest`, never through a link (one that
    replaces a file during the copy is not followed either); returns what was left out."""
    dest.mkdir()
    left_out = []
    for rel, info in walk(source):
        if stat.S_ISDIR(info.st_mode):
            (dest / rel).mkdir(parents=True, exist_ok=True)
            continue
        try:
            if not stat.S_ISREG(info.st_mode):
                raise shutil.SpecialFileError(rel)
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / rel, dest / rel, follow_symlinks=False)
            if (dest / rel).is_symlink():  # swapped for a link since it was listed
                (dest / rel).unlink()
                raise shutil.SpecialFileError(rel)
        except shutil.SpecialFileError:
            left_out.append(rel)
    return left_out
