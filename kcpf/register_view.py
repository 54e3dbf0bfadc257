"""The read-only register page as data: the query people filter and sort by, the rows it shows and the
same rows as CSV. Pure: the web adapter (connectors/register_page/) reads the register and renders.

`today` is always given (never read here): it only marks next updates that are overdue.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Final, Literal, TypeVar

from kcpf.assessment import Assessment, describe_term, suggest, term_months
from kcpf.calendar import Period
from kcpf.errors import InvalidInput
from kcpf.framework import FrameworkVersion
from kcpf.governance import GovernanceReview
from kcpf.model import Council, Officer, Status, normalise_email
from kcpf.monitoring import MonitoringUpdate, Rag
from kcpf.parsing import format_money, format_uk_date
from kcpf.records import AuditEntry, SmtDecision
from kcpf.services import ArrangementFile
from kcpf.standing import standing
from kcpf.wording import plural

NONE: Final = "none"  # the filter value for "no RAG yet" and "no responsible officer"
SORTS: dict[str, str] = {
    "reference": "Reference",
    "title": "Title",
    "council": "Council",
    "status": "Status",
    "rag": "RAG",
    "officer": "Responsible officer",
    "value": "Annual value",
    "end": "End date",
    "next-update": "Next update due",
}
RAG_CHOICES = (*(r.value for r in Rag), NONE)
SEARCH_LIMIT = 200  # characters; a longer search is refused rather than silently cut
CSV_HEADER = (
    "Reference",
    "Title",
    "Type",
    "Council",
    "Status",
    "RAG",
    "Responsible officer",
    "Responsible officer email",
    "Annual value",
    "Total value",
    "Start date",
    "End date",
    "Next update due",
    "Open governance gaps",
)


@dataclass(frozen=True)
class RegisterQuery:
    """What the register page is asked to show. None (or "") means no filter."""

    council: Council | None = None
    status: Status | None = None
    rag: Rag | Literal["none"] | None = None
    officer: str | None = None  # an email, or "none" for arrangements without a responsible officer
    key: bool | None = None
    q: str = ""
    sort: str = "reference"
    order: Literal["asc", "desc"] = "asc"

    @property
    def descending(self) -> bool:
        return self.order == "desc"

    def params(self) -> list[tuple[str, str]]:
        """The query as URL parameters, leaving out what is the default."""
        pairs = [
            ("council", self.council.value if self.council else ""),
            ("status", self.status.value if self.status else ""),
            ("rag", str(self.rag) if self.rag else ""),
            ("officer", self.officer or ""),
            ("key", "" if self.key is None else ("yes" if self.key else "no")),
            ("q", self.q),
            ("sort", "" if self.sort == "reference" else self.sort),
            ("order", "" if self.order == "asc" else self.order),
        ]
        return [(name, value) for name, value in pairs if value]

    def sorted_by(self, sort: str) -> RegisterQuery:
        """This query sorted by `sort`: ascending, or reversed when it is already sorted that way."""
        order: Literal["asc", "desc"] = "desc" if sort == self.sort and self.order == "asc" else "asc"
        return replace(self, sort=sort, order=order)


def parse_query(params: Mapping[str, str]) -> RegisterQuery:
    """The page's query from its URL parameters; other parameters are ignored. A bad value raises
    InvalidInput naming the filter and what it may be."""

    def value(name: str) -> str:
        return params.get(name, "").strip()

    def choose(name: str, label: str, choices: Mapping[str, _T], advice: str) -> _T | None:
        text = value(name)
        if not text:
            return None
        try:
            return choices[text.lower()]
        except KeyError:
            raise InvalidInput(
                f"{label}: “{text}” is not one of the choices. Choose {advice}.", field=name
            ) from None

    council = choose(
        "council",
        "Council",
        {c.value: c for c in Council},
        "chorley, south-ribble or shared, or leave it empty for all councils",
    )
    status = choose(
        "status",
        "Status",
        {s.value: s for s in Status},
        f"one of {', '.join(s.value for s in Status)}, or leave it empty for every status",
    )
    rags: dict[str, Rag | Literal["none"]] = {**{r.value: r for r in Rag}, NONE: NONE}
    rag = choose(
        "rag",
        "RAG",
        rags,
        "green, amber, red or none (no update yet), or leave it empty for every RAG",
    )
    key = choose("key", "Key or not", {"yes": True, "no": False}, "yes or no, or leave it empty for both")
    sort = choose("sort", "Sort", {s: s for s in SORTS}, f"one of {', '.join(SORTS)}") or "reference"
    order = choose("order", "Order", _ORDERS, "asc (ascending) or desc (descending)") or "asc"
    officer: str | None = None
    if text := value("officer"):
        if text.lower() == NONE:
            officer = NONE
        else:
            try:
                officer = normalise_email(text)
            except InvalidInput:
                raise InvalidInput(
                    f"Responsible officer: “{text}” is not an email address. Choose an officer from the "
                    "list, none (no responsible officer), or leave it empty for every officer.",
                    field="officer",
                ) from None
    q = " ".join(value("q").split())
    if len(q) > SEARCH_LIMIT:
        raise InvalidInput(
            f"Search: {plural(len(q), 'character')} is too long; search for at most {SEARCH_LIMIT}.",
            field="q",
        )
    return RegisterQuery(council, status, rag, officer, key, q, sort, order)


_T = TypeVar("_T")
_ORDERS: dict[str, Literal["asc", "desc"]] = {"asc": "asc", "desc": "desc"}


def kept_sort(params: Mapping[str, str]) -> list[tuple[str, str]]:
    """The sort and order asked for, for the filter form to carry on, leaving out a bad one: applying the
    filters again must not repeat the problem."""
    asked = ((name, params.get(name, "").strip().lower()) for name in ("sort", "order"))
    return [(name, text) for name, text in asked if text in (SORTS if name == "sort" else _ORDERS)]


@dataclass(frozen=True)
class RegisterRow:
    """One arrangement as the register page and its CSV show it."""

    reference: str
    title: str
    type_label: str
    council: Council
    status: Status
    is_key: bool
    partner: str
    service: str
    officer: Officer | None
    rag: Rag | None
    annual_value: Decimal | None
    total_value: Decimal | None
    start_date: date | None
    end_date: date | None
    next_update_due: date | None
    update_overdue: bool
    open_gaps: int

    @property
    def number(self) -> int:
        digits = self.reference.rpartition("-")[2]
        return int(digits) if digits.isdigit() else 0

    @property
    def rag_label(self) -> str:
        return self.rag.label if self.rag else "No update yet"

    @property
    def officer_label(self) -> str:
        if self.officer is None:
            return "None assigned"
        return self.officer.name or self.officer.email


def register_rows(
    files: Sequence[ArrangementFile], framework: FrameworkVersion, today: date
) -> list[RegisterRow]:
    rows = []
    for file in files:
        a = file.arrangement
        where = standing(file, framework, today)
        rows.append(
            RegisterRow(
                reference=a.reference or "",
                title=a.title,
                type_label=a.type.label,
                council=a.council,
                status=a.status,
                is_key=where.is_key,
                partner=a.partner,
                service=a.service,
                officer=a.responsible_officer,
                rag=where.performance,
                annual_value=a.annual_value,
                total_value=a.total_value,
                start_date=a.start_date,
                end_date=a.end_date,
                next_update_due=where.next_update_due,
                update_overdue=where.update_overdue(today),
                open_gaps=len(where.open_gaps),
            )
        )
    return rows


def matches(row: RegisterRow, query: RegisterQuery) -> bool:
    if query.council is not None and not row.council.covers(query.council):
        return False
    if query.status is not None and row.status is not query.status:
        return False
    if query.rag == NONE:
        if row.rag is not None:
            return False
    elif query.rag is not None and row.rag is not query.rag:
        return False
    if query.officer == NONE:
        if row.officer is not None:
            return False
    elif query.officer is not None and (row.officer is None or row.officer.email != query.officer):
        return False
    if query.key is not None and row.is_key is not query.key:
        return False
    if query.q:
        officer = row.officer
        haystack = " ".join(
            (
                row.reference,
                row.title,
                row.partner,
                row.service,
                officer.name if officer else "",
                officer.email if officer else "",
            )
        ).casefold()
        if not all(word in haystack for word in query.q.casefold().split()):
            return False
    return True


_STATUS_ORDER = {status: index for index, status in enumerate(Status)}
_SORT_KEYS: dict[str, Callable[[RegisterRow], object]] = {
    "reference": lambda r: r.number,
    "title": lambda r: r.title.casefold(),
    "council": lambda r: r.council.label,
    "status": lambda r: _STATUS_ORDER[r.status],  # in the framework's order, not alphabetical
    "rag": lambda r: None if r.rag is None else r.rag.severity,
    "officer": lambda r: None if r.officer is None else r.officer_label.casefold(),
    "value": lambda r: r.annual_value,
    "end": lambda r: r.end_date,
    "next-update": lambda r: r.next_update_due,
}


def select(rows: Sequence[RegisterRow], query: RegisterQuery) -> list[RegisterRow]:
    """The rows the query asks for, sorted (stable, by reference within equal values); rows with no value
    to sort by come last in either order."""
    chosen = sorted((r for r in rows if matches(r, query)), key=lambda r: r.number)
    key = _SORT_KEYS[query.sort]
    known = [r for r in chosen if key(r) is not None]
    unknown = [r for r in chosen if key(r) is None]
    known.sort(key=key, reverse=query.descending)  # type: ignore[arg-type]  # each key is one comparable type
    return known + unknown


def officers(rows: Sequence[RegisterRow]) -> list[Officer]:
    """The responsible officers in the register, once each, by name: the officer filter's choices."""
    found: dict[str, Officer] = {}
    for row in rows:
        if row.officer is not None and (row.officer.email not in found or row.officer.name):
            found[row.officer.email] = row.officer
    return sorted(found.values(), key=lambda o: ((o.name or o.email).casefold(), o.email))


