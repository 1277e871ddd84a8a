"""The one exception type for bad user input.

Library code raises :class:`InputError` (a ``ValueError``) with a message that names
the offending argument, column or width; the command line turns it into a one-line
error and exit code 2. Any other exception is a bug and keeps its traceback.
"""


class InputError(ValueError):
    """Invalid input from a user: a sweep file, a flag value, a JSON file."""
