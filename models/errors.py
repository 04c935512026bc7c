"""The one base of the errors a user can cause (a bad flag, a missing model, a config that does
not parse): ``bslm`` prints a ``BslmError`` as one line and exits with status 2, and shows
anything else with its traceback, as the bug it is."""

from __future__ import annotations


class BslmError(Exception):
    """Something the user can fix; the message says what was wrong and what to do."""
