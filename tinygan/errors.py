"""The user-error class: what the ``tinygan`` command reports in one line instead of a traceback.

``UserInputError`` means the input was wrong (a missing or malformed file, an option out of range, a dataset
that does not fit the model), and its message names the thing and the fix. The command prints it and exits
with status 2. Every other exception, an ``OpError`` from inside the engine included, is a bug (or a problem
of the machine) and keeps its traceback. It is a ``ValueError``, so library callers that catch ValueError still do.
"""


class UserInputError(ValueError):
    """Bad input from the user; the message is one line naming the input and the fix."""
