"""Debian's Chromium for Playwright: where it is, what is missing, numbered screenshots. One browser per
test session (the `browser` fixture in conftest.py): Playwright's sync API allows one at a time."""
from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# outside the checkout (the tests never write into it); GRADEKIT_SCREENSHOTS to keep them somewhere else
SCREENSHOTS = Path(os.environ.get("GRADEKIT_SCREENSHOTS", Path(tempfile.gettempdir()) / "gradekit-screenshots"))


def missing() -> str | None:
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package (pip install -r requirements.txt)"
    if not CHROMIUM:
        return "Debian's chromium (apt-get install chromium)"
    return None


class Shots:
    """Numbered screenshots of each step, kept in $GRADEKIT_SCREENSHOTS/<test>/ (default: the temp folder)."""

    def __init__(self, name: str):
        self.folder = SCREENSHOTS / name
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        self.n = 0

    def __call__(self, page, step: str) -> None:
        self.n += 1
        page.screenshot(path=str(self.folder / f"{self.n:02d}-{step}.png"), full_page=False)
