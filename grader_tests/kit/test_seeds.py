"""The batch's secret seed: a new one per batch, never another batch's, with its reference results ready
before grading; spare seeds drawn by a batch that runs the references let later batches start without.
On the warm-up assignment (one notebook with probes), with the real sandboxed reference runs."""
from __future__ import annotations

import io
import threading

from gradekit.authoring.submissions import submission_with_edits, write_submission
from gradekit.core.layout import Course
from gradekit.grading.batch import prepare_trusted_references
from gradekit.plugins import trusted
from gradekit.records.results import ResultStore
from grader_tests.helpers import WARMUP, gradekit, warmup_course


def _spares(course) -> list[str]:
    folder = Course(course).spare_seeds(WARMUP)
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def _set(course, line: str) -> None:
    with open(course / "nbgrader_config.py", "a") as f:
        f.write(f"\n{line}\n")


def test_batches_take_spare_seeds_then_run_the_references_again(tmp_path):
    course = warmup_course(tmp_path / "course")
    _set(course, "c.BatchGrading.spare_seeds = 2")
    write_submission(course, WARMUP, "alice", submission_with_edits(course, WARMUP, [WARMUP]))
    seeds, outputs = [], []
    for _ in range(4):  # references run, spare, spare, references run again
        out = gradekit(course, "grade", "--force")
        assert out.returncode == 0, out.stdout + out.stderr
        outputs.append(out.stdout)
        [result] = ResultStore(course, WARMUP).all().values()
        assert result.verified and result.score == result.max_score, result
        seeds.append(result.probe_seed)
        assert int(Course(course).probe_seed(WARMUP).read_text()) == result.probe_seed
    ran = ["trusted re-check of warmup: reference results ready" in text for text in outputs]
    assert ran == [True, False, False, True], outputs
    assert all("computed with an earlier batch" in text for text in outputs[1:3]), outputs
    assert len(set(seeds)) == 4, f"a seed was used by two batches: {seeds}"
    assert len(_spares(course)) == 2


def test_a_seed_the_reference_fails_on_is_never_used_nor_kept(tmp_path):
    course = warmup_course(tmp_path / "course")
    _set(course, "c.BatchGrading.spare_seeds = 9")
    probes = Course(course).probes(WARMUP) / "warmup.py"
    # a check that the reference itself fails on every odd seed (SEED: the batch's seed, in the prelude)
    probes.write_text(probes.read_text() + '\n\n@check("test_weighted_mean")\ndef check_mean(got, ref):\n'
                      '    return "odd seed" if SEED % 2 else None\n')
    for _ in range(3):
        seed = prepare_trusted_references(course, WARMUP, out=io.StringIO())
        assert seed % 2 == 0, seed
    kept = [int(name.rpartition("-")[2]) for name in _spares(course)]
    assert kept and all(s % 2 == 0 for s in kept), kept


def test_spares_of_an_older_source_are_not_used(tmp_path):
    course = warmup_course(tmp_path / "course")
    prepare_trusted_references(course, WARMUP, out=io.StringIO())
    assert len(_spares(course)) == 8  # the default
    probes = Course(course).probes(WARMUP) / "warmup.py"
    probes.write_text(probes.read_text() + "\n# a changed probe file: a new snapshot, new references\n")
    printed = io.StringIO()
    seed = prepare_trusted_references(course, WARMUP, out=printed)
    assert "reference results ready (" in printed.getvalue(), printed.getvalue()
    assert trusted.has_reference(course, WARMUP, WARMUP, seed)
    current = trusted.snapshot(course, WARMUP).name
    assert len(_spares(course)) == 8 and all(name.startswith(current + "-") for name in _spares(course))


def test_two_graders_never_take_the_same_spare(tmp_path):
    course = warmup_course(tmp_path / "course")
    prepare_trusted_references(course, WARMUP, out=io.StringIO())
    taken, start = [], threading.Barrier(6)

    def take():
        start.wait()
        while (seed := trusted.take_spare_seed(course, WARMUP, [WARMUP])) is not None:
            taken.append(seed)

    threads = [threading.Thread(target=take) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(taken) == 8 and len(set(taken)) == 8, taken
    assert trusted.take_spare_seed(course, WARMUP, [WARMUP]) is None
