"""The bot's credentials: the channel's token checked on every request, and the bot's own token on replies.

Incoming (`ChannelAuth`): the Bot Framework's rules for a bot — a Bearer JWT signed (RS256) by a key from the
OpenID metadata's `jwks_uri`, issuer https://api.botframework.com, audience the app id, lifetime with 5
minutes of skew, the key endorsed for the activity's channelId, and the token's serviceUrl claim equal to the
activity's serviceUrl.

Why not the Agents SDK 1.9's `jwt_authorization_middleware` / `JwtTokenValidator`: it takes the JWKS address
from a table keyed by the token's issuer (login.botframework.com, fixed: it cannot be aimed at a local
metadata endpoint for tests), never checks the key's endorsements, checks the issuer only on opt-in,
compares only the serviceUrl's host (and enforces even that only with its host validator on), and fetches keys
with PyJWKClient in a thread under a lock on a turn's path. So the checks are here, with PyJWT.

Keys are cached: fetched when the app starts, refreshed in the background once a day (turns keep using the
cached keys meanwhile), and fetched at once when a token names a key not in the cache, at most once a minute.

Outgoing (`AppTokenProvider`): the SDK's `MsalAuth` builds its msal client without `instance_discovery=False`
and without a way to trust another CA, so for any authority but login.microsoftonline.com it first asks
login.microsoftonline.com (seen: it also drops the authority's port) and cannot be tested against a local
token endpoint. The provider here wraps the project's msal client (`connectors.sharepoint.auth.TokenProvider`,
client secret or certificate) behind the SDK's `AccessTokenProviderBase`, given to its `ConnectionManager`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import jwt
from azure.core.credentials_async import AsyncTokenCredential
from microsoft_agents.hosting.core import AgentAuthConfiguration, ConnectionManager

from bot.endpoints import BOT_OPENID_METADATA_URL, LOGIN_AUTHORITY
from connectors.sharepoint.auth import AuthFailed, Certificate, TokenProvider
from connectors.sharepoint.graph import _Session as CaBundleSession  # its own CA wins over REQUESTS_CA_BUNDLE

log = logging.getLogger("kcpf.bot.auth")

BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"
CLOCK_SKEW = 300  # seconds either side of a token's lifetime, as the Bot Framework allows
KEYS_MAX_AGE = 24 * 3600.0  # refresh the cached keys (in the background) after a day
UNKNOWN_KEY_REFRESH = 60.0  # a token naming an unknown key fetches the keys again at most this often
FETCH_TIMEOUT = 10.0
RETRY_AFTER_FAILURE = 10.0  # after a failed fetch, requests are answered 503 at once for this long


@dataclass(frozen=True)
class BotCredentials:
    """The Azure Bot's app registration (single tenant). Exactly one of `client_secret` or `certificate`."""

    app_id: str
    tenant_id: str
    client_secret: str | None = field(default=None, repr=False)
    certificate: Path | None = None  # a PEM file with the app's private key and certificate
    authority: str = LOGIN_AUTHORITY  # where the bot gets its own tokens
    openid_metadata_url: str = BOT_OPENID_METADATA_URL  # where the channel's signing keys are published
    ca_bundle: Path | None = None  # a CA file to trust for sign-in (tests; a TLS-inspecting proxy)


class Refused(Exception):
    """The request is refused. `reason` is for the log (never the token); the caller sees only `public`."""

    def __init__(self, reason: str, *, status: int = 401, public: str = "not authenticated") -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.public = public


@dataclass(frozen=True)
class _Key:
    key: Any  # the RSA public key (cryptography)
    endorsements: frozenset[str]  # the channels it may sign for


@dataclass
class _Keys:
    by_id: dict[str, _Key] = field(default_factory=dict)
    fetched_at: float | None = None  # monotonic; None: never fetched


