"""`new`: identify a contract or partnership (step 1 of the framework)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from bot.flows import answers as a
from bot.flows.engine import Flow, FlowState, InputKind, Json, Option, Outcome, Parse, Question, Reply, Turn
from kcpf.errors import InvalidInput
from kcpf.framework import check_priorities
from kcpf.lifecycle import Action, check_permitted
from kcpf.model import ArrangementType, Council, Officer, normalise_email
from kcpf.parsing import format_money, format_uk_date

_COUNCILS = (Option("Chorley", "Chorley"), Option("South Ribble", "South Ribble"), Option("Shared", "shared"))
_TYPES = (Option("Contract", "contract"), Option("Partnership", "partnership"))


def _type(typed: str, answers: Mapping[str, Json]) -> Json:
    return ArrangementType.parse(typed).value


def _council(typed: str, answers: Mapping[str, Json]) -> Json:
    return Council.parse(typed).value


def _officer(actor_email: str) -> Parse:
    def parse(typed: str, answers: Mapping[str, Json]) -> Json:
        if typed.strip().lower() in {"me", "myself", "i am", "i will", "yes"}:
            return actor_email
        try:
            return normalise_email(typed)
        except InvalidInput:
            raise InvalidInput(
                f"“{typed.strip()}” is not an email address. Type *me*, or the responsible officer's email."
            ) from None

    return parse


class Identify(Flow):
    name = "new"
    title = "New contract or partnership"

    def begin(self, turn: Turn, argument: str) -> FlowState:
        check_permitted(turn.actor, Action.IDENTIFY)
        return FlowState(self.name)

    def _year(self, turn: Turn, answers: Mapping[str, Json]) -> int:
        start = a.as_date(answers.get("start_date")) or turn.now.date()
        return start.year if start.month >= 4 else start.year - 1

    def _priorities(self, turn: Turn, answers: Mapping[str, Json]) -> tuple[str, ...]:
        council = Council(answers["council"]) if answers.get("council") else Council.SHARED
        return turn.framework.rules.priorities_for(council, self._year(turn, answers))

    def questions(self, turn: Turn, state: FlowState) -> Sequence[Question]:
        rules = turn.framework.rules
        known = self._priorities(turn, state.answers)

        def priorities(typed: str, answers: Mapping[str, Json]) -> Json:
            chosen = []
            for item in a.items(typed):
                if item.isdigit() and 1 <= int(item) <= len(known):
                    chosen.append(known[int(item) - 1])
                else:
                    chosen.append(item)
            council = Council(answers["council"])
            return list(check_priorities(rules, council, self._year(turn, answers), tuple(chosen)))

        numbered = "\n".join(f"{i}. {p}" for i, p in enumerate(known, start=1))
        return (
            Question("title", "Title", "What is the contract or partnership called?", a.text(what="a title")),
            Question(
                "type",
                "Contract or partnership",
                "Is it a contract or a partnership?",
                _type,
                options=_TYPES,
                kind=InputKind.CHOICE,
            ),
            Question(
                "council",
                "Council",
                "Which council is it for: Chorley, South Ribble, or shared by both?",
                _council,
                options=_COUNCILS,
                kind=InputKind.CHOICE,
            ),
            Question(
                "partner",
                "Partner or supplier",
                "Who is the partner or supplier?",
                a.text(what="the partner's or supplier's name"),
            ),
            Question(
                "annual_value",
                "Annual value",
                "What is it worth a year? For example £250,000 or £1.2m.",
                a.money,
                optional=True,
                explanation=f"The financial criterion asks whether it is worth more than "
                f"{format_money(rules.financial_threshold)} a year.",
            ),
            Question(
                "start_date",
                "Start date",
                "When did (or will) it start? For example 1 April 2026.",
                a.uk_date,
                kind=InputKind.DATE,
                optional=True,
            ),
            Question(
                "end_date",
                "End date",
                "When does it end, including any extensions already agreed?",
                a.date_after("start_date", "the start date"),
                kind=InputKind.DATE,
                optional=True,
                explanation=f"The length criterion asks whether it runs for {rules.minimum_term_years} years "
                "or more.",
            ),
            Question(
                "data_shared",
                "Data shared",
                "Is personal or sensitive data shared with the partner?",
                a.yes_no,
                options=(Option("Yes", "yes"), Option("No", "no")),
                kind=InputKind.CHOICE,
                explanation="Where data is shared, a data sharing agreement is part of its governance.",
            ),
            Question(
                "description",
                "Description",
                "Describe it in a sentence or two.",
                a.long_text("a description"),
                kind=InputKind.LONG_TEXT,
                optional=True,
            ),
            Question(
                "corporate_priorities",
                "Corporate priorities",
                f"Which corporate priorities does it support? Type their numbers, separated by semicolons "
                f"(for example 1; 3), or *skip*.\n\n{numbered}",
                priorities,
                optional=True,
            ),
            Question(
                "responsible_officer",
                "Responsible officer",
                "Are you its responsible officer? Type *me*, or the responsible officer's email address.",
                _officer(turn.actor.email),
                options=(Option("Me", "me"),),
                explanation="The responsible officer assesses it, completes its governance self-assessment "
                "and "
                "submits its updates.",
            ),
        )

    def review(self, turn: Turn, state: FlowState) -> str:
        x = state.answers
        value = a.as_money(x.get("annual_value"))
        start, end = a.as_date(x.get("start_date")), a.as_date(x.get("end_date"))
        lines = [
            f"**{x['title']}**: a {x['type']} with {x['partner']} for {Council(x['council']).label}.",
            f"Annual value: {format_money(value) if value is not None else 'not known'}.",
            f"Runs: {_when(start)} to {_when(end)}.",
            f"Data shared: {'yes' if x['data_shared'] else 'no'}.",
            f"Corporate priorities: {'; '.join(x.get('corporate_priorities') or []) or 'none given'}.",
            f"Responsible officer: {x['responsible_officer']}.",
        ]
        return "\n\n".join(lines)

    def finish(self, turn: Turn, state: FlowState) -> Outcome:
        x = state.answers
        officer_email = x["responsible_officer"]
        officer = (
            Officer(turn.actor.email, turn.actor.name)
            if officer_email == turn.actor.email
            else Officer(officer_email)
        )
        saved = turn.framework.identify(
            turn.actor,
            title=x["title"],
            type=ArrangementType(x["type"]),
            council=Council(x["council"]),
            partner=x["partner"],
            responsible_officer=officer,
            annual_value=a.as_money(x.get("annual_value")),
            start_date=a.as_date(x.get("start_date")),
            end_date=a.as_date(x.get("end_date")),
            data_shared=x["data_shared"],
            description=x.get("description") or "",
            corporate_priorities=tuple(x.get("corporate_priorities") or ()),
        )
        return Outcome(
            (
                Reply(
                    f"Saved as **{saved.reference}**. Next, assess it against the "
                    f"{len(turn.framework.rules.criteria)} criteria: type *assess {saved.reference}*.",
                    (Option(f"Assess {saved.reference}", f"assess {saved.reference}"),),
                ),
            )
        )


def _when(day: date | None) -> str:
    return format_uk_date(day) if day else "not known"
