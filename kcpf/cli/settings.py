"""Typed settings, read once at start-up from the environment. A missing or malformed setting stops start-up
with a message that names it."""

from __future__ import annotations

import calendar
import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from connectors.sharepoint.config import AUTHORITY_HOST, GRAPH_BASE_URL, GraphSettings
from kcpf.errors import KcpfError
from kcpf.framework import CURRENT_VERSION, VERSIONS, FrameworkVersion, framework_version
from kcpf.lifecycle import RoleDirectory
from kcpf.parsing import MONTH_NAMES

_MONTHS = {name.lower(): number for number, name in enumerate(MONTH_NAMES, start=1)}


class InvalidSetting(KcpfError):
    """A setting is missing or malformed."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    roles: RoleDirectory
    user: str
    framework_version: str
    h1_update_due: tuple[int, int] | None
    h2_update_due: tuple[int, int] | None
    report_template: Path | None = None
    link_secret: str = ""
    report_link_hours: int = 24
    public_url: str = ""  # the bot's address as officers' browsers reach it, for report links
    committee_headings: Path | None = None
    store: str = "sqlite"  # KCPF_STORE: where the register lives, "sqlite" or "sharepoint"
    sharepoint: GraphSettings | None = None  # set when store is "sharepoint"
    notify_key: str = ""  # KCPF_NOTIFY_KEY(_FILE): protects POST /api/notify ("" = the route is off)
    remind_days: int = 14  # KCPF_REMIND_DAYS: how many days before a deadline officers are reminded

    @property
    def register_path(self) -> Path:
        return self.data_dir / "register.sqlite3"

    @property
    def conversations_path(self) -> Path:
        """The bot's conversation state: where each officer is in each conversation."""
        return self.data_dir / "conversations.sqlite3"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "kcpf.log"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"

    @property
    def link_secret_path(self) -> Path:
        """Where the report link secret is kept when KCPF_LINK_SECRET is not set."""
        return self.data_dir / "link-secret"

    def framework(self) -> FrameworkVersion:
        """The framework version in force, with any locally configured update deadlines."""
        base = framework_version(self.framework_version)
        monitoring = dataclasses.replace(
            base.monitoring,
            h1_update_due=self.h1_update_due or base.monitoring.h1_update_due,
            h2_update_due=self.h2_update_due or base.monitoring.h2_update_due,
        )
        return dataclasses.replace(base, monitoring=monitoring)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        version = env.get("KCPF_FRAMEWORK_VERSION", "").strip() or CURRENT_VERSION
        if version not in VERSIONS:
            raise InvalidSetting(
                f"KCPF_FRAMEWORK_VERSION is “{version}”, which is not a framework version this release knows "
                f"({', '.join(VERSIONS)})."
            )
        user = env.get("KCPF_USER", "").strip().lower()
        if user and not _EMAIL.fullmatch(user):
            raise InvalidSetting(f"KCPF_USER is “{user}”, which is not an email address.")
        return cls(
            data_dir=Path(env.get("KCPF_DATA_DIR", "").strip() or "./data"),
            roles=RoleDirectory(
                tp=_people(env, "KCPF_TP"), smt=_people(env, "KCPF_SMT"), viewers=_people(env, "KCPF_VIEWERS")
            ),
            user=user,
            framework_version=version,
            h1_update_due=_month_day(
                env, "KCPF_H1_UPDATE_DUE", after="September", months=(10, 11, 12, 1, 2, 3)
            ),
            h2_update_due=_month_day(env, "KCPF_H2_UPDATE_DUE", after="March", months=(4, 5, 6, 7, 8, 9)),
            report_template=_report_template(env),
            link_secret=_link_secret(env),
            report_link_hours=_report_link_hours(env),
            public_url=_public_url(env),
            committee_headings=_committee_headings(env),
            store=_store(env),
            sharepoint=_sharepoint(env) if _store(env) == "sharepoint" or _any_sharepoint(env) else None,
            notify_key=_notify_key(env),
            remind_days=_remind_days(env),
        )


_EMAIL = re.compile(r"[^@\s,]+@[^@\s,]+\.[^@\s,]+")
_OBJECT_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _people(env: Mapping[str, str], name: str) -> frozenset[str]:
    """A comma-separated list of emails or Entra object ids."""
    people = {p.strip().lower() for p in env.get(name, "").split(",") if p.strip()}
    bad = sorted(p for p in people if not (_EMAIL.fullmatch(p) or _OBJECT_ID.fullmatch(p)))
    if bad:
        raise InvalidSetting(
            f"{name} must be a comma-separated list of email addresses or Entra object ids; "
            f"these are neither: {', '.join(bad)}."
        )
    return frozenset(people)


