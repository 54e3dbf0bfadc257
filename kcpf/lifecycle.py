"""Who may move an arrangement through the framework, and from where to where."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from kcpf.errors import InvalidInput, InvalidTransition, NotPermitted
from kcpf.model import KEY_STATUSES, Arrangement, Status


class Role(StrEnum):
    RESPONSIBLE_OFFICER = "responsible-officer"
    TRANSFORMATION_AND_PARTNERSHIPS = "tp"
    SMT = "smt"
    VIEWER = "viewer"

    @property
    def label(self) -> str:
        return {
            "responsible-officer": "Responsible officer",
            "tp": "Transformation and Partnerships",
            "smt": "Senior Management Team",
            "viewer": "Viewer",
        }[self.value]


@dataclass(frozen=True)
class Actor:
    """Someone using KCPF. Everyone may read; officers act on their own arrangements; T&P and SMT do more."""

    email: str
    name: str = ""
    roles: frozenset[Role] = field(default_factory=lambda: frozenset({Role.RESPONSIBLE_OFFICER}))

    def has(self, role: Role) -> bool:
        return role in self.roles

    @property
    def is_tp(self) -> bool:
        return Role.TRANSFORMATION_AND_PARTNERSHIPS in self.roles

    @property
    def is_viewer_only(self) -> bool:
        return not (self.roles - {Role.VIEWER})


class Action(StrEnum):
    IDENTIFY = "identify"
    EDIT = "edit"
    ASSIGN_OFFICER = "assign a responsible officer"
    ASSESS = "assess against the criteria"
    PROPOSE = "propose to SMT"
    DECIDE = "record SMT's decision"
    GOVERNANCE = "complete the governance self-assessment"
    UPDATE = "submit a monitoring update"
    END = "end"
    IMPORT = "import a contract register"
    REPORT = "produce this report"
    CHASE = "see who owes what across the register"
    REVIEW_REGISTER = "review the whole register"


# Who oversees the register as a whole: T&P runs the framework, SMT decides (the register page's audience);
# viewers were given read access to it.
REGISTER_REVIEWERS = frozenset({Role.TRANSFORMATION_AND_PARTNERSHIPS, Role.SMT, Role.VIEWER})


# Where each action may start from, and where it leaves the arrangement (None: the status stays).
_FROM: dict[Action, frozenset[Status]] = {
    Action.EDIT: frozenset(Status) - {Status.ENDED},
    Action.ASSIGN_OFFICER: frozenset(Status) - {Status.ENDED},
    Action.ASSESS: frozenset({Status.IDENTIFIED, Status.ASSESSED, Status.DEFERRED, Status.NOT_KEY}),
    Action.PROPOSE: frozenset({Status.ASSESSED, Status.DEFERRED}),
    Action.DECIDE: frozenset({Status.PROPOSED}),
    Action.GOVERNANCE: KEY_STATUSES,
    Action.UPDATE: KEY_STATUSES,
    Action.END: frozenset(Status) - {Status.ENDED},
}

_DECISIONS = frozenset({Status.KEY, Status.NOT_KEY, Status.DEFERRED})


def check_permitted(actor: Actor, action: Action, arrangement: Arrangement | None = None) -> None:
    """Refuse, with the framework's reason, anything this person may not do to this arrangement."""
    if action is Action.REVIEW_REGISTER:
        if not actor.roles & REGISTER_REVIEWERS:
            raise NotPermitted(
                "Only Transformation and Partnerships, the Senior Management Team and KCPF's viewers review "
                "the whole register; ask Transformation and Partnerships if you need to be added as a viewer."
            )
        return
    if action is Action.CHASE:
        if not actor.is_tp:
            raise NotPermitted("Only Transformation and Partnerships see who owes what across the register.")
        return
    if actor.is_viewer_only:
        raise NotPermitted(f"You have read-only access to KCPF, so you cannot {action.value}.")
    if action is Action.IMPORT and not actor.is_tp:
        raise NotPermitted("Only the Transformation and Partnerships team imports contract registers.")
    if action is Action.DECIDE:
        if not (actor.is_tp or actor.has(Role.SMT)):
            raise NotPermitted(
                "Only the Senior Management Team (or Transformation and Partnerships on its behalf) records "
                "SMT's decisions."
            )
        return
    if action is Action.REPORT and arrangement is None and not actor.is_tp:
        raise NotPermitted(
            "Only Transformation and Partnerships produces the updates to SMT and to the executives."
        )
    if action is Action.ASSIGN_OFFICER and not actor.is_tp:
        raise NotPermitted("Only Transformation and Partnerships assigns responsible officers.")
    if action is Action.IDENTIFY or action is Action.IMPORT or arrangement is None or actor.is_tp:
        return
    if arrangement.responsible_officer is None:
        raise NotPermitted(
            f"{arrangement.reference} has no responsible officer yet: ask Transformation and Partnerships to "
            "assign one."
        )
    if not arrangement.is_responsible(actor.email):
        raise NotPermitted(
            f"Only {arrangement.reference}'s responsible officer ({arrangement.responsible_officer.display}) "
            f"or Transformation and Partnerships can {action.value} for it."
        )


def check_transition(action: Action, arrangement: Arrangement) -> None:
    allowed = _FROM.get(action)
    if allowed is not None and arrangement.status not in allowed:
        raise InvalidTransition(
            f"{arrangement.reference} is “{arrangement.status.label}”, so you cannot {action.value} now."
            + _hint(action, arrangement.status)
        )


def decision_status(decision: Status) -> Status:
    if decision not in _DECISIONS:
        raise InvalidInput("SMT's decision is key, not key, or deferred.", field="decision")
    return decision


def _hint(action: Action, status: Status) -> str:
    if action is Action.PROPOSE and status is Status.IDENTIFIED:
        return " Assess it against the criteria first."
    if action in (Action.GOVERNANCE, Action.UPDATE) and status in (Status.IDENTIFIED, Status.ASSESSED):
        return " SMT must first decide that it is key."
    if action is Action.PROPOSE and status is Status.PROPOSED:
        return " It is already waiting for SMT's decision."
    return ""


@dataclass(frozen=True)
class RoleDirectory:
    """Who holds the T&P, SMT and viewer roles, by email or Entra object id (from settings)."""

    tp: frozenset[str] = frozenset()
    smt: frozenset[str] = frozenset()
    viewers: frozenset[str] = frozenset()

    def actor(self, email: str, name: str = "", aad_object_id: str = "") -> Actor:
        ids = {email.strip().lower(), aad_object_id.strip().lower()} - {""}
        roles = {Role.RESPONSIBLE_OFFICER}
        if ids & self.tp:
            roles.add(Role.TRANSFORMATION_AND_PARTNERSHIPS)
        if ids & self.smt:
            roles.add(Role.SMT)
        if ids & self.viewers and len(roles) == 1:
            roles = {Role.VIEWER}
        return Actor(email.strip().lower(), name, frozenset(roles))
