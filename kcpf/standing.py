"""Where an arrangement stands, as people reviewing the register see it: its latest RAG, the next monitoring
update it owes and when, and its open governance gaps. The register page and SharePoint's views show these.

The next update owed is the one `kcpf due` and the reminders chase first on the given day: the earliest
ended half-year without an update (looking back as far as they do), else the half-year under way. It stays
right as days pass until an update is submitted (a save, which works it out again), so SharePoint can store it
and filter on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from kcpf.calendar import Period
from kcpf.due import next_update_owed
from kcpf.framework import FrameworkVersion
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
    next_update: Period | None  # the half-year whose update is owed first; None when not key
    next_update_due: date | None
    open_gaps: tuple[AreaAnswer, ...]  # from the latest governance self-assessment

    @property
    def next_gap_target(self) -> date | None:
        dates = [g.target_date for g in self.open_gaps if g.target_date is not None]
        return min(dates, default=None)

    def update_overdue(self, on: date) -> bool:
        return self.next_update_due is not None and on > self.next_update_due


def standing(file: ArrangementFile, framework: FrameworkVersion, on: date) -> Standing:
    arrangement = file.arrangement
    is_key = arrangement.status in KEY_STATUSES
    latest = max(file.updates, key=lambda u: Period.parse(u.period), default=None)
    next_update = next_update_owed(framework, arrangement, (u.period for u in file.updates), on)
    review = file.latest_governance
    return Standing(
        reference=arrangement.reference or "",
        is_key=is_key,
        performance=None if latest is None else latest.performance,
        latest_update=latest,
        next_update=next_update,
        next_update_due=None if next_update is None else next_update.due_date(framework.monitoring),
        open_gaps=() if review is None else review.gaps,
    )
