"""What someone types to ask for a report (in the bot: "report smt 2026/27-H1"), read into a request."""

from __future__ import annotations

import re

from kcpf.calendar import FinancialYear, Period
from kcpf.errors import InvalidInput
from kcpf.model import Council, parse_reference
from kcpf.reports.service import CabinetReport, PackReport, ReportRequest, SmtReport

USAGE = (
    "Ask for a report like this: “report smt 2026/27-H1” (the update to SMT for a half-year), "
    "“report cabinet chorley 2025/26” (the annual update to a council's executive), or "
    "“report pack KCP-0001” (the Appendix A pack of one arrangement)."
)


def parse_request(text: str) -> ReportRequest:
    """“smt 2026/27-H1”, “cabinet south ribble 2025/26”, “pack KCP-0001”, with or without a leading
    “report”; errors say what was wrong and how to ask."""
    words = text.strip().split()
    if words and words[0].lower() == "report":
        words = words[1:]
    if not words:
        raise InvalidInput(USAGE, field="report")
    kind, rest = words[0].lower(), " ".join(words[1:])
    if kind == "smt":
        if not rest:
            raise InvalidInput("Which half-year? For example: report smt 2026/27-H1.", field="period")
        return SmtReport(Period.parse(rest))
    if kind in {"cabinet", "executive"}:
        match = re.fullmatch(r"(.+?)\s+(\d{4}\s*[/-]\s*\d{2,4})", rest)
        if match is None:
            raise InvalidInput(
                "Which council and year? For example: report cabinet chorley 2025/26.", field="council"
            )
        council = Council.parse(match.group(1))
        if council is Council.SHARED:
            raise InvalidInput(
                "The annual update goes to one council's executive: name Chorley or South Ribble.",
                field="council",
            )
        return CabinetReport(council, FinancialYear.parse(match.group(2)))
    if kind in {"pack", "appendix"}:
        if not rest:
            raise InvalidInput("Which arrangement? For example: report pack KCP-0001.", field="reference")
        return PackReport(parse_reference(rest))
    raise InvalidInput(f"“{words[0]}” is not a report. {USAGE}", field="report")
