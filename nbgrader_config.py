"""nbgrader configuration of the course (read by every `nbgrader ...` command run in this folder)."""
import os

c = get_config()  # provided by nbgrader's config loader

# The kit's own nbgrader extensions live in the `gradekit` package, installed into the environment.

c.CourseDirectory.course_id = "deep-learning-101"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.solution_directory = "solutions"
# Files the notebooks write when an instructor runs them in source/ (metrics for the comparison), and
# the instructor's list of equivalent mutants (gradekit strength) and the trusted probes
# (source/<assignment>/probes, see gradekit/plugins/trusted.py), are never copied into
# release/, solutions/ or a student's autograded folder.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*_metrics.json",
                            "strength_equivalents.json", "fairness.json", "probes", "kit"]
# Embedded default: an SQLite gradebook in the course folder. To use a database server instead, set
# NBGRADER_DB_URL, e.g. postgresql://user:password@host/gradebook (see README), or write that URL into a
# file `gradebook_url` beside this one, readable by the graders only (the hub deployment does).
_url_file = os.path.join(c.CourseDirectory.root, "gradebook_url")
c.CourseDirectory.db_url = os.environ.get("NBGRADER_DB_URL") or (
    open(_url_file).read().strip() if os.path.exists(_url_file)
    else "sqlite:///" + os.path.join(c.CourseDirectory.root, "gradebook.db"))


# A whole notebook runs in about 5 s here; the slowest cell (training) takes under 2 s. 120 s per cell
# leaves ample margin for slow machines and for a student's larger network, and still stops a hung cell.
c.Execute.timeout = 120

# A test cell deleted by a student is re-inserted from the gradebook and scored, instead of being left
# without a grade (which exports as 0 and hides what happened).
c.OverwriteCells.add_missing_cells = True

# nbgrader scores a test cell 0 whenever it wrote anything to stderr, so a harmless library warning
# (a deprecation notice, a font-cache message) would cost the student the cell's points. Move stderr
# text into stdout after execution, before scores are computed; errors (exceptions) still fail the cell.
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbconvert.preprocessors.sanitize import SanitizeHTML
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    IgnorePattern,
    LimitOutput,
    SaveAutoGrades,
)

from gradekit.plugins.preprocessors import BoundedExecute, StderrToStdout

# nbgrader 0.9.6's default list, with Execute replaced by BoundedExecute (the kernel as the adversary: a private
# working copy, outputs bounded and reduced to safe types, the grader's verdicts; gradekit/plugins/verdicts.py) and
# StderrToStdout right after it.
# SanitizeHTML (nbconvert, bleach): markdown a student wrote is HTML in formgrader's page, sanitised so that no
# script of theirs runs in a TA's browser (the same for feedback, below).
c.Autograde.autograde_preprocessors = [
    BoundedExecute, StderrToStdout, SanitizeHTML, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
    SaveAutoGrades, AssignLatePenalties, CheckCellMetadata,
]

c.BoundedExecute.max_output_mb = 20
c.BoundedExecute.course_root = c.CourseDirectory.root
# Verdicts the student's code cannot rewrite (gradekit/plugins/trusted.py): every graded cell with a probe in
# source/<assignment>/probes/ is re-checked in the grader's process. The notebook keeps its verdicts
# and flags in its metadata under "gradekit".
c.BoundedExecute.trusted_checks = True
c.ClearMetadataPreprocessor.preserve_nb_metadata_mask = {("language_info", "name"), ("gradekit",)}

# The solution version may be posted after the deadline: nbgrader keeps the hidden tests in it by default,
# which would publish next year's hidden tests. ClearHiddenTests (what generate_assignment runs) removes them.
from nbgrader.preprocessors import (
    ClearHiddenTests,
    ClearMarkScheme,
    ClearOutput,
    Execute,
    IncludeHeaderFooter,
    LockCells,
)

