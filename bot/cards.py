"""Adaptive Cards (schema 1.5, what Teams renders), built from the flows' questions.

The input ids are the questions' keys: a public interface that Power Automate flows and tests fill.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bot.flows.engine import InputKind, Json

if TYPE_CHECKING:
    from bot.flows.engine import Flow, FlowState, Turn

FORM_VERB = "kcpf.form"
_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"


def _card(body: list[dict[str, Any]], actions: list[dict[str, Any]] | None = None) -> dict[str, Json]:
    card: dict[str, Json] = {"type": "AdaptiveCard", "$schema": _SCHEMA, "version": "1.5", "body": body}
    if actions:
        card["actions"] = actions
    return card


def _title(text: str) -> dict[str, Any]:
    return {
        "type": "TextBlock",
        "text": text,
        "weight": "Bolder",
        "size": "Medium",
        "wrap": True,
        "style": "heading",
    }


def form_card(
    flow: Flow, turn: Turn, state: FlowState, values: Mapping[str, str], problems: Mapping[str, str]
) -> dict[str, Json]:
    """The whole step as one card, filled with what is known; problems shown beside their inputs in words."""
    heading = flow.title + (f": {state.subject}" if state.subject else "")
    body: list[dict[str, Any]] = [_title(heading)]
    if "" in problems:
        body.append(_problem(problems[""]))
    elif problems:
        body.append(_problem("Some answers need another look; the rest are kept."))
    for question in flow.form(turn, state):
        body.append(
            _input(
                question.key,
                question.label,
                question.kind,
                question.options,
                question.optional,
                values.get(question.key, question.suggestion or ""),
            )
        )
        if question.key in problems:
            body.append(_problem(problems[question.key]))
    data: dict[str, Json] = {"flow": flow.name, "subject": state.subject or ""}
    if state.version is not None:
        data["version"] = state.version  # a second submission of the same card is refused as out of date
    if "period" in state.answers:
        data["period"] = state.answers["period"]
    submit = {"type": "Action.Submit", "title": "Save", "data": {**data, "verb": FORM_VERB}}
    execute = {"type": "Action.Execute", "title": "Save", "verb": FORM_VERB, "data": data, "fallback": submit}
    return _card(body, [execute])


def _input(key: str, label: str, kind: InputKind, options: Any, optional: bool, value: str) -> dict[str, Any]:
    shown = label + ("" if not optional else " (optional)")
    if kind is InputKind.CHOICE and options:
        return {
            "type": "Input.ChoiceSet",
            "id": key,
            "label": shown,
            "style": "expanded",
            "value": value,
            "choices": [{"title": o.title, "value": o.value} for o in options],
        }
    if kind is InputKind.DATE:
        return {"type": "Input.Date", "id": key, "label": shown, "value": value}
    return {
        "type": "Input.Text",
        "id": key,
        "label": shown,
        "value": value,
        "isMultiline": kind is InputKind.LONG_TEXT,
    }


def _problem(text: str) -> dict[str, Any]:
    return {"type": "TextBlock", "text": f"Problem: {text}", "color": "Attention", "wrap": True}


def summary_card(title: str, summary: str) -> dict[str, Json]:
    """The read-only card that replaces a submitted form, so it cannot be submitted twice."""
    return _card([_title(f"{title}: saved"), {"type": "TextBlock", "text": summary, "wrap": True}])


def notice_card(title: str, message: str) -> dict[str, Json]:
    return _card([_title(title), {"type": "TextBlock", "text": message, "wrap": True}])
