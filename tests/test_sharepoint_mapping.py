"""Mapping KCPF objects to SharePoint list items and back loses nothing, whatever an officer types."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from connectors.sharepoint import mapping
from connectors.sharepoint.schema import load_schema
from kcpf.assessment import Assessment, CriterionAnswer, Suggestion
from kcpf.governance import AreaAnswer, GovernanceReview, InPlace
from kcpf.model import Arrangement, ArrangementType, Council, Officer, SourceRecord, Status
from kcpf.monitoring import AnnualReview, Kpi, MonitoringUpdate, Rag, Risk, Trend
from kcpf.records import AuditEntry, SmtDecision
from tests.register_contract import (
    assessment_of,
    decision_on,
    full_arrangement,
    governance_of,
    update_of,
)

SCHEMA = load_schema()

# Any character at all, lone surrogates and control characters included: what survives these survives typing.
text = st.text(st.characters(codec=None, categories=None), max_size=400)
line = st.text(max_size=80)
money = st.none() | st.decimals(min_value=0, max_value=Decimal("1e15"), places=2, allow_nan=False)
number = st.decimals(
    min_value=Decimal("-1e9"), max_value=Decimal("1e9"), allow_nan=False, allow_infinity=False
)
days = st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31))
# `fold` means nothing with a fixed offset and is not part of a moment's ISO text.
moments = (
    st.datetimes(
        min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.sampled_from([UTC, None])
    )
    | st.datetimes(timezones=st.just(timezone(timedelta(hours=1))))
).map(lambda moment: moment.replace(fold=0))
emails = st.from_regex(r"[a-z0-9._]{1,20}@[a-z]{1,10}\.gov\.uk", fullmatch=True)
officers = st.builds(Officer, emails, line, line)
sources = st.builds(
    SourceRecord,
    line,
    line,
    text,
    money,
    st.none() | days,
    line,
    line,
    line,
    st.lists(st.tuples(line, text), max_size=3).map(tuple),
)


@st.composite
def arrangements(draw: st.DrawFn) -> Arrangement:
    start = draw(st.none() | days)
    end = (
        None if start is None else draw(st.none() | st.integers(0, 30000).map(lambda n: start + timedelta(n)))
    )
    return Arrangement(
        title=draw(text.filter(str.strip)),
        type=draw(st.sampled_from(ArrangementType)),
        council=draw(st.sampled_from(Council)),
        partner=draw(text.filter(str.strip)),
        responsible_officer=draw(st.none() | officers),
        service=draw(text),
        description=draw(text),
        annual_value=draw(money),
        total_value=draw(money),
        start_date=start,
        end_date=end,
        data_shared=draw(st.none() | st.booleans()),
        notice_period=draw(text),
        corporate_priorities=tuple(draw(st.lists(text, max_size=4))),
        status=draw(st.sampled_from(Status)),
        key_since=draw(st.none() | days),
        reference=draw(st.integers(1, 99999).map(lambda n: f"KCP-{n:04d}")),
        version=draw(st.integers(1, 10_000)),
        source=draw(st.none() | sources),
    )


references = st.integers(1, 9999).map(lambda n: f"KCP-{n:04d}")
suggestions = st.none() | st.builds(Suggestion, st.booleans(), text)
assessments = st.builds(
    Assessment,
    references,
    line,
    st.integers(0, 9),
    st.lists(st.builds(CriterionAnswer, line, st.booleans(), text, suggestions), max_size=6).map(tuple),
    st.lists(line, max_size=6).map(tuple),
    emails,
    moments,
).filter(lambda a: len(a.answers) == len(a.criterion_names))
decisions = st.builds(SmtDecision, references, st.sampled_from(Status), emails, moments, text)
reviews = st.builds(
    GovernanceReview,
    references,
    line,
    st.lists(
        st.builds(AreaAnswer, line, st.sampled_from(InPlace), text, st.none() | days, text), max_size=8
    ).map(tuple),
    emails,
    moments,
)
risks = st.builds(Risk, text, st.sampled_from(Rag), st.sampled_from(Trend))
updates = st.builds(
    MonitoringUpdate,
    references,
    st.sampled_from(["2025/26-H1", "2025/26-H2", "2030/31-H1"]),
    st.sampled_from(Rag),
    st.lists(st.builds(Kpi, text, number, number, st.sampled_from(Rag), st.booleans(), line), max_size=4).map(
        tuple
    ),
    text,
    text,
    st.lists(risks, max_size=4).map(tuple),
    risks,
    text,
    st.none() | st.builds(AnnualReview, text, st.lists(text, max_size=3).map(tuple)),
    emails,
    moments,
)
entries = st.builds(
    AuditEntry,
    moments,
    emails,
    references,
    line,
    st.lists(st.tuples(line, text, text), max_size=5).map(tuple),
    st.integers(0, 10**9),
)


def through_graph(fields: dict[str, Any]) -> dict[str, Any]:
    """What SharePoint gives back: the fields as JSON over HTTP (the ASCII JSON column is untouched)."""
    back: dict[str, Any] = json.loads(json.dumps(fields))
    return back


def same(a: Any, b: Any) -> bool:
    """Equal, and Decimals keep their exact figures (Decimal equality ignores trailing zeros)."""
    return a == b and repr(a) == repr(b)


@settings(max_examples=200, deadline=None)
@given(arrangement=arrangements(), history=st.lists(entries, max_size=4))
def test_any_arrangement_and_its_history_come_back_equal(
    arrangement: Arrangement, history: list[AuditEntry]
) -> None:
    fields = through_graph(
        mapping.arrangement_fields(arrangement, history, SCHEMA.list("arrangements"), write_id="w-1")
    )
    assert same(mapping.arrangement_from_fields(fields), arrangement)
    assert mapping.history_from_fields(fields) == history
    assert mapping.write_id_of(fields) == "w-1"
    assert fields[mapping.RECORD_JSON].isascii()


@settings(max_examples=100, deadline=None)
@given(record=assessments | decisions | reviews | updates)
@example(  # found by Hypothesis: the earliest moment, east of UTC, has no UTC date for the view column
    record=GovernanceReview(
        "KCP-0001", "", (), "0@a.gov.uk", datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1)))
    )
)
def test_any_record_comes_back_equal(
    record: Assessment | SmtDecision | GovernanceReview | MonitoringUpdate,
) -> None:
    key = mapping.record_list(record)
    fields = through_graph(mapping.record_fields(record, SCHEMA.list(key), write_id="w-2"))
    assert same(mapping.record_from_fields(type(record), fields), record)
    assert fields[mapping.REFERENCE] == record.reference
    assert mapping.write_id_of(fields) == "w-2"


def test_the_framework_objects_fill_the_columns_users_see() -> None:
    stored = full_arrangement(reference="KCP-0001", version=3, title="A" * 300)
    fields = mapping.arrangement_fields(stored, [], SCHEMA.list("arrangements"), write_id="w")
    assert len(fields["Title"]) == 255
    assert mapping.arrangement_from_fields(fields).title == "A" * 300
    assert fields["Council"] == "Chorley"
    assert fields["ArrangementStatus"] == "Identified"
    assert fields["AnnualValue"] == 99999.99
    assert fields["StartDate"] == "2025-04-01T00:00:00Z"
    assert fields["ResponsibleOfficerEmail"] == "alice.smith@chorley.gov.uk"
    assert fields["KcpfVersion"] == 3
    assert "procurement route: Open tender" in fields["SourceRecord"]
    assert fields["SourceRecord"].endswith("Lot: 1\nFramework: ESPO 265")
    assessment = assessment_of(stored)
    columns = mapping.record_fields(assessment, SCHEMA.list("assessments"), write_id="w")
    assert (columns["CriteriaMet"], columns["IsKey"], columns["AssessedAt"]) == (
        3,
        True,
        "2025-11-03T09:30:00Z",
    )
    assert "Financial: met (Rises to £120k a year from year two)" in columns["CriteriaAnswers"]
    update = mapping.record_fields(
        update_of(stored, "2024/25-H2"), SCHEMA.list("monitoring-updates"), write_id="w"
    )
    assert (update["Period"], update["Performance"], update["IsAnnualReview"]) == (
        "2024/25-H2",
        "Amber",
        True,
    )
    review = mapping.record_fields(governance_of(stored), SCHEMA.list("governance-reviews"), write_id="w")
    assert (review["AreasWithGaps"], review["NextTargetDate"]) == (1, "2026-01-31T00:00:00Z")
    decision = mapping.record_fields(decision_on(stored), SCHEMA.list("smt-decisions"), write_id="w")
    assert decision["Decision"] == "Key (SMT decision)"


def test_every_column_written_is_in_the_schema_and_every_schema_column_is_written() -> None:
    stored = full_arrangement(reference="KCP-0001", version=1)
    entry = AuditEntry(datetime(2025, 1, 1, tzinfo=UTC), "a@b.gov.uk", "KCP-0001", "record", ())
    written = {
        "arrangements": mapping.arrangement_fields(stored, [entry], SCHEMA.list("arrangements"), write_id="w")
    }
    for record in (assessment_of(stored), decision_on(stored), governance_of(stored), update_of(stored)):
        key = mapping.record_list(record)
        written[key] = mapping.record_fields(record, SCHEMA.list(key), write_id="w")
    for key, fields in written.items():
        columns = {c.name for c in SCHEMA.list(key).columns} | {"Title"}
        assert set(fields) == columns, key


def test_an_item_without_kcpf_data_is_refused_with_its_reference() -> None:
    with pytest.raises(mapping.UnreadableItem, match=r"KCP-0004.*version history"):
        mapping.arrangement_from_fields({"KcpfReference": "KCP-0004", "Title": "Edited by hand"})


def test_a_record_too_long_for_sharepoint_is_refused_not_cut() -> None:
    long = full_arrangement(reference="KCP-0001", version=1, description="word " * 13_000)
    with pytest.raises(mapping.TooLong, match=r"KCP-0001 is too long.*Nothing was saved"):
        mapping.arrangement_fields(long, [], SCHEMA.list("arrangements"), write_id="w")
    fine = full_arrangement(reference="KCP-0001", version=1, description="word " * 12_000)
    fields = mapping.arrangement_fields(fine, [], SCHEMA.list("arrangements"), write_id="w")
    assert mapping.arrangement_from_fields(fields) == fine


def test_a_note_kept_with_windows_line_breaks_is_not_sent_again() -> None:
    """SharePoint may store a note's line breaks as CR LF: `kcpf sharepoint standing` must not rewrite it."""
    arrangements = SCHEMA.list("arrangements")
    wanted = {"GovernanceGapPlans": "Risk: plan (by 31 March 2027)\nAudit: plan"}
    stored = {"GovernanceGapPlans": "Risk: plan (by 31 March 2027)\r\nAudit: plan"}
    assert mapping.standing_differs(stored, wanted, arrangements) == {}
    assert mapping.standing_differs({"GovernanceGapPlans": "Risk: other"}, wanted, arrangements) == wanted
