"""A stand-in for the Bot Framework's token signing: OpenID metadata and a key set (JWKS) served on a free
loopback port, with RSA keys made here, and tokens signed the way the channel signs them.

async with running_channel_keys() as keys:
    keys.metadata_url                     # what KCPF_BOT_OPENID_METADATA_URL points at
    keys.token(app_id, service_url)       # a valid channel token for that activity
    keys.add_key("key-2")                 # a new key published (rotation)
    keys.fetches                          # requests served, by "metadata" and "jwks"
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from bot.auth import BOT_FRAMEWORK_ISSUER
from tests.bot_harness import serving


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class PublishedKey:
    private: rsa.RSAPrivateKey
    endorsements: Sequence[str]


@dataclass
class ChannelKeys:
    keys: dict[str, PublishedKey] = field(default_factory=dict)
    fetches: Counter[str] = field(default_factory=Counter)
    base_url: str = ""

    @property
    def metadata_url(self) -> str:
        return f"{self.base_url}/v1/.well-known/openidconfiguration"

    def add_key(self, kid: str, endorsements: Sequence[str] = ("msteams",)) -> rsa.RSAPrivateKey:
        key = rsa_key()
        self.keys[kid] = PublishedKey(key, endorsements)
        return key

    def token(
        self,
        app_id: str,
        service_url: str,
        *,
        kid: str = "key-1",
        signed_by: rsa.RSAPrivateKey | None = None,
        issuer: str = BOT_FRAMEWORK_ISSUER,
        issued: float | None = None,
        lifetime: float = 3600,
        **claims: Any,
    ) -> str:
        """A channel token for `app_id`, signed by the published key `kid` unless `signed_by` is given."""
        now = time.time() if issued is None else issued
        payload = {
            "iss": issuer,
            "aud": app_id,
            "serviceurl": service_url,
            "nbf": int(now),
            "exp": int(now + lifetime),
            "jti": uuid.uuid4().hex,
            **claims,
        }
        key = signed_by if signed_by is not None else self.keys[kid].private
        return jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/v1/.well-known/openidconfiguration", self._metadata)
        app.router.add_get("/v1/.well-known/keys", self._jwks)
        return app

    async def _metadata(self, request: web.Request) -> web.Response:
        self.fetches["metadata"] += 1
        return web.json_response(
            {
                "issuer": BOT_FRAMEWORK_ISSUER,
                "authorization_endpoint": "https://invalid.botframework.com",
                "jwks_uri": f"{self.base_url}/v1/.well-known/keys",
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            }
        )

    async def _jwks(self, request: web.Request) -> web.Response:
        self.fetches["jwks"] += 1
        keys = []
        for kid, published in self.keys.items():
            jwk: dict[str, Any] = RSAAlgorithm.to_jwk(published.private.public_key(), as_dict=True)
            keys.append({**jwk, "kid": kid, "use": "sig", "endorsements": list(published.endorsements)})
        return web.json_response({"keys": keys})


@asynccontextmanager
async def running_channel_keys() -> AsyncIterator[ChannelKeys]:
    """The metadata and key set on a free loopback port, with one key "key-1" endorsed for msteams."""
    keys = ChannelKeys()
    keys.add_key("key-1")
    async with serving(keys.app()) as url:
        keys.base_url = url
        yield keys
