"""What every command group shares: exit codes, the argument parser class and argument types."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeAlias, TypeVar

from kcpf.errors import InvalidInput
from kcpf.model import Council, Status, parse_reference
from kcpf.parsing import parse_uk_date

if TYPE_CHECKING:
    from kcpf.cli.compose import Application

T = TypeVar("T")

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_BAD_INPUT = 2

Handler = Callable[["Application", argparse.Namespace], int]
"""A command: runs against the composed application and returns the exit code."""

Commands: TypeAlias = "argparse._SubParsersAction[Parser]"
"""Where a command group adds its parsers."""

CommandGroup: TypeAlias = Callable[[Commands], dict[str, Handler]]
"""A module's commands: adds its parsers (named as the command) and returns a handler for each."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_INPUT, f"kcpf: {message}\n")


def actor_email(app: Application, given: str | None) -> str:
    email = (given or app.settings.user).strip()
    if not email:
        raise InvalidInput("Say who is doing this with --by EMAIL (or set KCPF_USER).", field="by")
    return email


def argument(parse: Callable[[str], T]) -> Callable[[str], T]:
    """An argparse type from one of our parsers: argparse then names the option in the message."""

    def convert(text: str) -> T:
        try:
            return parse(text)
        except InvalidInput as error:
            raise argparse.ArgumentTypeError(error.message) from None

    return convert


council = argument(Council.parse)
status = argument(Status.parse)
reference = argument(parse_reference)
uk_date = argument(parse_uk_date)
