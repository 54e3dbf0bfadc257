"""The bot's writing half, as a process the fault test can kill: officers' submissions into the SharePoint
register through the outbox, with the background worker applying them.

`python -m tests.sharepoint_writer CONFIG.json FIRST LAST` submits "Submission N" for N in FIRST..LAST-1,
each under the idempotency key "submission-N" (a bot would use the Teams activity id), prints N once the
submission is safely recorded (the officer's "saved"), then waits until the outbox is empty and prints
"done". Killed at any moment and started again, it picks up what is pending.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from connectors.sharepoint.graph import GraphError, GraphSession, GraphSettings
from connectors.sharepoint.outbox import OUTBOX_FILE, Outbox, OutboxWorker
from connectors.sharepoint.register import SharePointRegister
from kcpf.model import Arrangement, ArrangementType, Council


def settings_from(config: dict[str, str | float]) -> GraphSettings:
    return GraphSettings(
        tenant_id=str(config["tenant_id"]),
        client_id=str(config["client_id"]),
        site_url=str(config["site_url"]),
        client_secret=str(config["client_secret"]),
        graph_base_url=str(config["graph_base_url"]),
        authority_host=str(config["authority_host"]),
        ca_bundle=Path(str(config["ca_bundle"])),
        timeout=float(config["timeout"]),
        max_retries=3,
        backoff_base=0.005,
        backoff_cap=0.02,
    )


def submission(number: int) -> Arrangement:
    return Arrangement(
        title=f"Submission {number}",
        type=ArrangementType.CONTRACT,
        council=Council.CHORLEY,
        partner="Partner Ltd",
    )


def main(argv: list[str]) -> int:
    config = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    first, last = int(argv[1]), int(argv[2])
    outbox = Outbox(Path(str(config["data_dir"])) / OUTBOX_FILE)
    register = SharePointRegister(
        GraphSession(settings_from(config)), outbox, freshness=3600, apply_now=False
    )
    worker = OutboxWorker(register.flush, interval=0.05, backoff_base=0.01, backoff_cap=0.1)
    register.on_wake(worker.wake)
    while True:  # SharePoint may be failing as the process starts
        try:
            register.connect()
            break
        except GraphError:
            time.sleep(0.05)
    worker.start()
    for number in range(first, last):
        register.submit(
            [(submission(number), ())],
            action="record",
            actor="officer@chorley.gov.uk",
            at=datetime.now(UTC),
            key=f"submission-{number}",
        )
        print(number, flush=True)
    deadline = time.monotonic() + 120  # a hung writer must fail the test, not hang it
    while outbox.pending():
        if time.monotonic() > deadline:
            print("gave up", flush=True)
            return 1
        worker.wake()
        time.sleep(0.05)
    worker.stop()
    outbox.close()
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
