"""The ports the framework core needs from the outside world. Adapters live in `connectors/`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from kcpf.assessment import Assessment
from kcpf.governance import GovernanceReview
from kcpf.model import Arrangement, Council, Status
from kcpf.monitoring import MonitoringUpdate
from kcpf.records import AuditEntry, Record, SmtDecision
from kcpf.reports.content import Document


class Clock(Protocol):
    def now(self) -> datetime: ...


class Register(Protocol):
    """The register of contracts and partnerships, with everything recorded about them.

    Writes are atomic and optimistic: `save` refuses with `Conflict` when the stored arrangement's version is
    not the version the caller read, and raises `NotFound` for an unknown reference. Each write appends to
    the audit log.
    """

    def save(
        self,
        arrangement: Arrangement,
        *,
        action: str,
        actor: str,
        at: datetime,
        records: Sequence[Record] = (),
    ) -> Arrangement:
        """Insert (reference None: a new KCP- id is given) or update, with records, all or nothing."""
        ...

    def save_many(
        self, arrangements: Sequence[Arrangement], *, action: str, actor: str, at: datetime
    ) -> list[Arrangement]:
        """Several inserts or updates in one all-or-nothing write (imports)."""
        ...

    def get(self, reference: str) -> Arrangement: ...

    def arrangements(
        self,
        *,
        council: Council | None = None,
        status: Status | None = None,
        officer: str | None = None,
    ) -> list[Arrangement]:
        """In reference order. `council` includes shared arrangements; `officer` is an email."""
        ...

    def assessments(self, reference: str | None = None) -> list[Assessment]: ...

    def decisions(self, reference: str | None = None) -> list[SmtDecision]: ...

    def governance_reviews(self, reference: str | None = None) -> list[GovernanceReview]: ...

    def monitoring_updates(
        self, reference: str | None = None, *, period: str | None = None
    ) -> list[MonitoringUpdate]: ...

    def audit_log(self, reference: str | None = None) -> list[AuditEntry]: ...


class ReportRenderer(Protocol):
    """Turns a report's content into a file (a Word document) ready to circulate."""

    media_type: str
    extension: str

    def render(self, document: Document) -> bytes: ...


class ReportStore(Protocol):
    """Where produced reports are kept: the local report folder, or a SharePoint document library."""

    def save(self, name: str, content: bytes) -> str:
        """Store `content` under `name` (replacing an earlier one), and return where it is."""
        ...
