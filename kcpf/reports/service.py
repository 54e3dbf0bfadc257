"""Producing a report: who may, what it contains, and where it is kept. Pure: the renderer and the store
are ports handed in by the composition root."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from kcpf.calendar import FinancialYear, Period
from kcpf.errors import InvalidInput
from kcpf.lifecycle import Action, Actor, check_permitted
from kcpf.model import Council
from kcpf.ports import ReportRenderer, ReportStore
from kcpf.reports.cabinet import DEFAULT_HEADINGS, CabinetDetails, CommitteeHeadings, cabinet_update
from kcpf.reports.content import Document
from kcpf.reports.pack import appendix_a_pack
from kcpf.reports.smt import smt_update
from kcpf.services import FrameworkService


@dataclass(frozen=True)
class SmtReport:
    """The biannual update to SMT for a half-year. `on` is the day it is compiled (default: today)."""

    period: Period
    on: date | None = None


@dataclass(frozen=True)
class CabinetReport:
    """The annual update to one council's executive on a financial year."""

    council: Council
    year: FinancialYear
    details: CabinetDetails = field(default_factory=CabinetDetails)
    on: date | None = None


@dataclass(frozen=True)
class PackReport:
    """The Appendix A pack for one arrangement."""

    reference: str
    on: date | None = None


ReportRequest = SmtReport | CabinetReport | PackReport


@dataclass(frozen=True)
class RenderedReport:
    name: str
    title: str
    media_type: str
    content: bytes


@dataclass(frozen=True)
class ProducedReport:
    """A stored report: `name` is its file name in the store, `location` where the store put it."""

    name: str
    title: str
    media_type: str
    location: str
    size: int


def report_name(request: ReportRequest, extension: str) -> str:
    """A stable file name: producing the same report again replaces the earlier file."""
    if isinstance(request, SmtReport):
        stem = f"smt-update-{request.period.label}"
    elif isinstance(request, CabinetReport):
        stem = f"{request.council.value}-{request.council.executive}-{request.year.label}"
    else:
        stem = f"appendix-a-{request.reference}"
    return re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-") + "." + extension


class ReportService:
    """The reports T&P circulates and the pack an officer submits."""

    def __init__(
        self,
        framework: FrameworkService,
        renderer: ReportRenderer,
        store: ReportStore,
        *,
        headings: Mapping[Council, CommitteeHeadings] | None = None,
    ) -> None:
        self.framework = framework
        self.renderer = renderer
        self.store = store
        self.headings = {**DEFAULT_HEADINGS, **(headings or {})}

    def document(self, actor: Actor, request: ReportRequest) -> Document:
        """The report's content, once this person may produce it."""
        today = request.on or self.framework.clock.now().date()
        rules = self.framework.rules
        author = actor.name or actor.email
        if isinstance(request, PackReport):
            file = self.framework.file(request.reference)
            check_permitted(actor, Action.REPORT, file.arrangement)
            return appendix_a_pack(rules, file, today, author)
        check_permitted(actor, Action.REPORT)
        begins = request.period.start if isinstance(request, SmtReport) else request.year.start
        if begins > today:
            raise InvalidInput(
                f"{request.period.label if isinstance(request, SmtReport) else request.year.label} has not "
                "begun yet, so there is nothing to report; ask for a half-year or year under way or ended.",
                field="period",
            )
        files = self.framework.files(self.framework.arrangements())
        if isinstance(request, SmtReport):
            return smt_update(rules, files, self.framework.due(today), request.period, today, author)
        return cabinet_update(
            rules,
            request.council,
            request.year,
            files,
            today,
            author,
            request.details,
            self.headings.get(request.council),
        )

    def render(self, actor: Actor, request: ReportRequest) -> RenderedReport:
        document = self.document(actor, request)
        created = dataclasses.replace(document.properties, created=self.framework.clock.now())
        document = dataclasses.replace(document, properties=created)
        content = self.renderer.render(document)
        name = report_name(request, self.renderer.extension)
        return RenderedReport(name, document.title, self.renderer.media_type, content)

    def produce(self, actor: Actor, request: ReportRequest) -> ProducedReport:
        """Render the report and keep it in the store (replacing an earlier one of the same name)."""
        rendered = self.render(actor, request)
        location = self.store.save(rendered.name, rendered.content)
        return ProducedReport(
            rendered.name, rendered.title, rendered.media_type, location, len(rendered.content)
        )
