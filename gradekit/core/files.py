"""Reading and removing what a student or a kernel wrote, never through a link and within limits."""
from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

MAX_TOTAL_MB = 100


MAX_NOTEBOOK_MB = 50


MAX_DEPTH = 12  # folders below this are set aside: nothing honest is that deep, and walks stay bounded


def walk(folder: Path):
    """(relative path, lstat) of every entry, never through a link, without recursion; folders at
    MAX_DEPTH are listed but not entered."""
    stack = [(Path(folder), "")]
    while stack:
        path, prefix = stack.pop()
        for entry in sorted(os.scandir(path), key=lambda e: e.name, reverse=True):
            info = entry.stat(follow_symlinks=False)
            rel = prefix + entry.name
            yield rel, info
            if stat.S_ISDIR(info.st_mode) and rel.count("/") < MAX_DEPTH:
                stack.append((Path(entry.path), rel + "/"))


def read_regular(path: Path, limit_mb: float = MAX_NOTEBOOK_MB) -> bytes | None:
    """A file's bytes if it is a regular file (not a link, FIFO or device) within the limit; else None.
    For the steps that look at submitted/ itself (flags, digests, similarity)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit_mb * 2**20:
            return None
        with os.fdopen(os.dup(fd), "rb") as f:
            return f.read(int(limit_mb * 2**20) + 1)
    except OSError:
        return None
    finally:
        os.close(fd)


def digest_entries(folder: Path):
    """(relative path, bytes or a marker) of a submission's entries, for its digest; nothing followed."""
    if folder.is_symlink() or not folder.is_dir():
        return
    for rel, info in walk(folder):
        if stat.S_ISDIR(info.st_mode):
            continue
        data = read_regular(folder / rel, MAX_TOTAL_MB) if stat.S_ISREG(info.st_mode) else None
        yield rel, data if data is not None else f"<{stat.filemode(info.st_mode)} {info.st_size}>".encode()


def remove_tree(path: Path) -> None:
    """Remove a folder a kernel wrote in, without following any link it made, whatever its depth (Python's
    rmtree recurses and fails on a deep tree) or the modes it set: coreutils' chmod -R and rm -rf walk
    iteratively and never follow links, and stay on the folder's filesystem."""
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        return
    if path.is_symlink():
        path.unlink()
        return
    subprocess.run(["chmod", "-R", "u+rwX", "--", str(path)], capture_output=True)
    subprocess.run(["rm", "-rf", "--one-file-system", "--", str(path)], capture_output=True)
