"""The framework's rules as versioned data.

The councils review the framework (next review: January 2027). A new review becomes a new `FrameworkVersion`
here; older versions stay so that every recorded assessment can be read against the rules it used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

from kcpf.errors import InvalidInput, NotFound
from kcpf.model import ArrangementType, Council


@dataclass(frozen=True)
class Criterion:
    """One of the categories of significance in Appendix A."""

    key: str
    name: str
    question: str
    guidance: str


class Applies(StrEnum):
    """When a governance area applies to an arrangement."""

    ALWAYS = "always"
    WHERE_DATA_SHARED = "where-data-shared"
    PARTNERSHIPS_ONLY = "partnerships-only"


class AreaSource(StrEnum):
    APPENDIX_A = "appendix-a"
    STEP_4 = "step-4"


@dataclass(frozen=True)
class GovernanceArea:
    key: str
    name: str
    question: str
    source: AreaSource
    applies: Applies = Applies.ALWAYS


@dataclass(frozen=True)
class CorporatePriorities:
    """A council's corporate priorities for financial years first_year to last_year (by their start years)."""

    council: Council
    first_year: int
    last_year: int
    strategy: str
    priorities: tuple[str, ...]

    def covers(self, year_start: int) -> bool:
        return self.first_year <= year_start <= self.last_year


@dataclass(frozen=True)
class MonitoringRules:
    """Deadlines and tolerances of the monitoring cycle. Deadlines are (month, day) after the half-year or,
    for the annual update to each council's executive, the financial year ends."""

    h1_update_due: tuple[int, int] = (10, 31)
    h2_update_due: tuple[int, int] = (4, 30)
    annual_update_due: tuple[int, int] = (7, 31)  # T&P's update to each council's executive
    rag_amber_tolerance: Decimal = Decimal("0.05")
    periods_looked_back: int = 4


@dataclass(frozen=True)
class FrameworkVersion:
    version: str
    title: str
    approved: date
    next_review: date
    financial_threshold: Decimal
    minimum_term_years: int
    key_threshold: int
    criteria: tuple[Criterion, ...]
    governance_areas: tuple[GovernanceArea, ...]
    corporate_priorities: tuple[CorporatePriorities, ...]
    monitoring: MonitoringRules

    def __post_init__(self) -> None:
        if not 1 <= self.key_threshold <= len(self.criteria):
            raise ValueError(f"key threshold {self.key_threshold} is outside 1..{len(self.criteria)}")

    def criterion(self, key: str) -> Criterion:
        for criterion in self.criteria:
            if criterion.key == key:
                return criterion
        names = ", ".join(c.key for c in self.criteria)
        raise InvalidInput(f"“{key}” is not one of the criteria ({names}).", field="criterion")

    @property
    def criterion_keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.criteria)

    def governance_area(self, key: str) -> GovernanceArea:
        for area in self.governance_areas:
            if area.key == key:
                return area
        raise InvalidInput(f"“{key}” is not a governance area of the framework.", field="governance area")

    def area_applies(self, area: GovernanceArea, *, type: ArrangementType, data_shared: bool | None) -> bool:
        if area.applies is Applies.WHERE_DATA_SHARED:
            return data_shared is not False  # not yet recorded: ask, the officer may answer not applicable
        if area.applies is Applies.PARTNERSHIPS_ONLY:
            return type is ArrangementType.PARTNERSHIP
        return True

    def priorities_for(self, council: Council, year_start: int) -> tuple[str, ...]:
        """The corporate priorities a council had in financial year year_start/year_start+1.

        For a shared arrangement both councils' priorities apply. Where no strategy covers the year, the
        latest earlier one is used (strategies are carried forward until replaced).
        """
        councils = (Council.CHORLEY, Council.SOUTH_RIBBLE) if council is Council.SHARED else (council,)
        found: list[str] = []
        for each in councils:
            sets = sorted(
                (s for s in self.corporate_priorities if s.council is each), key=lambda s: s.first_year
            )
            chosen = [s for s in sets if s.covers(year_start)] or [
                s for s in sets if s.first_year <= year_start
            ]
            if not chosen:
                chosen = sets[:1]
            if chosen:
                found.extend(chosen[-1].priorities)
        return tuple(found)


