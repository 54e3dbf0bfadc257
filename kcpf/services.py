"""The framework's use cases: what the CLI, the bot and later the reports call. Pure: the register and the
clock are ports handed in by the composition root."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from kcpf.assessment import Answer, Assessment, Suggestion, assess, suggest
from kcpf.calendar import FinancialYear, Period
from kcpf.due import Obligation, obligations
from kcpf.errors import Conflict, InvalidInput
from kcpf.framework import FrameworkVersion, check_priorities
from kcpf.governance import AreaAnswer, GovernanceReview, applicable_areas, review_governance
from kcpf.lifecycle import Action, Actor, check_permitted, check_transition, decision_status
from kcpf.model import Arrangement, ArrangementType, Council, Officer, Status
from kcpf.monitoring import AnnualReview, Kpi, MonitoringUpdate, Rag, Risk, prepare_update
from kcpf.ports import Clock, Register
from kcpf.records import Record, SmtDecision
from kcpf.transparency import ImportPlan, plan_import, validate_rows

# Fields an officer may change with `edit`; status, reference and version move only through the lifecycle.
EDITABLE_FIELDS = frozenset(
    f.name
    for f in dataclasses.fields(Arrangement)
    if f.name not in {"status", "key_since", "reference", "version", "source", "responsible_officer"}
)


@dataclass(frozen=True)
class ArrangementFile:
    """An arrangement with everything recorded about it, for `show` and exports."""

    arrangement: Arrangement
    assessments: tuple[Assessment, ...]
    decisions: tuple[SmtDecision, ...]
    governance_reviews: tuple[GovernanceReview, ...]
    updates: tuple[MonitoringUpdate, ...]

    @property
    def latest_assessment(self) -> Assessment | None:
        return self.assessments[-1] if self.assessments else None

    @property
    def latest_governance(self) -> GovernanceReview | None:
        return self.governance_reviews[-1] if self.governance_reviews else None


class FrameworkService:
    """The Key Contracts and Partnerships Framework, applied to one register."""

    def __init__(self, register: Register, clock: Clock, framework: FrameworkVersion) -> None:
        self.register = register
        self.clock = clock
        self.rules = framework

    # Identifying (step 1) and keeping the record right.

    def identify(
        self,
        actor: Actor,
        *,
        title: str,
        type: ArrangementType,
        council: Council,
        partner: str,
        responsible_officer: Officer | None = None,
        **details: Any,
    ) -> Arrangement:
        """Record a new contract or partnership. The officer is its responsible officer unless they name
        another."""
        check_permitted(actor, Action.IDENTIFY)
        unknown = set(details) - EDITABLE_FIELDS
        if unknown:
            raise InvalidInput(f"Unknown details: {', '.join(sorted(unknown))}.")
        officer = responsible_officer or Officer(actor.email, actor.name)
        details = self._checked_priorities(council, details)
        arrangement = Arrangement(
            title=title.strip(),
            type=type,
            council=council,
            partner=partner.strip(),
            responsible_officer=officer,
            **details,
        )
        return self._save(arrangement, Action.IDENTIFY, actor)

    def edit(
        self, actor: Actor, reference: str, *, expected_version: int | None = None, **changes: Any
    ) -> Arrangement:
        unknown = set(changes) - EDITABLE_FIELDS
        if unknown:
            raise InvalidInput(f"These cannot be edited directly: {', '.join(sorted(unknown))}.")
        current = self._open(actor, Action.EDIT, reference, expected_version)
        council = changes.get("council", current.council)
        start = changes.get("start_date", current.start_date)
        changes = self._checked_priorities(council, {"start_date": start, **changes})
        return self._save(dataclasses.replace(current, **changes), Action.EDIT, actor)

    def assign_officer(
        self, actor: Actor, reference: str, officer: Officer, *, expected_version: int | None = None
    ) -> Arrangement:
        current = self._open(actor, Action.ASSIGN_OFFICER, reference, expected_version)
        return self._save(
            dataclasses.replace(current, responsible_officer=officer), Action.ASSIGN_OFFICER, actor
        )

    # Assessing (step 2) and proposing to SMT (step 3).

    def suggestions(self, reference: str) -> dict[str, Suggestion]:
        return suggest(self.rules, self.register.get(reference))

    def assess(
        self,
        actor: Actor,
        reference: str,
        answers: Mapping[str, Answer],
        *,
        expected_version: int | None = None,
    ) -> tuple[Arrangement, Assessment]:
        current = self._open(actor, Action.ASSESS, reference, expected_version)
        assessment = assess(self.rules, current, answers, by=actor.email, at=self.clock.now())
        saved = self._save(
            dataclasses.replace(current, status=Status.ASSESSED), Action.ASSESS, actor, records=[assessment]
        )
        return saved, assessment

    def propose(self, actor: Actor, reference: str, *, expected_version: int | None = None) -> Arrangement:
        current = self._open(actor, Action.PROPOSE, reference, expected_version)
        latest = self.register.assessments(reference)
        if not latest or latest[-1].framework_version != self.rules.version:
            raise InvalidInput(
                f"{reference} needs an assessment against the current criteria (framework "
                f"{self.rules.version}) before it goes to SMT."
            )
        if not latest[-1].is_key:
            raise InvalidInput(
                f"{reference} is not key on its assessment ({latest[-1].explanation}), so there is nothing "
                "to propose to SMT."
            )
        return self._save(dataclasses.replace(current, status=Status.PROPOSED), Action.PROPOSE, actor)

    def decide(
        self,
        actor: Actor,
        reference: str,
        decision: Status,
        *,
        note: str = "",
        expected_version: int | None = None,
    ) -> tuple[Arrangement, SmtDecision]:
        current = self._open(actor, Action.DECIDE, reference, expected_version)
        status = decision_status(decision)
        now = self.clock.now()
        record = SmtDecision(reference, status, actor.email, now, note.strip())
        key_since = now.date() if status is Status.KEY else current.key_since
        after = dataclasses.replace(current, status=status, key_since=key_since)
        return self._save(after, Action.DECIDE, actor, records=[record]), record

    # Governance (step 4).

    def governance_areas(self, reference: str) -> tuple[str, ...]:
        return tuple(a.key for a in applicable_areas(self.rules, self.register.get(reference)))

    def record_governance(
        self,
        actor: Actor,
        reference: str,
        answers: Mapping[str, AreaAnswer],
        *,
        expected_version: int | None = None,
    ) -> tuple[Arrangement, GovernanceReview]:
        current = self._open(actor, Action.GOVERNANCE, reference, expected_version)
        review = review_governance(self.rules, current, answers, by=actor.email, at=self.clock.now())
        # "Governance in place" while nothing is missing; a later gap takes it back to key. Once monitoring
        # has started the status stays: open gaps are listed with the arrangement instead.
        status = current.status
        if status in (Status.KEY, Status.GOVERNANCE_IN_PLACE):
            status = Status.KEY if review.gaps else Status.GOVERNANCE_IN_PLACE
        saved = self._save(
            dataclasses.replace(current, status=status), Action.GOVERNANCE, actor, records=[review]
        )
        return saved, review

    # Monitoring (step 5).

    def submit_update(
        self,
        actor: Actor,
        reference: str,
        period: Period,
        *,
        performance: Rag | None,
        kpis: Sequence[Kpi] = (),
        achievements: str = "",
        issues_to_escalate: str = "",
        risks: Sequence[Risk] = (),
        financial_stability: Risk,
        new_arrangements_identified: str = "",
        annual: AnnualReview | None = None,
        expected_version: int | None = None,
    ) -> tuple[Arrangement, MonitoringUpdate]:
        current = self._open(actor, Action.UPDATE, reference, expected_version)
        if self.register.monitoring_updates(reference, period=period.label):
            raise InvalidInput(f"{reference} already has its {period.label} update.")
        update = prepare_update(
            current,
            period,
            performance=performance,
            kpis=kpis,
            achievements=achievements,
            issues_to_escalate=issues_to_escalate,
            risks=risks,
            financial_stability=financial_stability,
            new_arrangements_identified=new_arrangements_identified,
            annual=annual,
            by=actor.email,
            at=self.clock.now(),
        )
        saved = self._save(
            dataclasses.replace(current, status=Status.MONITORING), Action.UPDATE, actor, records=[update]
        )
        return saved, update

    def end(self, actor: Actor, reference: str, *, expected_version: int | None = None) -> Arrangement:
        current = self._open(actor, Action.END, reference, expected_version)
        return self._save(dataclasses.replace(current, status=Status.ENDED), Action.END, actor)

    # Importing a council's published contract register.

    def import_register(
        self,
        actor: Actor,
        council: Council,
        headers: Sequence[str],
        rows: Sequence[Sequence[str]],
        *,
        mapping: Mapping[str, str] | None = None,
        skip_invalid: bool = False,
    ) -> ImportPlan:
        """Check every row, then add and update in one write; nothing is saved when the plan is blocked."""
        check_permitted(actor, Action.IMPORT)
        validated = validate_rows(headers, rows, council, mapping)
        plan = plan_import(self.register.arrangements(), validated, skip_invalid=skip_invalid)
        to_save = plan.arrangements_to_save()
        if not plan.blocked and to_save:
            self.register.save_many(
                to_save, action=Action.IMPORT.value, actor=actor.email, at=self.clock.now()
            )
        return plan

    # Reading.

    def arrangements(
        self, *, council: Council | None = None, status: Status | None = None, officer: str | None = None
    ) -> list[Arrangement]:
        return self.register.arrangements(council=council, status=status, officer=officer)

    def file(self, reference: str) -> ArrangementFile:
        return ArrangementFile(
            self.register.get(reference),
            tuple(self.register.assessments(reference)),
            tuple(self.register.decisions(reference)),
            tuple(self.register.governance_reviews(reference)),
            tuple(self.register.monitoring_updates(reference)),
        )

    def files(self, arrangements: Sequence[Arrangement]) -> list[ArrangementFile]:
        """Files for many arrangements from one read of each record kind (not one per arrangement)."""
        wanted = {a.reference for a in arrangements}
        grouped: dict[str | None, dict[str, list[Any]]] = {ref: {} for ref in wanted}
        kinds: dict[str, Sequence[Any]] = {
            "assessments": self.register.assessments(),
            "decisions": self.register.decisions(),
            "governance": self.register.governance_reviews(),
            "updates": self.register.monitoring_updates(),
        }
        for kind, records in kinds.items():
            for record in records:
                if record.reference in grouped:
                    grouped[record.reference].setdefault(kind, []).append(record)
        return [
            ArrangementFile(
                a,
                tuple(grouped[a.reference].get("assessments", ())),
                tuple(grouped[a.reference].get("decisions", ())),
                tuple(grouped[a.reference].get("governance", ())),
                tuple(grouped[a.reference].get("updates", ())),
            )
            for a in arrangements
        ]

    def due(self, on: date, *, officer: str | None = None) -> list[Obligation]:
        arrangements = self.register.arrangements(officer=officer)
        submitted: dict[str, list[str]] = {}
        for update in self.register.monitoring_updates():
            submitted.setdefault(update.reference, []).append(update.period)
        latest: dict[str, GovernanceReview] = {}
        for review in self.register.governance_reviews():
            latest[review.reference] = review
        return obligations(self.rules, arrangements, submitted, latest, on)

    # Internals.

    def _checked_priorities(self, council: Council, details: dict[str, Any]) -> dict[str, Any]:
        """Corporate priorities are those of the council in the year the arrangement starts (or this year)."""
        given = details.get("corporate_priorities")
        if not given:
            return details
        start = details.get("start_date") or self.clock.now().date()
        year = FinancialYear.containing(start).start_year
        return {**details, "corporate_priorities": check_priorities(self.rules, council, year, tuple(given))}

    def _open(
        self, actor: Actor, action: Action, reference: str, expected_version: int | None
    ) -> Arrangement:
        """The arrangement to act on, once this person may take this step from where it is now."""
        current = self._current(reference, expected_version)
        check_permitted(actor, action, current)
        check_transition(action, current)
        return current

    def _current(self, reference: str, expected_version: int | None) -> Arrangement:
        current = self.register.get(reference)
        if expected_version is not None and current.version != expected_version:
            raise Conflict(
                f"{reference} was changed by someone else after you opened it, so nothing was saved. "
                "Have a look at it again and repeat your change."
            )
        return current

    def _save(
        self, arrangement: Arrangement, action: Action, actor: Actor, *, records: Sequence[Record] = ()
    ) -> Arrangement:
        return self.register.save(
            arrangement, action=action.value, actor=actor.email, at=self.clock.now(), records=records
        )
