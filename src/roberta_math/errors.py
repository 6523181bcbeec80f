"""The one exception type that means "the user can fix this".

Every function that rejects its input raises :class:`UserError` with a single
line that says what is wrong and how to fix it. The command line prints that
line on stderr and exits with status 2; it never shows a traceback for it.
"""

from __future__ import annotations


class UserError(Exception):
    """Bad input or a missing resource, explained in one line with the fix.

    >>> str(UserError("no such file: x.csv (check the path)"))
    'no such file: x.csv (check the path)'
    """

    exit_status = 2
