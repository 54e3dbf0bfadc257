"""The records the register keeps besides arrangements, and their plain-data form.

`to_data` and `from_data` turn any of the framework's frozen dataclasses into JSON-compatible data and back,
so every store (SQLite, SharePoint, JSON export) writes the same shape.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Callable, Hashable
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


_PLAIN = frozenset({str, int, float, bool, type(None)})


def to_data(value: Any) -> Any:
    """Plain data: dataclasses become dicts, Decimals exact strings, dates ISO strings, enums their value."""
    cls = type(value)
    if cls in _PLAIN:
        return value
    names = _field_names(cls)
    if names:
        return {name: to_data(getattr(value, name)) for name in names}
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
    convert: Convert = _converter(typing.cast(Hashable, cls))
    return typing.cast(T, convert(data))


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    """A type's dataclass field names, looked up once: `dataclasses.fields` is slow on the hot path."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = tuple(f.name for f in dataclasses.fields(cls)) if dataclasses.is_dataclass(cls) else ()
        _FIELD_NAMES[cls] = names
    return names


Convert = Callable[[Any], Any]


@functools.cache
def _converter(hint: Any) -> Convert:
    """A function that rebuilds a value of type `hint` from plain data; built once per type, since resolving
    type hints is slow and a dataclass's never change."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        return _optional(_converter(options[0])) if len(options) == 1 else _same
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            item = _converter(args[0])
            return _optional(lambda data: tuple(item(x) for x in data))
        items = tuple(_converter(a) for a in args)
        return _optional(lambda data: tuple(c(x) for c, x in zip(items, data, strict=True)))
    if origin is frozenset:
        item = _converter(args[0])
        return _optional(lambda data: frozenset(item(x) for x in data))
    if not isinstance(hint, type):
        return _same
    if dataclasses.is_dataclass(hint):
        hints = typing.get_type_hints(hint)
        fields = {f.name: _converter(hints[f.name]) for f in dataclasses.fields(hint) if f.init}
        built = hint
        return _optional(lambda data: built(**{k: fields[k](v) for k, v in data.items() if k in fields}))
    if issubclass(hint, Enum):
        return _optional(hint)
    if hint is Decimal:
        return _optional(lambda data: Decimal(str(data)))
    if hint is datetime:
        return _optional(datetime.fromisoformat)
    if hint is date:
        return _optional(date.fromisoformat)
    return _same


def _same(data: Any) -> Any:
    return data


def _optional(convert: Convert) -> Convert:
    return lambda data: None if data is None else convert(data)


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
    for name in _field_names(Arrangement):
        if name == "version":
            continue
        old_value = getattr(before, name) if before is not None else None
        new_value = getattr(after, name)
        if before is not None and old_value == new_value:
            continue
        old, new = _text(old_value), _text(new_value)
        if old != new:
            changes.append((name, old, new))
    return tuple(changes)


_CHANGE_LABELS = {
    "type": "Contract or partnership",
    "partner": "Partner or supplier",
    "source": "Published register record",
    "assessment": "Assessment against the criteria",
    "smt_decision": "SMT decision",
    "governance_review": "Governance self-assessment",
    "monitoring_update": "Monitoring update",
}


def change_label(name: str) -> str:
    """An audit line's field or record in words, for people: `annual_value` is "Annual value"."""
    return _CHANGE_LABELS.get(name) or name.replace("_", " ").capitalize()


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
