"""App-only tokens for Microsoft Graph with msal: a certificate (preferred) or a client secret.

The authority host is a setting so tests can aim msal at the fake token endpoint in `tests/fake_graph`; msal
then skips instance discovery (it would call login.microsoftonline.com) and reads the tenant's OpenID
configuration from the authority itself. Nothing secret is logged or put into exception text.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization

GRAPH_SCOPE_SUFFIX = "/.default"


class AuthFailed(Exception):
    """No token could be obtained. The message names the server's error code, never a secret."""


@dataclass(frozen=True)
class Certificate:
    """A PEM file holding the app's private key and its certificate."""

    private_key_pem: str = field(repr=False)
    thumbprint: str  # SHA-1 of the DER certificate, hex: what Entra ID shows and msal sends as x5t

    @classmethod
    def load(cls, path: Path) -> Certificate:
        """Raises ValueError naming what is wrong with the file (never its content)."""
        try:
            data = path.read_bytes()
        except OSError as error:
            raise ValueError(f"cannot read {path}: {error.strerror}") from None
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError):
            raise ValueError(f"{path} holds no unencrypted PEM private key") from None
        try:
            cert = x509.load_pem_x509_certificate(data)
        except ValueError:
            raise ValueError(f"{path} holds no PEM certificate (put the certificate after the key)") from None
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode("ascii")
        der = cert.public_bytes(serialization.Encoding.DER)
        return cls(private_key_pem=pem, thumbprint=hashlib.sha1(der).hexdigest().upper())


class TokenProvider:
    """Gets (and caches, through msal) an app-only token for Graph, or for SharePoint REST. Thread-safe."""

    def __init__(
        self,
        *,
        tenant_id: str,
        client_id: str,
        authority_host: str,
        graph_base_url: str,
        client_secret: str | None = None,
        certificate: Certificate | None = None,
        http_client: requests.Session | None = None,
        timeout: float = 30.0,
    ) -> None:
        if (client_secret is None) == (certificate is None):
            raise ValueError("give exactly one of a client secret or a certificate")
        credential: Any = (
            {"private_key": certificate.private_key_pem, "thumbprint": certificate.thumbprint}
            if certificate is not None
            else client_secret
        )
        self._authority = f"{authority_host.rstrip('/')}/{tenant_id}"
        self._client_id = client_id
        self._credential = credential
        self._http = http_client
        self._timeout = timeout
        # The scope is the Graph resource (scheme and host) with /.default: the app's granted permissions.
        root = graph_base_url.split("://", 1)
        host = root[1].split("/", 1)[0] if len(root) == 2 else root[0]
        self._scope = f"{root[0]}://{host}{GRAPH_SCOPE_SUFFIX}" if len(root) == 2 else graph_base_url
        self._app: Any = None  # msal.ConfidentialClientApplication, made on first use
        self._lock = threading.Lock()
        self.requests = 0  # token round trips made (msal caches the token until shortly before it expires)

    def __repr__(self) -> str:
        return f"TokenProvider(authority={self._authority!r}, client_id={self._client_id!r})"

    def _application(self) -> Any:
        if self._app is None:
            import msal  # type: ignore[import-untyped]  # here, not at import: the CLI starts faster

            try:
                self._app = msal.ConfidentialClientApplication(
                    self._client_id,
                    client_credential=self._credential,
                    authority=self._authority,
                    validate_authority=False,
                    instance_discovery=False,
                    http_client=self._http,
                    timeout=self._timeout,
                )
            except (ValueError, requests.RequestException) as error:
                raise AuthFailed(
                    f"could not reach the sign-in authority {self._authority}: {type(error).__name__}"
                ) from None
            self.requests += 1  # the OpenID configuration
        return self._app

    @property
    def uses_certificate(self) -> bool:
        """SharePoint REST takes app-only tokens got with a certificate only (not with a client secret)."""
        return isinstance(self._credential, dict)

    def token(self, scope: str | None = None) -> str:
        """A token for Graph, or for `scope` (another resource's ".default" scope, such as SharePoint's
        `https://tenant.sharepoint.com/.default`); msal caches each scope's token apart."""
        with self._lock:
            app = self._application()
            try:
                cached = app.acquire_token_for_client(scopes=[scope or self._scope])
            except (ValueError, requests.RequestException) as error:
                raise AuthFailed(
                    f"could not get a token from {self._authority}: {type(error).__name__}"
                ) from None
            if cached.get("token_source") == "identity_provider":
                self.requests += 1
        token = cached.get("access_token")
        if not isinstance(token, str):
            code = cached.get("error", "unknown_error")
            codes = cached.get("error_codes") or []
            raise AuthFailed(
                f"sign-in refused for client {self._client_id} at {self._authority}: {code}"
                + (f" (AADSTS{codes[0]})" if codes else "")
            )
        return token


def token_roles(token: str) -> list[str] | None:
    """The `roles` claim of an access token, read without verifying it (a diagnostic, not a decision)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    roles = claims.get("roles") if isinstance(claims, dict) else None
    return [str(r) for r in roles] if isinstance(roles, list) else None


def resource_scope(origin: str) -> str:
    """The app-only scope of a resource by its scheme and host: all the app's granted permissions there."""
    return f"{origin.rstrip('/')}{GRAPH_SCOPE_SUFFIX}"
