"""KCPF objects to SharePoint list item `fields` and back, without losing a word.

Every item carries the whole object as JSON (`to_data`, ASCII-escaped so no character can be mangled on the
way) in the hidden `KcpfRecordJson` column: that is what is read back. The other columns are projections for
SharePoint's own views, filters and indexes (a title cut to SharePoint's 255 characters, money as a
currency, a choice as the text users see); they are rewritten on every save and never read as the truth.

An arrangement's audit log travels with it (`KcpfHistory`, JSON), so a save is one Graph request; the
readable `LastChange` column puts each change in words into SharePoint's own version history.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final, TypeVar

from connectors.sharepoint.schema import Column, ListSchema
from kcpf.assessment import Assessment
from kcpf.errors import InvalidInput
from kcpf.governance import GovernanceReview, InPlace
from kcpf.model import Arrangement, SourceRecord
from kcpf.monitoring import MonitoringUpdate, Risk
from kcpf.parsing import format_uk_date
from kcpf.records import AuditEntry, Record, SmtDecision, from_data, to_data
from kcpf.standing import Standing

T = TypeVar("T")

TITLE: Final = "Title"
REFERENCE: Final = "KcpfReference"
RECORD_JSON: Final = "KcpfRecordJson"
WRITE_ID: Final = "KcpfWriteId"
HISTORY: Final = "KcpfHistory"
VERSION: Final = "KcpfVersion"

ARRANGEMENTS: Final = "arrangements"
RECORD_LISTS: Final[dict[type[Any], str]] = {
    Assessment: "assessments",
    SmtDecision: "smt-decisions",
    GovernanceReview: "governance-reviews",
    MonitoringUpdate: "monitoring-updates",
}
"""Each kind of record and the key of the list it is kept in."""

# SharePoint's single line of text holds at most 255 characters; the JSON column keeps every word.
SINGLE_LINE_LIMIT: Final = 255
# A multiple lines of text column holds up to 63,999 characters (as commonly documented for SharePoint
# Online lists; the fake does not enforce it). A record too long for it is refused before it is recorded.
NOTE_LIMIT: Final = 63_999


class TooLong(InvalidInput):
    """A record or an audit log longer than a SharePoint text column holds."""


class UnreadableItem(InvalidInput):
    """A list item KCPF cannot read back: its hidden KCPF columns are missing or were edited by hand."""


def encode(value: Any) -> str:
    """`to_data` as JSON text, ASCII only: lone surrogates and control characters survive any transport."""
    return json.dumps(to_data(value), ensure_ascii=True, separators=(",", ":"))


def decode(cls: type[T], text: str) -> T:
    return from_data(cls, json.loads(text))


def single_line(text: str) -> str:
    """A single line of text column's value: no line breaks, at most 255 characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= SINGLE_LINE_LIMIT else flat[: SINGLE_LINE_LIMIT - 1] + "…"


def _typed(column: Column, value: Any) -> Any:
    """A value as Graph takes it for the column's type."""
    if value is None:
        return None
    kind = column.type
    if kind == "text":
        return single_line(str(value))
    if kind == "choice":
        return column.label_for(str(to_data(value)))
    if kind in {"currency", "number"}:
        return float(value) if isinstance(value, Decimal) else value
    if kind == "date":
        return f"{value.isoformat()}T00:00:00Z"
    if kind == "dateTime":
        try:
            moment = value.astimezone(UTC) if value.tzinfo else value
        except OverflowError:  # before year 1 in UTC: the view column stays empty; the JSON keeps the moment
            return None
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def _fields(schema: ListSchema, values: Mapping[str, Any]) -> dict[str, Any]:
    """Every value typed for its column; a name the schema lacks is a programming error, caught by tests."""
    fields = {TITLE: single_line(str(values[TITLE]))}
    for name, value in values.items():
        if name == TITLE:
            continue
        typed = _typed(schema.column(name), value)
        if isinstance(typed, str) and len(typed) > NOTE_LIMIT:
            if name in (RECORD_JSON, HISTORY):
                what = "record" if name == RECORD_JSON else "audit log"
                raise TooLong(
                    f"{values.get(REFERENCE, 'This')} is too long to keep in SharePoint as it is: its {what} "
                    f"would be {len(typed):,} characters, and a SharePoint text column holds {NOTE_LIMIT:,}. "
                    "Nothing was saved: shorten the longest answers (or attach them as a document) and save "
                    "again."
                )
            typed = typed[: NOTE_LIMIT - 1] + "…"  # a view's copy; the JSON column keeps every word
        fields[name] = typed
    return fields


def _lines(items: Sequence[str]) -> str:
    return "\n".join(items)


def describe_entry(entry: AuditEntry) -> str:
    """An audit entry in words, for the `LastChange` column and so SharePoint's version history."""
    head = f"{format_uk_date(entry.at.date())} {entry.at:%H:%M}, {entry.actor}: {entry.action}"
    changes = [f"{name}: {old or '(empty)'} → {new or '(empty)'}" for name, old, new in entry.changes]
    return _lines([head, *changes])