def count_text(shown: int, total: int) -> str:
    """ "Showing 12 of 50 contracts and partnerships"."""
    return f"Showing {shown:,} of {plural(total, 'contract or partnership', 'contracts and partnerships')}"


def csv_rows(rows: Sequence[RegisterRow]) -> list[list[str]]:
    """The header and one line per row, as the page shows them, for a spreadsheet."""
    lines = [list(CSV_HEADER)]
    for r in rows:
        officer = r.officer
        lines.append(
            [
                _cell(text)
                for text in (
                    r.reference,
                    r.title,
                    r.type_label,
                    r.council.label,
                    r.status.label,
                    r.rag.label if r.rag else "",
                    officer.name if officer else "",
                    officer.email if officer else "",
                    _plain_money(r.annual_value),
                    _plain_money(r.total_value),
                    _iso(r.start_date),
                    _iso(r.end_date),
                    _iso(r.next_update_due),
                    str(r.open_gaps),
                )
            ]
        )
    return lines


def _plain_money(amount: Decimal | None) -> str:
    return "" if amount is None else f"{amount:.2f}"


def _iso(day: date | None) -> str:
    return "" if day is None else day.isoformat()


def _cell(text: str) -> str:
    """A spreadsheet runs a cell starting with = + - @ (or a tab or return) as a formula: a title typed
    that way is kept as text by a leading apostrophe (OWASP's advice on CSV injection)."""
    return "'" + text if text[:1] in {"=", "+", "-", "@", "\t", "\r"} else text


