"""Reading what someone types to ask for a report (the bot's `report ...` command)."""

from __future__ import annotations

import pytest

from kcpf.calendar import FinancialYear, Period
from kcpf.errors import InvalidInput
from kcpf.model import Council
from kcpf.reports.requests import parse_request
from kcpf.reports.service import CabinetReport, PackReport, ReportRequest, SmtReport


@pytest.mark.parametrize(
    ("text", "request_"),
    [
        ("report smt 2026/27-H1", SmtReport(Period.parse("2026/27-H1"))),
        ("SMT 2026/27 h2", SmtReport(Period.parse("2026/27-H2"))),
        ("report cabinet chorley 2025/26", CabinetReport(Council.CHORLEY, FinancialYear(2025))),
        ("cabinet South Ribble 2025-2026", CabinetReport(Council.SOUTH_RIBBLE, FinancialYear(2025))),
        ("report pack kcp-1", PackReport("KCP-0001")),
        ("appendix KCP 12", PackReport("KCP-0012")),
    ],
)
def test_requests_are_read(text: str, request_: ReportRequest) -> None:
    assert parse_request(text) == request_


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("report", "Ask for a report like this"),
        ("report minutes", "“minutes” is not a report"),
        ("report smt", "Which half-year?"),
        ("report smt 2026", "is not a half-year"),
        ("report cabinet chorley", "Which council and year?"),
        ("report cabinet shared 2025/26", "one council's executive"),
        ("report cabinet preston 2025/26", "not one of the councils"),
        ("report pack", "Which arrangement?"),
        ("report pack leisure", "not a KCPF reference"),
    ],
)
def test_bad_requests_say_how_to_ask(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_request(text)
