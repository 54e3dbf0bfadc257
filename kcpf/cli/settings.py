"""Typed settings, read once at start-up from the environment. A missing or malformed setting stops start-up
with a message that names it."""

from __future__ import annotations

import calendar
import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict
from urllib.parse import SplitResult, urlsplit

from bot.endpoints import BOT_OPENID_METADATA_URL, LOGIN_AUTHORITY
from connectors.sharepoint.config import AUTHORITY_HOST, GRAPH_BASE_URL, GraphSettings
from connectors.teams_package import SETTINGS as TEAMS_SETTINGS
from connectors.teams_package import AppDetails
from kcpf.errors import KcpfError
from kcpf.framework import CURRENT_VERSION, VERSIONS, FrameworkVersion, framework_version
from kcpf.lifecycle import RoleDirectory
from kcpf.parsing import MONTH_NAMES
from kcpf.reminders import DEFAULT_WARN_DAYS

_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
_MONTHS = {name.lower(): number for number, name in enumerate(MONTH_NAMES, start=1)}


class InvalidSetting(KcpfError):
    """A setting is missing or malformed."""


@dataclass(frozen=True)
class Secret:
    """A secret setting's value: shown as ******** in repr, str and f-strings, so a Settings printed or logged
    never carries it. `reveal()` only where it is used."""

    _value: str = field(repr=False)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret(********)"

    __str__ = __repr__


def secret_setting(env: Mapping[str, str], name: str) -> Secret | None:
    """The secret setting `name`, given as its value or as `name`_FILE (a file holding it, e.g. a mounted
    Kubernetes or Docker secret). Messages name the setting and the file, never the value."""
    value = env.get(name, "").strip()
    path = env.get(f"{name}_FILE", "").strip()
    if value and path:
        raise InvalidSetting(f"{name} and {name}_FILE are both set: give one of them and unset the other.")
    if path:
        try:
            value = Path(path).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
            raise InvalidSetting(f"{name}_FILE is “{path}”, which KCPF cannot read ({reason}).") from None
        if not value:
            raise InvalidSetting(f"{name}_FILE is “{path}”, which is empty.")
    return Secret(value) if value else None


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
    link_secret: str = field(default="", repr=False)  # a secret: never in repr or logs
    report_link_hours: int = 24
    public_url: str = ""  # the bot's address as officers' browsers reach it, for report links
    committee_headings: Path | None = None
    store: str = "sqlite"  # KCPF_STORE: where the register lives, "sqlite" or "sharepoint"
    sharepoint: GraphSettings | None = None  # set when store is "sharepoint"
    # The bot's Azure Bot registration (single tenant). "" = no credentials: loopback only, no token checks.
    app_id: str = ""  # KCPF_APP_ID
    app_tenant_id: str = ""  # KCPF_APP_TENANT_ID: the app's tenant, the only one whose people may use the bot
    app_password: Secret | None = None  # KCPF_APP_PASSWORD or KCPF_APP_PASSWORD_FILE
    app_certificate: Path | None = None  # KCPF_APP_CERTIFICATE_PATH, instead of the password
    bot_openid_metadata_url: str = BOT_OPENID_METADATA_URL  # KCPF_BOT_OPENID_METADATA_URL
    bot_authority: str = LOGIN_AUTHORITY  # KCPF_BOT_AUTHORITY: where the bot gets its own tokens
    # Teams app package (`kcpf teams package`); the bot's id is app_id.
    teams_app_id: str = ""  # KCPF_TEAMS_APP_ID: the Teams app's id ("" = the same as app_id)
    teams_version: str = ""  # KCPF_TEAMS_VERSION: the app package's version ("" = KCPF's own)
    teams: AppDetails = dataclasses.field(
        default_factory=AppDetails
    )  # KCPF_TEAMS_*: what Teams shows about the app
    notify_key: str = field(default="", repr=False)  # KCPF_NOTIFY_KEY(_FILE): POST /api/notify ("" = off)
    remind_days: int = DEFAULT_WARN_DAYS  # KCPF_REMIND_DAYS: days before a deadline officers are reminded
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
            teams_app_id=_guid(env, "KCPF_TEAMS_APP_ID", "the Teams app's id"),
            teams_version=_teams_version(env),
            teams=_teams(env),
            **_app_credentials(env),
            notify_key=_notify_key(env),
            remind_days=_remind_days(env),
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
    given = secret_setting(env, "KCPF_LINK_SECRET")
    secret = given.reveal() if given is not None else ""
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
            f"KCPF_SP_TENANT_ID is {_shown_id(tenant)}: give the tenant id (a GUID) or its domain, such as "
            "chorleysouthribble.onmicrosoft.com."
        )
    client = required("KCPF_SP_CLIENT_ID", "the app registration's application (client) id")
    if not _GUID.fullmatch(client):
        raise InvalidSetting(
            f"KCPF_SP_CLIENT_ID is {_shown_id(client)}: give the app registration's application (client) id, "
            "a GUID."
        )
    given = secret_setting(env, "KCPF_SP_CLIENT_SECRET")
    secret = given.reveal() if given is not None else None
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
        _check_certificate("KCPF_SP_CERTIFICATE_PATH", certificate)
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
        sharepoint_url=_sharepoint_rest(env, parts),
    )


