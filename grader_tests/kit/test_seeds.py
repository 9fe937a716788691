"""The batch's secret seed: a new one per batch, never another batch's, with its reference results ready
before grading; spare seeds drawn by a batch that runs the references let later batches start without.
On the warm-up assignment (one notebook with probes), with the real sandboxed reference runs."""
from __future__ import annotations

import io
import threading

import numpy as np
import pytest

from gradekit.authoring.submissions import submission_with_edits, write_submission
from gradekit.core.layout import Course
from gradekit.core.nbgrader_run import course_copy
from gradekit.grading.batch import prepare_trusted_references
from gradekit.plugins import trusted
from gradekit.records.results import ResultStore
from grader_tests.helpers import ASSIGNMENT, COURSE, NOTEBOOKS, WARMUP, gradekit, warmup_course


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
    _set(course, "c.BatchGrading.spare_seeds = 29")  # 30 seeds drawn: fewer than 2 even ones, about 3e-8
    probes = Course(course).probes(WARMUP) / "warmup.py"
    # a check that the reference itself fails on every odd seed (SEED: the batch's seed, in the prelude)
    probes.write_text(probes.read_text() + '\n\n@check("test_weighted_mean")\ndef check_mean(got, ref):\n'
                      '    return "odd seed" if SEED % 2 else None\n')
    seed = prepare_trusted_references(course, WARMUP, out=io.StringIO())
    kept = [int(name.rpartition("-")[2]) for name in _spares(course)]
    assert seed % 2 == 0 and kept and all(s % 2 == 0 for s in kept), (seed, kept)
    while (spare := trusted.take_spare_seed(course, WARMUP, [WARMUP])) is not None:
        assert spare % 2 == 0, spare


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


def test_a_spare_of_another_environment_or_a_broken_one_is_never_used(tmp_path):
    course = warmup_course(tmp_path / "course")
    prepare_trusted_references(course, WARMUP, out=io.StringIO())
    folder = Course(course).spare_seeds(WARMUP)
    names = _spares(course)
    snap, env, _ = names[0].split("-")
    # another Python or package version (another environment digest), an unreadable result, junk
    for name in names[:-2]:
        (folder / name).rename(folder / f"{snap}-{'0' * 16}-{name.rpartition('-')[2]}")
    broken = int(names[-2].rpartition("-")[2])
    Course(course).reference_cache(WARMUP).joinpath(f"{WARMUP}-{snap}-{broken}.npz").write_bytes(b"not an archive")
    (folder / "a-folder").mkdir()
    (folder / f"{snap}-{env}-²").touch()
    assert trusted.take_spare_seed(course, WARMUP, [WARMUP]) == int(names[-1].rpartition("-")[2])
    assert trusted.take_spare_seed(course, WARMUP, [WARMUP]) is None
    assert not trusted.has_reference(course, WARMUP, WARMUP, broken)
    assert trusted.reference_arrays(course, WARMUP, WARMUP, broken)  # computed again, not read as nothing


def test_a_course_copy_takes_spare_seeds_only_when_asked(tmp_path):
    for share in (False, True):
        copy = course_copy(tmp_path / f"copy-{share}", COURSE, ASSIGNMENT, release=False, spare_seeds=share)
        spares = Course(copy).spare_seeds(ASSIGNMENT)
        assert (spares.is_dir() and any(spares.iterdir())) == share
        assert trusted.has_reference(copy, ASSIGNMENT, NOTEBOOKS[0], int(Course(copy).probe_seed(ASSIGNMENT).read_text()))


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_a_spare_seeds_results_are_what_a_run_for_it_alone_gives(tmp_path, notebook):
    """A spare's probes ran after other seeds' in one kernel: results that depended on that order (a probe
    that changes the notebook's state or a global random generator) would fail honest students."""
    name = sorted(p.name for p in Course(COURSE).spare_seeds(ASSIGNMENT).iterdir())[-1]
    seed = int(name.rpartition("-")[2])
    spare = trusted.reference_arrays(COURSE, ASSIGNMENT, notebook, seed)
    copy = course_copy(tmp_path / "course", COURSE, ASSIGNMENT, release=False)
    Course(copy).reference_cache(ASSIGNMENT).joinpath(
        f"{notebook}-{trusted.snapshot(copy, ASSIGNMENT).name}-{seed}.npz").unlink()
    alone = trusted.reference_arrays(copy, ASSIGNMENT, notebook, seed)
    assert spare.keys() == alone.keys()
    for grade_id, values in spare.items():
        assert values.keys() == alone[grade_id].keys(), grade_id
        for key, value in values.items():
            assert np.array_equal(value, alone[grade_id][key]), f"{grade_id}/{key} differs"


def test_spares_prepared_in_one_process_serve_a_batch_in_another(tmp_path):
    """What names a spare's environment is the installed packages, not the current folder or sys.path of
    the process that drew it (the tests' process and the TA's command differ in both)."""
    course = warmup_course(tmp_path / "course")
    prepare_trusted_references(course, WARMUP, out=io.StringIO())
    write_submission(course, WARMUP, "alice", submission_with_edits(course, WARMUP, [WARMUP]))
    out = gradekit(course, "grade")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "reference results ready (computed with an earlier batch)" in out.stdout, out.stdout
