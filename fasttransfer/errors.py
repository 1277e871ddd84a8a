"""The one exception type for bad user input.

Library code raises :class:`InputError` (a ``ValueError``) with a message that names
the offending parameter (as the Python API spells it: ``window``, ``log_hp``), column or
width, and says which parameter in ``param``; the command line turns it into a one-line
error naming its flag (:func:`cli_message`: ``--window``, ``--log-hp``) and exit code 2.
Any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations


class InputError(ValueError):
    """Invalid input from a user: a sweep file, an argument value, a JSON file.
    ``param``: the library parameter at fault (None for a file's content)."""

    def __init__(self, message: str, *, param: str | None = None):
        super().__init__(message)
        self.param = param


def cli_message(err: InputError) -> str:
    """The message with its leading parameter name written as the command-line flag
    (``window must be ...`` -> ``--window must be ...``)."""
    text = str(err)
    param = getattr(err, "param", None)
    if param and text.startswith(param):
        return "--" + param.replace("_", "-") + text[len(param) :]
    return text
