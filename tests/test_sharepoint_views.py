"""The views and column formatting of manifests/sharepoint/views.json: checked at load, rendered as CAML that
selects what each view promises (evaluated here on sample items), and formatting that shows the word."""

from __future__ import annotations

import json
import re
import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from connectors.sharepoint.mapping import arrangement_fields
from connectors.sharepoint.schema import MANIFEST_DIR, Column, SchemaInvalid, load_schema
from connectors.sharepoint.views import COLOUR_CLASSES, Condition, View, load_views, same_query
from kcpf.model import KEY_STATUSES, SourceRecord, Status
from kcpf.reports.smt import ends_within
from tests.builders import arrangement
from tests.fake_graph.rest import as_sharepoint_stores

SCHEMA = load_schema()
VIEWS = load_views(SCHEMA)
TODAY = date(2026, 11, 27)
STATUS = SCHEMA.list("arrangements").column("ArrangementStatus")


def view(title: str) -> View:
    return next(v for v in VIEWS.views if v.title == title)


# --- a small CAML evaluator: what SharePoint would show on TODAY -------------------------------------------


def holds(element: ElementTree.Element, item: dict[str, Any]) -> bool:
    tag = element.tag
    if tag == "And":
        return all(holds(child, item) for child in element)
    if tag == "Or":
        return any(holds(child, item) for child in element)
    if tag == "Not":
        return not holds(element[0], item)
    field = element.find("FieldRef")
    assert field is not None
    have = item.get(field.attrib["Name"])
    if tag == "In":
        return have in [v.text for v in element.iter("Value")]
    value = element.find("Value")
    assert value is not None
    today = value.find("Today")
    wanted: Any
    if today is not None:
        wanted = TODAY + timedelta(days=int(today.attrib.get("OffsetDays", "0")))
    else:
        wanted = float(value.text or "0")
    if have is None:
        return False  # CAML comparisons never match an empty field
    return bool(
        {"Gt": have > wanted, "Geq": have >= wanted, "Leq": have <= wanted, "Eq": have == wanted}[tag]
    )


def shown(v: View, items: list[dict[str, Any]]) -> list[str]:
    root = ElementTree.fromstring(f"<Query>{v.query()}</Query>")
    where = root.find("Where")
    assert where is not None
    return [i["Title"] for i in items if holds(where[0], i)]


def item(title: str, status: Status, **fields: Any) -> dict[str, Any]:
    return {"Title": title, "ArrangementStatus": STATUS.label_for(status.value), **fields}


def test_the_five_views_are_defined_on_the_arrangements_list() -> None:
    assert [v.title for v in VIEWS.views] == [
        "Key arrangements by council",
        "Awaiting SMT's decision",
        "Updates due and overdue by officer",
        "Open governance gaps",
        "Ending or due for re-procurement within 12 months",
    ]
    assert {v.list_key for v in VIEWS.views} == {"arrangements"}
    for v in VIEWS.views:
        ElementTree.fromstring(f"<Query>{v.query()}</Query>")  # well-formed
        body = v.creation()["parameters"]
        assert body["__metadata"] == {"type": "SP.ViewCreationInformation"}
        assert body["ViewFields"] == {"results": list(v.columns)}
        assert body["PersonalView"] is False
        assert body["SetAsDefaultView"] is False


def test_key_arrangements_are_the_key_statuses_grouped_by_council() -> None:
    key = view("Key arrangements by council")
    assert key.group_by == ("Council",)
    (status,) = key.where
    assert isinstance(status, Condition)
    assert set(status.values) == {STATUS.label_for(s.value) for s in KEY_STATUSES}
    items = [item(s.value, s) for s in Status]
    assert sorted(shown(key, items)) == sorted(s.value for s in KEY_STATUSES)


def test_awaiting_smt_is_what_is_proposed_not_what_was_deferred() -> None:
    items = [item(s.value, s) for s in Status]
    assert shown(view("Awaiting SMT's decision"), items) == ["proposed"]


def test_updates_due_within_a_fortnight_or_overdue_by_officer() -> None:
    due = view("Updates due and overdue by officer")
    assert due.group_by == ("ResponsibleOfficerName",)
    assert due.order_by == (("NextUpdateDue", True),)
    items = [
        item("overdue", Status.MONITORING, NextUpdateDue=TODAY - timedelta(days=30)),
        item("due today", Status.KEY, NextUpdateDue=TODAY),
        item("due in 14 days", Status.GOVERNANCE_IN_PLACE, NextUpdateDue=TODAY + timedelta(days=14)),
        item("due in 15 days", Status.MONITORING, NextUpdateDue=TODAY + timedelta(days=15)),
        item("ended", Status.ENDED, NextUpdateDue=TODAY - timedelta(days=30)),
        item("no date", Status.KEY),
    ]
    assert shown(due, items) == ["overdue", "due today", "due in 14 days"]


