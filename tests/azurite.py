"""Azurite (npm, pinned in package.json), the Azure Storage emulator, for tests of the bot's Blob state.

`running_azurite()` starts its Blob service on a free loopback port, in memory (nothing left on disk), and
yields a connection string to it. Tests are skipped, saying why, when Node.js or the npm package is missing,
as the Playground's are.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.playground import ROOT, STARTUP_SECONDS, Started, StartFailed, free_port, missing_node_tool

AZURITE_BLOB = ROOT / "node_modules" / ".bin" / "azurite-blob"
# Azurite's one account and its key: public, documented values that work only against the emulator.
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def missing_tools() -> str:
    """Why Azurite cannot run here ('' when it can)."""
    return missing_node_tool(AZURITE_BLOB, "Azurite")


@dataclass(frozen=True)
class Azurite:
    port: int
    started: Started

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/{ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={self.endpoint};"
        )


@contextmanager
def running_azurite() -> Iterator[Azurite]:
    """Azurite's Blob service on 127.0.0.1 and a free port, in memory; stopped on leaving."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="kcpf-azurite-") as temp:
        log = Path(temp) / "azurite.log"
        command = [str(AZURITE_BLOB), "--silent", "--inMemoryPersistence", "--disableTelemetry"]
        # The Python client speaks a newer API version than Azurite 3.37 announces; what KCPF uses (blobs,
        # containers, leases) is in every version.
        command += ["--skipApiVersionCheck", "--blobHost", "127.0.0.1", "--blobPort", str(port)]
        with log.open("wb") as out:
            process = subprocess.Popen(command, cwd=temp, stdout=out, stderr=subprocess.STDOUT)
        started = Started(process, log)
        try:
            deadline = time.monotonic() + STARTUP_SECONDS
            while "successfully listens" not in started.tail():
                if process.poll() is not None or time.monotonic() > deadline:
                    code = process.poll()
                    raise StartFailed(f"Azurite did not start (exit code {code}):\n{started.tail()}")
                time.sleep(0.05)
            yield Azurite(port, started)
        finally:
            started.stop()
