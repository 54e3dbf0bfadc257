"""The bot's commands: the one list that `help` shows, the router accepts and the Teams app's command menu
offers (`kcpf teams package`). Add a command here and all three follow."""

from __future__ import annotations

from dataclasses import dataclass

from kcpf.framework import FrameworkVersion
from kcpf.lifecycle import REGISTER_REVIEWERS, Actor, Role


@dataclass(frozen=True)
class Command:
    title: str  # what is typed first; the title in Teams' command menu (which types it into the box)
    example: str  # the command as typed in full
    does: str  # what it does; {criteria} and {threshold} come from the framework version in force
    roles: frozenset[Role] = frozenset()  # who sees it in help (empty: everyone); the flows check permission
    menu: bool = True  # offered in Teams' command menu (which takes at most 12)

    @property
    def verb(self) -> str:
        return self.title.split()[0]

    def description(self, rules: FrameworkVersion) -> str:
        return self.does.format(criteria=len(rules.criteria), threshold=rules.key_threshold)

    def offered_to(self, actor: Actor) -> bool:
        return not self.roles or any(actor.has(role) for role in self.roles)

    def menu_description(self, rules: FrameworkVersion) -> str:
        """For Teams' command menu, which shows everyone every command: how to type it, and who may."""
        who = [_SHORT[role] for role in _SHORT if role in self.roles]
        named = " or ".join(who) if len(who) < 3 else f"{', '.join(who[:-1])} or {who[-1]}"
        return f"{self.example}: {self.description(rules)}" + (f" ({named} only)" if who else "")


_SHORT = {Role.SMT: "SMT", Role.TRANSFORMATION_AND_PARTNERSHIPS: "T&P", Role.VIEWER: "viewers"}


_TP = frozenset({Role.TRANSFORMATION_AND_PARTNERSHIPS})

COMMANDS: tuple[Command, ...] = (
    Command("new", "new", "record a new contract or partnership"),
    Command(
        "assess",
        "assess KCP-0001",
        "assess it against the {criteria} criteria (key if {threshold} or more are met)",
    ),
    Command("propose", "propose KCP-0001", "propose a key one to SMT"),
    Command("governance", "governance KCP-0001", "the governance self-assessment"),
    Command("update", "update KCP-0001", "the biannual update (and the annual one at year end)"),
    Command("my", "my", "your contracts and partnerships and what is due"),
    Command("due", "due", "who owes what, across the register", _TP),
    Command("report smt", "report smt 2026/27-H1", "the Word report to SMT for a half-year", _TP),
    Command(
        "report cabinet",
        "report cabinet chorley 2025/26",
        "the Word report to a council's executive for a year",
        _TP,
    ),
    Command(
        "report pack", "report pack KCP-0001", "the Appendix A pack of one of your arrangements, in Word"
    ),
    Command(
        "decide",
        "decide KCP-0001 key",
        "record SMT's decision: key, not key or deferred, with a note if you like",
        frozenset({Role.SMT, Role.TRANSFORMATION_AND_PARTNERSHIPS}),
    ),
    Command(
        "register",
        "register",
        "a link to the register in your browser (or to one: register KCP-0001)",
        REGISTER_REVIEWERS,
    ),
    # Teams' menu is itself the list of commands, so help stays out of it: the menu holds at most 12.
    Command("help", "help", "what you can type, at any point", menu=False),
)

MENU: tuple[Command, ...] = tuple(command for command in COMMANDS if command.menu)
"""The commands in Teams' command menu (`kcpf teams package`)."""

VERBS = frozenset(command.verb for command in COMMANDS)
"""The first words the bot takes as a command; anything else is not understood."""