def test_open_governance_gaps_show_their_plans_and_target_dates() -> None:
    gaps = view("Open governance gaps")
    assert {"GovernanceGapPlans", "NextGapTargetDate", "OpenGovernanceGaps"} <= set(gaps.columns)
    items = [
        item("two gaps", Status.MONITORING, OpenGovernanceGaps=2.0),
        item("none", Status.MONITORING, OpenGovernanceGaps=0.0),
        item("never assessed", Status.KEY),
    ]
    assert shown(gaps, items) == ["two gaps"]


def test_ending_within_twelve_months_from_today() -> None:
    ending = view("Ending or due for re-procurement within 12 months")
    items = [
        item("ended last month", Status.MONITORING, EndDate=TODAY - timedelta(days=30)),
        item("ends today", Status.MONITORING, EndDate=TODAY),
        item("ends in a year", Status.KEY, EndDate=TODAY + timedelta(days=365)),
        item("ends later", Status.KEY, EndDate=TODAY + timedelta(days=366)),
        item("not key", Status.NOT_KEY, EndDate=TODAY + timedelta(days=10)),
        item("closed", Status.ENDED, EndDate=TODAY + timedelta(days=10)),
    ]
    assert shown(ending, items) == ["ends today", "ends in a year"]


def test_ending_or_due_for_re_procurement_is_what_the_smt_update_counts() -> None:
    """The view against the SMT update's own rule (`ends_within`), on the fields the adapter writes: an end
    date or a published review date from today to a year ahead."""
    ending = view("Ending or due for re-procurement within 12 months")
    a_year = date(2027, 11, 27)  # a year after TODAY; 365 days, as the view counts
    assert a_year == TODAY + timedelta(days=365)
    cases = {
        "ends soon": (TODAY + timedelta(days=40), None),
        "re-procured soon, ends in five years": (TODAY + timedelta(days=1826), TODAY + timedelta(days=180)),
        "review passed, ends soon": (TODAY + timedelta(days=100), TODAY - timedelta(days=3)),
        "review on the last day": (None, a_year),
        "review the day after": (None, a_year + timedelta(days=1)),
        "both later": (TODAY + timedelta(days=400), TODAY + timedelta(days=500)),
        "no dates": (None, None),
    }
    schema = SCHEMA.list("arrangements")
    items, counted = [], []
    for n, (title, (end, review)) in enumerate(cases.items(), start=1):
        a = arrangement(
            reference=f"KCP-{n:04}",
            title=title,
            status=Status.MONITORING,
            end_date=end,
            source=SourceRecord(review_date=review),
        )
        fields = arrangement_fields(a, [], schema, write_id="")
        items.append({**fields, **{k: as_date(fields.get(k)) for k in ("EndDate", "ReviewDate")}})
        if ends_within(a, TODAY, a_year):
            counted.append(title)
    assert shown(ending, items) == counted
    assert counted == [
        "ends soon",
        "re-procured soon, ends in five years",
        "review passed, ends soon",
        "review on the last day",
    ]


def as_date(value: Any) -> date | None:
    return None if value is None else date.fromisoformat(str(value)[:10])


def test_any_renders_as_or_of_its_conditions() -> None:
    ending = view("Ending or due for re-procurement within 12 months")
    where = ElementTree.fromstring(f"<Query>{ending.query()}</Query>").find("Where")
    assert where is not None
    (top,) = where
    assert top.tag == "And"
    assert [child.tag for child in top] == ["In", "Or"]
    assert [child.tag for child in top[1]] == ["And", "And"]


def test_values_are_escaped_in_caml() -> None:
    column = Column("Odd", "Odd", "choice", choices=(("a", "Fish & <Chips> 'n' \"peas\""),))
    caml = Condition(column, "in", values=(column.label_for("a"),)).caml()
    parsed = ElementTree.fromstring(caml)
    assert [v.text for v in parsed.iter("Value")] == ["Fish & <Chips> 'n' \"peas\""]


