"""Read-only answers: help, my arrangements, what is due."""

from __future__ import annotations

from bot.commands import COMMANDS
from bot.flows.engine import Turn
from kcpf.due import by_officer
from kcpf.framework import FrameworkVersion
from kcpf.lifecycle import Actor
from kcpf.parsing import format_money, format_uk_date


def help_text(actor: Actor, rules: FrameworkVersion) -> str:
    lines = ["I walk you through the Key Contracts and Partnerships Framework. You can type:"]
    lines.extend(
        f"- *{command.example}*: {command.description(rules)}"
        for command in COMMANDS
        if command.offered_to(actor)
    )
    lines.append("While answering: *back* changes your last answer, *cancel* stops, *form* shows one card.")
    return "\n".join(lines)


def decide_help() -> str:
    return (
        "Type *decide KCP-0001 key*, *decide KCP-0001 not key* or *decide KCP-0001 deferred*, optionally "
        "followed by a note."
    )


def my_text(turn: Turn) -> str:
    mine = turn.framework.arrangements(officer=turn.actor.email)
    if not mine:
        return (
            "You are not the responsible officer for any contract or partnership yet. "
            "Type *new* to record one."
        )
    lines = [f"You are responsible for {len(mine)}:"]
    for arrangement in mine:
        value = (
            f", {format_money(arrangement.annual_value)} a year"
            if arrangement.annual_value is not None
            else ""
        )
        lines.append(
            f"- **{arrangement.reference}** {arrangement.title} ({arrangement.partner}{value}): "
            f"{arrangement.status.label}"
        )
    owed = turn.framework.due(turn.now.date(), officer=turn.actor.email)
    if owed:
        lines.append("\nDue from you:")
        for item in owed:
            lines.append(f"- {item.reference}: {item.what}, {item.state} {format_uk_date(item.due_date)}")
    else:
        lines.append("\nNothing is due from you.")
    return "\n".join(lines)


def due_text(turn: Turn) -> str:
    owed = turn.framework.due(turn.now.date())
    if not owed:
        return f"Nothing is due or overdue on {format_uk_date(turn.now.date())}."
    lines = [f"Due and overdue on {format_uk_date(turn.now.date())}:"]
    for officer, items in by_officer(owed).items():
        lines.append(f"\n**{officer or 'No responsible officer'}**")
        for item in items:
            lines.append(
                f"- {item.reference} {item.title}: {item.what}, {item.state} {format_uk_date(item.due_date)}"
            )
    return "\n".join(lines)
