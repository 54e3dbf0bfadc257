"""The composition root: the one place that builds adapters from settings and hands them to the core."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, timedelta

from connectors.clock import SystemClock
from connectors.report_folder import ReportFolder, ReportLinks, link_secret
from connectors.sqlite_register import SqliteRegister
from connectors.word import TemplateInvalid, WordRenderer, load_template
from kcpf.cli.settings import InvalidSetting, Settings
from kcpf.errors import InvalidInput
from kcpf.framework import FrameworkVersion
from kcpf.lifecycle import Actor
from kcpf.model import Council
from kcpf.ports import Register, ReportStore
from kcpf.reports.cabinet import CommitteeHeadings, headings_from_data
from kcpf.reports.service import ProducedReport, ReportService
from kcpf.services import FrameworkService


@dataclass(frozen=True)
class Application:
    settings: Settings
    framework: FrameworkService
    reports: ReportService
    report_folder: ReportFolder
    report_links: ReportLinks

    @property
    def rules(self) -> FrameworkVersion:
        return self.framework.rules

    def actor(self, email: str, name: str = "") -> Actor:
        return self.settings.roles.actor(email, name)

    def report_url(self, base_url: str, name: str) -> str:
        """A signed link to a stored report, valid for KCPF_REPORT_LINK_HOURS from now (for the bot)."""
        # In UTC: hours added to a London time are wall-clock hours (one more or less as the clocks change).
        now = self.framework.clock.now().astimezone(UTC)
        expires = now + timedelta(hours=self.settings.report_link_hours)
        return self.report_links.url(base_url, name, expires)

    def report_link(self, base_url: str, produced: ProducedReport) -> str:
        """Where an officer downloads a report: its SharePoint address, or a signed link to the bot's copy."""
        if self.settings.store == "sharepoint":
            return produced.location
        return self.report_url(base_url, produced.name)


def prepare_data_dir(settings: Settings) -> None:
    """Create the data directory and check KCPF can write there, before anything else touches it."""
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        with settings.log_path.open("a", encoding="utf-8"):
            pass
    except OSError as error:
        raise InvalidSetting(
            f"KCPF_DATA_DIR is “{settings.data_dir}”, which KCPF cannot use as its data directory "
            f"({error.strerror}). Point it at a folder KCPF may create and write to."
        ) from None


def report_renderer(settings: Settings) -> WordRenderer:
    """The Word renderer with the council's template (KCPF_REPORT_TEMPLATE), or the shipped default."""
    if settings.report_template is None:
        return WordRenderer()
    try:
        return WordRenderer(
            load_template(settings.report_template), template_name=str(settings.report_template)
        )
    except TemplateInvalid as error:
        raise InvalidSetting(f"KCPF_REPORT_TEMPLATE: {error.message}") from None


def committee_headings(settings: Settings) -> dict[Council, CommitteeHeadings]:
    """The councils' committee report headings from KCPF_COMMITTEE_HEADINGS, or the defaults."""
    path = settings.committee_headings
    if path is None:
        return {}
    try:
        return headings_from_data(json.loads(path.read_text(encoding="utf-8")))
    except OSError as error:
        raise InvalidSetting(f"KCPF_COMMITTEE_HEADINGS: cannot read {path} ({error.strerror}).") from None
    except json.JSONDecodeError as error:
        raise InvalidSetting(f"KCPF_COMMITTEE_HEADINGS: {path} is not valid JSON ({error}).") from None
    except InvalidInput as error:
        raise InvalidSetting(f"KCPF_COMMITTEE_HEADINGS: {path}: {error.message}") from None


def report_links(settings: Settings) -> ReportLinks:
    if settings.link_secret:
        return ReportLinks(settings.link_secret.encode())
    try:
        return ReportLinks(link_secret(settings.link_secret_path))
    except InvalidInput as error:
        raise InvalidSetting(f"KCPF_LINK_SECRET is not set and {error.message}") from None


@contextmanager
def application(settings: Settings) -> Iterator[Application]:
    clock = SystemClock()
    renderer = report_renderer(settings)
    links = report_links(settings)
    headings = committee_headings(settings)
    with _register(settings) as register:
        framework = FrameworkService(register, clock, settings.framework())
        folder = ReportFolder(settings.reports_dir)
        reports = ReportService(
            framework, renderer, _report_store(settings, register, folder), headings=headings
        )
        yield Application(settings, framework, reports, folder, links)


def _report_store(settings: Settings, register: Register, folder: ReportFolder) -> ReportStore:
    """Reports go where the register is: the SharePoint document library, or the local report folder."""
    if settings.store != "sharepoint":
        return folder
    from connectors.sharepoint.register import SharePointRegister
    from connectors.sharepoint.reports import LibraryStore, ReportLibrary

    assert isinstance(register, SharePointRegister)
    return LibraryStore(ReportLibrary(register.graph, register.schema))


@contextmanager
def _register(settings: Settings) -> Iterator[Register]:
    """KCPF_STORE: the embedded SQLite file, or the SharePoint lists (with their outbox and its worker)."""
    if settings.store == "sharepoint":
        if settings.sharepoint is None:
            raise InvalidSetting("KCPF_STORE is sharepoint but the KCPF_SP_* settings are missing.")
        # Imported here: the Graph and sign-in libraries load only when SharePoint is used.
        from connectors.sharepoint.register import running_register

        with running_register(
            settings.sharepoint, settings.data_dir, framework=settings.framework()
        ) as sharepoint:
            yield sharepoint
        return
    register = SqliteRegister(settings.register_path)
    try:
        yield register
    finally:
        register.close()
