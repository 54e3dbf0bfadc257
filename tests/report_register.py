"""A register with everything the reports show: key arrangements of each council and shared, KPIs, risks,
financial stability, governance gaps (one overdue), year-end updates, a proposal, an arrangement ending soon
and an overdue update. Built through the framework's use cases on a real register."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from connectors.report_folder import ReportFolder
from connectors.sqlite_register import SqliteRegister
from connectors.word import WordRenderer
from kcpf.assessment import Answer
from kcpf.calendar import Period
from kcpf.framework import FRAMEWORK_2025
from kcpf.governance import AreaAnswer, InPlace
from kcpf.lifecycle import Actor, RoleDirectory
from kcpf.model import ArrangementType, Council, Officer, Status
from kcpf.monitoring import AnnualReview, Kpi, Rag, Risk, Trend
from kcpf.reports.cabinet import CommitteeHeadings
from kcpf.reports.service import ReportService
from kcpf.services import FrameworkService
from tests.builders import FixedClock, at

ROLES = RoleDirectory(
    tp=frozenset({"tp@chorley.gov.uk"}),
    smt=frozenset({"chief@chorley.gov.uk"}),
    viewers=frozenset({"councillor@chorley.gov.uk"}),
)
TP = ROLES.actor("tp@chorley.gov.uk", "Transformation and Partnerships")
JO = ROLES.actor("jo.bloggs@chorley.gov.uk", "Jo Bloggs")
SAM = ROLES.actor("sam.smith@southribble.gov.uk", "Sam Smith")
SMT = ROLES.actor("chief@chorley.gov.uk")
VIEWER = ROLES.actor("councillor@chorley.gov.uk")
TODAY = date(2026, 11, 20)
H1 = Period.parse("2026/27-H1")


@dataclass(frozen=True)
class Sample:
    leisure: str  # shared partnership, amber, gap open (not yet overdue)
    waste: str  # Chorley contract, red, ends within 12 months, gap overdue
    safety: str  # South Ribble partnership, green last year, 2026/27-H1 update overdue
    cctv: str  # Chorley contract proposed as key, awaiting SMT
    parks: str  # Chorley contract identified only: in no report's lists


def criteria(*met: str) -> dict[str, Answer]:
    return {k: Answer(k in met, f"because of its {k}") for k in FRAMEWORK_2025.criterion_keys}


def governance(
    kcpf: FrameworkService, actor: Actor, reference: str, gaps: dict[str, tuple[str, date]]
) -> None:
    answers = {k: AreaAnswer(k, InPlace.YES) for k in kcpf.governance_areas(reference)}
    for area, (plan, target) in gaps.items():
        answers[area] = AreaAnswer(area, InPlace.NO, plan, target)
    kcpf.record_governance(actor, reference, answers)


def build(kcpf: FrameworkService, clock: FixedClock) -> Sample:
    clock.set(date(2025, 5, 1))
    jo = Officer(JO.email, JO.name)
    sam = Officer(SAM.email, SAM.name)

    def identify(**fields: object) -> str:
        saved = kcpf.identify(TP, **fields)  # type: ignore[arg-type]
        assert saved.reference is not None
        return saved.reference

    leisure = identify(
        title="Leisure centres", type=ArrangementType.PARTNERSHIP, council=Council.SHARED,
        partner="Active Lancashire", responsible_officer=jo, annual_value=Decimal("1250000"),
        total_value=Decimal("12500000"), start_date=date(2024, 4, 1), end_date=date(2034, 3, 31),
        data_shared=False, service="Communities",
        corporate_priorities=("Healthy, safe and engaged communities", "Healthy and happy communities"),
    )  # fmt: skip
    waste = identify(
        title="Waste collection", type=ArrangementType.CONTRACT, council=Council.CHORLEY,
        partner="Acme Environmental Ltd", responsible_officer=jo, annual_value=Decimal("250000"),
        total_value=Decimal("500000"), start_date=date(2025, 4, 1), end_date=date(2027, 3, 31),
        data_shared=True, notice_period="6 months", service="Streetscene",
        corporate_priorities=("A green and sustainable borough",),
    )  # fmt: skip
    safety = identify(
        title="Community safety partnership", type=ArrangementType.PARTNERSHIP, council=Council.SOUTH_RIBBLE,
        partner="Lancashire Constabulary", responsible_officer=sam, annual_value=Decimal("150000.50"),
        start_date=date(2023, 4, 1), end_date=date(2030, 3, 31), data_shared=True,
    )  # fmt: skip
    cctv = identify(
        title="Town centre CCTV", type=ArrangementType.CONTRACT, council=Council.CHORLEY,
        partner="Eyes Ltd", responsible_officer=jo, annual_value=Decimal("120000"),
        start_date=date(2026, 12, 1), end_date=date(2031, 11, 30), data_shared=True,
    )  # fmt: skip
    parks = identify(
        title="Parks maintenance", type=ArrangementType.CONTRACT, council=Council.CHORLEY,
        partner="Green Fingers Ltd", responsible_officer=jo, annual_value=Decimal("40000"),
    )  # fmt: skip

    kcpf.assess(JO, leisure, criteria("financial", "priorities", "risk", "length", "resource"))
    kcpf.assess(
        JO, waste, {**criteria("financial", "risk", "resource"), "length": Answer(False, "two years")}
    )
    kcpf.assess(SAM, safety, criteria("financial", "priorities", "risk", "length"))
    for reference in (leisure, waste, safety):
        kcpf.propose(TP, reference)
    clock.set(date(2025, 6, 10))
    for reference in (leisure, waste, safety):
        kcpf.decide(SMT, reference, Status.KEY, note="Agreed at SMT")
    clock.set(date(2025, 6, 20))
    governance(
        kcpf, JO, leisure, {"exit_strategy": ("Draft an exit plan with the partner", date(2026, 12, 31))}
    )
    governance(
        kcpf, JO, waste, {"business_continuity": ("Test the depot continuity plan", date(2026, 3, 31))}
    )
    governance(kcpf, SAM, safety, {})

    stable = Risk("Accounts filed on time; no concerns", Rag.GREEN, Trend.STABLE)
    clock.set(date(2025, 10, 20))
    for actor, reference in ((JO, leisure), (JO, waste), (SAM, safety)):
        kcpf.submit_update(
            actor, reference, Period.parse("2025/26-H1"), performance=Rag.GREEN, financial_stability=stable
        )
    clock.set(date(2026, 4, 20))
    year_end = Period.parse("2025/26-H2")
    kcpf.submit_update(
        JO, leisure, year_end, performance=Rag.GREEN,
        kpis=[Kpi.measured(FRAMEWORK_2025, "Visits", Decimal("400000"), Decimal("412000"))],
        achievements="Gym refurbished", financial_stability=stable,
        risks=[Risk("Energy prices", Rag.AMBER, Trend.IMPROVING)],
        annual=AnnualReview("Visits 3% above target", ("Extend opening hours", "Open a new climbing wall")),
    )  # fmt: skip
    kcpf.submit_update(
        JO, waste, year_end, performance=Rag.AMBER, financial_stability=stable,
        annual=AnnualReview("Missed bins 6% above target", ("Cut missed bins to 50 a month",)),
    )  # fmt: skip
    kcpf.submit_update(
        SAM, safety, year_end, performance=Rag.GREEN,
        financial_stability=Risk("Police grant confirmed", Rag.GREEN, Trend.STABLE),
        annual=AnnualReview("All targets met", ("Launch the night-time economy plan",)),
    )  # fmt: skip

    clock.set(date(2026, 10, 20))
    kcpf.submit_update(
        JO, leisure, H1, performance=None,
        kpis=[
            Kpi.measured(FRAMEWORK_2025, "Visits", Decimal("200000"), Decimal("194000")),
            Kpi.measured(FRAMEWORK_2025, "Satisfaction", Decimal("85"), Decimal("90"), unit="%"),
        ],
        achievements="Pool reopened after repairs",
        issues_to_escalate="Pool plant needs £300,000 of investment",
        risks=[Risk("Energy prices", Rag.AMBER, Trend.WORSENING)],
        financial_stability=Risk("Reserves down by a third", Rag.AMBER, Trend.WORSENING),
    )  # fmt: skip
    kcpf.submit_update(
        JO, waste, H1, performance=Rag.RED,
        kpis=[
            Kpi.measured(
                FRAMEWORK_2025, "Missed bins a month", Decimal("50"), Decimal("80"), lower_is_better=True
            )
        ],
        achievements="New rounds agreed", issues_to_escalate="Depot lease ends in March 2027",
        financial_stability=Risk("Parent company in administration", Rag.RED, Trend.NEW),
    )  # fmt: skip
    clock.set(date(2026, 10, 25))
    kcpf.assess(JO, cctv, criteria("financial", "risk", "length", "resource"))
    kcpf.propose(JO, cctv)
    clock.set(TODAY)
    return Sample(leisure, waste, safety, cctv, parks)


@dataclass(frozen=True)
class Built:
    """The sample register, and the report service over it with the shipped template and a real folder."""

    kcpf: FrameworkService
    sample: Sample
    reports: ReportService
    folder: ReportFolder


@contextmanager
def built(directory: Path, *, headings: Mapping[Council, CommitteeHeadings] | None = None) -> Iterator[Built]:
    clock = FixedClock(at(TODAY))
    with SqliteRegister(directory / "register.sqlite3") as register:
        kcpf = FrameworkService(register, clock, FRAMEWORK_2025)
        sample = build(kcpf, clock)
        folder = ReportFolder(directory / "reports")
        yield Built(kcpf, sample, ReportService(kcpf, WordRenderer(), folder, headings=headings), folder)
