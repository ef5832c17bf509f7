"""Limits that two services must apply alike (intake checks them for the citizen, the tracker
for its staff and for the citizen's actions it receives)."""

from __future__ import annotations

from datetime import timedelta

# A report's description, in characters after trimming.
DESCRIPTION_MIN, DESCRIPTION_MAX = 10, 4000
# A citizen may reopen a ticket this long after its resolution (a supervisor, later too).
REOPEN_WINDOW_DAYS = 7
REOPEN_WINDOW = timedelta(days=REOPEN_WINDOW_DAYS)
# What the citizen writes when reopening a resolved report (intake's form and API, the
# tracker's citizen endpoint): characters after trimming.
REOPEN_REASON_MIN, REOPEN_REASON_MAX = 5, 2000
# The citizen's rating comment, and their answer to a handler's question (text, photos).
RATING_SCORE_MIN, RATING_SCORE_MAX = 1, 5
RATING_COMMENT_MAX = 2000
REPLY_TEXT_MAX = 4000
REPLY_PHOTOS_MAX = 3
