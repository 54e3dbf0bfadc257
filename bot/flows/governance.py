"""`governance KCP-0001`: the governance self-assessment, area by area (step 4 of the framework)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.flows import answers as a
from bot.flows.assess import open_arrangement
from bot.flows.engine import Flow, FlowState, InputKind, Option, Outcome, Question, Reply, Turn
from kcpf.governance import AreaAnswer, InPlace
from kcpf.lifecycle import Action
from kcpf.parsing import format_uk_date

_YES_NO_NA = (Option("Yes", "yes"), Option("No", "no"), Option("N/A", "n/a"))


class Governance(Flow):
    name = "governance"
    title = "Governance self-assessment"

    def begin(self, turn: Turn, argument: str) -> FlowState:
        return open_arrangement(turn, argument, Action.GOVERNANCE, self.name)

    def _areas(self, turn: Turn, state: FlowState) -> list[Question]:
        assert state.subject is not None
        keys = turn.framework.governance_areas(state.subject)
        areas = [area for area in turn.framework.rules.governance_areas if area.key in keys]
        out: list[Question] = []
        for number, area in enumerate(areas, start=1):
            out.append(
                Question(
                    area.key,
                    area.name,
                    f"**{number} of {len(areas)}: {area.name}.** {area.question}",
                    a.yes_no_na,
                    explanation="Answer yes if it is in place, no if not (you will be asked for the plan), "
                    "or n/a where it does not apply to this arrangement.",
                    options=_YES_NO_NA,
                    kind=InputKind.CHOICE,
                )
            )
        return out

    def questions(self, turn: Turn, state: FlowState) -> Sequence[Question]:
        out: list[Question] = []
        for area in self._areas(turn, state):
            out.append(area)
            if state.answers.get(area.key) == "no":
                out.extend(self._plan(turn, area, optional=False))
        return out

    def form(self, turn: Turn, state: FlowState) -> Sequence[Question]:
        out: list[Question] = []
        for area in self._areas(turn, state):
            out.append(area)
            out.extend(self._plan(turn, area, optional=True))
        return out

    def _plan(self, turn: Turn, area: Question, *, optional: bool) -> list[Question]:
        return [
            Question(
                f"plan_{area.key}",
                f"{area.label}: plan",
                f"{area.label} is not in place. What is planned to put it in place?",
                a.long_text("the plan"),
                kind=InputKind.LONG_TEXT,
                optional=optional,
            ),
            Question(
                f"target_{area.key}",
                f"{area.label}: target date",
                "By when? For example 31 March 2027.",
                a.date_from(turn.now.date()),
                kind=InputKind.DATE,
                optional=optional,
            ),
        ]

    def _answers(self, turn: Turn, state: FlowState) -> dict[str, AreaAnswer]:
        x = state.answers
        out = {}
        for area in self._areas(turn, state):
            in_place = InPlace(x[area.key]) if x.get(area.key) else None
            if in_place is None:
                continue
            out[area.key] = AreaAnswer(
                area.key,
                in_place,
                plan=x.get(f"plan_{area.key}") or "",
                target_date=a.as_date(x.get(f"target_{area.key}")) if in_place is InPlace.NO else None,
            )
        return out

    def review(self, turn: Turn, state: FlowState) -> str:
        answers = self._answers(turn, state)
        names = {area.key: area.name for area in turn.framework.rules.governance_areas}
        lines = [f"**Governance self-assessment for {state.subject}**"]
        for key, answer in answers.items():
            line = f"- {names[key]}: {answer.in_place.label}"
            if answer.in_place is InPlace.NO and answer.target_date is not None:
                line += f". Plan: {answer.plan} (by {format_uk_date(answer.target_date)})"
            lines.append(line)
        return "\n".join(lines)

    def finish(self, turn: Turn, state: FlowState) -> Outcome:
        assert state.subject is not None
        saved, review = turn.framework.record_governance(
            turn.actor, state.subject, self._answers(turn, state), expected_version=state.version
        )
        gaps = len(review.gaps)
        if gaps:
            text = (
                f"Governance self-assessment saved for {saved.reference}: {gaps} area"
                f"{'' if gaps == 1 else 's'} not yet in place, with plans. T&P will follow the target dates."
            )
        else:
            text = (
                f"Governance self-assessment saved for {saved.reference}: "
                "everything that applies is in place."
            )
        return Outcome((Reply(text),))
