"""`kcpf/` is the framework as code: no SDK, no I/O, no clock, no environment, except its CLI entry point."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

KCPF = Path(__file__).resolve().parent.parent / "kcpf"
ENTRY_POINTS = {"cli", "__main__.py"}

ALLOWED_STDLIB = {
    "__future__",
    "calendar",
    "collections",
    "dataclasses",
    "datetime",
    "decimal",
    "enum",
    "functools",
    "html",
    "itertools",
    "math",
    "operator",
    "re",
    "string",
    "types",
    "typing",
    "unicodedata",
}
# The clock, reached through datetime or date under any alias; modules with I/O are refused at import.
FORBIDDEN_CALLS = {("datetime", "now"), ("datetime", "today"), ("datetime", "utcnow"), ("date", "today")}
FORBIDDEN_NAMES = {"open", "input", "print", "__import__", "exec", "eval"}


def core_modules() -> list[Path]:
    return sorted(p for p in KCPF.rglob("*.py") if p.relative_to(KCPF).parts[0] not in ENTRY_POINTS)


def test_the_core_has_modules() -> None:
    assert len(core_modules()) >= 10


def impurities(source: str) -> list[str]:
    tree = ast.parse(source)
    problems: list[str] = []
    # "from datetime import datetime as dt" makes dt.now() a read of the clock too.
    aliases = {
        (a.asname or a.name): a.name.split(".")[-1]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for a in node.names
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for name in names:
                top = name.split(".")[0]
                if top == "kcpf":
                    if name.startswith("kcpf.cli"):
                        problems.append(f"line {node.lineno}: imports the entry point {name}")
                elif top not in ALLOWED_STDLIB:
                    kind = "standard library I/O" if top in sys.stdlib_module_names else "third-party"
                    problems.append(f"line {node.lineno}: imports {name} ({kind})")
        elif isinstance(node, ast.Attribute):
            owner = node.value.id if isinstance(node.value, ast.Name) else getattr(node.value, "attr", "")
            owner = aliases.get(owner, owner)
            if (owner, node.attr) in FORBIDDEN_CALLS:
                problems.append(f"line {node.lineno}: uses {owner}.{node.attr}")
        elif isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES and isinstance(node.ctx, ast.Load):
            problems.append(f"line {node.lineno}: uses {node.id}()")
    return problems


@pytest.mark.parametrize("path", core_modules(), ids=lambda p: str(p.relative_to(KCPF)))
def test_core_module_is_pure(path: Path) -> None:
    problems = impurities(path.read_text(encoding="utf-8"))
    assert not problems, f"{path.relative_to(KCPF)} is not pure:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("import os", "imports os (standard library I/O)"),
        ("import sqlite3", "imports sqlite3"),
        ("from aiohttp import web", "imports aiohttp (third-party)"),
        ("from connectors.clock import SystemClock", "imports connectors.clock"),
        ("from kcpf.cli.settings import Settings", "imports the entry point kcpf.cli.settings"),
        ("from datetime import date\nx = date.today()", "uses date.today"),
        ("import datetime\nx = datetime.datetime.now()", "uses datetime.now"),
        ("with open('f') as f: pass", "uses open()"),
        ("from datetime import datetime as dt\nx = dt.now()", "uses datetime.now"),
        ("import datetime as d\nx = d.date.today()", "uses date.today"),
    ],
)
def test_the_check_catches_impurity(source: str, found: str) -> None:
    """The purity check itself must fail on impure code, or it proves nothing."""
    assert any(found in problem for problem in impurities(source)), impurities(source)


def test_the_check_passes_pure_code() -> None:
    assert impurities("from datetime import date\nfrom kcpf.model import Council\nx = date(2026, 4, 1)") == []