def _sharepoint_rest(env: Mapping[str, str], site: SplitResult) -> str | None:
    """KCPF_SP_REST_URL: where SharePoint's own REST API is (views, column formatting), scheme and host
    only; by default the site's (tests aim it at a fake)."""
    default = f"https://{site.netloc}"
    value = _https_url(env, "KCPF_SP_REST_URL", default)
    parts = urlsplit(value)
    if parts.path.strip("/") or parts.query or parts.fragment:
        raise InvalidSetting(
            f"KCPF_SP_REST_URL is “{value}”: give only the scheme and host, such as {default} "
            "(the default: the host of KCPF_SP_SITE_URL)."
        )
    return None if value == default else value


def _https_url(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, "").strip().rstrip("/")
    if not value:
        return default
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        raise InvalidSetting(f"{name} is “{value}”: give an https address (the default is {default}).")
    return value


# The Teams app package.


def _guid(env: Mapping[str, str], name: str, what: str) -> str:
    value = env.get(name, "").strip()
    if value and not _GUID.fullmatch(value):
        raise InvalidSetting(
            f"{name} is {_shown_id(value)}: give {what}, a GUID such as 00000000-0000-0000-0000-000000000000."
        )
    return value.lower()


def _teams_version(env: Mapping[str, str]) -> str:
    value = env.get("KCPF_TEAMS_VERSION", "").strip()
    if value and not re.fullmatch(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)", value):
        raise InvalidSetting(
            f"KCPF_TEAMS_VERSION is “{value}”: give three numbers, such as 1.0.3 (Teams takes an update only "
            "with a higher version)."
        )
    return value


def _teams(env: Mapping[str, str]) -> AppDetails:
    """What Teams shows about the app: each KCPF_TEAMS_* text or https address, within the schema's limits."""
    given: dict[str, str] = {}
    for setting in TEAMS_SETTINGS:
        value = env.get(setting.name, "").strip()
        if not value:
            continue
        parts = urlsplit(value)
        if setting.url and (parts.scheme != "https" or not parts.hostname or " " in value):
            raise InvalidSetting(f"{setting.name} is “{value}”: give an https address.")
        if len(value) > setting.max_length:
            raise InvalidSetting(
                f"{setting.name} is {len(value)} characters long; Teams takes at most {setting.max_length}."
            )
        given[setting.field] = value
    return AppDetails(**given)


class _AppCredentials(TypedDict, total=False):
    app_id: str
    app_tenant_id: str
    app_password: Secret | None
    app_certificate: Path | None
    bot_openid_metadata_url: str
    bot_authority: str


