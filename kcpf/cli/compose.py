"""The composition root: the one place that builds adapters from settings and hands them to the core."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from connectors.clock import SystemClock
from connectors.report_folder import ReportFolder, ReportLinks, link_secret
from connectors.sqlite_register import SqliteRegister
from connectors.word import TemplateInvalid, WordRenderer, load_template
from kcpf.cli.settings import InvalidSetting, Settings
from kcpf.errors import InvalidInput
from kcpf.framework import FrameworkVersion
from kcpf.lifecycle import Actor
from kcpf.reports.service import ReportService
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
    register = SqliteRegister(settings.register_path)
    try:
        framework = FrameworkService(register, clock, settings.framework())
        folder = ReportFolder(settings.reports_dir)
        yield Application(settings, framework, ReportService(framework, renderer, folder), folder, links)
    finally:
        register.close()