def check_priorities(
    framework: FrameworkVersion, council: Council, year_start: int, given: tuple[str, ...]
) -> tuple[str, ...]:
    """The priorities named, in the council's own wording; anything else is refused with the list."""
    known = framework.priorities_for(council, year_start)
    by_key = {_priority_key(p): p for p in known}
    chosen: list[str] = []
    unknown: list[str] = []
    for name in given:
        match = by_key.get(_priority_key(name))
        if match is None:
            unknown.append(name.strip())
        elif match not in chosen:
            chosen.append(match)
    if unknown:
        year = f"{year_start}/{(year_start + 1) % 100:02d}"
        raise InvalidInput(
            f"Not a corporate priority of {council.label} in {year}: {'; '.join(unknown)}. "
            f"The priorities are: {'; '.join(known)}.",
            field="corporate_priorities",
        )
    return tuple(chosen)


def _priority_key(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def short_money(amount: Decimal) -> str:
    """The framework's own way of writing thresholds: £100k, £1.5m."""
    if amount >= 1_000_000 and amount % 10_000 == 0:
        return f"£{(amount / 1_000_000).normalize():f}m"
    if amount >= 1_000 and amount % 1_000 == 0:
        return f"£{(amount / 1_000).normalize():f}k"
    return f"£{amount:,.2f}".removesuffix(".00")


def _criteria(threshold_amount: Decimal, years: int) -> tuple[Criterion, ...]:
    threshold = short_money(threshold_amount)
    return (
        Criterion(
            "financial",
            "Financial",
            f"Does the contract cost the council {threshold} or more per annum?",
            f"The contract costs the council {threshold} or more per annum.",
        ),
        Criterion(
            "priorities",
            "Corporate Priorities",
            "Will the contract or partnership significantly impact the delivery of one or more of the "
            "Council's corporate priorities?",
            "The contract will significantly impact the delivery of one or more of the Council's corporate "
            "priorities.",
        ),
        Criterion(
            "risk",
            "Risk",
            "Is there a high amount of risk associated with the contract or partnership?",
            "There is a high amount of risk associated with the contract (e.g. disruption to core services, "
            f"{threshold}+ financial impact not manageable within existing funds, systems unavailable for "
            "multiple days).",
        ),
        Criterion(
            "length",
            "Length",
            f"Is the contract or partnership for {years} or more years?",
            f"The contract is for {years} or more years.",
        ),
        Criterion(
            "resource",
            "Resource",
            "Will there be a large reliance on the proposed partner or contractor for service delivery?",
            "There will be a large reliance on the proposed partner/contractor for service delivery.",
        ),
    )


_GOVERNANCE_AREAS = (
    GovernanceArea(
        "aims_objectives",
        "Aims and objectives",
        "Is there a common vision or are agreed objectives in place, aligned with the Council's strategic "
        "objectives?",
        AreaSource.APPENDIX_A,
    ),
    GovernanceArea(
        "roles_responsibilities",
        "Roles and responsibilities",
        "Have the roles and responsibilities of the Council and the key partner/contractor been agreed, and "
        "are they clear?",
        AreaSource.APPENDIX_A,
    ),
    GovernanceArea(
        "decision_making",
        "Decision making procedures",
        "Do decisions required by the arrangement align with the Councils' decision-making processes and "
        "timetables with the partners?",
        AreaSource.APPENDIX_A,
    ),
    GovernanceArea(
        "risk_management",
        "Risk management",
        "Has a joint risk register been created, and is it on GRACE for regular updates?",
        AreaSource.APPENDIX_A,
    ),
    GovernanceArea(
        "business_continuity",
        "Business continuity arrangements",
        "Are effective business continuity arrangements in place, and are they maintained?",
        AreaSource.APPENDIX_A,
    ),
    GovernanceArea(
        "data_sharing_agreement",
        "Data sharing agreement",
        "Has a robust data sharing agreement been drafted and signed by all relevant partners?",
        AreaSource.APPENDIX_A,
        Applies.WHERE_DATA_SHARED,
    ),
    GovernanceArea(
        "mou",
        "Memorandum of understanding",
        "Has a memorandum of understanding been drafted and signed by all relevant parties?",
        AreaSource.APPENDIX_A,
        Applies.PARTNERSHIPS_ONLY,
    ),
    GovernanceArea(
        "equality_diversity",
        "Equality and diversity",
        "Does the agreement promote equality and diversity, including an integrated impact assessment?",
        AreaSource.STEP_4,
    ),
    GovernanceArea(
        "anti_fraud",
        "Anti-fraud and corruption",
        "Has the partner or contractor been fully informed of the Council's procedures to combat fraud and "
        "corruption?",
        AreaSource.STEP_4,
    ),
    GovernanceArea(
        "data_quality",
        "Data quality",
        "Are data quality protocols in place so that the information supplied to the Council is robust?",
        AreaSource.STEP_4,
    ),
    GovernanceArea(
        "whistleblowing",
        "Whistleblowing",
        "Does the partner or contractor have its own whistleblowing arrangements, or has it adopted the "
        "Council's?",
        AreaSource.STEP_4,
    ),
    GovernanceArea(
        "safeguarding",
        "Safeguarding vulnerable adults and children",
        "Does the partner or contractor share the Council's commitment to safeguarding, and refer to its "
        "safeguarding policies?",
        AreaSource.STEP_4,
    ),
    GovernanceArea(
        "dispute_resolution",
        "Dispute prevention and resolution",
        "Does the agreement contain variation and dispute resolution mechanisms?",
        AreaSource.STEP_4,
    ),
    GovernanceArea(
        "exit_strategy",
        "Exit strategy",
        "Is there a clear exit strategy, including notice periods and exceptions to them?",
        AreaSource.STEP_4,
    ),
)

_CORPORATE_PRIORITIES = (
    CorporatePriorities(
        Council.CHORLEY,
        2022,
        2024,
        "Chorley Council Corporate Strategy 2022",
        (
            "Housing where residents can live well",
            "A green and sustainable borough",
            "An enterprising economy with vibrant local centres in urban and rural areas",
            "Healthy, safe and engaged communities",
        ),
    ),
    CorporatePriorities(
        Council.SOUTH_RIBBLE,
        2023,
        2024,
        "South Ribble Borough Council Corporate Strategy 2023",
        (
            "An exemplary council",
            "Green and clean neighbourhoods",
            "Healthy and happy communities",
            "Opportunities for everyone",
        ),
    ),
)


def _version(
    version: str, title: str, approved: date, next_review: date, threshold: Decimal, years: int, key: int
) -> FrameworkVersion:
    return FrameworkVersion(
        version=version,
        title=title,
        approved=approved,
        next_review=next_review,
        financial_threshold=threshold,
        minimum_term_years=years,
        key_threshold=key,
        criteria=_criteria(threshold, years),
        governance_areas=_GOVERNANCE_AREAS,
        corporate_priorities=_CORPORATE_PRIORITIES,
        monitoring=MonitoringRules(),
    )


FRAMEWORK_2025 = _version(
    "2025.1",
    "Key Contracts and Partnerships Framework (shared, refreshed October 2025)",
    approved=date(2025, 10, 16),
    next_review=date(2027, 1, 1),
    threshold=Decimal("100000"),
    years=5,
    key=3,
)

VERSIONS: Mapping[str, FrameworkVersion] = MappingProxyType({FRAMEWORK_2025.version: FRAMEWORK_2025})
CURRENT_VERSION = FRAMEWORK_2025.version


def framework_version(version: str) -> FrameworkVersion:
    try:
        return VERSIONS[version]
    except KeyError:
        known = ", ".join(VERSIONS)
        raise NotFound(f"Framework version “{version}” is not known (known: {known}).") from None
