"""Step 4: the governance self-assessment, area by area, with plans for what is not yet in place."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from kcpf.errors import InvalidInput
from kcpf.framework import Applies, FrameworkVersion, GovernanceArea
from kcpf.model import Arrangement


class InPlace(StrEnum):
    YES = "yes"
    NO = "no"
    NOT_APPLICABLE = "na"

    @property
    def label(self) -> str:
        return {"yes": "Yes", "no": "No", "na": "Not applicable"}[self.value]


@dataclass(frozen=True)
class AreaAnswer:
    area: str
    in_place: InPlace
    plan: str = ""
    target_date: date | None = None
    note: str = ""


@dataclass(frozen=True)
class GovernanceReview:
    reference: str
    framework_version: str
    answers: tuple[AreaAnswer, ...]
    completed_by: str
    completed_at: datetime

    @property
    def gaps(self) -> tuple[AreaAnswer, ...]:
        """Areas not in place: each has a plan and a target date. Open until a later review closes them."""
        return tuple(a for a in self.answers if a.in_place is InPlace.NO)

    def answer(self, area: str) -> AreaAnswer:
        for answer in self.answers:
            if answer.area == area:
                return answer
        raise InvalidInput(f"This self-assessment has no answer for “{area}”.")


def applicable_areas(framework: FrameworkVersion, arrangement: Arrangement) -> tuple[GovernanceArea, ...]:
    """The areas to ask about: no data sharing means no DSA; only partnerships need an MoU."""
    return tuple(
        area
        for area in framework.governance_areas
        if framework.area_applies(area, type=arrangement.type, data_shared=arrangement.data_shared)
    )


def review_governance(
    framework: FrameworkVersion,
    arrangement: Arrangement,
    answers: Mapping[str, AreaAnswer],
    *,
    by: str,
    at: datetime,
) -> GovernanceReview:
    """Check the answers and build the self-assessment; areas that do not apply are recorded as such."""
    if arrangement.reference is None:
        raise InvalidInput("Record the contract or partnership before its governance self-assessment.")
    known = {a.key for a in framework.governance_areas}
    unknown = sorted(set(answers) - known)
    if unknown:
        raise InvalidInput(
            f"Not governance areas of the framework: {', '.join(unknown)}.", field="governance"
        )
    applicable = applicable_areas(framework, arrangement)
    missing = [a.name for a in applicable if a.key not in answers]
    if missing:
        raise InvalidInput(f"Every area needs an answer. Still to answer: {', '.join(missing)}.")
    problems: list[str] = []
    recorded: list[AreaAnswer] = []
    for area in framework.governance_areas:
        if area not in applicable:
            recorded.append(AreaAnswer(area.key, InPlace.NOT_APPLICABLE, note=_why_not_applicable(area)))
            continue
        answer = answers[area.key]
        if answer.in_place is InPlace.NO:
            if not answer.plan.strip():
                problems.append(f"{area.name} is not in place: say what is planned to put it in place")
            if answer.target_date is None:
                problems.append(f"{area.name} is not in place: give a target date for the plan")
            elif answer.target_date < at.date():
                problems.append(f"{area.name}: the target date has already passed; give a date from today on")
            recorded.append(
                AreaAnswer(area.key, InPlace.NO, answer.plan.strip(), answer.target_date, answer.note)
            )
        else:
            recorded.append(AreaAnswer(area.key, answer.in_place, note=answer.note.strip()))
    if problems:
        raise InvalidInput("; ".join(problems) + ".", field="governance")
    return GovernanceReview(
        reference=arrangement.reference,
        framework_version=framework.version,
        answers=tuple(recorded),
        completed_by=by,
        completed_at=at,
    )


def _why_not_applicable(area: GovernanceArea) -> str:
    if area.applies is Applies.WHERE_DATA_SHARED:
        return "Not needed: no data is shared."
    return "Not needed: this is a contract, not a partnership."


def overdue_gaps(review: GovernanceReview, today: date) -> tuple[AreaAnswer, ...]:
    return tuple(g for g in review.gaps if g.target_date is not None and g.target_date < today)
