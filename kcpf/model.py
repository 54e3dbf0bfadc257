"""The things the framework talks about: councils, contracts and partnerships, officers and their roles."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from kcpf.errors import InvalidInput


def format_reference(number: int) -> str:
    """The stable human id of an arrangement: KCP-0001."""
    return f"KCP-{number:04d}"


def parse_reference(text: str) -> str:
    """Accept "KCP-0001", "kcp-1", "KCP 12" or "12" and return the canonical form."""
    match = re.fullmatch(r"(?:kcp[\s-]*)?0*(\d{1,9})", text.strip(), flags=re.IGNORECASE)
    if match is None or int(match.group(1)) == 0:
        raise InvalidInput(
            f"“{text.strip()}” is not a KCPF reference. References look like KCP-0001.", field="reference"
        )
    return format_reference(int(match.group(1)))


class Council(StrEnum):
    CHORLEY = "chorley"
    SOUTH_RIBBLE = "south-ribble"
    SHARED = "shared"

    @property
    def label(self) -> str:
        return _COUNCIL_LABELS[self]

    @property
    def executive(self) -> str:
        """The name of the council's executive, to which the annual update goes."""
        if self is Council.SHARED:
            raise InvalidInput(
                "A shared arrangement reports to both executives: name Chorley or South Ribble."
            )
        return "Executive Cabinet" if self is Council.CHORLEY else "Cabinet"

    def covers(self, council: Council) -> bool:
        """Whether an arrangement of this council is in `council`'s register: shared ones are in both."""
        return self is council or self is Council.SHARED

    @classmethod
    def parse(cls, text: str) -> Council:
        key = re.sub(r"[^a-z]", "", text.lower())
        for council, names in _COUNCIL_NAMES.items():
            if key in names:
                return council
        raise InvalidInput(
            f"“{text.strip()}” is not one of the councils. Answer Chorley, South Ribble, or shared (both).",
            field="council",
        )


_COUNCIL_LABELS = {
    Council.CHORLEY: "Chorley Council",
    Council.SOUTH_RIBBLE: "South Ribble Borough Council",
    Council.SHARED: "Shared (Chorley and South Ribble)",
}
_COUNCIL_NAMES = {
    Council.CHORLEY: {"chorley", "chorleycouncil", "cbc", "cc"},
    Council.SOUTH_RIBBLE: {"southribble", "southribbleborough", "southribbleboroughcouncil", "srbc", "sr"},
    Council.SHARED: {"shared", "both", "sharedservice", "sharedservices", "chorleyandsouthribble", "joint"},
}


class ArrangementType(StrEnum):
    CONTRACT = "contract"
    PARTNERSHIP = "partnership"

    @property
    def label(self) -> str:
        return self.value.capitalize()

    @classmethod
    def parse(cls, text: str) -> ArrangementType:
        key = text.strip().lower()
        if key in {"contract", "c", "a contract"}:
            return cls.CONTRACT
        if key in {"partnership", "p", "a partnership", "partner"}:
            return cls.PARTNERSHIP
        raise InvalidInput(f"“{text.strip()}” is neither: answer contract or partnership.", field="type")


class Status(StrEnum):
    """Where an arrangement is in the framework's five stages, with SMT's decision."""

    IDENTIFIED = "identified"
    ASSESSED = "assessed"
    PROPOSED = "proposed"
    KEY = "key"
    NOT_KEY = "not-key"
    DEFERRED = "deferred"
    GOVERNANCE_IN_PLACE = "governance-in-place"
    MONITORING = "monitoring"
    ENDED = "ended"

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]

    @classmethod
    def parse(cls, text: str) -> Status:
        key = re.sub(r"[^a-z]", "", text.lower())
        for status in cls:
            if key in {re.sub(r"[^a-z]", "", status.value), re.sub(r"[^a-z]", "", status.label.lower())}:
                return status
        choices = ", ".join(s.value for s in cls)
        raise InvalidInput(f"“{text.strip()}” is not a status. Choose one of: {choices}.", field="status")


_STATUS_LABELS = {
    Status.IDENTIFIED: "Identified",
    Status.ASSESSED: "Assessed against the criteria",
    Status.PROPOSED: "Proposed to SMT",
    Status.KEY: "Key (SMT decision)",
    Status.NOT_KEY: "Not key (SMT decision)",
    Status.DEFERRED: "Deferred by SMT",
    Status.GOVERNANCE_IN_PLACE: "Governance in place",
    Status.MONITORING: "Monitoring",
    Status.ENDED: "Ended",
}

# Statuses in which an arrangement is on the framework and monitored.
KEY_STATUSES = frozenset({Status.KEY, Status.GOVERNANCE_IN_PLACE, Status.MONITORING})


def normalise_email(email: str) -> str:
    cleaned = email.strip().lower()
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", cleaned):
        raise InvalidInput(f"“{email.strip()}” is not an email address.", field="email")
    return cleaned


@dataclass(frozen=True)
class Officer:
    """A person at either council: identified by email, with their Entra (AAD) object id when known."""

    email: str
    name: str = ""
    aad_object_id: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "email", normalise_email(self.email))

    @property
    def display(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email


@dataclass(frozen=True)
class Arrangement:
    """A contract or partnership on the register.

    `reference` is None until the register stores it; `version` counts stored writes and guards against
    overwriting someone else's change (0 before the first save).
    """

    title: str
    type: ArrangementType
    council: Council
    partner: str
    responsible_officer: Officer | None = None
    service: str = ""
    description: str = ""
    annual_value: Decimal | None = None
    total_value: Decimal | None = None
    start_date: date | None = None
    end_date: date | None = None
    data_shared: bool | None = None
    notice_period: str = ""
    corporate_priorities: tuple[str, ...] = ()
    status: Status = Status.IDENTIFIED
    key_since: date | None = None
    reference: str | None = None
    version: int = 0
    source: SourceRecord | None = None

    def __post_init__(self) -> None:
        problems: list[str] = []
        if not self.title.strip():
            problems.append("a title is needed")
        if not self.partner.strip():
            problems.append("the partner or supplier is needed")
        for name, value in (("annual value", self.annual_value), ("total value", self.total_value)):
            if value is not None and value < 0:
                problems.append(f"the {name} cannot be negative")
        if self.start_date and self.end_date and self.end_date < self.start_date:
            problems.append("the end date is before the start date")
        if problems:
            raise InvalidInput(
                "This contract or partnership cannot be recorded: " + "; ".join(problems) + "."
            )

    def is_responsible(self, email: str) -> bool:
        return (
            self.responsible_officer is not None and self.responsible_officer.email == email.strip().lower()
        )


@dataclass(frozen=True)
class SourceRecord:
    """What a council's published contract register (Transparency Code 2015) said about an imported row."""

    reference: str = ""
    department: str = ""
    supplier_details: str = ""
    irrecoverable_vat: Decimal | None = None
    review_date: date | None = None
    procurement_route: str = ""
    sme_vcse: str = ""
    registration_number: str = ""
    extra: tuple[tuple[str, str], ...] = field(default=())
