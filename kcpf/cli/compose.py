"""The composition root: the one place that builds adapters from settings and hands them to the core."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from connectors.clock import SystemClock
from connectors.sqlite_register import SqliteRegister
from kcpf.cli.settings import InvalidSetting, Settings
from kcpf.framework import FrameworkVersion
from kcpf.lifecycle import Actor
from kcpf.ports import Register
from kcpf.services import FrameworkService


@dataclass(frozen=True)
class Application:
    settings: Settings
    framework: FrameworkService

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


@contextmanager
def application(settings: Settings) -> Iterator[Application]:
    clock = SystemClock()
    with _register(settings) as register:
        yield Application(settings, FrameworkService(register, clock, settings.framework()))


@contextmanager
def _register(settings: Settings) -> Iterator[Register]:
    """KCPF_STORE: the embedded SQLite file, or the SharePoint lists (with their outbox and its worker)."""
    if settings.store == "sharepoint":
        if settings.sharepoint is None:
            raise InvalidSetting("KCPF_STORE is sharepoint but the KCPF_SP_* settings are missing.")
        # Imported here: the Graph and sign-in libraries load only when SharePoint is used.
        from connectors.sharepoint.register import running_register

        with running_register(settings.sharepoint, settings.data_dir) as sharepoint:
            yield sharepoint
        return
    register = SqliteRegister(settings.register_path)
    try:
        yield register
    finally:
        register.close()
