"""Step 5: the monitoring calendar. Financial years run 1 April to 31 March (written 2026/27); the biannual
updates cover H1 (April to September) and H2 (October to March). The H2 update is also the annual update
that goes to each council's executive."""

from __future__ import annotations

import calendar as _months
import re
from dataclasses import dataclass
from datetime import date

from kcpf.errors import InvalidInput
from kcpf.framework import MonitoringRules
from kcpf.model import Council


@dataclass(frozen=True, order=True)
class FinancialYear:
    start_year: int

    @property
    def label(self) -> str:
        return f"{self.start_year}/{(self.start_year + 1) % 100:02d}"

    @property
    def start(self) -> date:
        return date(self.start_year, 4, 1)

    @property
    def end(self) -> date:
        return date(self.start_year + 1, 3, 31)

    def __str__(self) -> str:
        return self.label

    @classmethod
    def containing(cls, day: date) -> FinancialYear:
        return cls(day.year if day.month >= 4 else day.year - 1)

    @classmethod
    def parse(cls, text: str) -> FinancialYear:
        match = re.fullmatch(r"(\d{4})\s*[/-]\s*(\d{2}|\d{4})", text.strip())
        if match is None:
            raise InvalidInput(
                f"“{text.strip()}” is not a financial year. Write it like 2026/27.", field="year"
            )
        start, end = int(match.group(1)), int(match.group(2))
        if end % 100 != (start + 1) % 100 or (end >= 100 and end != start + 1):
            raise InvalidInput(
                f"“{text.strip()}” is not a financial year: the second year must follow the first, as in "
                f"{start}/{(start + 1) % 100:02d}.",
                field="year",
            )
        return cls(start)


@dataclass(frozen=True, order=True)
class Period:
    """A half of a financial year: 2026/27-H1 is 1 April to 30 September 2026."""

    year: FinancialYear
    half: int

    def __post_init__(self) -> None:
        if self.half not in (1, 2):
            raise InvalidInput("A half-year is H1 (April to September) or H2 (October to March).")

    @property
    def label(self) -> str:
        return f"{self.year.label}-H{self.half}"

    def __str__(self) -> str:
        return self.label

    @property
    def start(self) -> date:
        return self.year.start if self.half == 1 else date(self.year.start_year, 10, 1)

    @property
    def end(self) -> date:
        return date(self.year.start_year, 9, 30) if self.half == 1 else self.year.end

    @property
    def is_annual(self) -> bool:
        """The year-end (H2) update is also the annual update to the executives."""
        return self.half == 2

    @property
    def previous(self) -> Period:
        return Period(self.year, 1) if self.half == 2 else Period(FinancialYear(self.year.start_year - 1), 2)

    @property
    def next(self) -> Period:
        return Period(self.year, 2) if self.half == 1 else Period(FinancialYear(self.year.start_year + 1), 1)

    def due_date(self, rules: MonitoringRules) -> date:
        return deadline_after(self.end, rules.h1_update_due if self.half == 1 else rules.h2_update_due)

    @classmethod
    def containing(cls, day: date) -> Period:
        return cls(FinancialYear.containing(day), 1 if 4 <= day.month <= 9 else 2)

    @classmethod
    def parse(cls, text: str) -> Period:
        match = re.fullmatch(r"(.+?)\s*[- ]\s*H([12])", text.strip(), flags=re.IGNORECASE)
        if match is None:
            raise InvalidInput(
                f"“{text.strip()}” is not a half-year. Write it like 2026/27-H1 (April to September) or "
                "2026/27-H2 (October to March).",
                field="period",
            )
        return cls(FinancialYear.parse(match.group(1)), int(match.group(2)))


def deadline_after(end: date, month_day: tuple[int, int]) -> date:
    """The first (month, day) after `end`; a day past the month's end is its last day (29 February)."""
    month, day = month_day
    year = end.year if (month, day) > (end.month, end.day) else end.year + 1
    return date(year, month, min(day, _months.monthrange(year, month)[1]))


@dataclass(frozen=True)
class ExecutiveUpdate:
    """T&P's annual update to one council's executive on the year just ended, and the objectives set for
    the current one. (The responsible officers' year-end updates feed it.)"""

    council: Council
    year: FinancialYear
    due: date

    @property
    def title(self) -> str:
        return f"Annual update to {self.council.label}'s {self.council.executive} for {self.year.label}"


def executive_update(council: Council, year: FinancialYear, rules: MonitoringRules) -> ExecutiveUpdate:
    """Each council's executive (Chorley's Executive Cabinet, South Ribble's Cabinet) gets its own update."""
    if council is Council.SHARED:
        raise InvalidInput("A shared arrangement reports to both executives: name Chorley or South Ribble.")
    return ExecutiveUpdate(council, year, deadline_after(year.end, rules.annual_update_due))


def last_ended_period(day: date) -> Period:
    """The most recent half-year that has ended on or before `day`."""
    return Period.containing(day).previous