def _app_credentials(env: Mapping[str, str]) -> _AppCredentials:
    """The bot's app registration (Azure Bot, single tenant). All or nothing: an id without its tenant and
    password (or certificate), or a password without an id, stops start-up."""
    app_id = env.get("KCPF_APP_ID", "").strip().lower()
    tenant = env.get("KCPF_APP_TENANT_ID", "").strip().lower()
    password = secret_setting(env, "KCPF_APP_PASSWORD")
    certificate_text = env.get("KCPF_APP_CERTIFICATE_PATH", "").strip()
    urls: _AppCredentials = {
        "bot_openid_metadata_url": _bot_url(env, "KCPF_BOT_OPENID_METADATA_URL", BOT_OPENID_METADATA_URL),
        "bot_authority": _bot_url(env, "KCPF_BOT_AUTHORITY", LOGIN_AUTHORITY, https_only=True),
    }
    if not app_id:
        others = (("KCPF_APP_TENANT_ID", tenant), ("KCPF_APP_CERTIFICATE_PATH", certificate_text))
        given = [name for name, value in others if value]
        if password is not None:
            given.append("KCPF_APP_PASSWORD")
        if given:
            raise InvalidSetting(
                f"{given[0]} is set but KCPF_APP_ID is not: give the bot's app id too, or unset {given[0]}."
            )
        return urls
    if not _GUID.fullmatch(app_id):
        raise InvalidSetting(
            f"KCPF_APP_ID is {_shown_id(app_id)}: give the Azure Bot's Microsoft App ID (the app "
            "registration's application id, a GUID)."
        )
    if not tenant:
        raise InvalidSetting(
            "KCPF_APP_TENANT_ID is not set: with KCPF_APP_ID give the tenant id (a GUID) of the app "
            "registration, which is also the only tenant whose people may use the bot."
        )
    if not _GUID.fullmatch(tenant):
        raise InvalidSetting(f"KCPF_APP_TENANT_ID is {_shown_id(tenant)}: give the Entra tenant id, a GUID.")
    certificate = Path(certificate_text) if certificate_text else None
    if password is not None and certificate is not None:
        raise InvalidSetting(
            "KCPF_APP_PASSWORD and KCPF_APP_CERTIFICATE_PATH are both set: give one and unset the other."
        )
    if password is None and certificate is None:
        raise InvalidSetting(
            "KCPF_APP_PASSWORD is not set: with KCPF_APP_ID give the app's client secret (or "
            "KCPF_APP_PASSWORD_FILE, a file holding it), or KCPF_APP_CERTIFICATE_PATH."
        )
    if certificate is not None:
        _check_certificate("KCPF_APP_CERTIFICATE_PATH", certificate)
    return {
        **urls,
        "app_id": app_id,
        "app_tenant_id": tenant,
        "app_password": password,
        "app_certificate": certificate,
    }


def _shown_id(value: str) -> str:
    """An id setting's wrong value, for its error message; a value that could be a secret pasted into the
    wrong setting (a client secret has characters an id never has) is described, not shown."""
    if re.fullmatch(r"[0-9A-Za-z. -]{1,64}", value):  # ids and domains; secrets have ~ _ = / and the like
        return f"“{value}”"
    return f"a value of {len(value)} characters that is not an id (not shown: it may be a secret)"


def _check_certificate(name: str, path: Path) -> None:
    """The app's certificate file must hold its unencrypted private key and certificate (PEM)."""
    from connectors.sharepoint.auth import Certificate  # only when a certificate is configured

    try:
        Certificate.load(path)
    except ValueError as error:
        raise InvalidSetting(
            f"{name}: {error}. It must be a readable PEM file holding the app's unencrypted private key and "
            "its certificate."
        ) from None


def _bot_url(env: Mapping[str, str], name: str, default: str, *, https_only: bool = False) -> str:
    """An https address; http only on this machine (tests aim these at local servers) unless `https_only`
    (msal signs in only over https)."""
    value = env.get(name, "").strip().rstrip("/")
    if not value:
        return default
    parts = urlsplit(value)
    local = not https_only and parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS
    if not parts.hostname or not (parts.scheme == "https" or local):
        raise InvalidSetting(f"{name} is “{value}”: give an https address (the default is {default}).")
    return value


# Reminders (issue 6).

NOTIFY_KEY_MIN_LENGTH = 32


def _notify_key(env: Mapping[str, str]) -> str:
    """The key a scheduler gives to POST /api/notify: KCPF_NOTIFY_KEY or KCPF_NOTIFY_KEY_FILE. Never shown."""
    secret = secret_setting(env, "KCPF_NOTIFY_KEY")
    value = secret.reveal() if secret else ""
    if value and len(value) < NOTIFY_KEY_MIN_LENGTH:
        name = "KCPF_NOTIFY_KEY_FILE" if env.get("KCPF_NOTIFY_KEY_FILE", "").strip() else "KCPF_NOTIFY_KEY"
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
        return DEFAULT_WARN_DAYS
    if not text.isdigit() or not 1 <= int(text) <= 90:
        raise InvalidSetting(f"KCPF_REMIND_DAYS is “{text}”: give a whole number of days from 1 to 90.")
    return int(text)


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


def _blob_state(env: Mapping[str, str]) -> BlobStateSettings:
    secret = secret_setting(env, "KCPF_BLOB_CONNECTION_STRING")
    connection = secret.reveal() if secret else ""
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