def _month_day(
    env: Mapping[str, str], name: str, *, after: str, months: tuple[int, ...]
) -> tuple[int, int] | None:
    """A deadline such as “31 October”, within six months after the half-year it follows ends."""
    text = env.get(name, "").strip()
    if not text:
        return None
    match = re.fullmatch(r"(\d{1,2})\s+([A-Za-z]+)", text)
    month = _MONTHS.get(match.group(2).lower()) if match else None
    if match is None or month is None or not 1 <= int(match.group(1)) <= 31:
        raise InvalidSetting(f"{name} is “{text}”: write a day and a month, such as 31 October.")
    day = int(match.group(1))
    if day > calendar.monthrange(2024, month)[1]:  # a leap year: 29 February is a real deadline
        raise InvalidSetting(f"{name} is “{text}”, a day that does not exist.")
    if month not in months:
        raise InvalidSetting(
            f"{name} is “{text}”: the update is for a half-year that ends in {after}, so its deadline must "
            "fall in the six months after that."
        )
    return (month, day)


def _report_template(env: Mapping[str, str]) -> Path | None:
    """A council's own Word template for reports (its styles are checked when KCPF starts)."""
    text = env.get("KCPF_REPORT_TEMPLATE", "").strip()
    if not text:
        return None
    path = Path(text)
    if path.suffix.lower() != ".docx":
        raise InvalidSetting(f"KCPF_REPORT_TEMPLATE is “{text}”: it must be a Word document (.docx).")
    return path


def _link_secret(env: Mapping[str, str]) -> str:
    secret = env.get("KCPF_LINK_SECRET", "").strip()
    if secret and len(secret) < 32:
        raise InvalidSetting(
            "KCPF_LINK_SECRET is too short to sign report links safely: use at least 32 characters "
            "(or leave it unset and KCPF keeps its own secret in the data directory)."
        )
    return secret


def _report_link_hours(env: Mapping[str, str]) -> int:
    """How long a report link sent in Teams stays valid."""
    text = env.get("KCPF_REPORT_LINK_HOURS", "").strip()
    if not text:
        return 24
    if not text.isdigit() or not 1 <= int(text) <= 24 * 30:
        raise InvalidSetting(
            f"KCPF_REPORT_LINK_HOURS is “{text}”: give a whole number of hours from 1 to 720."
        )
    return int(text)


def _public_url(env: Mapping[str, str]) -> str:
    """Where officers' browsers reach the bot's web app (report links); default: the address it listens on."""
    text = env.get("KCPF_PUBLIC_URL", "").strip().rstrip("/")
    if text and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", text):
        raise InvalidSetting(
            f"KCPF_PUBLIC_URL is “{text}”: give the address officers use, such as https://kcpf.chorley.gov.uk."
        )
    return text


def _committee_headings(env: Mapping[str, str]) -> Path | None:
    """A JSON file of each council's committee report headings (read and checked when KCPF starts)."""
    text = env.get("KCPF_COMMITTEE_HEADINGS", "").strip()
    if not text:
        return None
    path = Path(text)
    if path.suffix.lower() != ".json":
        raise InvalidSetting(f"KCPF_COMMITTEE_HEADINGS is “{text}”: it must be a JSON file (.json).")
    return path