class ChannelAuth:
    """Checks the channel's token on each request to /api/messages."""

    def __init__(
        self,
        app_id: str,
        metadata_url: str = BOT_OPENID_METADATA_URL,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app_id = app_id
        self.metadata_url = metadata_url
        self._monotonic = monotonic
        self._keys = _Keys()
        self._last_unknown_refresh: float | None = None
        self._failed_at: float | None = None  # when fetching the keys last failed
        self._lock = asyncio.Lock()
        self._session: aiohttp.ClientSession | None = None
        self._background: asyncio.Task[None] | None = None

    # Lifecycle (the web app's startup and cleanup).

    async def start(self) -> None:
        """Fetch the keys now so the first turn does not wait; if the endpoint cannot be reached, the first
        request tries again."""
        try:
            await self._refresh()
        except Refused as error:
            log.warning("could not fetch the Bot Framework signing keys at start-up: %s", error.reason)

    async def close(self) -> None:
        if self._background is not None:
            self._background.cancel()
        if self._session is not None:
            await self._session.close()

    # The check.

    async def authenticate(self, authorization: str | None, body: bytes) -> dict[str, Any]:
        """The token's claims if the request may be processed; raises Refused otherwise."""
        token = _bearer(authorization)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Refused("the token is not a JWT") from None
        if header.get("alg") != "RS256":
            raise Refused(f"the token is signed with {header.get('alg')!r}, not RS256")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Refused("the token names no signing key")
        key = await self._key(kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                audience=self.app_id,
                issuer=BOT_FRAMEWORK_ISSUER,
                leeway=CLOCK_SKEW,
                options={"require": ["exp", "iss", "aud"], "strict_aud": True},  # aud: the app id, alone
            )
        except jwt.PyJWTError as error:
            raise Refused(f"the token is not valid: {type(error).__name__}: {error}") from None
        activity = _activity(body)
        channel = activity.get("channelId")
        if not isinstance(channel, str) or channel not in key.endorsements:
            raise Refused(f"the signing key {kid} is not endorsed for channel {channel!r}")
        claimed = claims.get("serviceurl", claims.get("serviceUrl"))
        service_url = activity.get("serviceUrl")
        # Compared as the Bot Framework's own SDKs do: whole, ignoring case (hosts are case-insensitive).
        if (
            not isinstance(claimed, str)
            or not isinstance(service_url, str)
            or claimed.lower() != service_url.lower()
        ):
            raise Refused(
                f"the token's serviceUrl {claimed!r} is not the activity's {activity.get('serviceUrl')!r}"
            )
        return claims

    async def _key(self, kid: str) -> _Key:
        keys = self._keys
        if keys.fetched_at is None:
            await self._refresh()
        elif self._monotonic() - keys.fetched_at > KEYS_MAX_AGE:
            self._refresh_in_background()
        found = self._keys.by_id.get(kid)
        if found is not None:
            return found
        now = self._monotonic()
        if self._last_unknown_refresh is None or now - self._last_unknown_refresh >= UNKNOWN_KEY_REFRESH:
            self._last_unknown_refresh = now
            await self._refresh()  # the channel may have rotated its keys
            found = self._keys.by_id.get(kid)
            if found is not None:
                return found
        raise Refused(f"the token is signed by key {kid!r}, which the OpenID metadata does not publish")

    def _refresh_in_background(self) -> None:
        if self._background is None or self._background.done():
            self._background = asyncio.create_task(self._refresh_quietly())

    async def _refresh_quietly(self) -> None:
        try:
            await self._refresh()
        except Refused as error:  # the cached keys stay in use
            log.warning("could not refresh the Bot Framework signing keys: %s", error.reason)

    async def _refresh(self) -> None:
        started = self._monotonic()
        async with self._lock:
            fetched = self._keys.fetched_at
            if fetched is not None and fetched >= started:
                return  # another request refreshed them while this one waited
            failed = self._failed_at
            if failed is not None and started - failed < RETRY_AFTER_FAILURE:  # no fetch per request
                raise Refused(
                    "the signing keys could not be fetched moments ago; not trying again yet",
                    status=503,
                    public="cannot check the token now",
                )
            try:
                metadata = await self._get_json(self.metadata_url)
                jwks_uri = metadata.get("jwks_uri")
                if not isinstance(jwks_uri, str) or not jwks_uri:
                    raise ValueError("the OpenID metadata has no jwks_uri")
                keys = _parse_keys(await self._get_json(jwks_uri))
            except (aiohttp.ClientError, TimeoutError, ValueError) as error:
                self._failed_at = self._monotonic()
                raise Refused(
                    f"the signing keys could not be fetched from {self.metadata_url}: "
                    f"{type(error).__name__}: {error}",
                    status=503,
                    public="cannot check the token now",
                ) from None
            self._keys = _Keys(keys, self._monotonic())
            self._failed_at = None
            log.info("fetched %d Bot Framework signing key(s) from %s", len(keys), jwks_uri)

    async def _get_json(self, url: str) -> dict[str, Any]:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=FETCH_TIMEOUT))
        async with self._session.get(url) as response:
            if response.status != 200:
                raise ValueError(f"{url} answered {response.status}")
            data = await response.json(content_type=None)
        if not isinstance(data, dict):
            raise ValueError(f"{url} did not answer a JSON object")
        return data


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise Refused("no Authorization header")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or any(c.isspace() for c in token):
        raise Refused("the Authorization header is not a Bearer token")
    return token


