"""The records the register keeps besides arrangements, and their plain-data form.

`to_data` and `from_data` turn any of the framework's frozen dataclasses into JSON-compatible data and back,
so every store (SQLite, SharePoint, JSON export) writes the same shape.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar

from kcpf.assessment import Assessment
from kcpf.governance import GovernanceReview
from kcpf.model import Arrangement, Status
from kcpf.monitoring import MonitoringUpdate


@dataclass(frozen=True)
class SmtDecision:
    reference: str
    decision: Status
    decided_by: str
    decided_at: datetime
    note: str = ""


@dataclass(frozen=True)
class AuditEntry:
    """One write to the register: who, when, what, and each changed field before and after."""

    at: datetime
    actor: str
    reference: str
    action: str
    changes: tuple[tuple[str, str, str], ...]
    sequence: int = 0


Record = Assessment | SmtDecision | GovernanceReview | MonitoringUpdate

T = TypeVar("T")


def to_data(value: Any) -> Any:
    """Plain data: dataclasses become dicts, Decimals exact strings, dates ISO strings, enums their value."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_data(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, tuple | list | frozenset | set):
        return [to_data(item) for item in value]
    return value


def from_data(cls: type[T], data: Any) -> T:
    """The inverse of `to_data` for a dataclass type."""
    return typing.cast(T, _convert(cls, data))


def _convert(hint: Any, data: Any) -> Any:
    if data is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        return _convert(options[0], data) if len(options) == 1 else data
    if origin is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(args[0], item) for item in data)
        return tuple(_convert(a, item) for a, item in zip(args, data, strict=True))
    if origin is frozenset:
        return frozenset(_convert(typing.get_args(hint)[0], item) for item in data)
    if isinstance(hint, type):
        if dataclasses.is_dataclass(hint):
            hints, known = _init_hints(hint)
            return hint(**{k: _convert(hints[k], v) for k, v in data.items() if k in known})
        if issubclass(hint, Enum):
            return hint(data)
        if hint is Decimal:
            return Decimal(str(data))
        if hint is datetime:
            return datetime.fromisoformat(data)
        if hint is date:
            return date.fromisoformat(data)
    return data


@functools.cache
def _init_hints(cls: type) -> tuple[dict[str, Any], frozenset[str]]:
    """Resolving type hints is slow; a dataclass's never change."""
    return typing.get_type_hints(cls), frozenset(f.name for f in dataclasses.fields(cls) if f.init)


def _text(value: Any) -> str:
    data = to_data(value)
    if isinstance(data, list):
        return "; ".join(_text(item) for item in data)
    if isinstance(data, dict):
        return ", ".join(f"{k}={_text(v)}" for k, v in data.items() if v not in (None, "", []))
    return "" if data is None else str(data)


def arrangement_changes(before: Arrangement | None, after: Arrangement) -> tuple[tuple[str, str, str], ...]:
    """What a write changed, field by field, for the audit log (the version counter is not a change)."""
    changes = []
    for f in dataclasses.fields(Arrangement):
        if f.name == "version":
            continue
        old = _text(getattr(before, f.name)) if before is not None else ""
        new = _text(getattr(after, f.name))
        if old != new:
            changes.append((f.name, old, new))
    return tuple(changes)


def record_summary(record: Record) -> tuple[str, str, str]:
    """An audit line for a record added alongside a write."""
    if isinstance(record, Assessment):
        return ("assessment", "", f"{record.explanation} (framework {record.framework_version})")
    if isinstance(record, SmtDecision):
        return ("smt_decision", "", record.decision.label + (f": {record.note}" if record.note else ""))
    if isinstance(record, GovernanceReview):
        gaps = ", ".join(g.area for g in record.gaps) or "none"
        return ("governance_review", "", f"open gaps: {gaps}")
    return ("monitoring_update", "", f"{record.period}: {record.performance.label}")
