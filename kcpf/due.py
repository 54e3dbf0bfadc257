"""What is due, and overdue, from whom on a given day."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from kcpf.calendar import Period, last_ended_period
from kcpf.framework import FrameworkVersion
from kcpf.governance import GovernanceReview, overdue_gaps
from kcpf.model import KEY_STATUSES, Arrangement, Officer


class Owed(StrEnum):
    BIANNUAL_UPDATE = "biannual update"
    ANNUAL_UPDATE = "annual update"
    GOVERNANCE_PLAN = "governance plan"


@dataclass(frozen=True)
class Obligation:
    reference: str
    title: str
    officer: Officer | None
    owed: Owed
    what: str
    due_date: date
    overdue: bool

    @property
    def state(self) -> str:
        return "overdue" if self.overdue else "due"


def obligations(
    framework: FrameworkVersion,
    arrangements: Iterable[Arrangement],
    submitted: Mapping[str, Iterable[str]],
    latest_reviews: Mapping[str, GovernanceReview],
    on: date,
) -> list[Obligation]:
    """Updates owed for every half-year that ended since an arrangement became key (looking back a bounded
    number of half-years), and governance plans whose target date has passed.

    `submitted` maps a reference to the period labels it has updates for; `latest_reviews` maps a reference
    to its latest governance self-assessment.
    """
    rules = framework.monitoring
    owed: list[Obligation] = []
    for arrangement in arrangements:
        if arrangement.status not in KEY_STATUSES or arrangement.reference is None:
            continue
        done = set(submitted.get(arrangement.reference, ()))
        for period in _periods_owed(arrangement, on, rules.periods_looked_back):
            if period.label in done:
                continue
            due = period.due_date(rules)
            kind = Owed.ANNUAL_UPDATE if period.is_annual else Owed.BIANNUAL_UPDATE
            owed.append(
                Obligation(
                    arrangement.reference,
                    arrangement.title,
                    arrangement.responsible_officer,
                    kind,
                    f"{kind.value} for {period.label}",
                    due,
                    overdue=on > due,
                )
            )
        review = latest_reviews.get(arrangement.reference)
        for gap in overdue_gaps(review, on) if review else ():
            owed.append(
                Obligation(
                    arrangement.reference,
                    arrangement.title,
                    arrangement.responsible_officer,
                    Owed.GOVERNANCE_PLAN,
                    f"{framework.governance_area(gap.area).name}: {gap.plan}",
                    gap.target_date or on,
                    overdue=True,
                )
            )
    return sorted(owed, key=lambda o: (_officer_key(o.officer), o.due_date, o.reference))


def next_update_owed(
    framework: FrameworkVersion, arrangement: Arrangement, submitted: Iterable[str], on: date
) -> Period | None:
    """The half-year whose update a key arrangement owes first on `on`: the earliest ended one not submitted
    (as `obligations` counts them), else the first one from the half-year under way that has none."""
    if arrangement.status not in KEY_STATUSES:
        return None
    done = set(submitted)
    for period in _periods_owed(arrangement, on, framework.monitoring.periods_looked_back):
        if period.label not in done:
            return period
    period = Period.containing(on)
    if arrangement.key_since is not None and arrangement.key_since > period.end:
        period = Period.containing(arrangement.key_since)
    while period.label in done:
        period = period.next
    return period


def _periods_owed(arrangement: Arrangement, on: date, look_back: int) -> Sequence[Period]:
    period = last_ended_period(on)
    periods: list[Period] = []
    while len(periods) < look_back:
        if arrangement.key_since is not None and period.end < arrangement.key_since:
            break
        periods.append(period)
        period = period.previous
    return periods[::-1]


def _officer_key(officer: Officer | None) -> str:
    return "" if officer is None else officer.email


def by_officer(owed: Sequence[Obligation]) -> dict[str, list[Obligation]]:
    """Group obligations under each officer's email ("" for arrangements with no responsible officer)."""
    grouped: dict[str, list[Obligation]] = {}
    for obligation in owed:
        grouped.setdefault(_officer_key(obligation.officer), []).append(obligation)
    return grouped
