"""Read-only answers: help, my arrangements, what is due."""

from __future__ import annotations

from bot.flows.engine import Turn
from kcpf.due import by_officer
from kcpf.framework import FrameworkVersion
from kcpf.lifecycle import Actor, Role
from kcpf.parsing import format_money, format_uk_date


def help_text(actor: Actor, rules: FrameworkVersion) -> str:
    lines = [
        "I walk you through the Key Contracts and Partnerships Framework. You can type:",
        "- *new*: record a new contract or partnership",
        f"- *assess KCP-0001*: assess it against the {len(rules.criteria)} criteria (key if "
        f"{rules.key_threshold} or more are met)",
        "- *propose KCP-0001*: propose a key one to SMT",
        "- *governance KCP-0001*: the governance self-assessment",
        "- *update KCP-0001*: the biannual update (and the annual one at year end)",
        "- *my*: your contracts and partnerships and what is due",
    ]
    if actor.has(Role.TRANSFORMATION_AND_PARTNERSHIPS):
        lines.append("- *due*: who owes what, across the register")
        lines.append(
            "- *report smt 2026/27-H1*, *report cabinet chorley 2025/26*: the Word reports to SMT and to a "
            "council's executive"
        )
    lines.append("- *report pack KCP-0001*: the Appendix A pack of one of your arrangements, in Word")
    if actor.has(Role.SMT) or actor.has(Role.TRANSFORMATION_AND_PARTNERSHIPS):
        lines.append("- *decide KCP-0001 key*, *not key* or *deferred*: record SMT's decision")
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
