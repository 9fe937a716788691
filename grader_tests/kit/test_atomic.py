"""Files the kit shares between TAs (grades.csv, the report, results) are replaced whole, by any number of
writers at once."""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

from gradekit.core.atomic import UMASK, write_atomically


def test_concurrent_writers_each_replace_the_file_whole(tmp_path):
    path = tmp_path / "grades.csv"
    texts = [f"writer {k}\n" * 2000 for k in range(8)]

    def write(text):
        for _ in range(25):
            write_atomically(path, text)
            assert path.read_text() in texts  # a reader never sees a mixture

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(write, texts))
    assert path.read_text() in texts
    assert os.listdir(tmp_path) == ["grades.csv"], "no temporary file is left behind"
    assert oct(path.stat().st_mode & 0o777) == oct(0o666 & ~UMASK), "the mode open() would give"