STORES = ("sqlite", "sharepoint")
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_DOMAIN = re.compile(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")


def _store(env: Mapping[str, str]) -> str:
    store = env.get("KCPF_STORE", "").strip().lower() or "sqlite"
    if store not in STORES:
        raise InvalidSetting(f"KCPF_STORE is “{store}”: choose sqlite (the default) or sharepoint.")
    return store


def _any_sharepoint(env: Mapping[str, str]) -> bool:
    """SharePoint settings given while the register is still in SQLite: checked too, so an administrator
    can run `kcpf sharepoint check` and `provision` before switching KCPF_STORE."""
    return any(v.strip() for k, v in env.items() if k.startswith("KCPF_SP_"))


def _sharepoint(env: Mapping[str, str]) -> GraphSettings:
    """The SharePoint settings, all checked now so a bad one stops start-up, not the first officer's turn.
    Secret values never appear in a message."""

    def required(name: str, what: str) -> str:
        value = env.get(name, "").strip()
        if not value:
            raise InvalidSetting(f"{name} is not set: with KCPF_STORE=sharepoint it must be {what}.")
        return value

    tenant = required("KCPF_SP_TENANT_ID", "the Entra tenant id (a GUID) or its domain")
    if not (_GUID.fullmatch(tenant) or _DOMAIN.fullmatch(tenant)):
        raise InvalidSetting(
            f"KCPF_SP_TENANT_ID is “{tenant}”: give the tenant id (a GUID) or its domain, such as "
            "chorleysouthribble.onmicrosoft.com."
        )
    client = required("KCPF_SP_CLIENT_ID", "the app registration's application (client) id")
    if not _GUID.fullmatch(client):
        raise InvalidSetting(
            f"KCPF_SP_CLIENT_ID is “{client}”: give the app registration's application (client) id, a GUID."
        )
    secret = env.get("KCPF_SP_CLIENT_SECRET", "").strip() or None
    certificate_text = env.get("KCPF_SP_CERTIFICATE_PATH", "").strip()
    certificate = Path(certificate_text) if certificate_text else None
    if secret and certificate:
        raise InvalidSetting(
            "KCPF_SP_CLIENT_SECRET and KCPF_SP_CERTIFICATE_PATH are both set: give one (the certificate is "
            "preferred) and unset the other."
        )
    if not secret and not certificate:
        raise InvalidSetting(
            "KCPF_SP_CERTIFICATE_PATH is not set: with KCPF_STORE=sharepoint give the app's certificate "
            "(a PEM file with its private key and certificate) or, failing that, KCPF_SP_CLIENT_SECRET."
        )
    if certificate is not None:
        from connectors.sharepoint.auth import Certificate  # only when SharePoint is configured

        try:
            Certificate.load(certificate)
        except ValueError as error:
            raise InvalidSetting(
                f"KCPF_SP_CERTIFICATE_PATH: {error}. It must be a readable PEM file holding the app's "
                "unencrypted private key and its certificate."
            ) from None
    site = required(
        "KCPF_SP_SITE_URL", "the KCPF site's address, such as https://tenant.sharepoint.com/sites/kcpf"
    )
    parts = urlsplit(site)
    if parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment:
        raise InvalidSetting(
            f"KCPF_SP_SITE_URL is “{site}”: give the site's https address, such as "
            "https://chorleysouthribble.sharepoint.com/sites/kcpf."
        )
    ca_text = env.get("KCPF_GRAPH_CA_BUNDLE", "").strip()
    ca_bundle = Path(ca_text) if ca_text else None
    if ca_bundle is not None and not ca_bundle.is_file():
        raise InvalidSetting(f"KCPF_GRAPH_CA_BUNDLE is “{ca_bundle}”, which is not a file KCPF can read.")
    return GraphSettings(
        tenant_id=tenant,
        client_id=client,
        site_url=site.rstrip("/"),
        client_secret=secret,
        certificate_path=certificate,
        graph_base_url=_https_url(env, "KCPF_GRAPH_BASE_URL", GRAPH_BASE_URL),
        authority_host=_https_url(env, "KCPF_GRAPH_AUTHORITY", AUTHORITY_HOST),
        ca_bundle=ca_bundle,
    )


def _https_url(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, "").strip().rstrip("/")
    if not value:
        return default
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        raise InvalidSetting(f"{name} is “{value}”: give an https address (the default is {default}).")
    return value


# Reminders (issue 6).

NOTIFY_KEY_MIN_LENGTH = 32


def _notify_key(env: Mapping[str, str]) -> str:
    """The key a scheduler gives to POST /api/notify: KCPF_NOTIFY_KEY, or the content of the file named by
    KCPF_NOTIFY_KEY_FILE. Never printed."""
    value = env.get("KCPF_NOTIFY_KEY", "").strip()
    path = env.get("KCPF_NOTIFY_KEY_FILE", "").strip()
    if value and path:
        raise InvalidSetting("KCPF_NOTIFY_KEY and KCPF_NOTIFY_KEY_FILE are both set: give one.")
    name = "KCPF_NOTIFY_KEY"
    if path:
        name = "KCPF_NOTIFY_KEY_FILE"
        try:
            value = Path(path).read_text(encoding="utf-8").strip()
        except OSError as error:
            raise InvalidSetting(f"KCPF_NOTIFY_KEY_FILE: cannot read {path} ({error.strerror}).") from None
    if value and len(value) < NOTIFY_KEY_MIN_LENGTH:
        raise InvalidSetting(
            f"{name} is too short to protect /api/notify: use at least {NOTIFY_KEY_MIN_LENGTH} characters "
            "(for example the output of `openssl rand -hex 32`)."
        )
    return value


def _remind_days(env: Mapping[str, str]) -> int:
    """How many days before a deadline the responsible officer is first reminded. The framework sets the
    deadlines, not the notice given: that is the councils' practice, so a setting."""
    text = env.get("KCPF_REMIND_DAYS", "").strip()
    if not text:
        return 14
    if not text.isdigit() or not 1 <= int(text) <= 90:
        raise InvalidSetting(f"KCPF_REMIND_DAYS is “{text}”: give a whole number of days from 1 to 90.")
    return int(text)
