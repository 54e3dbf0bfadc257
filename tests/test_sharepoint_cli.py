"""KCPF_STORE=sharepoint end to end: the composition root builds the SharePoint register (with its outbox and
worker), the command line works on the fake site, and `kcpf sharepoint outbox` shows what is waiting."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.sharepoint.register import SharePointRegister
from kcpf.cli import main
from kcpf.cli.compose import application, prepare_data_dir
from kcpf.cli.settings import Settings
from tests.fake_graph import FakeGraph, Fault
from tests.register_contract import WHEN, bare_arrangement
from tests.sharepoint_site import create_lists, session_for

TP = "tp@chorley.gov.uk"
DATA = Path(__file__).parent / "data" / "chorley-contracts.csv"


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGraph]:
    with FakeGraph.running(tmp_path) as fake:
        create_lists(session_for(fake))
        for name in [n for n in os.environ if n.startswith(("KCPF_", "KCPF_SP_", "KCPF_GRAPH_"))]:
            monkeypatch.delenv(name)
        settings = fake.graph_settings()
        for name, value in {
            "KCPF_DATA_DIR": str(tmp_path / "data"),
            "KCPF_TP": TP,
            "KCPF_STORE": "sharepoint",
            "KCPF_SP_TENANT_ID": settings.tenant_id,
            "KCPF_SP_CLIENT_ID": settings.client_id,
            "KCPF_SP_CLIENT_SECRET": settings.client_secret or "",
            "KCPF_SP_SITE_URL": settings.site_url,
            "KCPF_GRAPH_BASE_URL": settings.graph_base_url,
            "KCPF_GRAPH_AUTHORITY": settings.authority_host,
            "KCPF_GRAPH_CA_BUNDLE": str(settings.ca_bundle),
        }.items():
            monkeypatch.setenv(name, value)
        yield fake


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out + err


def test_the_command_line_keeps_the_register_in_sharepoint(
    fake: FakeGraph, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(capsys, "register", "import", str(DATA), "--council", "chorley", "--by", TP)
    assert code == 0, out
    saved = fake.graph.items("KCPF Arrangements")
    assert saved
    assert {str(i["KcpfReference"]) for i in saved} == {f"KCP-{n:04d}" for n in range(1, len(saved) + 1)}
    code, out = run(capsys, "register", "show", "KCP-0001")
    assert code == 0, out
    assert str(saved[0]["Title"]) in out
    code, out = run(capsys, "sharepoint", "outbox")
    assert (code, out.strip()) == (0, "Nothing is waiting: every write is in SharePoint.")


def test_the_outbox_command_lists_what_is_waiting(
    fake: FakeGraph, capsys: pytest.CaptureFixture[str]
) -> None:
    """A running bot accepts a write while SharePoint is down; T&P see it waiting, then see it go."""
    settings = Settings.from_env(os.environ)
    prepare_data_dir(settings)
    with application(settings) as bot:
        register = bot.framework.register
        assert register.arrangements() == []  # the bot has read the site
        fake.faults.random(1.0, (Fault("unavailable", retry_after=0),))
        register.save(bare_arrangement(), action="record", actor=TP, at=WHEN)
        assert fake.graph.items("KCPF Arrangements") == []
        code, out = run(capsys, "sharepoint", "outbox")
        assert code == 0
        assert f"{TP}  record KCP-0001" in out
        assert "1 write waiting for SharePoint" in out
        fake.faults.clear()
        assert isinstance(register, SharePointRegister)
        assert register.flush() is False
    code, out = run(capsys, "sharepoint", "outbox")
    assert "Nothing is waiting" in out
    assert len(fake.graph.items("KCPF Arrangements")) == 1


def test_a_command_cannot_write_before_it_has_read_the_site(
    fake: FakeGraph, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.faults.random(1.0, (Fault("unavailable", retry_after=0),))
    code, out = run(capsys, "register", "import", str(DATA), "--council", "chorley", "--by", TP)
    assert code == 2
    assert "SharePoint cannot be reached just now" in out
    assert "Nothing was changed" in out


def test_check_says_when_to_try_again_rather_than_wait_an_hour(
    fake: FakeGraph, capsys: pytest.CaptureFixture[str]
) -> None:
    """Graph asking for a long wait (Retry-After 3600): the command ends at once and says when to try."""
    fake.faults.random(1.0, (Fault("throttle", retry_after=3600),))
    started = time.monotonic()
    code, out = run(capsys, "sharepoint", "check")
    assert time.monotonic() - started < 30
    assert code == 2, out
    assert "try again after 3600 seconds" in out


def test_the_standing_command_brings_older_items_up_to_date(
    fake: FakeGraph, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(capsys, "register", "import", str(DATA), "--council", "chorley", "--by", TP)
    assert code == 0, out
    items = fake.graph.list_named("KCPF Arrangements").items
    for item in items.values():  # saved before KCPF kept its standing columns
        item.fields.pop("OpenGovernanceGaps", None)
    code, out = run(capsys, "sharepoint", "standing")
    assert code == 0, out
    assert out.startswith(f"{len(items)} arrangements brought up to date")
    assert all(item.fields["OpenGovernanceGaps"] == 0 for item in items.values())
    code, out = run(capsys, "sharepoint", "standing")
    assert out.startswith("0 arrangements brought up to date")


def test_the_standing_command_on_a_site_not_yet_provisioned_says_to_provision_first(
    fake: FakeGraph, capsys: pytest.CaptureFixture[str]
) -> None:
    from connectors.sharepoint.mapping import LATER_COLUMNS

    the_list = fake.graph.list_named("KCPF Arrangements")
    the_list.columns = [c for c in the_list.columns if c["name"] not in LATER_COLUMNS]
    code, out = run(capsys, "sharepoint", "standing")
    assert code == 2, out
    assert "run `kcpf sharepoint provision` first" in out
    assert "Traceback" not in out