def _activity(body: bytes) -> Mapping[str, Any]:
    try:
        activity = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        activity = None
    if not isinstance(activity, dict):
        raise Refused("the body is not an activity", status=400, public="not a valid activity")
    return activity


def _parse_keys(jwks: Mapping[str, Any]) -> dict[str, _Key]:
    keys: dict[str, _Key] = {}
    for entry in jwks.get("keys") or []:
        if not isinstance(entry, dict) or entry.get("kty") != "RSA" or not isinstance(entry.get("kid"), str):
            continue
        try:
            jwk = jwt.PyJWK.from_dict(entry, algorithm="RS256")
        except jwt.PyJWTError:
            log.warning("skipped a signing key that cannot be read: %s", entry.get("kid"))
            continue
        endorsements = entry.get("endorsements") or []
        keys[entry["kid"]] = _Key(jwk.key, frozenset(str(e) for e in endorsements))
    if not keys:
        raise ValueError("the key set holds no RSA key")
    return keys


class AppTokenProvider:
    """The bot's own tokens (client credentials) for its replies, as the SDK's `AccessTokenProviderBase`."""

    def __init__(self, credentials: BotCredentials) -> None:
        self._credentials = credentials
        self._configuration = AgentAuthConfiguration(
            client_id=credentials.app_id, tenant_id=credentials.tenant_id, authority=credentials.authority
        )  # no secret in it: the SDK logs its configuration
        self._providers: dict[str, TokenProvider] = {}
        self._http = CaBundleSession()
        if credentials.ca_bundle is not None:
            self._http.verify = str(credentials.ca_bundle)

    def __repr__(self) -> str:
        return f"AppTokenProvider(app_id={self._credentials.app_id!r})"

    @property
    def configuration(self) -> AgentAuthConfiguration:
        return self._configuration

    async def get_access_token(
        self, resource_url: str, scopes: list[str], force_refresh: bool = False
    ) -> str:
        scope = scopes[0] if scopes else f"{resource_url.rstrip('/')}/.default"
        provider = self._provider(scope)
        try:
            return await asyncio.to_thread(provider.token)  # msal is synchronous; it caches the token
        except AuthFailed as error:
            raise PermissionError(f"the bot could not get its token: {error}") from None

    def _provider(self, scope: str) -> TokenProvider:
        provider = self._providers.get(scope)
        if provider is None:
            if not scope.endswith("/.default"):
                raise PermissionError(f"the bot asks only for app tokens (…/.default), not {scope}")
            credentials = self._credentials
            provider = self._providers[scope] = TokenProvider(
                tenant_id=credentials.tenant_id,
                client_id=credentials.app_id,
                authority_host=credentials.authority,
                graph_base_url=scope.removesuffix(
                    "/.default"
                ),  # the resource: its scope is resource/.default
                client_secret=credentials.client_secret,
                certificate=Certificate.load(credentials.certificate) if credentials.certificate else None,
                http_client=self._http,
            )
        return provider

    # The SDK's interface has two more ways to get a token. KCPF signs in only as itself (client credentials):
    # it keeps no token credential for Azure SDK clients (Blob state uses a connection string) and does no
    # single sign-on for officers, so both are refused in words, as a scope that is not `.../.default` is.

    def get_token_credential(self) -> AsyncTokenCredential:
        raise PermissionError(
            "the bot signs in only as itself for its replies: it offers no token credential for Azure clients"
        )

    async def acquire_token_on_behalf_of(self, scopes: list[str], user_assertion: str) -> str:
        raise PermissionError("the bot signs in only as itself: it does no sign-in on an officer's behalf")


def connection_manager(credentials: BotCredentials) -> ConnectionManager:
    """The SDK's connections with the bot's app as its service connection: replies carry its token."""
    provider = AppTokenProvider(credentials)
    return ConnectionManager(
        provider_factory=lambda configuration: provider,  # type: ignore[arg-type,return-value]
        connections_configurations={"SERVICE_CONNECTION": provider.configuration},
    )
