"""A register of 50 contracts and partnerships for the register page's browser tests: both councils and
shared, every status, latest RAGs green, amber and red and none yet, six officers and three arrangements
imported without one, key ones with and without governance gaps, monitoring updates over three half-years
and SMT's decisions. Built through the framework's use cases (FrameworkService, a fixed clock) on a real
SQLite register.

`Planned` keeps what each arrangement was built to show (RAG, open gaps, SMT's note...), so the tests check
the page against what was recorded, not against the page's own reading of the register.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from connectors.sqlite_register import SqliteRegister
from kcpf.assessment import Answer
from kcpf.calendar import Period
from kcpf.framework import FRAMEWORK_2025
from kcpf.governance import AreaAnswer, InPlace
from kcpf.lifecycle import RoleDirectory
from kcpf.model import ArrangementType, Council, Officer, Status
from kcpf.monitoring import AnnualReview, Kpi, Rag, Risk, Trend
from kcpf.services import FrameworkService
from tests.builders import FixedClock, at

SIZE = 50
TODAY = date(2026, 11, 20)
ROLES = RoleDirectory(tp=frozenset({"tp@chorley.gov.uk"}), smt=frozenset({"chief@chorley.gov.uk"}))
TP = ROLES.actor("tp@chorley.gov.uk", "Transformation and Partnerships")
SMT = ROLES.actor("chief@chorley.gov.uk", "Chief Executive")
OFFICERS = (
    Officer("jo.bloggs@chorley.gov.uk", "Jo Bloggs"),
    Officer("sam.smith@southribble.gov.uk", "Sam Smith"),
    Officer("priya.patel@chorley.gov.uk", "Priya Patel"),
    Officer("chris.evans@southribble.gov.uk", "Chris Evans"),
    Officer("alex.morgan@chorley.gov.uk", "Alex Morgan"),
    Officer("ayesha.khan@southribble.gov.uk", "Ayesha Khan"),
)
COUNCILS = (Council.CHORLEY, Council.SOUTH_RIBBLE, Council.SHARED)
# Titles with what HTML and CSV must escape: an ampersand, quotes, a comma, and non-ASCII letters.
TOPICS = (
    "Waste collection",
    "Leisure centres",
    'Parks & open spaces "Green Flag"',
    "Housing repairs, voids and adaptations",
    "Town centre CCTV",
    "Café concessions at Astley Hall",
    "Community safety",
    "ICT managed service",
    "Car parking enforcement",
    "Payroll and HR system",
    "@Home telecare",  # a spreadsheet would take a leading @ (or =, +, -) for a formula
    "Street cleansing",
)
# How many of the 47 recorded through the use cases end in each status; the last three are imported.
STORIES = (
    (Status.IDENTIFIED, 5),
    (Status.ASSESSED, 5),
    (Status.PROPOSED, 4),
    (Status.NOT_KEY, 4),
    (Status.DEFERRED, 4),
    (Status.KEY, 5),
    (Status.GOVERNANCE_IN_PLACE, 5),
    (Status.MONITORING, 12),
    (Status.ENDED, 3),
)
IMPORTED = (
    ("SRBC-0901", "Grounds maintenance", "Neighbourhoods", "Greenspace Services Ltd", "£1,800,000"),
    ("SRBC-0902", "Insurance brokerage", "Finance", "Lancashire Brokers LLP", "£240,000"),
    ("SRBC-0903", "Fleet hire", "Neighbourhoods", "Vans R Us Ltd", "£96,500.75"),
)
IMPORT_HEADERS = (
    "Reference Number",
    "Title of agreement",
    "Department",
    "Supplier Name",
    "Contract Value (£)",
    "Start date",
    "End date",
)
PARTNERS = ("Acme", "Northern", "Ribble Valley", "Pennine")
RAGS = (Rag.GREEN, Rag.AMBER, Rag.RED)
H1_2025, H2_2025, H1_2026 = (Period.parse(p) for p in ("2025/26-H1", "2025/26-H2", "2026/27-H1"))
STABLE = Risk("Accounts filed on time; no concerns", Rag.GREEN, Trend.STABLE)


@dataclass(frozen=True)
class Planned:
    """What one arrangement was built to show."""

    reference: str
    status: Status
    rag: Rag | None  # the latest update's overall RAG
    open_gaps: tuple[str, ...]  # the plans of the governance gaps still open
    decision_note: str  # SMT's latest note, "" when SMT has not decided
    achievements: str  # in the latest update, "" without one


@dataclass(frozen=True)
class Sample:
    path: Path  # the SQLite register
    planned: dict[str, Planned]


def criteria(met: int) -> dict[str, Answer]:
    """The first `met` criteria met, with a reason for each answer."""
    keys = FRAMEWORK_2025.criterion_keys
    return {k: Answer(i < met, f"Because of its {k.replace('_', ' ')}") for i, k in enumerate(keys)}


def build(kcpf: FrameworkService, clock: FixedClock) -> dict[str, Planned]:
    planned: dict[str, Planned] = {}
    n = 0
    for status, count in STORIES:
        for each in range(count):
            planned_one = _story(kcpf, clock, n, status, each)
            planned[planned_one.reference] = planned_one
            n += 1
    clock.set(date(2026, 11, 1))
    rows = [
        (ref, title, dept, supplier, value, "01/04/2024", "31/03/2029")
        for ref, title, dept, supplier, value in IMPORTED
    ]
    plan = kcpf.import_register(TP, Council.SOUTH_RIBBLE, IMPORT_HEADERS, rows)
    assert not plan.blocked, plan
    for arrangement in kcpf.arrangements():
        if arrangement.reference not in planned:
            assert arrangement.responsible_officer is None
            planned[arrangement.reference or ""] = Planned(
                arrangement.reference or "", Status.IDENTIFIED, None, (), "", ""
            )
    clock.set(TODAY)
    assert len(planned) == SIZE
    return planned


def _story(kcpf: FrameworkService, clock: FixedClock, n: int, status: Status, each: int) -> Planned:
    """Arrangement number `n`, taken through the framework as far as `status`; `each` counts within it."""
    clock.set(date(2025, 5, 1))
    topic = TOPICS[n % len(TOPICS)]
    partnership = n % 4 == 1
    saved = kcpf.identify(
        TP,
        title=topic if n < len(TOPICS) else f"{topic} (lot {n // len(TOPICS) + 1})",
        type=ArrangementType.PARTNERSHIP if partnership else ArrangementType.CONTRACT,
        council=COUNCILS[n % 3],
        partner=f"{PARTNERS[n % 4]} {'Trust' if partnership else 'Ltd'} {n}",
        responsible_officer=OFFICERS[n % len(OFFICERS)],
        service=("Streetscene", "Communities", "Housing", "Customer and Digital")[n % 4],
        annual_value=None if n % 11 == 7 else Decimal(60_000 + 7_350 * n) + Decimal("0.50") * (n % 2),
        total_value=None if n % 5 == 3 else Decimal(500_000 + 73_500 * n),
        start_date=date(2023 + n % 3, 4, 1),
        end_date=None if n % 13 == 5 else date(2027 + n % 6, 3, 31),
        data_shared=n % 2 == 0,
    )
    reference = saved.reference or ""
    if status is Status.IDENTIFIED:
        return Planned(reference, status, None, (), "", "")
    if status is Status.ENDED and each == 0:  # ended before it was assessed
        clock.set(date(2025, 9, 1))
        kcpf.end(TP, reference)
        return Planned(reference, status, None, (), "", "")

    clock.set(date(2025, 5, 10))
    # Assessed only: some not key on the criteria (2 of 5 met); everything proposed meets 3 to 5.
    kcpf.assess(TP, reference, criteria(2 if status is Status.ASSESSED and each % 2 else 3 + n % 3))
    if status is Status.ASSESSED:
        return Planned(reference, status, None, (), "", "")
    clock.set(date(2025, 5, 15))
    kcpf.propose(TP, reference)
    if status is Status.PROPOSED:
        return Planned(reference, status, None, (), "", "")
    clock.set(date(2025, 6, 10))
    decision = {Status.NOT_KEY: Status.NOT_KEY, Status.DEFERRED: Status.DEFERRED}.get(status, Status.KEY)
    note = f"Decided at SMT on 10 June 2025: {decision.value} (item {n})"
    kcpf.decide(SMT, reference, decision, note=note)
    if decision is not Status.KEY:
        return Planned(reference, status, None, (), note, "")

    clock.set(date(2025, 6, 20))
    # Key stays key only with a gap open (none would make it "governance in place").
    gap_count = {Status.KEY: 1 + each % 2, Status.GOVERNANCE_IN_PLACE: 0}.get(status, each % 3)
    areas = kcpf.governance_areas(reference)
    answers = {k: AreaAnswer(k, InPlace.YES) for k in areas}
    gaps = tuple(
        f"Agree the {area.replace('_', ' ')} with the partner (item {n})" for area in areas[:gap_count]
    )
    for area, plan in zip(areas, gaps, strict=False):
        answers[area] = AreaAnswer(area, InPlace.NO, plan, date(2026, 12, 31))
    if not (status is Status.KEY and each == 0):  # one key arrangement has no self-assessment yet
        kcpf.record_governance(TP, reference, answers)
    else:
        gaps = ()
    if status in (Status.KEY, Status.GOVERNANCE_IN_PLACE):
        return Planned(reference, status, None, gaps, note, "")

    # Monitoring: one, two or three half-years of updates; the latest RAGs go green, amber, red in pairs.
    halves = 1 + each % 3
    rag = RAGS[each // 2 % 3]  # in pairs, so that each council sees every RAG
    achievements = ""
    for index, (period, submitted) in enumerate(
        ((H1_2025, date(2025, 10, 20)), (H2_2025, date(2026, 4, 20)), (H1_2026, date(2026, 10, 20)))[:halves]
    ):
        clock.set(submitted)
        latest = index == halves - 1
        achievements = f"Milestone {index + 1} of item {n} delivered"
        kpis = [Kpi.measured(FRAMEWORK_2025, "Customer satisfaction", Decimal(90), Decimal(92), unit="%")]
        annual = None
        if period.is_annual:
            annual = AnnualReview("Most targets met", ("Renegotiate the service levels",))
        # The latest rating is given, except once: then it follows from the KPIs (on target, so green).
        performance = None if latest and rag is Rag.GREEN and each == 0 else (rag if latest else Rag.GREEN)
        kcpf.submit_update(
            TP, reference, period, performance=performance, kpis=kpis, achievements=achievements,
            issues_to_escalate="Budget pressure" if rag is Rag.RED else "", financial_stability=STABLE,
            risks=[Risk("Staff turnover", Rag.AMBER, Trend.STABLE)], annual=annual,
        )  # fmt: skip
    if status is Status.ENDED:
        clock.set(date(2026, 11, 1))
        kcpf.end(TP, reference)
    return Planned(reference, status, rag, gaps, note, achievements)


def sample_register(directory: Path) -> Sample:
    """The register built in `directory/register.sqlite3`, closed again for a server to open."""
    path = directory / "register.sqlite3"
    clock = FixedClock(at(TODAY))
    with SqliteRegister(path) as register:
        planned = build(FrameworkService(register, clock, FRAMEWORK_2025), clock)
    return Sample(path, planned)
