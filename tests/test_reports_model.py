"""The content model refuses what would make a report inaccessible: empty headings, levels outside 1 to 3,
tables with missing headers or ragged rows, charts without alt text, links that do not say where they go."""

from __future__ import annotations

import pytest

from kcpf.errors import InvalidInput
from kcpf.reports.content import Chart, Heading, Link, Table


def test_headings_need_text_and_a_level_from_1_to_3() -> None:
    with pytest.raises(InvalidInput, match="needs text"):
        Heading("  ", 1)
    with pytest.raises(InvalidInput, match="level 1 to 3, not 4"):
        Heading("Deep", 4)
    assert Heading("Summary", 1).level == 1


def test_tables_need_a_header_for_every_column_and_full_rows() -> None:
    with pytest.raises(InvalidInput, match="needs a header"):
        Table(("Risk", ""), (), "Risks")
    with pytest.raises(InvalidInput, match="has 1 cell for 2 columns"):
        Table(("Risk", "Rating"), (("Energy",),), "Risks")


def test_charts_need_alt_text() -> None:
    with pytest.raises(InvalidInput, match="alt text"):
        Chart("RAG", " ", (("Green", 1),))


@pytest.mark.parametrize("text", ["click here", "Here", "", "link"])
def test_links_need_meaningful_text(text: str) -> None:
    with pytest.raises(InvalidInput, match="says where it goes"):
        Link(text, "https://example.org")
