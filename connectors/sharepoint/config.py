"""Where Graph and the sign-in authority are, and the limits Graph sets: light to import (the settings read
them at start-up; the HTTP and auth libraries load only when SharePoint is used)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

GRAPH_BASE_URL: Final = "https://graph.microsoft.com/v1.0"
AUTHORITY_HOST: Final = "https://login.microsoftonline.com"
# List items page at 200 by default and at most 5,000 a page ($top above that still gives 5,000): SharePoint's
# list view threshold. Sources: "Manage large lists and libraries" (Microsoft support, the 5,000 threshold);
# "Microsoft Graph: Working with Paginated result sets" (microsoft365blogs.com, 2022: 200 by default, 5,000 at
# most through Graph). Not yet checked against a real tenant. Ask for the most on every collection read: the
# register of 1,000 is one request.
MAX_PAGE_SIZE: Final = 5000
BATCH_LIMIT: Final = 20  # JSON batching: "currently limited to 20" requests per $batch (Graph docs)
UPLOAD_CHUNK_UNIT: Final = 327_680  # upload-session chunks must be multiples of 320 KiB
SIMPLE_UPLOAD_MAX: Final = 4 * 1024 * 1024  # Graph recommends upload sessions above 4 MB


@dataclass(frozen=True)
class GraphSettings:
    """Where Graph and the sign-in authority are, and who the app is. Exactly one of `client_secret` or
    `certificate_path` (PEM with the private key and the certificate; thumbprint computed)."""

    tenant_id: str
    client_id: str
    site_url: str  # e.g. https://chorleysouthribble.sharepoint.com/sites/kcpf
    client_secret: str | None = field(default=None, repr=False)
    certificate_path: Path | None = None
    graph_base_url: str = GRAPH_BASE_URL
    authority_host: str = AUTHORITY_HOST
    ca_bundle: Path | None = None  # a CA file to trust (a TLS-inspecting proxy; the fake's self-signed CA)
    timeout: float = 30.0  # seconds, per HTTP request
    max_retries: int = 6  # retries after the first attempt
    backoff_base: float = 0.5  # seconds: the first retry waits up to this (doubling each time)
    backoff_cap: float = 30.0  # seconds: the longest backoff when the server gives no Retry-After
    # The longest wait before a retry made inside a request (None: no limit). A longer one (Retry-After) is
    # not waited there: the error carries it, and the caller waits without holding a lock or a turn.
    wait_limit: float | None = None
    upload_chunk: int = 10 * UPLOAD_CHUNK_UNIT  # 3.2 MiB, a multiple of 320 KiB
    # Where SharePoint's own REST API is (scheme and host; views and column formatting, which Graph lacks).
    # None: the site's own host, as in production; tests aim it at the fake.
    sharepoint_url: str | None = None

    @property
    def sharepoint_origin(self) -> str:
        """The scheme and host SharePoint REST is reached at, e.g. https://tenant.sharepoint.com."""
        return origin_of(self.sharepoint_url or self.site_url)

    def __post_init__(self) -> None:
        if self.upload_chunk <= 0 or self.upload_chunk % UPLOAD_CHUNK_UNIT:
            raise ValueError(f"upload_chunk must be a multiple of {UPLOAD_CHUNK_UNIT} bytes")


def origin_of(url: str) -> str:
    """The scheme and host (and port) of an address."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
