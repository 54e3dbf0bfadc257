"""`assess KCP-0001`: the five criteria of Appendix A, one question each; then the result and the offer to
propose it to SMT (steps 2 and 3 of the framework)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.flows import answers as a
from bot.flows.engine import (
    YES_NO,
    Flow,
    FlowState,
    InputKind,
    Json,
    Notice,
    Option,
    Outcome,
    Parse,
    Question,
    Reply,
    Turn,
)
from kcpf.assessment import Answer, assess
from kcpf.errors import InvalidInput
from kcpf.lifecycle import Action, check_permitted, check_transition
from kcpf.model import parse_reference
from kcpf.parsing import format_money


def open_arrangement(turn: Turn, argument: str, action: Action, command: str) -> FlowState:
    """Start a conversation about one arrangement: it must exist and the officer must be allowed to act."""
    if not argument.strip():
        raise InvalidInput(f"Which contract or partnership? Type *{command} KCP-0001* with its reference.")
    reference = parse_reference(argument)
    arrangement = turn.framework.register.get(reference)
    check_permitted(turn.actor, action, arrangement)
    check_transition(action, arrangement)
    return FlowState(command, subject=reference, version=arrangement.version)


def _against(suggested: bool, why: str) -> Parse:
    """An answer that differs from what the record suggests needs a reason (the framework asks for one)."""

    def parse(typed: str, answers: Mapping[str, Json]) -> Json:
        value = a.yes_no_reason(typed, answers)
        if value["met"] == suggested and not value["reason"]:
            value["reason"] = f"as the record suggests: {why}"
        elif value["met"] != suggested and not value["reason"]:
            word, other = ("yes", "no") if suggested else ("no", "yes")
            raise InvalidInput(
                f"The record suggests {word} ({why}). To answer {other}, say why: “{other}, because …”."
            )
        return value

    return parse


def _answers(state: FlowState) -> dict[str, Answer]:
    return {
        key: Answer(value["met"], value["reason"])
        for key, value in state.answers.items()
        if isinstance(value, dict) and "met" in value
    }


class Assess(Flow):
    name = "assess"
    title = "Assessment against the criteria"

    def begin(self, turn: Turn, argument: str) -> FlowState:
        return open_arrangement(turn, argument, Action.ASSESS, self.name)

    def questions(self, turn: Turn, state: FlowState) -> Sequence[Question]:
        assert state.subject is not None
        suggestions = turn.framework.suggestions(state.subject)
        rules = turn.framework.rules
        out = []
        for number, criterion in enumerate(rules.criteria, start=1):
            suggestion = suggestions.get(criterion.key)
            out.append(
                Question(
                    criterion.key,
                    criterion.name,
                    f"**{number} of {len(rules.criteria)}: {criterion.name}.** {criterion.question} "
                    'Answer yes or no; a reason may follow ("yes, it is £250k a year").',
                    a.yes_no_reason if suggestion is None else _against(suggestion.met, suggestion.why),
                    explanation=criterion.guidance,
                    options=YES_NO,
                    kind=InputKind.CHOICE,
                    suggestion=None if suggestion is None else ("yes" if suggestion.met else "no"),
                    why=suggestion.why if suggestion else "",
                    accepted=None
                    if suggestion is None
                    else f"{'yes' if suggestion.met else 'no'}, as the record suggests: {suggestion.why}",
                )
            )
        return out

    def form(self, turn: Turn, state: FlowState) -> Sequence[Question]:
        out: list[Question] = []
        for question in self.questions(turn, state):
            reason = Question(
                f"reason_{question.key}",
                f"{question.label}: reason",
                "",
                a.long_text("the reason"),
                kind=InputKind.LONG_TEXT,
                optional=True,
            )
            out.extend((question, reason))
        return out

    def from_form(self, values: Mapping[str, str]) -> dict[str, str]:
        """A card gives the answer and its reason apart; in chat they come as one: "yes, £250k a year"."""
        out = {k: v for k, v in values.items() if not k.startswith("reason_")}
        for key, reason in values.items():
            criterion = key.removeprefix("reason_")
            if key.startswith("reason_") and reason.strip() and out.get(criterion, "").strip():
                out[criterion] = f"{out[criterion].strip()}, {reason.strip()}"
        return out

    def review(self, turn: Turn, state: FlowState) -> str:
        assert state.subject is not None
        arrangement = turn.framework.register.get(state.subject)
        result = assess(turn.framework.rules, arrangement, _answers(state), by=turn.actor.email, at=turn.now)
        lines = [f"**{arrangement.reference} {arrangement.title}**"]
        for answer, name in zip(result.answers, result.criterion_names, strict=True):
            reason = f": {answer.reason}" if answer.reason else ""
            lines.append(f"- {name}: {'met' if answer.met else 'not met'}{reason}")
        lines.append(f"Result: {result.explanation}.")
        return "\n".join(lines)

    def finish(self, turn: Turn, state: FlowState) -> Outcome:
        assert state.subject is not None
        saved, result = turn.framework.assess(
            turn.actor, state.subject, _answers(state), expected_version=state.version
        )
        text = f"Assessment saved for {saved.reference}: {result.explanation}."
        if not result.is_key:
            threshold = turn.framework.rules.key_threshold
            return Outcome(
                (Reply(f"{text} It needs {threshold} criteria met to be key, so it is not proposed."),)
            )
        offer = FlowState(self.name, subject=saved.reference, version=saved.version)
        return Outcome((Reply(text),), offer=offer)

    def offer_text(self, state: FlowState) -> str:
        return f"It is key on this assessment. Propose {state.subject} to SMT now? T&P will be told."

    def follow_up(self, turn: Turn, state: FlowState, yes: bool) -> Outcome:
        assert state.subject is not None
        if not yes:
            return Outcome(
                (
                    Reply(
                        f"Not proposed yet. When you are ready, type *propose {state.subject}*.",
                        (Option(f"Propose {state.subject}", f"propose {state.subject}"),),
                    ),
                )
            )
        return propose(turn, state.subject, state.version)


def propose(turn: Turn, reference: str, version: int | None = None) -> Outcome:
    saved = turn.framework.propose(turn.actor, reference, expected_version=version)
    latest = turn.framework.register.assessments(reference)[-1]
    value = f", {format_money(saved.annual_value)} a year" if saved.annual_value is not None else ""
    notice = Notice(
        "tp",
        f"{turn.actor.name or turn.actor.email} proposed **{saved.reference} {saved.title}** ({saved.partner}"
        f"{value}) to SMT as key: {latest.explanation}.",
    )
    return Outcome(
        (Reply(f"{saved.reference} is proposed to SMT. T&P are notified and SMT will decide."),),
        notices=(notice,),
    )
