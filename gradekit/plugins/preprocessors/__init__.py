"""nbgrader preprocessors of the kit, one per module, named in the course's nbgrader_config.py."""
from gradekit.plugins.preprocessors.bounded_execute import BoundedExecute
from gradekit.plugins.preprocessors.hide_hidden_tests import HideHiddenTests
from gradekit.plugins.preprocessors.stderr_to_stdout import StderrToStdout

__all__ = ["BoundedExecute", "HideHiddenTests", "StderrToStdout"]