# One arrangement's page.


@dataclass(frozen=True)
class CriterionLine:
    name: str
    met: str  # "Yes" / "No"
    reason: str
    note: str  # the record's suggestion, when the answer overrides it


@dataclass(frozen=True)
class AreaLine:
    name: str
    in_place: str
    plan: str
    target: date | None
    note: str
    is_gap: bool


@dataclass(frozen=True)
class ArrangementPage:
    """Everything the page of one arrangement shows, worded; dates left as dates for the template."""

    reference: str
    title: str
    details: list[tuple[str, str]]
    rag: Rag | None
    next_update_due: date | None
    update_overdue: bool
    assessment: Assessment | None
    criteria: list[CriterionLine]  # the latest assessment's answers, or the record's suggestions
    governance: GovernanceReview | None
    areas: list[AreaLine]
    open_gaps: int
    updates: list[MonitoringUpdate]  # newest first
    decisions: list[SmtDecision]
    history: list[AuditEntry]  # newest first

    @property
    def heading(self) -> str:
        return f"{self.reference} {self.title}"

    @property
    def rag_label(self) -> str:
        return self.rag.label if self.rag else "No update yet"


def arrangement_page(
    file: ArrangementFile, history: Sequence[AuditEntry], framework: FrameworkVersion, today: date
) -> ArrangementPage:
    a = file.arrangement
    where = standing(file, framework, today)
    officer = a.responsible_officer
    term = ""
    if a.start_date and a.end_date:
        term = describe_term(term_months(a.start_date, a.end_date))
    details = [
        ("Type", a.type.label),
        ("Council", a.council.label),
        ("Status", a.status.label),
        ("Partner or supplier", a.partner),
        ("Responsible officer", officer.display if officer else "None assigned"),
        ("Service", a.service or NOT_RECORDED),
        ("Description", a.description or NOT_RECORDED),
        ("Annual value", _money_words(a.annual_value)),
        ("Total value", _money_words(a.total_value)),
        ("Start date", format_uk_date(a.start_date) if a.start_date else NOT_RECORDED),
        ("End date", format_uk_date(a.end_date) if a.end_date else NOT_RECORDED),
        ("Term", term or NOT_RECORDED),
        ("Data shared", {True: "Yes", False: "No", None: NOT_RECORDED}[a.data_shared]),
        ("Notice period", a.notice_period or NOT_RECORDED),
        ("Corporate priorities", "; ".join(a.corporate_priorities) or NOT_RECORDED),
        ("Key since", _key_since(a.key_since, where.is_key)),
    ]
    latest = file.latest_assessment
    if latest is None:
        criteria = [
            CriterionLine(framework.criterion(key).name, _yes_no(s.met), "", f"The record suggests: {s.why}")
            for key, s in suggest(framework, a).items()
        ]
    else:
        criteria = [
            CriterionLine(
                name,
                _yes_no(answer.met),
                answer.reason,
                f"Overrides the suggestion: {answer.suggestion.why}"
                if answer.overrides_suggestion and answer.suggestion
                else "",
            )
            for answer, name in zip(latest.answers, latest.criterion_names, strict=True)
        ]
    review = file.latest_governance
    areas = []
    if review is not None:
        names = {area.key: area.name for area in framework.governance_areas}
        areas = [
            AreaLine(
                names.get(answer.area, answer.area),
                answer.in_place.label,
                answer.plan,
                answer.target_date,
                answer.note,
                answer in where.open_gaps,
            )
            for answer in review.answers
        ]
    return ArrangementPage(
        reference=a.reference or "",
        title=a.title,
        details=details,
        rag=where.performance,
        next_update_due=where.next_update_due,
        update_overdue=where.update_overdue(today),
        assessment=latest,
        criteria=criteria,
        governance=review,
        areas=areas,
        open_gaps=len(where.open_gaps),
        updates=sorted(file.updates, key=lambda u: Period.parse(u.period), reverse=True),
        decisions=list(file.decisions),
        history=sorted(history, key=lambda e: (e.at, e.sequence), reverse=True),
    )


NOT_RECORDED = "Not recorded"


def _key_since(key_since: date | None, is_key: bool) -> str:
    if key_since is not None:
        return format_uk_date(key_since)
    return NOT_RECORDED if is_key else "Not key"  # key without a date: e.g. imported so


def _money_words(amount: Decimal | None) -> str:
    return NOT_RECORDED if amount is None else format_money(amount)


def _yes_no(met: bool) -> str:
    return "Yes" if met else "No"
