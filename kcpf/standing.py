"""Where an arrangement stands, as people reviewing the register see it: its latest RAG, the next monitoring
update it owes and when, and its open governance gaps. The register page and SharePoint's views show these.

Nothing here depends on today: the next update owed is the half-year after the latest one submitted (or, with
none yet, the half-year in which the arrangement became key), so it can be stored and filtered on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from kcpf.calendar import Period
from kcpf.framework import MonitoringRules
from kcpf.governance import AreaAnswer
from kcpf.model import KEY_STATUSES
from kcpf.monitoring import MonitoringUpdate, Rag
from kcpf.services import ArrangementFile


@dataclass(frozen=True)
class Standing:
    reference: str
    is_key: bool  # on the framework and monitored (SMT decided it is key, and it has not ended)
    performance: Rag | None  # the latest monitoring update's overall RAG; None before the first
    latest_update: MonitoringUpdate | None
    next_update: Period | None  # the half-year whose update is owed next; None when not key or not known
    next_update_due: date | None
    open_gaps: tuple[AreaAnswer, ...]  # from the latest governance self-assessment

    @property
    def next_gap_target(self) -> date | None:
        dates = [g.target_date for g in self.open_gaps if g.target_date is not None]
        return min(dates, default=None)

    def update_overdue(self, on: date) -> bool:
        return self.next_update_due is not None and on > self.next_update_due


def standing(file: ArrangementFile, rules: MonitoringRules) -> Standing:
    arrangement = file.arrangement
    is_key = arrangement.status in KEY_STATUSES
    latest = max(file.updates, key=lambda u: Period.parse(u.period), default=None)
    next_update: Period | None = None
    if is_key:
        if latest is not None:
            next_update = Period.parse(latest.period).next
        elif arrangement.key_since is not None:
            next_update = Period.containing(arrangement.key_since)
    review = file.latest_governance
    return Standing(
        reference=arrangement.reference or "",
        is_key=is_key,
        performance=None if latest is None else latest.performance,
        latest_update=latest,
        next_update=next_update,
        next_update_due=None if next_update is None else next_update.due_date(rules),
        open_gaps=() if review is None else review.gaps,
    )
