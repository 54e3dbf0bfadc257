"""The fault test: 1,000 officer submissions while the fake Graph fails 30% of requests, and the writing
process is killed (SIGKILL) and started again twice. Every submission ends up in the list exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from connectors.sharepoint.outbox import OUTBOX_FILE, Outbox
from tests.fake_graph import FakeGraph, Fault
from tests.sharepoint_site import create_lists, session_for

SUBMISSIONS = 1000
KILL_AFTER = (300, 650)  # acknowledged submissions at which the writer is killed
FAULTS = (
    Fault("throttle", retry_after=0),
    Fault("unavailable", retry_after=0),
    Fault("drop"),
    Fault("drop-after"),
    Fault("timeout", delay=0.4),
)
ROOT = Path(__file__).resolve().parents[1]


def start_writer(config: Path, first: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.sharepoint_writer", str(config), str(first), str(SUBMISSIONS)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_every_submission_is_saved_exactly_once_through_faults_and_kills(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with FakeGraph.running(tmp_path) as fake:
        create_lists(session_for(fake))
        settings = fake.graph_settings(timeout=0.2)
        config = tmp_path / "writer.json"
        config.write_text(
            json.dumps(
                {
                    "tenant_id": settings.tenant_id,
                    "client_id": settings.client_id,
                    "client_secret": settings.client_secret,
                    "site_url": settings.site_url,
                    "graph_base_url": settings.graph_base_url,
                    "authority_host": settings.authority_host,
                    "ca_bundle": str(settings.ca_bundle),
                    "timeout": settings.timeout,
                    "data_dir": str(data_dir),
                }
            )
        )
        fake.faults.random(0.3, FAULTS, seed=5)
        acknowledged: list[int] = []
        pending_at_kill: list[int] = []
        first = 0
        for stop_at in (*KILL_AFTER, None):
            writer = start_writer(config, first)
            assert writer.stdout is not None
            try:
                for line in writer.stdout:
                    if line.strip() in {"done", "gave up"}:
                        break
                    acknowledged.append(int(line))
                    if stop_at is not None and len(set(acknowledged)) >= stop_at:
                        writer.send_signal(signal.SIGKILL)
                        break
            finally:
                if stop_at is not None:
                    writer.wait(30)
            if stop_at is None:
                assert writer.wait(60) == 0
            else:
                left = Outbox(data_dir / OUTBOX_FILE)
                pending_at_kill.append(len(left.pending()))
                left.close()
            # The next process starts after the last submission this one acknowledged; one recorded but not
            # yet acknowledged is submitted again under the same key, as an officer would.
            first = acknowledged[-1] + 1
        fake.faults.clear()
        injected = dict(fake.faults.injected)
        titles = Counter(str(item["Title"]) for item in fake.graph.items("KCPF Arrangements"))
        references = Counter(str(item["KcpfReference"]) for item in fake.graph.items("KCPF Arrangements"))
    assert sorted(set(acknowledged)) == list(range(SUBMISSIONS))
    assert titles == Counter({f"Submission {n}": 1 for n in range(SUBMISSIONS)})
    assert all(count == 1 for count in references.values())
    assert set(injected) == {f.kind for f in FAULTS}
    # The kills really interrupted work: the restarted writer had accepted submissions to apply.
    assert any(pending_at_kill), pending_at_kill
    assert Outbox(data_dir / OUTBOX_FILE).pending() == []