def arrangement_fields(
    arrangement: Arrangement,
    history: Sequence[AuditEntry],
    schema: ListSchema,
    *,
    write_id: str,
    standing: Standing | None = None,
    area_names: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The item fields for a stored arrangement (reference and version set) and its audit log so far, with
    where it stands (`kcpf.standing`) for SharePoint's views; without a standing those columns are empty."""
    if arrangement.reference is None:
        raise InvalidInput("An arrangement is given its reference before it is sent to SharePoint.")
    officer = arrangement.responsible_officer
    source = arrangement.source
    return _fields(
        schema,
        {
            TITLE: arrangement.title,
            REFERENCE: arrangement.reference,
            "ArrangementType": arrangement.type,
            "Council": arrangement.council,
            "Partner": arrangement.partner,
            "ResponsibleOfficerEmail": officer.email if officer else None,
            "ResponsibleOfficerName": officer.name if officer else None,
            "ResponsibleOfficerId": officer.aad_object_id if officer else None,
            "Service": arrangement.service,
            "ArrangementDescription": arrangement.description,
            "AnnualValue": arrangement.annual_value,
            "TotalValue": arrangement.total_value,
            "StartDate": arrangement.start_date,
            "EndDate": arrangement.end_date,
            "ReviewDate": source.review_date if source else None,
            "DataShared": arrangement.data_shared,
            "NoticePeriod": arrangement.notice_period,
            "CorporatePriorities": _lines(arrangement.corporate_priorities),
            "ArrangementStatus": arrangement.status,
            "KeySince": arrangement.key_since,
            VERSION: arrangement.version,
            "SourceRecord": _source_lines(source) if source else None,
            RECORD_JSON: encode(arrangement),
            WRITE_ID: write_id,
            HISTORY: encode(list(history)),
            "LastChange": describe_entry(history[-1]) if history else None,
            **standing_values(standing, area_names or {}),
        },
    )


def standing_values(standing: Standing | None, area_names: Mapping[str, str]) -> dict[str, Any]:
    """The arrangement's standing columns: its latest RAG, the next update owed and when, its open
    governance gaps (one line each: "Area name: plan (by 31 March 2027)") and their earliest target."""
    if standing is None:
        return dict.fromkeys(STANDING_COLUMNS)
    gaps = [
        area_names.get(g.area, g.area)
        + (f": {g.plan}" if g.plan else "")
        + (f" (by {format_uk_date(g.target_date)})" if g.target_date else "")
        for g in standing.open_gaps
    ]
    return {
        "LatestPerformance": standing.performance,
        "NextUpdatePeriod": str(standing.next_update) if standing.next_update else None,
        "NextUpdateDue": standing.next_update_due,
        "OpenGovernanceGaps": len(standing.open_gaps),
        "GovernanceGapPlans": _lines(gaps) or None,
        "NextGapTargetDate": standing.next_gap_target,
    }


def later_fields(
    arrangement: Arrangement,
    standing: Standing | None,
    area_names: Mapping[str, str],
    schema: ListSchema,
) -> dict[str, Any]:
    """The `LATER_COLUMNS` alone, typed as Graph takes them (to bring an item saved before them up to
    date)."""
    source = arrangement.source
    values = {"ReviewDate": source.review_date if source else None, **standing_values(standing, area_names)}
    return {name: _typed(schema.column(name), value) for name, value in values.items()}


def standing_differs(
    found: Mapping[str, Any], wanted: Mapping[str, Any], schema: ListSchema
) -> dict[str, Any]:
    """The standing columns whose stored value differs from `wanted` (as `later_fields` gives them). A
    date-only column is stored as midnight in the site's time zone, which is within 14 hours of the UTC
    midnight KCPF sends: that is the same date. A note's line breaks may come back as \r\n: the same note."""
    changed = {}
    for name, value in wanted.items():
        have = found.get(name)
        if schema.column(name).type == "date" and isinstance(have, str) and isinstance(value, str):
            try:
                apart = abs(
                    datetime.fromisoformat(have.replace("Z", "+00:00"))
                    - datetime.fromisoformat(value.replace("Z", "+00:00"))
                )
            except ValueError:
                apart = None
            if apart is not None and apart <= timedelta(hours=14):
                continue
        elif have == value or (have in (None, "") and value in (None, "")):
            continue
        elif isinstance(have, str) and isinstance(value, str) and have.replace("\r\n", "\n") == value:
            continue  # SharePoint may keep a note's line breaks as \r\n
        changed[name] = value
    return changed


STANDING_COLUMNS: Final = (
    "LatestPerformance",
    "NextUpdatePeriod",
    "NextUpdateDue",
    "OpenGovernanceGaps",
    "GovernanceGapPlans",
    "NextGapTargetDate",
)
# Projections added to the arrangements list after its first release: a site provisioned before them lacks
# them until `kcpf sharepoint provision` runs again, and saves leave them out meanwhile (register.py).
LATER_COLUMNS: Final = ("ReviewDate", *STANDING_COLUMNS)


def _source_lines(source: SourceRecord) -> str:
    """The published register's row, one "name: value" a line, its extra columns last."""
    data = to_data(source)
    extra = data.pop("extra", [])
    named = [f"{name.replace('_', ' ')}: {value}" for name, value in data.items() if value not in (None, "")]
    return _lines(named + [f"{name}: {value}" for name, value in extra])


def _required(fields: Mapping[str, Any], name: str) -> str:
    value = fields.get(name)
    if not isinstance(value, str) or not value:
        what = fields.get(REFERENCE) or fields.get(TITLE) or "An item"
        raise UnreadableItem(
            f"{what} in SharePoint has no KCPF data in its {name} column: it was not written by KCPF or its "
            "hidden columns were edited. Nothing was read from it; restore it from its version history."
        )
    return value


def arrangement_from_fields(fields: Mapping[str, Any]) -> Arrangement:
    return decode(Arrangement, _required(fields, RECORD_JSON))


def history_from_fields(fields: Mapping[str, Any]) -> list[AuditEntry]:
    """The arrangement's audit entries, oldest first."""
    text = fields.get(HISTORY)
    if not text:
        return []
    return [from_data(AuditEntry, entry) for entry in json.loads(str(text))]


def write_id_of(fields: Mapping[str, Any]) -> str:
    value = fields.get(WRITE_ID)
    return value if isinstance(value, str) else ""


def record_list(record: Record | type[Any]) -> str:
    """The key of the list a record (or kind of record) is kept in."""
    kind = record if isinstance(record, type) else type(record)
    key = RECORD_LISTS.get(kind)
    if key is None:
        raise InvalidInput(f"The register cannot keep a {kind.__name__}.")
    return key


def _risk(risk: Risk) -> str:
    return f"{risk.description}: {risk.rating.label}, {risk.trend.label.lower()}"


def record_fields(record: Record, schema: ListSchema, *, write_id: str) -> dict[str, Any]:
    """The item fields for a record, in the list `record_list(record)` names."""
    values: dict[str, Any] = {
        TITLE: record.reference,
        REFERENCE: record.reference,
        RECORD_JSON: encode(record),
        WRITE_ID: write_id,
    }
    if isinstance(record, Assessment):
        values |= {
            "FrameworkVersion": record.framework_version,
            "CriteriaMet": record.met_count,
            "KeyThreshold": record.key_threshold,
            "IsKey": record.is_key,
            "CriteriaAnswers": _lines(
                [
                    f"{name}: {'met' if a.met else 'not met'}" + (f" ({a.reason})" if a.reason else "")
                    for name, a in zip(record.criterion_names, record.answers, strict=True)
                ]
            ),
            "AssessedBy": record.assessed_by,
            "AssessedAt": record.assessed_at,
        }
    elif isinstance(record, SmtDecision):
        values |= {
            "Decision": record.decision,
            "DecidedBy": record.decided_by,
            "DecidedAt": record.decided_at,
            "DecisionNote": record.note,
        }
    elif isinstance(record, GovernanceReview):
        targets = [g.target_date for g in record.gaps if g.target_date is not None]
        values |= {
            "FrameworkVersion": record.framework_version,
            "AreasInPlace": sum(a.in_place is InPlace.YES for a in record.answers),
            "AreasWithGaps": len(record.gaps),
            "AreaAnswers": _lines(
                [
                    f"{a.area}: {a.in_place.label}"
                    + (f"; plan: {a.plan}" if a.plan else "")
                    + (f" by {format_uk_date(a.target_date)}" if a.target_date else "")
                    + (f" ({a.note})" if a.note else "")
                    for a in record.answers
                ]
            ),
            "NextTargetDate": min(targets, default=None),
            "CompletedBy": record.completed_by,
            "CompletedAt": record.completed_at,
        }
    else:
        annual = record.annual
        values |= {
            "Period": record.period,
            "Performance": record.performance,
            "Kpis": _lines(
                [
                    f"{k.name}: target {k.target}{' ' + k.unit if k.unit else ''}, actual {k.actual}, "
                    f"{k.rag.label}"
                    for k in record.kpis
                ]
            ),
            "Achievements": record.achievements,
            "IssuesToEscalate": record.issues_to_escalate,
            "Risks": _lines([_risk(r) for r in record.risks]),
            "FinancialStability": record.financial_stability.rating,
            "NewArrangementsIdentified": record.new_arrangements_identified,
            "IsAnnualReview": record.is_annual,
            "AnnualReview": _lines([annual.performance_against_targets, *annual.objectives])
            if annual
            else None,
            "SubmittedBy": record.submitted_by,
            "SubmittedAt": record.submitted_at,
        }
    return _fields(schema, values)


def record_from_fields(cls: type[T], fields: Mapping[str, Any]) -> T:
    return decode(cls, _required(fields, RECORD_JSON))
