"""The standing columns the register adapter keeps on each arrangement's item (latest RAG, next update owed,
open governance gaps), which SharePoint's views filter on: right after each update and governance review."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from connectors.clock import LONDON
from connectors.sharepoint.mapping import LATER_COLUMNS, STANDING_COLUMNS
from connectors.sharepoint.register import SharePointRegister
from kcpf.governance import AreaAnswer, GovernanceReview, InPlace
from kcpf.model import Status
from kcpf.monitoring import Rag
from tests.builders import arrangement, at, monitoring_update
from tests.fake_graph import FakeGraph
from tests.sharepoint_site import create_lists, session_for, sharepoint_register


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeGraph]:
    with FakeGraph.running(tmp_path) as fake:
        create_lists(session_for(fake))
        yield fake


@pytest.fixture
def register(fake: FakeGraph, tmp_path: Path) -> Iterator[SharePointRegister]:
    with sharepoint_register(session_for(fake), tmp_path) as register:
        yield register


def item(fake: FakeGraph) -> dict[str, Any]:
    (only,) = fake.graph.items("KCPF Arrangements")
    return only


def day(value: Any) -> date | None:
    """A date-only column as the site shows it (midnight in the site's time zone)."""
    if value is None:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(LONDON).date()


def test_the_standing_columns_follow_each_update_and_governance_review(
    fake: FakeGraph, register: SharePointRegister
) -> None:
    key = arrangement(reference=None, status=Status.MONITORING, key_since=date(2026, 5, 20))
    stored = register.save(key, action="record", actor="tp@chorley.gov.uk", at=at(date(2026, 5, 20)))
    now = item(fake)
    assert now.get("LatestPerformance") is None
    assert now["NextUpdatePeriod"] == "2026/27-H1"
    assert day(now["NextUpdateDue"]) == date(2026, 10, 31)
    assert now["OpenGovernanceGaps"] == 0
    assert now.get("GovernanceGapPlans") is None

    update = monitoring_update("2026/27-H1", Rag.AMBER, reference=stored.reference)
    stored = register.save(stored, action="update", actor="jo", at=at(date(2026, 10, 10)), records=[update])
    now = item(fake)
    assert now["LatestPerformance"] == "Amber"
    assert now["NextUpdatePeriod"] == "2026/27-H2"
    assert day(now["NextUpdateDue"]) == date(2027, 4, 30)

    review = GovernanceReview(
        stored.reference or "",
        "2025.1",
        (
            AreaAnswer("aims_objectives", InPlace.YES),
            AreaAnswer("roles_responsibilities", InPlace.NO, "Agree a RACI with Acme", date(2027, 3, 31)),
            AreaAnswer("decision_making", InPlace.NO, "Align the board's timetable", date(2027, 1, 31)),
        ),
        "jo",
        at(date(2026, 11, 2)),
    )
    stored = register.save(
        stored, action="governance", actor="jo", at=at(date(2026, 11, 2)), records=[review]
    )
    now = item(fake)
    assert now["OpenGovernanceGaps"] == 2
    assert now["GovernanceGapPlans"] == (
        "Roles and responsibilities: Agree a RACI with Acme (by 31 March 2027)\n"
        "Decision making procedures: Align the board's timetable (by 31 January 2027)"
    )
    assert day(now["NextGapTargetDate"]) == date(2027, 1, 31)
    assert now["LatestPerformance"] == "Amber"  # kept: computed from every record, not just the new one

    # A change with no record keeps them; an arrangement that ends owes nothing more.
    ended = dataclasses.replace(stored, status=Status.ENDED)
    register.save(ended, action="end", actor="tp@chorley.gov.uk", at=at(date(2026, 12, 1)))
    now = item(fake)
    assert now.get("NextUpdateDue") is None
    assert now.get("NextUpdatePeriod") is None
    assert now["LatestPerformance"] == "Amber"
    assert now["OpenGovernanceGaps"] == 2


def test_items_saved_before_the_standing_columns_are_brought_up_to_date_once(
    fake: FakeGraph, tmp_path: Path
) -> None:
    (tmp_path / "before").mkdir()
    with sharepoint_register(session_for(fake), tmp_path / "before") as register:
        key = arrangement(reference=None, status=Status.MONITORING, key_since=date(2026, 5, 20))
        stored = register.save(key, action="record", actor="tp", at=at(date(2026, 5, 20)))
        update = monitoring_update("2026/27-H1", Rag.RED, reference=stored.reference)
        register.save(stored, action="update", actor="jo", at=at(date(2026, 10, 10)), records=[update])
        register.save(
            arrangement(reference=None, title="Not key"),
            action="record",
            actor="tp",
            at=at(date(2026, 5, 20)),
        )
    items = fake.graph.list_named("KCPF Arrangements").items
    for stored_item in items.values():  # as an item saved before KCPF kept these columns
        for name in STANDING_COLUMNS:
            stored_item.fields.pop(name, None)
    version = items[1].fields["KcpfVersion"]

    (tmp_path / "after").mkdir()
    with sharepoint_register(session_for(fake), tmp_path / "after") as register:
        assert register.refresh_standing() == (2, 0)  # the key one, and the other's gap count of 0
        first = items[1].fields
        assert first["LatestPerformance"] == "Red"
        assert first["NextUpdatePeriod"] == "2026/27-H2"
        assert day(first["NextUpdateDue"]) == date(2027, 4, 30)
        assert first["KcpfVersion"] == version  # no new version, no audit entry
        fake.reset_counts()
        assert register.refresh_standing() == (0, 0)  # up to date: nothing sent
        assert fake.graph.operations["items.update"] == 0
        assert register.get(stored.reference or "").version == version


def without_standing_columns(fake: FakeGraph) -> None:
    """The arrangements list as the release before the standing columns provisioned it."""
    the_list = fake.graph.list_named("KCPF Arrangements")
    the_list.columns = [c for c in the_list.columns if c["name"] not in LATER_COLUMNS]


def test_saves_work_on_a_site_provisioned_before_the_standing_columns_and_say_what_to_run(
    fake: FakeGraph, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from connectors.sharepoint.provision import Provisioner
    from connectors.sharepoint.schema import load_schema

    without_standing_columns(fake)
    (tmp_path / "upgraded").mkdir()
    with sharepoint_register(session_for(fake), tmp_path / "upgraded") as register:
        key = arrangement(reference=None, status=Status.MONITORING, key_since=date(2026, 5, 20))
        stored = register.save(key, action="record", actor="tp", at=at(date(2026, 5, 20)))
        update = monitoring_update("2026/27-H1", Rag.RED, reference=stored.reference)
        register.save(stored, action="update", actor="jo", at=at(date(2026, 10, 10)), records=[update])
        assert register.get(stored.reference or "").version == 2  # the JSON record keeps everything
        assert not set(LATER_COLUMNS) & set(item(fake))
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    (warning,) = [w for w in warnings if "LatestPerformance" in w]
    assert all(name in warning for name in LATER_COLUMNS)
    assert "`kcpf sharepoint provision`" in warning
    assert "`kcpf sharepoint standing`" in warning

    assert Provisioner(session_for(fake), load_schema()).provision().ok
    (tmp_path / "restarted").mkdir()
    with sharepoint_register(session_for(fake), tmp_path / "restarted") as register:
        assert register.refresh_standing() == (1, 0)
        assert item(fake)["LatestPerformance"] == "Red"
        again = register.get(stored.reference or "")
        register.save(again, action="edit", actor="tp", at=at(date(2026, 10, 11)))
        assert day(item(fake)["NextUpdateDue"]) == date(2027, 4, 30)


def test_bringing_standing_up_to_date_before_provisioning_says_to_provision_first(
    fake: FakeGraph, tmp_path: Path
) -> None:
    from connectors.sharepoint.register import NotSaved

    without_standing_columns(fake)
    with sharepoint_register(session_for(fake), tmp_path) as register:
        register.save(arrangement(reference=None), action="record", actor="tp", at=at(date(2026, 5, 20)))
        with pytest.raises(NotSaved, match=r"run `kcpf sharepoint provision` first"):
            register.refresh_standing()


def test_the_review_date_is_written_on_save_and_filled_for_items_saved_before_it(
    fake: FakeGraph, register: SharePointRegister
) -> None:
    from kcpf.model import SourceRecord

    imported = arrangement(reference=None, source=SourceRecord(review_date=date(2027, 2, 1)))
    register.save(imported, action="import", actor="tp", at=at(date(2026, 5, 20)))
    assert day(item(fake)["ReviewDate"]) == date(2027, 2, 1)
    fake.graph.list_named("KCPF Arrangements").items[1].fields.pop("ReviewDate")
    assert register.refresh_standing() == (1, 0)
    assert day(item(fake)["ReviewDate"]) == date(2027, 2, 1)
