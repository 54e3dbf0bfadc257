"""The framework's use cases end to end on the embedded register: identify, assess, propose, decide,
governance, update, and the refusals on the way."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from connectors.sqlite_register import SqliteRegister
from kcpf.assessment import Answer
from kcpf.calendar import Period
from kcpf.errors import Conflict, InvalidInput, InvalidTransition, NotPermitted
from kcpf.framework import FRAMEWORK_2025
from kcpf.governance import AreaAnswer, InPlace
from kcpf.lifecycle import RoleDirectory
from kcpf.model import ArrangementType, Council, Officer, Status
from kcpf.monitoring import AnnualReview, Kpi, Rag, Risk, Trend
from kcpf.ports import Register
from kcpf.services import FrameworkService
from tests.builders import FixedClock, at

ROLES = RoleDirectory(tp=frozenset({"tp@chorley.gov.uk"}), smt=frozenset({"chief@chorley.gov.uk"}))
JO = ROLES.actor("jo.bloggs@chorley.gov.uk", "Jo Bloggs")
SAM = ROLES.actor("sam@southribble.gov.uk")
TP = ROLES.actor("tp@chorley.gov.uk")
SMT = ROLES.actor("chief@chorley.gov.uk")
STABLE = Risk("Accounts filed; no concerns", Rag.GREEN, Trend.STABLE)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(at(date(2026, 5, 1)))


@pytest.fixture
def kcpf(tmp_path: Path, clock: FixedClock) -> Iterator[FrameworkService]:
    with SqliteRegister(tmp_path / "register.sqlite3") as register:
        yield FrameworkService(register, clock, FRAMEWORK_2025)


def identify(kcpf: FrameworkService, **details: object) -> str:
    fields: dict[str, object] = {
        "title": "Leisure centres",
        "type": ArrangementType.PARTNERSHIP,
        "council": Council.SHARED,
        "partner": "Active Lancashire",
        "annual_value": Decimal("1250000"),
        "start_date": date(2024, 4, 1),
        "end_date": date(2034, 3, 31),
        "data_shared": False,
    }
    fields.update(details)
    saved = kcpf.identify(JO, **fields)  # type: ignore[arg-type]
    assert saved.reference is not None
    return saved.reference


def criteria(*met: str) -> dict[str, Answer]:
    return {k: Answer(k in met, f"because {k}") for k in FRAMEWORK_2025.criterion_keys}


def test_the_officer_who_identifies_is_the_responsible_officer(kcpf: FrameworkService) -> None:
    reference = identify(kcpf)
    stored = kcpf.register.get(reference)
    assert reference == "KCP-0001"
    assert stored.responsible_officer == Officer("jo.bloggs@chorley.gov.uk", "Jo Bloggs")
    assert stored.status is Status.IDENTIFIED
    named = kcpf.identify(
        JO,
        title="Town centre CCTV",
        type=ArrangementType.CONTRACT,
        council=Council.CHORLEY,
        partner="Eyes Ltd",
        responsible_officer=Officer("sam@southribble.gov.uk", "Sam"),
    )
    assert named.responsible_officer is not None
    assert named.responsible_officer.email == "sam@southribble.gov.uk"


def test_the_whole_journey(kcpf: FrameworkService, clock: FixedClock) -> None:
    reference = identify(kcpf)
    suggestions = kcpf.suggestions(reference)
    assert suggestions["financial"].met
    assert suggestions["length"].met

    _, assessment = kcpf.assess(JO, reference, criteria("financial", "risk", "length"))
    assert assessment.explanation == "3 of 5 met: Financial, Risk, Length: key"
    assert kcpf.propose(JO, reference).status is Status.PROPOSED

    with pytest.raises(NotPermitted, match="Only the Senior Management Team"):
        kcpf.decide(JO, reference, Status.KEY)
    clock.set(date(2026, 6, 10))
    decided, decision = kcpf.decide(SMT, reference, Status.KEY, note="Agreed at SMT 10 June")
    assert decided.status is Status.KEY
    assert decided.key_since == date(2026, 6, 10)
    assert decision.decided_by == "chief@chorley.gov.uk"

    areas = kcpf.governance_areas(reference)
    assert "mou" in areas
    assert "data_sharing_agreement" not in areas
    answers = {k: AreaAnswer(k, InPlace.YES) for k in areas}
    answers["exit_strategy"] = AreaAnswer("exit_strategy", InPlace.NO, "Draft exit plan", date(2026, 12, 31))
    governed, review = kcpf.record_governance(JO, reference, answers)
    assert governed.status is Status.KEY  # not "in place" while a gap is open
    assert [g.area for g in review.gaps] == ["exit_strategy"]
    answers["exit_strategy"] = AreaAnswer("exit_strategy", InPlace.YES)
    governed, review = kcpf.record_governance(JO, reference, answers)
    assert governed.status is Status.GOVERNANCE_IN_PLACE
    assert review.gaps == ()

    clock.set(date(2026, 10, 12))
    assert [o.what for o in kcpf.due(date(2026, 10, 12))] == ["biannual update for 2026/27-H1"]
    kpi = Kpi.measured(FRAMEWORK_2025, "Visits", Decimal("100000"), Decimal("97000"))
    monitored, update = kcpf.submit_update(
        JO,
        reference,
        Period.parse("2026/27-H1"),
        performance=None,
        kpis=[kpi],
        achievements="Pool reopened",
        financial_stability=STABLE,
    )
    assert monitored.status is Status.MONITORING
    assert update.performance is Rag.AMBER
    assert kcpf.due(date(2026, 10, 12)) == []
    with pytest.raises(InvalidInput, match="already has its 2026/27-H1 update"):
        kcpf.submit_update(
            JO, reference, Period.parse("2026/27-H1"), performance=Rag.GREEN, financial_stability=STABLE
        )

    clock.set(date(2027, 4, 20))
    _, annual = kcpf.submit_update(
        JO,
        reference,
        Period.parse("2026/27-H2"),
        performance=Rag.GREEN,
        financial_stability=STABLE,
        annual=AnnualReview("All targets met", ("Extend opening hours",)),
    )
    assert annual.is_annual

    file = kcpf.file(reference)
    assert len(file.assessments) == 1
    assert len(file.decisions) == 1
    assert [u.period for u in file.updates] == ["2026/27-H1", "2026/27-H2"]
    actions = [e.action for e in kcpf.register.audit_log(reference)]
    assert actions == [
        "identify",
        "assess against the criteria",
        "propose to SMT",
        "record SMT's decision",
        "complete the governance self-assessment",
        "complete the governance self-assessment",
        "submit a monitoring update",
        "submit a monitoring update",
    ]


def test_not_key_on_assessment_cannot_be_proposed(kcpf: FrameworkService) -> None:
    reference = identify(kcpf)
    kcpf.assess(JO, reference, criteria("financial", "length"))
    with pytest.raises(InvalidInput, match=r"2 of 5 met.*nothing to propose"):
        kcpf.propose(JO, reference)


def test_propose_needs_an_assessment_first(kcpf: FrameworkService) -> None:
    reference = identify(kcpf)
    with pytest.raises(InvalidTransition, match="Assess it against the criteria first"):
        kcpf.propose(JO, reference)


def test_another_officer_cannot_assess_but_tp_can(kcpf: FrameworkService) -> None:
    reference = identify(kcpf)
    with pytest.raises(NotPermitted, match="Only KCP-0001's responsible officer"):
        kcpf.assess(SAM, reference, criteria())
    _, assessment = kcpf.assess(TP, reference, criteria("risk"))
    assert assessment.assessed_by == "tp@chorley.gov.uk"
    assert kcpf.register.assessments(reference) == [assessment]


def test_deferred_can_be_proposed_again(kcpf: FrameworkService) -> None:
    reference = identify(kcpf)
    kcpf.assess(JO, reference, criteria("financial", "risk", "length"))
    kcpf.propose(JO, reference)
    kcpf.decide(TP, reference, Status.DEFERRED, note="Await procurement outcome")
    assert kcpf.propose(JO, reference).status is Status.PROPOSED


def test_a_stale_edit_is_refused_and_nothing_is_overwritten(kcpf: FrameworkService) -> None:
    reference = identify(kcpf)
    read_by_jo = kcpf.register.get(reference)
    kcpf.edit(TP, reference, expected_version=read_by_jo.version, description="Set by T&P")
    with pytest.raises(Conflict, match="changed by someone else"):
        kcpf.edit(JO, reference, expected_version=read_by_jo.version, description="Set by Jo")
    assert kcpf.register.get(reference).description == "Set by T&P"


def test_status_cannot_be_edited_directly(kcpf: FrameworkService) -> None:
    reference = identify(kcpf)
    with pytest.raises(InvalidInput, match="cannot be edited directly: status"):
        kcpf.edit(JO, reference, status=Status.KEY)


def test_ended_arrangements_are_closed(kcpf: FrameworkService) -> None:
    reference = identify(kcpf)
    kcpf.end(JO, reference)
    with pytest.raises(InvalidTransition, match="Ended"):
        kcpf.edit(JO, reference, description="late change")


def test_assign_officer_is_for_tp(kcpf: FrameworkService) -> None:
    reference = identify(kcpf)
    with pytest.raises(NotPermitted, match="Only Transformation and Partnerships assigns"):
        kcpf.assign_officer(SAM, reference, Officer("sam@southribble.gov.uk"))
    with pytest.raises(NotPermitted, match="Only Transformation and Partnerships assigns"):
        kcpf.assign_officer(JO, reference, Officer("mallory@chorley.gov.uk"))
    saved = kcpf.assign_officer(TP, reference, Officer("sam@southribble.gov.uk", "Sam Smith"))
    assert saved.responsible_officer == Officer("sam@southribble.gov.uk", "Sam Smith")
    kcpf.assess(SAM, reference, criteria())


class CountingRegister:
    """The real register, counting the reads made through it."""

    def __init__(self, register: Register) -> None:
        self.register = register
        self.reads: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        self.reads[name] += 1
        return getattr(self.register, name)


def test_files_reads_each_record_kind_once(kcpf: FrameworkService, clock: FixedClock) -> None:
    first = identify(kcpf)
    second = identify(kcpf, title="Museum partnership")
    third = identify(kcpf, title="Market hall")
    kcpf.assess(JO, second, criteria("risk"))
    kcpf.assess(JO, third, criteria("risk"))
    counting = CountingRegister(kcpf.register)
    files = FrameworkService(counting, clock, FRAMEWORK_2025).files(kcpf.register.arrangements())
    assert counting.reads == {
        "assessments": 1,
        "decisions": 1,
        "governance_reviews": 1,
        "monitoring_updates": 1,
    }
    assert [f.arrangement.reference for f in files] == [first, second, third]
    assert files[0].latest_assessment is None
    assert files[1].latest_assessment is not None
    assert files[2].latest_assessment is not None


def test_corporate_priorities_are_the_councils_own(kcpf: FrameworkService) -> None:
    reference = identify(
        kcpf, council=Council.SOUTH_RIBBLE, corporate_priorities=("healthy and happy communities",)
    )
    assert kcpf.register.get(reference).corporate_priorities == ("Healthy and happy communities",)
    with pytest.raises(InvalidInput, match="Not a corporate priority of South Ribble Borough Council"):
        kcpf.edit(JO, reference, corporate_priorities=("A green and sustainable borough",))


def test_a_later_gap_takes_governance_in_place_back_to_key(kcpf: FrameworkService) -> None:
    reference = identify(kcpf)
    kcpf.assess(JO, reference, criteria("financial", "risk", "length"))
    kcpf.propose(JO, reference)
    kcpf.decide(SMT, reference, Status.KEY)
    areas = kcpf.governance_areas(reference)
    all_in_place = {k: AreaAnswer(k, InPlace.YES) for k in areas}
    assert kcpf.record_governance(JO, reference, all_in_place)[0].status is Status.GOVERNANCE_IN_PLACE
    gap = AreaAnswer("exit_strategy", InPlace.NO, "Renegotiate notice period", date(2026, 12, 31))
    saved, review = kcpf.record_governance(JO, reference, {**all_in_place, "exit_strategy": gap})
    assert saved.status is Status.KEY
    assert [g.area for g in review.gaps] == ["exit_strategy"]