c.GenerateSolution.preprocessors = [IncludeHeaderFooter, LockCells, ClearOutput, ClearMarkScheme, ClearHiddenTests,
                                    Execute]

# Students' kernels run in a sandbox (gradekit/plugins/sandbox.py): read-only filesystem except their own folder,
# the course directory and the kit's checkout hidden, no network, own process namespace, no
# capabilities, resource limits. Needs Linux namespaces (root, or unprivileged user namespaces);
# elsewhere only the resource limits apply. See the README.
import gradekit

c.SandboxedKernelManager.hidden_paths = [c.CourseDirectory.root,
                                         os.path.dirname(os.path.dirname(os.path.abspath(gradekit.__file__)))]
c.SandboxedKernelManager.memory_mb = 8192  # address space; the batch command also limits resident memory
c.SandboxedKernelManager.file_mb = 200  # largest file a notebook may write
c.SandboxedKernelManager.processes = 512  # processes and threads of one kernel (a fork bomb): a pids cgroup as root,
# RLIMIT_NPROC in the kernel's user namespace otherwise

# Feedback for students keeps the hidden tests hidden: no source, traceback or printed value of a hidden
# test, only which test failed, its points and the instructor's hint (# HINT: lines in the hidden block).
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import GetGrades

from gradekit.plugins.preprocessors import HideHiddenTests

# Markdown a student wrote is HTML in the page: sanitised, so that no script of theirs runs in their feedback.
c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, SanitizeHTML, CSSHTMLHeaderPreprocessor]
c.SanitizeHTML.enabled = True  # nbconvert's preprocessors are off unless enabled

# Late submissions (gradekit/plugins/late_policy.py): with a due date set (`gradekit due`), each notebook
# loses a share of its score per started day late after a grace period, capped; an extension (`gradekit
# extension`) moves that student's due date. nbgrader applies it at every autograde; the kit's commands
# recompute it at once (gradekit/records/lateness.py).
c.AssignLatePenalties.plugin_class = "gradekit.plugins.late_policy.PercentPerDay"
c.PercentPerDay.grace_minutes = 15
c.PercentPerDay.percent_per_day = 10
c.PercentPerDay.max_percent = 50
c.PercentPerDay.late_days = 0  # late-day tokens per student for the whole course, spent in due-date order

# Collecting from the exchange (`nbgrader collect`, the formgrader's collect): every student can write the
# inbox, so each student's newest submission is taken only from a folder their own account made
# (gradekit/plugins/exchange_collect.py); nbgrader's own collect would take one made under their name by
# anybody, with a warning.
c.ExchangeFactory.collect = "gradekit.plugins.exchange_collect.OwnerCheckedCollect"

# LMS exports (`gradekit grade --zip FILE [--times CSV]`, or `nbgrader zip_collect`): files named the way
# Canvas names them, <login>_[late_]<user id>_<submission id>_<notebook file name>. Change the pattern
# for another LMS; it must capture student_id and file_id (the notebook's file name), and may capture
# late (the LMS's late marker) and timestamp. gradekit.plugins.zip_collector.LmsCollector turns the times and the
# marker into nbgrader's submission timestamps, so the late policy applies to zips too.
c.ZipCollectApp.collector_plugin = "gradekit.plugins.zip_collector.LmsCollector"
c.FileNameCollectorPlugin.named_regexp = r".*/(?P<student_id>[^_/]+)_(?P<late>late_)?\d+_\d+_(?P<file_id>[^/]+)$"

# Settings of the batch command (gradekit grade; `gradekit config` lists them); its flags override them.
c.BatchGrading.timeout = 600  # wall seconds for all notebooks of one submission (and its feedback)
c.BatchGrading.memory_limit_mb = 4096  # resident memory of the grading process and its kernels together
c.BatchGrading.jobs = 0  # submissions graded at once; 0: one per core

# Tiny MLPs are fastest on one thread, and kernels graded side by side must not oversubscribe the cores.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("MPLBACKEND", "Agg")
