"""Who may move an arrangement through the framework, and from where to where."""

from __future__ import annotations

import re

import pytest

from kcpf.errors import InvalidTransition, NotPermitted
from kcpf.lifecycle import Action, Actor, Role, RoleDirectory, check_permitted, check_transition
from kcpf.model import Officer, Status
from tests.builders import arrangement

RO = Actor("jo.bloggs@chorley.gov.uk")
OTHER = Actor("sam.smith@southribble.gov.uk")
TP = Actor(
    "tp@chorley.gov.uk", roles=frozenset({Role.RESPONSIBLE_OFFICER, Role.TRANSFORMATION_AND_PARTNERSHIPS})
)
SMT = Actor("chief@chorley.gov.uk", roles=frozenset({Role.RESPONSIBLE_OFFICER, Role.SMT}))
VIEWER = Actor("councillor@chorley.gov.uk", roles=frozenset({Role.VIEWER}))

OFFICER_ACTIONS = [Action.EDIT, Action.ASSESS, Action.PROPOSE, Action.GOVERNANCE, Action.UPDATE, Action.END]


@pytest.mark.parametrize("action", OFFICER_ACTIONS)
def test_the_responsible_officer_acts_on_their_own(action: Action) -> None:
    check_permitted(RO, action, arrangement())


@pytest.mark.parametrize("action", OFFICER_ACTIONS)
def test_another_officer_may_not(action: Action) -> None:
    with pytest.raises(
        NotPermitted, match=r"Only KCP-0001's responsible officer \(Jo Bloggs <jo.bloggs@chorley.gov.uk>\)"
    ):
        check_permitted(OTHER, action, arrangement())


@pytest.mark.parametrize("action", OFFICER_ACTIONS)
def test_tp_supports_every_stage(action: Action) -> None:
    check_permitted(TP, action, arrangement())


def test_email_comparison_ignores_case() -> None:
    check_permitted(
        Actor("Jo.Bloggs@Chorley.gov.uk".lower()),
        Action.ASSESS,
        arrangement(responsible_officer=Officer("JO.BLOGGS@chorley.gov.uk")),
    )


@pytest.mark.parametrize("actor", [SMT, TP])
def test_only_smt_or_tp_record_smt_decisions(actor: Actor) -> None:
    check_permitted(actor, Action.DECIDE, arrangement())


@pytest.mark.parametrize("actor", [RO, OTHER])
def test_officers_cannot_record_smt_decisions_even_on_their_own(actor: Actor) -> None:
    with pytest.raises(NotPermitted, match="Only the Senior Management Team"):
        check_permitted(actor, Action.DECIDE, arrangement())


def test_viewers_only_read() -> None:
    with pytest.raises(NotPermitted, match="read-only access"):
        check_permitted(VIEWER, Action.IDENTIFY)


def test_only_tp_imports_and_assigns() -> None:
    with pytest.raises(NotPermitted, match="imports contract registers"):
        check_permitted(RO, Action.IMPORT)
    check_permitted(TP, Action.IMPORT)
    unassigned = arrangement(responsible_officer=None)
    with pytest.raises(NotPermitted, match="assigns responsible officers"):
        check_permitted(RO, Action.ASSIGN_OFFICER, unassigned)
    with pytest.raises(NotPermitted, match="assigns responsible officers"):
        check_permitted(RO, Action.ASSIGN_OFFICER, arrangement())  # not even their own
    check_permitted(TP, Action.ASSIGN_OFFICER, unassigned)


def test_no_responsible_officer_yet() -> None:
    with pytest.raises(NotPermitted, match="has no responsible officer yet"):
        check_permitted(RO, Action.ASSESS, arrangement(responsible_officer=None))


@pytest.mark.parametrize(
    ("action", "status", "allowed"),
    [
        (Action.ASSESS, Status.IDENTIFIED, True),
        (Action.ASSESS, Status.DEFERRED, True),
        (Action.ASSESS, Status.KEY, False),
        (Action.PROPOSE, Status.ASSESSED, True),
        (Action.PROPOSE, Status.IDENTIFIED, False),
        (Action.PROPOSE, Status.PROPOSED, False),
        (Action.DECIDE, Status.PROPOSED, True),
        (Action.DECIDE, Status.ASSESSED, False),
        (Action.GOVERNANCE, Status.KEY, True),
        (Action.GOVERNANCE, Status.ASSESSED, False),
        (Action.UPDATE, Status.GOVERNANCE_IN_PLACE, True),
        (Action.UPDATE, Status.MONITORING, True),
        (Action.UPDATE, Status.NOT_KEY, False),
        (Action.END, Status.MONITORING, True),
        (Action.END, Status.ENDED, False),
        (Action.EDIT, Status.ENDED, False),
    ],
)
def test_transitions(action: Action, status: Status, allowed: bool) -> None:
    a = arrangement(status=status)
    if allowed:
        check_transition(action, a)
    else:
        with pytest.raises(InvalidTransition, match=re.escape(f"KCP-0001 is “{status.label}”")):
            check_transition(action, a)


def test_refusals_explain_what_comes_first() -> None:
    with pytest.raises(InvalidTransition, match="Assess it against the criteria first"):
        check_transition(Action.PROPOSE, arrangement(status=Status.IDENTIFIED))
    with pytest.raises(InvalidTransition, match="SMT must first decide that it is key"):
        check_transition(Action.UPDATE, arrangement(status=Status.ASSESSED))


def test_roles_from_settings_by_email_or_object_id() -> None:
    directory = RoleDirectory(
        tp=frozenset({"tp@chorley.gov.uk"}),
        smt=frozenset({"0f0e0d0c-0000-4000-8000-000000000001"}),
        viewers=frozenset({"councillor@chorley.gov.uk", "tp@chorley.gov.uk"}),
    )
    assert directory.actor("TP@chorley.gov.uk").is_tp
    assert directory.actor("tp@chorley.gov.uk").is_viewer_only is False
    smt = directory.actor("chief@chorley.gov.uk", aad_object_id="0F0E0D0C-0000-4000-8000-000000000001")
    assert smt.has(Role.SMT)
    assert directory.actor("councillor@chorley.gov.uk").is_viewer_only
    assert directory.actor("anyone@chorley.gov.uk").roles == frozenset({Role.RESPONSIBLE_OFFICER})


def test_the_whole_register_is_reviewed_by_tp_smt_and_viewers_only() -> None:
    for reviewer in (TP, SMT, VIEWER):
        check_permitted(reviewer, Action.REVIEW_REGISTER)
    with pytest.raises(NotPermitted, match="added as a viewer"):
        check_permitted(RO, Action.REVIEW_REGISTER)


def test_only_tp_sees_who_owes_what_across_the_register() -> None:
    check_permitted(TP, Action.CHASE)
    for other in (RO, SMT, VIEWER):
        with pytest.raises(NotPermitted, match=r"^Only Transformation and Partnerships see who owes what"):
            check_permitted(other, Action.CHASE)