def test_the_same_query_whatever_its_whitespace_or_attribute_order() -> None:
    wanted = view("Open governance gaps").query()
    spaced = wanted.replace("><", ">\n  <").replace(
        'Name="NextGapTargetDate" Ascending="TRUE"', 'Ascending="TRUE" Name="NextGapTargetDate"'
    )
    assert same_query(spaced, wanted)
    assert not same_query(wanted.replace("Gt>", "Geq>"), wanted)


def test_the_same_query_however_sharepoint_stores_it() -> None:
    for v in VIEWS.views:
        assert same_query(as_sharepoint_stores(v.query()), v.query()), v.title
    ending = view("Ending or due for re-procurement within 12 months").query()
    assert not same_query(as_sharepoint_stores(ending).replace("Or>", "And>"), ending)


# --- formatting ------------------------------------------------------------------------------------------


def colour_of(formatter: dict[str, Any], label: str) -> str:
    """Evaluates the nested if(@currentField == 'X', 'class', ...) expression for one value."""
    expression = formatter["attributes"]["class"]
    for value, colour in re.findall(r"@currentField == '((?:[^'\\]|\\.)*)', '([^']*)'", expression):
        if value.replace("\\'", "'") == label:
            return str(colour)
    return ""


def test_every_choice_of_a_formatted_column_has_its_colour_and_always_its_word() -> None:
    formatted = {(f.list_key, f.column.name) for f in VIEWS.formats}
    assert formatted == {
        ("arrangements", "ArrangementStatus"),
        ("arrangements", "LatestPerformance"),
        ("monitoring-updates", "Performance"),
        ("monitoring-updates", "FinancialStability"),
    }
    for f in VIEWS.formats:
        formatter = f.formatter()
        assert formatter["txtContent"] == "@currentField"  # the word, never colour alone
        assert formatter["elmType"] == "div"
        assert "children" not in formatter
        for _, label in f.column.choices:
            assert colour_of(formatter, label) in COLOUR_CLASSES, (f.column.name, label)
    rag = next(f for f in VIEWS.formats if f.column.name == "LatestPerformance").formatter()
    assert colour_of(rag, "Red") == "sp-field-severity--blocked"
    assert colour_of(rag, "Green") == "sp-field-severity--good"


# --- checked at load -------------------------------------------------------------------------------------


def manifest_with(tmp_path: Path, change: Any) -> Path:
    for name in ("schema.json", "extra-columns.json", "views.json"):
        shutil.copy(MANIFEST_DIR / name, tmp_path / name)
    data = json.loads((tmp_path / "views.json").read_text(encoding="utf-8"))
    change(data)
    (tmp_path / "views.json").write_text(json.dumps(data), encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["views"][1]["columns"].append("Nonsense"),
            "views.json view “Awaiting SMT's decision”: KCPF Arrangements has no column “Nonsense”",
        ),
        (
            lambda d: d["views"][1]["where"][0].update({"in": ["proposed", "maybe"]}),
            "views.json view “Awaiting SMT's decision”: ArrangementStatus has no choice “maybe”",
        ),
        (
            lambda d: d["views"][3]["where"].append(
                {"column": "Partner", "onOrBefore": {"daysFromToday": 1}}
            ),
            "views.json view “Open governance gaps”: “onOrBefore” needs a date column",
        ),
        (
            lambda d: d["views"][4]["where"][1]["any"].pop(),
            "views.json view “Ending or due for re-procurement within 12 months”: “any” stands alone in its "
            "object and lists at least two conditions",
        ),
        (
            lambda d: d["views"][4]["where"][1].update({"column": "EndDate"}),
            "“any” stands alone in its object",
        ),
        (
            lambda d: d["views"][4]["where"][1]["any"][1]["all"][0].update({"column": "Nonsense"}),
            "KCPF Arrangements has no column “Nonsense” to filter on",
        ),
        (
            lambda d: d["views"][0].update({"list": "nope"}),
            "views.json view “Key arrangements by council”: there is no list with key “nope”",
        ),
        (
            lambda d: d["columnFormatting"][1]["colours"].pop("amber"),
            "views.json column formatting of “LatestPerformance”: no colour for the choice(s) amber",
        ),
        (
            lambda d: d["columnFormatting"][2]["colours"].update({"green": "green"}),
            "green is not one of SharePoint's colour classes",
        ),
    ],
)
def test_a_wrong_view_or_formatting_is_refused_naming_it(tmp_path: Path, change: Any, message: str) -> None:
    directory = manifest_with(tmp_path, change)
    with pytest.raises(SchemaInvalid) as refused:
        load_views(load_schema(directory), directory)
    assert message in str(refused.value)
