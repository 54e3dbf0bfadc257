"""Step 4: the governance self-assessment of Appendix A and the further areas of Step 4."""

from __future__ import annotations

from datetime import date

import pytest

from kcpf.errors import InvalidInput
from kcpf.framework import FRAMEWORK_2025, AreaSource
from kcpf.governance import AreaAnswer, InPlace, applicable_areas, overdue_gaps, review_governance
from kcpf.model import ArrangementType
from tests.builders import arrangement, at

APPENDIX_A = [
    "aims_objectives",
    "roles_responsibilities",
    "decision_making",
    "risk_management",
    "business_continuity",
    "data_sharing_agreement",
    "mou",
]
STEP_4 = [
    "equality_diversity",
    "anti_fraud",
    "data_quality",
    "whistleblowing",
    "safeguarding",
    "dispute_resolution",
    "exit_strategy",
]
TODAY = at(date(2026, 6, 1))


def all_yes(keys: list[str]) -> dict[str, AreaAnswer]:
    return {k: AreaAnswer(k, InPlace.YES) for k in keys}


def test_the_areas_and_where_they_come_from() -> None:
    assert [a.key for a in FRAMEWORK_2025.governance_areas] == APPENDIX_A + STEP_4
    assert {a.key for a in FRAMEWORK_2025.governance_areas if a.source is AreaSource.APPENDIX_A} == set(
        APPENDIX_A
    )
    assert "GRACE" in FRAMEWORK_2025.governance_area("risk_management").question
    assert "integrated impact assessment" in FRAMEWORK_2025.governance_area("equality_diversity").question
    assert "notice periods" in FRAMEWORK_2025.governance_area("exit_strategy").question


@pytest.mark.parametrize(
    ("kind", "data_shared", "has_dsa", "has_mou"),
    [
        (ArrangementType.CONTRACT, True, True, False),
        (ArrangementType.CONTRACT, False, False, False),
        (ArrangementType.CONTRACT, None, True, False),  # not yet recorded: ask rather than assume
        (ArrangementType.PARTNERSHIP, True, True, True),
        (ArrangementType.PARTNERSHIP, False, False, True),
    ],
)
def test_dsa_only_where_data_is_shared_and_mou_only_for_partnerships(
    kind: ArrangementType, data_shared: bool | None, has_dsa: bool, has_mou: bool
) -> None:
    keys = {a.key for a in applicable_areas(FRAMEWORK_2025, arrangement(type=kind, data_shared=data_shared))}
    assert ("data_sharing_agreement" in keys) is has_dsa
    assert ("mou" in keys) is has_mou
    assert len(keys) == 12 + has_dsa + has_mou


def test_areas_that_do_not_apply_are_recorded_as_not_applicable() -> None:
    contract = arrangement(type=ArrangementType.CONTRACT, data_shared=False)
    keys = [a.key for a in applicable_areas(FRAMEWORK_2025, contract)]
    review = review_governance(FRAMEWORK_2025, contract, all_yes(keys), by="jo@chorley.gov.uk", at=TODAY)
    assert review.answer("mou").in_place is InPlace.NOT_APPLICABLE
    assert "not a partnership" in review.answer("mou").note
    assert review.answer("data_sharing_agreement").in_place is InPlace.NOT_APPLICABLE
    assert "no data is shared" in review.answer("data_sharing_agreement").note
    assert review.gaps == ()


def test_a_gap_needs_a_plan_and_a_target_date() -> None:
    a = arrangement()
    keys = [x.key for x in applicable_areas(FRAMEWORK_2025, a)]
    given = {**all_yes(keys), "risk_management": AreaAnswer("risk_management", InPlace.NO)}
    with pytest.raises(InvalidInput) as raised:
        review_governance(FRAMEWORK_2025, a, given, by="jo@chorley.gov.uk", at=TODAY)
    assert "Risk management is not in place: say what is planned" in raised.value.message
    assert "give a target date" in raised.value.message


def test_a_target_date_in_the_past_is_refused() -> None:
    a = arrangement()
    keys = [x.key for x in applicable_areas(FRAMEWORK_2025, a)]
    gap = AreaAnswer("risk_management", InPlace.NO, "Joint register on GRACE", date(2026, 5, 31))
    with pytest.raises(InvalidInput, match="target date has already passed"):
        review_governance(
            FRAMEWORK_2025, a, {**all_yes(keys), "risk_management": gap}, by="x@y.gov.uk", at=TODAY
        )


def test_open_gaps_are_listed_with_their_plans() -> None:
    a = arrangement()
    keys = [x.key for x in applicable_areas(FRAMEWORK_2025, a)]
    gap = AreaAnswer("risk_management", InPlace.NO, "Joint register on GRACE", date(2026, 9, 30))
    review = review_governance(
        FRAMEWORK_2025, a, {**all_yes(keys), "risk_management": gap}, by="x@y.gov.uk", at=TODAY
    )
    assert [g.area for g in review.gaps] == ["risk_management"]
    assert review.gaps[0].plan == "Joint register on GRACE"
    assert overdue_gaps(review, date(2026, 9, 30)) == ()
    assert [g.area for g in overdue_gaps(review, date(2026, 10, 1))] == ["risk_management"]


def test_every_applicable_area_needs_an_answer() -> None:
    with pytest.raises(InvalidInput, match=r"Still to answer: .*Exit strategy"):
        review_governance(FRAMEWORK_2025, arrangement(), all_yes(APPENDIX_A), by="x@y.gov.uk", at=TODAY)


def test_unknown_area_is_refused() -> None:
    with pytest.raises(InvalidInput, match="Not governance areas of the framework: catering"):
        review_governance(
            FRAMEWORK_2025,
            arrangement(),
            {"catering": AreaAnswer("catering", InPlace.YES)},
            by="x@y.gov.uk",
            at=TODAY,
        )
