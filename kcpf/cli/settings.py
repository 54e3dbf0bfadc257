"""Typed settings, read once at start-up from the environment. A missing or malformed setting stops start-up
with a message that names it."""

from __future__ import annotations

import calendar
import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
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
class BlobStateSettings:
    """Where the bot's conversation state lives in Azure Blob Storage (KCPF_STATE_STORE=blob)."""

    connection_string: str = field(repr=False)  # a secret: never printed or logged
    container: str


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
    state_store: str = "sqlite"  # KCPF_STATE_STORE: where the bot's conversation state is, "sqlite" or "blob"
    blob: BlobStateSettings | None = None  # set when state_store is "blob"

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
            state_store=_state_store(env),
            blob=_blob_state(env) if _state_store(env) == "blob" else None,
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


# Scale-out: the bot's conversation state in Azure Blob Storage.

STATE_STORES = ("sqlite", "blob")
BLOB_CONTAINER = "kcpf-state"
# Azure's rule: 3 to 63 lower-case letters, digits and single hyphens, starting and ending with either.
_CONTAINER = re.compile(r"(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*")
_CREDENTIALS = {"AccountKey", "SharedAccessSignature"}


def _state_store(env: Mapping[str, str]) -> str:
    store = env.get("KCPF_STATE_STORE", "").strip().lower() or "sqlite"
    if store not in STATE_STORES:
        raise InvalidSetting(
            f"KCPF_STATE_STORE is “{store}”: choose sqlite (the default, a file in the data directory) or "
            "blob (Azure Blob Storage, for several bot processes)."
        )
    return store


def _secret(env: Mapping[str, str], name: str) -> str:
    """A secret from NAME, or from the file NAME_FILE names; its value never appears in a message."""
    value = env.get(name, "").strip()
    path = env.get(f"{name}_FILE", "").strip()
    if value and path:
        raise InvalidSetting(f"{name} and {name}_FILE are both set: give one and unset the other.")
    if not path:
        return value
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as error:
        raise InvalidSetting(f"{name}_FILE is “{path}”, which KCPF cannot read ({error.strerror}).") from None


def _blob_state(env: Mapping[str, str]) -> BlobStateSettings:
    connection = _secret(env, "KCPF_BLOB_CONNECTION_STRING")
    if not connection:
        raise InvalidSetting(
            "KCPF_BLOB_CONNECTION_STRING is not set: with KCPF_STATE_STORE=blob give the storage account's "
            "connection string (or KCPF_BLOB_CONNECTION_STRING_FILE, a file holding it)."
        )
    names = {part.split("=", 1)[0].strip() for part in connection.split(";") if "=" in part}
    emulator = "UseDevelopmentStorage" in names
    if not emulator and not (names & {"AccountName", "BlobEndpoint"} and names & _CREDENTIALS):
        raise InvalidSetting(
            "KCPF_BLOB_CONNECTION_STRING is not a storage account connection string: it needs AccountName "
            "(or BlobEndpoint) and AccountKey (or SharedAccessSignature), as the Azure portal gives it "
            "under Access keys."
        )
    container = env.get("KCPF_BLOB_CONTAINER", "").strip() or BLOB_CONTAINER
    if not _CONTAINER.fullmatch(container):
        raise InvalidSetting(
            f"KCPF_BLOB_CONTAINER is “{container}”: a container name is 3 to 63 lower-case letters, digits "
            "and hyphens, starting and ending with a letter or digit, with no two hyphens together."
        )
    return BlobStateSettings(connection, container)
