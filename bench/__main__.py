"""Run every benchmark: `make bench` (or `python -m bench`).

One by name, with its options: `python -m bench bot --officers 20`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from bench import bot, import_export, register, reports, sharepoint

BENCHMARKS: dict[str, Callable[[Sequence[str]], None]] = {
    "import_export": lambda options: import_export.main(),
    "reports": lambda options: reports.main(),
    "sharepoint": lambda options: sharepoint.main(),
    "bot": bot.main,
    "register": register.main,
}


def main() -> None:
    name, options = (sys.argv[1], sys.argv[2:]) if len(sys.argv) > 1 else ("", [])
    if name and name not in BENCHMARKS:
        sys.exit(f"no benchmark called “{name}”; there are: {', '.join(BENCHMARKS)}")
    for each, run in BENCHMARKS.items():
        if name in ("", each):
            run(options)


if __name__ == "__main__":
    main()
