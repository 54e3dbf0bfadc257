"""The contract every `kcpf.ports.Register` adapter meets, whatever it stores in (SQLite, SharePoint, ...).

An adapter's test module subclasses `RegisterContract` and supplies a `register` fixture that gives an empty
register; every test here then runs against that adapter. Nothing here may depend on how a register stores.
Test objects are built with the framework's own functions, so they are the shapes the application writes.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kcpf.assessment import Answer, Assessment, assess
from kcpf.calendar import Period
from kcpf.errors import Conflict, InvalidInput, NotFound
from kcpf.framework import FRAMEWORK_2025
from kcpf.governance import AreaAnswer, GovernanceReview, InPlace, applicable_areas, review_governance
from kcpf.model import Arrangement, ArrangementType, Council, Officer, SourceRecord, Status
from kcpf.monitoring import AnnualReview, Kpi, MonitoringUpdate, Rag, Risk, Trend, prepare_update
from kcpf.ports import Register
from kcpf.records import SmtDecision

WHEN = datetime(2025, 11, 3, 9, 30, tzinfo=UTC)
LATER = WHEN + timedelta(hours=2)
ALICE = "alice.smith@chorley.gov.uk"
BOB = "bob.jones@southribble.gov.uk"


def full_arrangement(**changes: Any) -> Arrangement:
    """A contract with every field filled in, including the awkward ones."""
    arrangement = Arrangement(
        title="Leisure centre management – three centres",
        type=ArrangementType.CONTRACT,
        council=Council.CHORLEY,
        partner="Active Nation UK Ltd",
        responsible_officer=Officer("Alice.Smith@Chorley.gov.uk", "Alice Smith", "5b1c6f1e-0000-4c3a-9d1e"),
        service="Communities",
        description="Running the borough's leisure centres.\nIncludes the pool.",
        annual_value=Decimal("99999.99"),
        total_value=Decimal("1250000.00"),
        start_date=date(2025, 4, 1),
        end_date=date(2031, 3, 31),
        data_shared=False,
        notice_period="6 months",
        corporate_priorities=FRAMEWORK_2025.priorities_for(Council.CHORLEY, 2025)[:2],
        status=Status.IDENTIFIED,
        key_since=date(2025, 10, 16),
        source=SourceRecord(
            reference="CBC-2025-017",
            department="Communities",
            supplier_details="Company no. 01234567",
            irrecoverable_vat=Decimal("0.00"),
            review_date=date(2028, 4, 1),
            procurement_route="Open tender",
            sme_vcse="No",
            registration_number="01234567",
            extra=(("Lot", "1"), ("Framework", "ESPO 265")),
        ),
    )
    return dataclasses.replace(arrangement, **changes)


def bare_arrangement(
    title: str = "Grounds maintenance",
    council: Council = Council.SOUTH_RIBBLE,
    officer: str | None = None,
    status: Status = Status.IDENTIFIED,
) -> Arrangement:
    """Only the required fields: everything else None or empty."""
    return Arrangement(
        title=title,
        type=ArrangementType.PARTNERSHIP,
        council=council,
        partner="Partner Ltd",
        responsible_officer=Officer(officer) if officer else None,
        status=status,
    )


def assessment_of(stored: Arrangement, at: datetime = WHEN) -> Assessment:
    answers = {
        "financial": Answer(True, "Rises to £120k a year from year two"),
        "priorities": Answer(True, "Healthy, safe and engaged communities"),
        "risk": Answer(False),
        "length": Answer(True),
        "resource": Answer(False, "Other providers are available"),
    }
    return assess(FRAMEWORK_2025, stored, answers, by=ALICE, at=at)


def decision_on(stored: Arrangement) -> SmtDecision:
    assert stored.reference is not None
    return SmtDecision(stored.reference, Status.KEY, BOB, LATER, note="Agreed at SMT, 10 November")


def governance_of(stored: Arrangement) -> GovernanceReview:
    answers = {
        a.key: AreaAnswer(a.key, InPlace.YES, note="In the contract")
        for a in applicable_areas(FRAMEWORK_2025, stored)
    }
    answers["risk_management"] = AreaAnswer(
        "risk_management",
        InPlace.NO,
        plan="Create a joint risk register on GRACE",
        target_date=date(2026, 1, 31),
    )
    return review_governance(FRAMEWORK_2025, stored, answers, by=ALICE, at=WHEN)


def update_of(stored: Arrangement, period: str = "2025/26-H1") -> MonitoringUpdate:
    annual = AnnualReview("Seven of eight targets met", ("Open the new pool", "Cut energy use by 10%"))
    return prepare_update(
        stored,
        Period.parse(period),
        performance=None,
        kpis=[
            Kpi.measured(FRAMEWORK_2025, "Visits", Decimal("50000"), Decimal("48750"), unit="visits"),
            Kpi.measured(
                FRAMEWORK_2025,
                "Days to fix faults",
                Decimal("5"),
                Decimal("4.5"),
                lower_is_better=True,
                unit="days",
            ),
        ],
        achievements="Pool reopened on time.",
        issues_to_escalate="",
        risks=[Risk("Energy costs", Rag.AMBER, Trend.WORSENING), Risk("Staffing", Rag.GREEN, Trend.NEW)],
        financial_stability=Risk("Accounts filed on time; stable", Rag.GREEN, Trend.STABLE),
        annual=annual if Period.parse(period).is_annual else None,
        by=ALICE,
        at=WHEN,
    )


class RegisterContract:
    """Subclass this and supply a `register` fixture giving an empty `Register`."""

    # Helpers

    def add(
        self, register: Register, arrangement: Arrangement | None = None, *, actor: str = ALICE
    ) -> Arrangement:
        return register.save(arrangement or full_arrangement(), action="record", actor=actor, at=WHEN)

    # References and versions

    def test_references_are_given_in_order(self, register: Register) -> None:
        first = self.add(register)
        second = self.add(register, bare_arrangement())
        assert (first.reference, second.reference) == ("KCP-0001", "KCP-0002")
        assert (first.version, second.version) == (1, 1)

    def test_references_are_never_given_twice(self, register: Register) -> None:
        first = self.add(register)
        register.save(dataclasses.replace(first, title="Renamed"), action="edit", actor=ALICE, at=LATER)
        third = [self.add(register, bare_arrangement(f"Arrangement {n}")) for n in range(3)]
        references = [first.reference] + [a.reference for a in third]
        assert references == ["KCP-0001", "KCP-0002", "KCP-0003", "KCP-0004"]
        assert [a.reference for a in register.arrangements()] == references

    def test_get_unknown_reference_is_not_found(self, register: Register) -> None:
        self.add(register)
        with pytest.raises(NotFound, match="KCP-0099"):
            register.get("KCP-0099")

    def test_update_of_unknown_reference_is_not_found(self, register: Register) -> None:
        ghost = full_arrangement(reference="KCP-0042", version=1)
        with pytest.raises(NotFound, match="KCP-0042"):
            register.save(ghost, action="edit", actor=ALICE, at=WHEN)
        assert register.arrangements() == []
        assert register.audit_log() == []

    def test_update_bumps_the_version(self, register: Register) -> None:
        stored = self.add(register)
        second = register.save(
            dataclasses.replace(stored, notice_period="3 months"), action="edit", actor=BOB, at=LATER
        )
        third = register.save(
            dataclasses.replace(second, status=Status.ASSESSED), action="edit", actor=BOB, at=LATER
        )
        assert (second.version, third.version) == (2, 3)
        assert register.get("KCP-0001") == third
        assert register.get("KCP-0001").notice_period == "3 months"

    # Round trips

    def test_every_field_round_trips(self, register: Register) -> None:
        original = full_arrangement()
        stored = self.add(register, original)
        assert stored == dataclasses.replace(original, reference="KCP-0001", version=1)
        read = register.get("KCP-0001")
        assert read == stored
        for f in dataclasses.fields(Arrangement):
            assert getattr(read, f.name) == getattr(stored, f.name), f.name
            assert type(getattr(read, f.name)) is type(getattr(stored, f.name)), f.name
        # Decimal equality ignores trailing zeros; the register keeps the exact figure.
        assert str(read.annual_value) == "99999.99"
        assert str(read.total_value) == "1250000.00"
        assert read.source is not None
        assert str(read.source.irrecoverable_vat) == "0.00"
        assert read.corporate_priorities == original.corporate_priorities
        assert isinstance(read.corporate_priorities, tuple)

    def test_empty_fields_round_trip(self, register: Register) -> None:
        stored = self.add(register, bare_arrangement())
        read = register.get(stored.reference or "")
        assert read == stored
        assert read.responsible_officer is None
        assert read.annual_value is None
        assert read.data_shared is None
        assert read.source is None
        assert read.corporate_priorities == ()

    # Each example saves one more arrangement into the same register, which is fine; and every adapter's
    # subclass runs this same method, which is the point of a contract.
    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.differing_executors],
    )
    @given(
        title=st.text(min_size=1, max_size=60).filter(lambda t: t.strip() != ""),
        value=st.decimals(min_value=0, max_value=Decimal("1e12"), places=2, allow_nan=False),
        start=st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 1, 1)),
        days=st.integers(min_value=0, max_value=20000),
        data_shared=st.none() | st.booleans(),
    )
    def test_any_values_round_trip(
        self,
        register: Register,
        title: str,
        value: Decimal,
        start: date,
        days: int,
        data_shared: bool | None,
    ) -> None:
        original = full_arrangement(
            title=title,
            annual_value=value,
            start_date=start,
            end_date=start + timedelta(days=days),
            data_shared=data_shared,
        )
        stored = self.add(register, original)
        read = register.get(stored.reference or "")
        assert read == stored
        assert str(read.annual_value) == str(value)

    # Optimistic writes

    def test_stale_write_is_refused_and_overwrites_nothing(self, register: Register) -> None:
        self.add(register)
        alices_copy = register.get("KCP-0001")
        bobs_copy = register.get("KCP-0001")
        register.save(
            dataclasses.replace(alices_copy, title="Alice's title"), action="edit", actor=ALICE, at=LATER
        )
        with pytest.raises(Conflict, match="someone else") as refused:
            register.save(
                dataclasses.replace(bobs_copy, partner="Bob's partner"), action="edit", actor=BOB, at=LATER
            )
        assert ALICE in refused.value.message
        assert "overwritten" in refused.value.message
        kept = register.get("KCP-0001")
        assert (kept.title, kept.partner, kept.version) == ("Alice's title", "Active Nation UK Ltd", 2)
        assert [e.actor for e in register.audit_log("KCP-0001")] == [ALICE, ALICE]

    def test_a_refused_write_saves_none_of_its_records(self, register: Register) -> None:
        stored = self.add(register)
        register.save(dataclasses.replace(stored, title="Changed"), action="edit", actor=ALICE, at=LATER)
        with pytest.raises(Conflict):
            register.save(
                dataclasses.replace(stored, status=Status.KEY),
                action="decide",
                actor=BOB,
                at=LATER,
                records=[decision_on(stored), assessment_of(stored)],
            )
        assert register.decisions() == []
        assert register.assessments() == []
        assert register.get("KCP-0001").status is Status.IDENTIFIED
        assert len(register.audit_log()) == 2

    def test_records_for_another_arrangement_are_refused(self, register: Register) -> None:
        first = self.add(register)
        second = self.add(register, bare_arrangement())
        with pytest.raises(InvalidInput, match="KCP-0001"):
            register.save(second, action="assess", actor=ALICE, at=WHEN, records=[assessment_of(first)])
        assert register.get("KCP-0002").version == 1
        assert register.assessments() == []
        assert len(register.audit_log()) == 2

    def test_records_with_a_new_arrangement_must_name_it(self, register: Register) -> None:
        stored = self.add(register)
        with pytest.raises(InvalidInput):
            register.save(
                bare_arrangement(), action="record", actor=ALICE, at=WHEN, records=[decision_on(stored)]
            )
        assert [a.reference for a in register.arrangements()] == ["KCP-0001"]
        assert register.decisions() == []

    # Records

    def test_records_round_trip_exactly(self, register: Register) -> None:
        stored = self.add(register)
        assessment = assessment_of(stored)
        decision = decision_on(stored)
        review = governance_of(stored)
        h1 = update_of(stored, "2025/26-H1")
        h2 = update_of(stored, "2024/25-H2")
        register.save(
            stored, action="everything", actor=ALICE, at=WHEN, records=[assessment, decision, review, h1, h2]
        )
        assert register.assessments("KCP-0001") == [assessment]
        assert register.decisions("KCP-0001") == [decision]
        assert register.governance_reviews("KCP-0001") == [review]
        assert register.monitoring_updates("KCP-0001") == [h1, h2]
        # The parts that matter most, checked explicitly.
        read = register.assessments()[0]
        financial = read.answer("financial")
        assert financial.suggestion is not None
        assert financial.overrides_suggestion
        assert financial.reason == "Rises to £120k a year from year two"
        assert read.explanation == assessment.explanation
        gaps = register.governance_reviews()[0].gaps
        assert [(g.area, g.plan, g.target_date) for g in gaps] == [
            ("risk_management", "Create a joint risk register on GRACE", date(2026, 1, 31))
        ]
        assert register.governance_reviews()[0].answer("mou").in_place is InPlace.NOT_APPLICABLE
        update = register.monitoring_updates(period="2025/26-H1")[0]
        assert [str(k.actual) for k in update.kpis] == ["48750", "4.5"]
        assert [k.rag for k in update.kpis] == [Rag.AMBER, Rag.GREEN]
        assert update.annual is None
        annual = register.monitoring_updates(period="2024/25-H2")[0].annual
        assert annual == AnnualReview(
            "Seven of eight targets met", ("Open the new pool", "Cut energy use by 10%")
        )

    def test_records_come_back_oldest_first_and_filtered(self, register: Register) -> None:
        first = self.add(register)
        second = self.add(register, full_arrangement(title="Second"))
        early = assessment_of(first, WHEN)
        other = assessment_of(second, WHEN + timedelta(minutes=1))
        late = assessment_of(first, LATER)
        for record, stored in ((early, first), (other, second), (late, first)):
            current = register.get(stored.reference or "")
            register.save(current, action="assess", actor=ALICE, at=WHEN, records=[record])
        assert register.assessments() == [early, other, late]
        assert register.assessments("KCP-0001") == [early, late]
        assert register.assessments("KCP-0002") == [other]
        assert register.assessments("KCP-0003") == []
        register.save(
            register.get("KCP-0001"), action="update", actor=ALICE, at=LATER, records=[update_of(first)]
        )
        register.save(
            register.get("KCP-0002"),
            action="update",
            actor=ALICE,
            at=LATER,
            records=[update_of(second, "2024/25-H2")],
        )
        assert [u.reference for u in register.monitoring_updates(period="2025/26-H1")] == ["KCP-0001"]
        assert [u.period for u in register.monitoring_updates("KCP-0002")] == ["2024/25-H2"]
        assert register.monitoring_updates("KCP-0001", period="2024/25-H2") == []

    # Lists

    def test_lists_filter_by_council_status_and_officer(self, register: Register) -> None:
        register.save_many(
            [
                bare_arrangement("Chorley one", Council.CHORLEY, ALICE, Status.KEY),
                bare_arrangement("South Ribble one", Council.SOUTH_RIBBLE, BOB, Status.KEY),
                bare_arrangement("Shared one", Council.SHARED, ALICE, Status.ASSESSED),
                bare_arrangement("Chorley two", Council.CHORLEY, None, Status.ASSESSED),
            ],
            action="import",
            actor=ALICE,
            at=WHEN,
        )

        def titles(**filters: Any) -> list[str]:
            return [a.title for a in register.arrangements(**filters)]

        assert titles() == ["Chorley one", "South Ribble one", "Shared one", "Chorley two"]
        assert titles(council=Council.CHORLEY) == ["Chorley one", "Shared one", "Chorley two"]
        assert titles(council=Council.SOUTH_RIBBLE) == ["South Ribble one", "Shared one"]
        assert titles(council=Council.SHARED) == ["Shared one"]
        assert titles(status=Status.KEY) == ["Chorley one", "South Ribble one"]
        assert titles(officer="  Alice.SMITH@chorley.gov.uk ") == ["Chorley one", "Shared one"]
        assert titles(council=Council.CHORLEY, status=Status.ASSESSED, officer=ALICE) == ["Shared one"]
        assert titles(officer="nobody@chorley.gov.uk") == []

    def test_lists_follow_updates(self, register: Register) -> None:
        stored = self.add(register)
        register.save(
            dataclasses.replace(stored, council=Council.SOUTH_RIBBLE, responsible_officer=Officer(BOB)),
            action="hand over",
            actor=ALICE,
            at=LATER,
        )
        assert register.arrangements(council=Council.CHORLEY) == []
        assert [a.reference for a in register.arrangements(officer=BOB)] == ["KCP-0001"]
        assert register.arrangements(officer=ALICE) == []

    # Audit

    def test_audit_log_says_who_when_and_what(self, register: Register) -> None:
        stored = self.add(register, actor=ALICE)
        register.save(
            dataclasses.replace(stored, annual_value=Decimal("120000.00")),
            action="edit",
            actor=BOB,
            at=LATER,
            records=[decision_on(stored)],
        )
        created, edited = register.audit_log("KCP-0001")
        assert (created.actor, created.at, created.action, created.reference) == (
            ALICE,
            WHEN,
            "record",
            "KCP-0001",
        )
        assert ("reference", "", "KCP-0001") in created.changes
        assert ("title", "", "Leisure centre management – three centres") in created.changes
        assert (edited.actor, edited.at, edited.action) == (BOB, LATER, "edit")
        assert ("annual_value", "99999.99", "120000.00") in edited.changes
        assert [c[0] for c in edited.changes] == ["annual_value", "smt_decision"]
        assert created.sequence < edited.sequence

    def test_audit_log_is_in_order_across_arrangements(self, register: Register) -> None:
        first = self.add(register)
        self.add(register, bare_arrangement())
        register.save(dataclasses.replace(first, title="Renamed"), action="edit", actor=BOB, at=LATER)
        log = register.audit_log()
        assert [(e.reference, e.action) for e in log] == [
            ("KCP-0001", "record"),
            ("KCP-0002", "record"),
            ("KCP-0001", "edit"),
        ]
        assert [e.sequence for e in log] == sorted({e.sequence for e in log})
        assert register.audit_log("KCP-0002") == [log[1]]
        assert register.audit_log("KCP-0003") == []

    def test_every_save_writes_one_audit_entry_even_without_changes(self, register: Register) -> None:
        stored = self.add(register)
        again = register.save(stored, action="touch", actor=BOB, at=LATER)
        assert again.version == 2
        entries = register.audit_log("KCP-0001")
        assert len(entries) == 2
        assert entries[1].changes == ()

    # Many at once

    def test_save_many_gives_references_in_order(self, register: Register) -> None:
        saved = register.save_many(
            [bare_arrangement(f"Row {n}") for n in range(1, 4)], action="import", actor=ALICE, at=WHEN
        )
        assert [(a.reference, a.version, a.title) for a in saved] == [
            ("KCP-0001", 1, "Row 1"),
            ("KCP-0002", 1, "Row 2"),
            ("KCP-0003", 1, "Row 3"),
        ]
        assert register.arrangements() == saved
        assert [(e.reference, e.action, e.actor) for e in register.audit_log()] == [
            ("KCP-0001", "import", ALICE),
            ("KCP-0002", "import", ALICE),
            ("KCP-0003", "import", ALICE),
        ]

    def test_save_many_mixes_inserts_and_updates(self, register: Register) -> None:
        stored = self.add(register)
        saved = register.save_many(
            [dataclasses.replace(stored, title="Updated"), bare_arrangement("New")],
            action="import",
            actor=BOB,
            at=LATER,
        )
        assert [(a.reference, a.version, a.title) for a in saved] == [
            ("KCP-0001", 2, "Updated"),
            ("KCP-0002", 1, "New"),
        ]
        assert register.arrangements() == saved

    def test_save_many_is_all_or_nothing(self, register: Register) -> None:
        stored = self.add(register)
        register.save(dataclasses.replace(stored, title="Moved on"), action="edit", actor=ALICE, at=LATER)
        with pytest.raises(Conflict):
            register.save_many(
                [
                    bare_arrangement("New one"),
                    dataclasses.replace(stored, title="Stale"),
                    bare_arrangement("Another"),
                ],
                action="import",
                actor=BOB,
                at=LATER,
            )
        assert [(a.reference, a.title) for a in register.arrangements()] == [("KCP-0001", "Moved on")]
        assert len(register.audit_log()) == 2

    def test_save_many_checks_each_item_against_the_ones_before_it(self, register: Register) -> None:
        stored = self.add(register)
        with pytest.raises(Conflict):
            register.save_many(
                [dataclasses.replace(stored, title="First"), dataclasses.replace(stored, title="Second")],
                action="import",
                actor=BOB,
                at=LATER,
            )
        assert register.get("KCP-0001") == stored

    def test_save_many_with_an_unknown_reference_saves_nothing(self, register: Register) -> None:
        with pytest.raises(NotFound, match="KCP-0007"):
            register.save_many(
                [bare_arrangement("New one"), full_arrangement(reference="KCP-0007", version=1)],
                action="import",
                actor=BOB,
                at=LATER,
            )
        assert register.arrangements() == []
        assert register.audit_log() == []

    def test_save_many_of_nothing_does_nothing(self, register: Register) -> None:
        assert register.save_many([], action="import", actor=BOB, at=LATER) == []
        assert register.audit_log() == []
