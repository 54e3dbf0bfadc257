"""Step 2: assessing a contract or partnership against the criteria of Appendix A."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN

from kcpf.errors import InvalidInput
from kcpf.framework import FrameworkVersion, short_money
from kcpf.model import Arrangement
from kcpf.parsing import PENNY, Duration, format_money


def term_months(start: date, end: date) -> int:
    """Whole months of a term that includes its end date: 1 April 2025 to 31 March 2030 is 60 months."""
    after = end + timedelta(days=1)
    months = (after.year - start.year) * 12 + (after.month - start.month)
    if after.day < start.day:
        months -= 1
    return max(months, 0)


def describe_term(months: int) -> str:
    """“5 years”, “1 year 6 months”."""
    return str(Duration(*divmod(months, 12)))


@dataclass(frozen=True)
class Suggestion:
    """What the register's facts say about a criterion; the officer confirms or overrides it."""

    met: bool
    why: str


def suggest(framework: FrameworkVersion, arrangement: Arrangement) -> dict[str, Suggestion]:
    """Suggestions for the criteria the record already answers (the value and the dates)."""
    suggestions: dict[str, Suggestion] = {}
    threshold = framework.financial_threshold
    annual = arrangement.annual_value
    months = (
        term_months(arrangement.start_date, arrangement.end_date)
        if arrangement.start_date and arrangement.end_date
        else None
    )
    if annual is None and arrangement.total_value is not None and months:
        annual = (arrangement.total_value * 12 / months).quantize(PENNY, rounding=ROUND_DOWN)
        total = format_money(arrangement.total_value)
        basis = f"the total value of {total} over {describe_term(months)} is about"
    else:
        basis = "the annual value is"
    if annual is not None:
        met = annual >= threshold
        comparison = "at or above" if met else "below"
        suggestions["financial"] = Suggestion(
            met, f"{basis} {format_money(annual)} a year, {comparison} the {short_money(threshold)} threshold"
        )
    if months is not None:
        needed = framework.minimum_term_years * 12
        met = months >= needed
        comparison = "at least" if met else "less than"
        suggestions["length"] = Suggestion(
            met,
            f"the term is {describe_term(months)}, {comparison} the "
            f"{framework.minimum_term_years} years needed",
        )
    return suggestions


@dataclass(frozen=True)
class CriterionAnswer:
    criterion: str
    met: bool
    reason: str = ""
    suggestion: Suggestion | None = None

    @property
    def overrides_suggestion(self) -> bool:
        return self.suggestion is not None and self.suggestion.met != self.met


@dataclass(frozen=True)
class Assessment:
    """A responsible officer's answers to the criteria, with the rules of the framework version used."""

    reference: str
    framework_version: str
    key_threshold: int
    answers: tuple[CriterionAnswer, ...]
    criterion_names: tuple[str, ...]
    assessed_by: str
    assessed_at: datetime

    @property
    def met(self) -> tuple[str, ...]:
        return tuple(a.criterion for a in self.answers if a.met)

    @property
    def met_count(self) -> int:
        return len(self.met)

    @property
    def is_key(self) -> bool:
        return self.met_count >= self.key_threshold

    def answer(self, criterion: str) -> CriterionAnswer:
        for answer in self.answers:
            if answer.criterion == criterion:
                return answer
        raise InvalidInput(f"This assessment has no answer for “{criterion}”.")

    @property
    def explanation(self) -> str:
        """“3 of 5 met: Financial, Risk, Length: key”."""
        names = dict(zip((a.criterion for a in self.answers), self.criterion_names, strict=True))
        met_names = ", ".join(names[key] for key in self.met) or "none"
        verdict = "key" if self.is_key else f"not key (at least {self.key_threshold} are needed)"
        return f"{self.met_count} of {len(self.answers)} met: {met_names}: {verdict}"


@dataclass(frozen=True)
class Answer:
    """One answer as given, before it is checked against the framework."""

    met: bool
    reason: str = ""


def assess(
    framework: FrameworkVersion,
    arrangement: Arrangement,
    answers: Mapping[str, Answer],
    *,
    by: str,
    at: datetime,
) -> Assessment:
    """Check the answers and build the assessment in Appendix A order.

    A criterion left unanswered takes the record's suggestion, where there is one; an answer that differs
    from the suggestion needs the officer's reason.
    """
    if arrangement.reference is None:
        raise InvalidInput("Record the contract or partnership before assessing it.")
    unknown = sorted(set(answers) - set(framework.criterion_keys))
    if unknown:
        raise InvalidInput(
            f"Not criteria of framework {framework.version}: {', '.join(unknown)}. "
            f"The criteria are: {', '.join(framework.criterion_keys)}.",
            field="criteria",
        )
    suggestions = suggest(framework, arrangement)
    missing = [c.name for c in framework.criteria if c.key not in answers and c.key not in suggestions]
    if missing:
        raise InvalidInput(
            f"Every criterion needs a yes or no. Still to answer: {', '.join(missing)}.", field="criteria"
        )
    answers = {
        c.key: answers.get(c.key)
        or Answer(suggestions[c.key].met, f"as the record suggests: {suggestions[c.key].why}")
        for c in framework.criteria
    }
    unexplained = [
        f"{c.name} (the record suggests {_yes_no(suggestions[c.key].met)}: {suggestions[c.key].why})"
        for c in framework.criteria
        if c.key in suggestions
        and answers[c.key].met != suggestions[c.key].met
        and not answers[c.key].reason.strip()
    ]
    if unexplained:
        raise InvalidInput(
            "Give a reason where your answer differs from what the record suggests: "
            + "; ".join(unexplained)
            + ".",
            field="criteria",
        )
    return Assessment(
        reference=arrangement.reference,
        framework_version=framework.version,
        key_threshold=framework.key_threshold,
        answers=tuple(
            CriterionAnswer(c.key, answers[c.key].met, answers[c.key].reason.strip(), suggestions.get(c.key))
            for c in framework.criteria
        ),
        criterion_names=tuple(c.name for c in framework.criteria),
        assessed_by=by,
        assessed_at=at,
    )


def _yes_no(met: bool) -> str:
    return "yes" if met else "no"
