"""The real clock, handed to the framework core by the composition root."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

# The councils work on UK time: "today" for deadlines is the date in London, not in UTC.
LONDON = ZoneInfo("Europe/London")


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(LONDON)
