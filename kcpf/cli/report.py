"""`kcpf report`: the Word reports. The update to SMT and to each executive are T&P's; a responsible officer
may produce the Appendix A pack of their own arrangement."""

from __future__ import annotations

import argparse
from pathlib import Path

from connectors.files import write_bytes_atomically
from kcpf.calendar import FinancialYear, Period
from kcpf.cli.arguments import (
    EXIT_OK,
    Commands,
    Handler,
    Parser,
    actor_email,
    argument,
    council,
    reference,
    uk_date,
)
from kcpf.cli.compose import Application
from kcpf.errors import InvalidInput
from kcpf.model import Council
from kcpf.reports.cabinet import CabinetDetails
from kcpf.reports.service import CabinetReport, PackReport, ReportRequest, SmtReport

period = argument(Period.parse)
financial_year = argument(FinancialYear.parse)


def add_commands(commands: Commands) -> dict[str, Handler]:
    report = commands.add_parser(
        "report", help="Word reports: the update to SMT or an executive, an Appendix A pack"
    )
    sub = report.add_subparsers(dest="report_command", required=True, parser_class=Parser)

    smt = sub.add_parser("smt", help="the biannual update to SMT for a half-year")
    smt.add_argument("--period", required=True, type=period, help="the half-year, like 2026/27-H1")

    cabinet = sub.add_parser(
        "cabinet", help="the annual update to a council's executive (Executive Cabinet, Cabinet)"
    )
    cabinet.add_argument("--council", required=True, type=council, help="chorley or south-ribble")
    cabinet.add_argument("--year", required=True, type=financial_year, help="the year reported, like 2025/26")
    cabinet.add_argument("--meeting-date", type=uk_date, help="the date of the meeting")
    cabinet.add_argument("--report-of", default="", help="whose report it is, e.g. the director's title")
    cabinet.add_argument("--finance-comments", default="", help="the statutory finance officer's comments")
    cabinet.add_argument("--monitoring-comments", default="", help="the monitoring officer's comments")
    cabinet.add_argument(
        "--framework-url", default="", help="where the framework is published (a background document)"
    )
    cabinet.add_argument(
        "--confidential-risk",
        action="store_true",
        help="put risks and financial stability in a confidential appendix (not for publication)",
    )

    pack = sub.add_parser("pack", help="the Appendix A pack of one arrangement (criteria and governance)")
    pack.add_argument("reference", type=reference)

    for parser in (smt, cabinet, pack):
        parser.add_argument(
            "--out", type=Path, help="file to write (default: the reports folder in the data directory)"
        )
        parser.add_argument("--on", type=uk_date, help="the date the report is compiled on (default: today)")
        parser.add_argument("--by", metavar="EMAIL", help="who is producing it (default: KCPF_USER)")
    return {"report": _report}


def _report(app: Application, args: argparse.Namespace) -> int:
    actor = app.actor(actor_email(app, args.by))
    request = _request(args)
    if args.out is None:
        produced = app.reports.produce(actor, request)
        title, where = produced.title, produced.location
    else:
        out: Path = args.out
        if out.suffix.lower() != ".docx":
            raise InvalidInput(f"--out {out}: a Word report's file name ends in .docx.", field="out")
        rendered = app.reports.render(actor, request)
        write_bytes_atomically(out, rendered.content)
        title, where = rendered.title, str(out)
    print(f"Wrote “{title}” to {where}.")
    return EXIT_OK


def _request(args: argparse.Namespace) -> ReportRequest:
    if args.report_command == "smt":
        return SmtReport(args.period, on=args.on)
    if args.report_command == "pack":
        return PackReport(args.reference, on=args.on)
    if args.council is Council.SHARED:
        raise InvalidInput(
            "The annual update goes to one council's executive: --council chorley or --council south-ribble.",
            field="council",
        )
    details = CabinetDetails(
        report_of=args.report_of,
        meeting_date=args.meeting_date,
        finance_comments=args.finance_comments,
        monitoring_comments=args.monitoring_comments,
        confidential_risk=args.confidential_risk,
        framework_url=args.framework_url,
    )
    return CabinetReport(args.council, args.year, details, on=args.on)
