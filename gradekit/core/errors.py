"""The one error the kit's library code raises for a user's mistake or a state it cannot work from: what is
wrong and, where there is one, how to put it right. The command line prints it once (`error: …`, then the
fix) and exits 1, without a traceback; a programming error stays an ordinary exception."""
from __future__ import annotations


class GradekitError(Exception):
    def __init__(self, message: str, fix: str = ""):
        super().__init__(message)
        self.message, self.fix = message, fix

    def __str__(self) -> str:
        return self.message + (f"\n  fix: {self.fix}" if self.fix else "")
