"""nbgrader preprocessors of the kit, one per module, named in the course's nbgrader_config.py."""
from .bounded_execute import BoundedExecute
from .hide_hidden_tests import HideHiddenTests
from .stderr_to_stdout import StderrToStdout

__all__ = ["BoundedExecute", "HideHiddenTests", "StderrToStdout"]
