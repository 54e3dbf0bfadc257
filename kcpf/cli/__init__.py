"""`kcpf`: the command line for T&P administrators and scripts. Exit codes: 0 ok, 2 bad input, 1 unexpected.

This package is the entry point that wires adapters together; the rest of `kcpf/` stays pure.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path

from connectors.files import write_atomically
from connectors.transparency_csv import read_csv, write_csv
from kcpf.assessment import Answer
from kcpf.cli import remind, report, serve, sharepoint, show, teams
from kcpf.cli.arguments import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    EXIT_UNEXPECTED,
    CommandGroup,
    Handler,
    Parser,
    actor_email,
    council,
    reference,
    status,
    uk_date,
)
from kcpf.cli.compose import Application, application, prepare_data_dir
from kcpf.cli.settings import InvalidSetting, Settings
from kcpf.errors import InvalidInput, KcpfError
from kcpf.export import export_document
from kcpf.framework import CURRENT_VERSION, VERSIONS, Criterion
from kcpf.model import Officer
from kcpf.parsing import format_uk_date, split_answer
from kcpf.transparency import export_table, parse_map_options
from kcpf.wording import plural

log = logging.getLogger("kcpf")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="kcpf", description="Key Contracts and Partnerships Framework: the register and its tools."
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    register = commands.add_parser("register", help="the register of contracts and partnerships")
    sub = register.add_subparsers(dest="register_command", required=True, parser_class=Parser)

    imp = sub.add_parser("import", help="import a council's published contract register (CSV)")
    imp.add_argument("file", type=Path)
    imp.add_argument("--council", required=True, type=council)
    imp.add_argument("--skip-invalid", action="store_true", help="import the valid rows and list the others")
    imp.add_argument(
        "--map", action="append", default=[], metavar="COLUMN=FIELD", help="name a column's field"
    )
    imp.add_argument("--by", metavar="EMAIL", help="who is importing (default: KCPF_USER)")

    lst = sub.add_parser("list", help="list contracts and partnerships")
    lst.add_argument("--council", type=council)
    lst.add_argument("--status", type=status)
    lst.add_argument("--officer", metavar="EMAIL")

    shw = sub.add_parser("show", help="everything recorded about one arrangement")
    shw.add_argument("reference", type=reference)

    asg = sub.add_parser("assign", help="set the responsible officer")
    asg.add_argument("reference", type=reference)
    asg.add_argument("--officer", required=True, metavar="EMAIL")
    asg.add_argument("--name", default="")
    asg.add_argument("--by", metavar="EMAIL", help="who is assigning (default: KCPF_USER)")

    exp = sub.add_parser("export", help="export the register as CSV (Transparency Code layout) or JSON")
    exp.add_argument("--format", required=True, choices=("csv", "json"))
    exp.add_argument("--out", type=Path, help="file to write (default: standard output)")

    assess = commands.add_parser(
        "assess",
        help="record an assessment against the criteria",
        description="Answer each criterion yes or no, with a reason if you like. Leave out a criterion the "
        "record already answers (the annual value, the dates) to accept what it suggests.",
    )
    assess.add_argument("reference", type=reference)
    for criterion in _all_criteria():
        assess.add_argument(
            f"--{criterion.key}",
            metavar="ANSWER",
            help=f'{criterion.guidance} Yes or no: "yes, £250k a year"',
        )
    assess.add_argument("--by", metavar="EMAIL", help="who is assessing (default: KCPF_USER)")

    due = commands.add_parser("due", help="what is due and overdue, by officer")
    due.add_argument("--on", type=uk_date, help="the day to look from (default: today)")
    due.add_argument("--officer", metavar="EMAIL")

    # Command groups that live in their own modules add their parsers and handlers here.
    for group in _GROUPS:
        _COMMANDS.update(group(commands))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env(os.environ)
        prepare_data_dir(settings)
    except InvalidSetting as error:
        print(f"kcpf: {error.message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    _configure_logging(settings)
    try:
        with application(settings) as app:
            return _run(app, args)
    except KcpfError as error:
        print(f"kcpf: {error.message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception:
        incident = uuid.uuid4().hex[:8]
        log.exception("unexpected error %s", incident)
        print(
            f"kcpf: something went wrong (incident {incident}); details are in {settings.log_path}.",
            file=sys.stderr,
        )
        return EXIT_UNEXPECTED


def _run(app: Application, args: argparse.Namespace) -> int:
    if args.command == "register":
        return _REGISTER[args.register_command](app, args)
    return _COMMANDS[args.command](app, args)


def _register_import(app: Application, args: argparse.Namespace) -> int:
    actor = app.actor(actor_email(app, args.by))
    headers, rows = read_csv(args.file)
    plan = app.framework.import_register(
        actor,
        args.council,
        headers,
        rows,
        mapping=parse_map_options(args.map),
        skip_invalid=args.skip_invalid,
    )
    for problem in plan.problems:
        print(problem, file=sys.stderr)
    for note in plan.notes:
        print(note)
    if plan.blocked:
        print(plan.summary(), file=sys.stderr)
        return EXIT_BAD_INPUT
    skipped = len(plan.rows_not_imported)
    left_out = (
        f" {plural(skipped, 'row')} with problems {'was' if skipped == 1 else 'were'} left out."
        if skipped
        else ""
    )
    print(
        f"Imported {args.file.name} for {args.council.label}: {len(plan.to_add)} added, "
        f"{len(plan.to_update)} updated, {plan.unchanged} unchanged.{left_out}"
    )
    return EXIT_OK


def _register_list(app: Application, args: argparse.Namespace) -> int:
    arrangements = app.framework.arrangements(council=args.council, status=args.status, officer=args.officer)
    print(show.arrangement_table(arrangements))
    if not arrangements and not (args.council or args.status or args.officer):
        print(
            "To start, import a council's published contract register:\n"
            "  kcpf register import FILE.csv --council chorley|south-ribble|shared --by YOUR-EMAIL"
        )
    return EXIT_OK


def _register_show(app: Application, args: argparse.Namespace) -> int:
    print(show.arrangement_file(app.framework.file(args.reference), app.rules))
    return EXIT_OK


def _register_assign(app: Application, args: argparse.Namespace) -> int:
    actor = app.actor(actor_email(app, args.by))
    saved = app.framework.assign_officer(actor, args.reference, Officer(args.officer, args.name))
    assert saved.responsible_officer is not None
    print(f"{saved.reference}: responsible officer is now {saved.responsible_officer.display}.")
    return EXIT_OK


def _register_export(app: Application, args: argparse.Namespace) -> int:
    arrangements = app.framework.arrangements()
    out = args.out
    if args.format == "json":
        document = export_document(app.framework.files(arrangements), app.rules, app.framework.clock.now())
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        if out is None:
            sys.stdout.write(text)
        else:
            write_atomically(out, lambda stream: stream.write(text))
    else:
        headers, rows = export_table(arrangements)
        write_csv(sys.stdout if out is None else out, headers, rows)
    if out is not None:
        print(f"Exported {len(arrangements)} contracts and partnerships to {out}.")
    return EXIT_OK


def _assess(app: Application, args: argparse.Namespace) -> int:
    actor = app.actor(actor_email(app, args.by))
    answers: dict[str, Answer] = {}
    for criterion in _all_criteria():
        given = getattr(args, criterion.key)
        if given is not None:
            try:
                answers[criterion.key] = Answer(*split_answer(given))
            except InvalidInput as error:
                raise InvalidInput(f"--{criterion.key}: {error.message}", field=criterion.key) from None
    saved, assessment = app.framework.assess(actor, args.reference, answers)
    print(f"{saved.reference} {saved.title}: {assessment.explanation}.")
    if assessment.is_key:
        print("It can now be proposed to SMT as a key contract or partnership.")
    return EXIT_OK


def _due(app: Application, args: argparse.Namespace) -> int:
    on = args.on or app.framework.clock.now().date()
    print(f"Due and overdue on {format_uk_date(on)}:")
    print(show.obligations_text(app.framework.due(on, officer=args.officer)))
    return EXIT_OK


def _all_criteria() -> list[Criterion]:
    """Every criterion of every known framework version, the current version's first and in its order."""
    seen: dict[str, Criterion] = {}
    for version in (CURRENT_VERSION, *VERSIONS):
        for criterion in VERSIONS[version].criteria:
            seen.setdefault(criterion.key, criterion)
    return list(seen.values())


_REGISTER = {
    "import": _register_import,
    "list": _register_list,
    "show": _register_show,
    "assign": _register_assign,
    "export": _register_export,
}
_COMMANDS: dict[str, Handler] = {"assess": _assess, "due": _due}
_GROUPS: tuple[CommandGroup, ...] = (
    serve.add_commands,
    report.add_commands,
    sharepoint.add_commands,
    teams.add_commands,
    remind.add_commands,
)


def _configure_logging(settings: Settings) -> None:
    """Details go to the log file only: the console gets a sentence and an incident id, never a traceback."""
    handler = logging.FileHandler(settings.log_path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    for old in log.handlers:
        old.close()
    log.handlers[:] = [handler]
    log.propagate = False
    log.setLevel(logging.INFO)
    # The Agents SDK logs its own failures with tracebacks: into the same file, never onto the console.
    sdk = logging.getLogger("microsoft_agents")
    for old in sdk.handlers:
        old.close()
    sdk.handlers[:] = [handler]
    sdk.propagate = False
    sdk.setLevel(logging.WARNING)
