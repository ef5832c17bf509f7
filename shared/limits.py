"""Limits that two services must apply alike (intake checks them for the citizen, the tracker
for its staff and for the citizen's actions it receives)."""

from __future__ import annotations

from datetime import timedelta

# A report's description, in characters after trimming.
DESCRIPTION_MIN, DESCRIPTION_MAX = 10, 4000
# A citizen may reopen a ticket this long after its resolution (a supervisor, later too).
REOPEN_WINDOW_DAYS = 7
REOPEN_WINDOW = timedelta(days=REOPEN_WINDOW_DAYS)
