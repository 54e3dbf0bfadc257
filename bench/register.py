"""The register page on a SQLite register of 1,000 key arrangements with their records (bench/reports.py
`fill`), served by the real `kcpf serve` in its own process: time to first byte, total time and size of
GET /register (all of them), a filtered view, one arrangement's page and the CSV, over repeated requests
after a warm-up. Baselines measured in the same run: GET /healthz on the same server, and the register read
alone (FrameworkService.files over every arrangement, in this process), which every register page starts
with.

Each request is a new connection asking for gzip, as a browser's first visit would. Time to first byte is
until the status line and headers are read (aiohttp sends them with the first part of the body).

The page keeps the rows it built until an arrangement changes (or a minute passes), so /register is measured
twice: read again and again, and just after a change (one arrangement saved again before each request), when
every arrangement's records are read and the rows rebuilt.

Target: GET /register with 1,000 arrangements answers its first byte in under 300 ms.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import math
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.reports import TP, Clock, fill
from connectors.sqlite_register import SqliteRegister
from kcpf.framework import FRAMEWORK_2025
from kcpf.model import Arrangement, format_reference
from kcpf.services import FrameworkService
from tests.playground import free_port, start_bot

ARRANGEMENTS = 1_000
REQUESTS = 20
WARMUP = 3
TARGET_MS = 300.0
ROW_LINK = b'href="/register/KCP-'


@dataclass(frozen=True)
class Figures:
    """One request (or the in-process baseline) measured `len(total_ms)` times."""

    what: str
    ttfb_ms: tuple[float, ...]  # empty for the in-process baseline
    total_ms: tuple[float, ...]
    size: int = 0  # bytes of the page as the browser reads it (after gzip, if it was compressed)
    wire: int | None = None  # bytes sent when the server compressed; None when it did not
    gzip_size: int = 0  # what gzip would make of it (level 6), to see what compression would save
    rows: int | None = None  # arrangements in the answer (row links on a page, lines of a CSV)


class BadAnswer(RuntimeError):
    pass


@dataclass(frozen=True)
class Answer:
    ttfb: float
    total: float
    body: bytes
    wire: int | None


def fetch(port: int, path: str) -> Answer:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        started = time.perf_counter()
        connection.request("GET", path, headers={"Accept-Encoding": "gzip", "Connection": "close"})
        response = connection.getresponse()
        first = time.perf_counter()
        body = response.read()
        done = time.perf_counter()
    finally:
        connection.close()
    if response.status != 200:
        raise BadAnswer(f"GET {path} answered {response.status}: {body[:300]!r}")
    wire = None
    if response.getheader("Content-Encoding", "") == "gzip":
        wire, body = len(body), gzip.decompress(body)
    return Answer(first - started, done - started, body, wire)


def rows_in(path: str, body: bytes) -> int | None:
    if path.startswith("/register.csv"):
        return len(body.decode("utf-8-sig").splitlines()) - 1  # no line breaks inside the sample's values
    if path == "/register" or path.startswith("/register?"):
        return body.count(ROW_LINK)
    return None


def measure_request(
    port: int, path: str, what: str, requests: int, warmup: int, before: Callable[[], object] = lambda: None
) -> Figures:
    """`before` runs ahead of each request, untimed."""
    for _ in range(warmup):
        before()
        fetch(port, path)
    answers = []
    for _ in range(requests):
        before()
        answers.append(fetch(port, path))
    last = answers[-1]
    return Figures(
        what,
        tuple(a.ttfb * 1000 for a in answers),
        tuple(a.total * 1000 for a in answers),
        len(last.body),
        last.wire,
        len(gzip.compress(last.body, compresslevel=6)),
        rows_in(path, last.body),
    )


def measure_read(path: Path, requests: int, warmup: int) -> Figures:
    """The register read alone: every arrangement and its records, as the page's handler reads them."""
    with SqliteRegister(path) as register:
        framework = FrameworkService(register, Clock(), FRAMEWORK_2025)

        def read() -> int:
            return len(framework.files(framework.arrangements()))

        times = []
        for n in range(warmup + requests):
            started = time.perf_counter()
            count = read()
            if n >= warmup:
                times.append((time.perf_counter() - started) * 1000)
    return Figures("register read alone, in process (baseline)", (), tuple(times), rows=count)


def p95(values: Sequence[float]) -> float:
    """The nearest-rank 95th percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def run(arrangements: int, requests: int, warmup: int, log: Callable[[str], None] = print) -> list[Figures]:
    """Fill a register, start `kcpf serve` on it and measure. The figures: the two baselines, /register as
    it is read again and again, /register just after a change, then the other requests."""
    with tempfile.TemporaryDirectory(prefix="kcpf-bench-register-") as temp:
        data_dir = Path(temp) / "data"
        data_dir.mkdir()
        path = data_dir / "register.sqlite3"
        started = time.perf_counter()
        with SqliteRegister(path) as register:
            fill(register, arrangements)
        filled = time.perf_counter() - started
        log(f"  (filled {arrangements:,} arrangements with their records in {filled:.1f} s)")
        port = free_port()
        bot = start_bot(data_dir, port, Path(temp) / "bot.log")
        try:
            figures = [
                measure_request(port, "/healthz", "GET /healthz (baseline)", requests, warmup),
                measure_read(path, requests, warmup),
                measure_request(port, "/register", f"GET /register (all {arrangements:,})", requests, warmup),
            ]
            with SqliteRegister(path) as writer:

                def change() -> Arrangement:
                    """An officer's edit: one arrangement saved again, so its version goes up."""
                    first = writer.get(format_reference(1))
                    return writer.save(first, action="bench", actor=TP.email, at=Clock().now())

                figures.append(
                    measure_request(
                        port, "/register", "GET /register just after a change", requests, warmup, change
                    )
                )
            others = [
                (
                    "/register?council=chorley&status=monitoring",
                    "GET /register?council=chorley&status=monitoring",
                ),
                (f"/register/{format_reference(max(1, arrangements // 2))}", "GET /register/{reference}"),
                ("/register.csv", f"GET /register.csv (all {arrangements:,})"),
            ]
            figures += [measure_request(port, p, what, requests, warmup) for p, what in others]
        finally:
            bot.stop()
    return figures


def report(arrangements: int, requests: int, warmup: int, figures: Sequence[Figures]) -> list[str]:
    lines = [
        f"Register page on {arrangements:,} arrangements with their records: kcpf serve on 127.0.0.1, a new "
        f"connection per request asking for gzip; {warmup} warm-up, then {requests} measured (median / p95):",
        f"  {'request':<50} {'TTFB':>17} {'total':>17} {'size':>9} {'sent':>9} {'gzip -6':>9} {'rows':>6}",
    ]
    for f in figures:
        ttfb = f"{statistics.median(f.ttfb_ms):7.1f} /{p95(f.ttfb_ms):6.1f}ms" if f.ttfb_ms else "-"
        total = f"{statistics.median(f.total_ms):7.1f} /{p95(f.total_ms):6.1f}ms"
        size = kb(f.size) if f.size else "-"
        sent = kb(f.wire) if f.wire is not None else ("as is" if f.size else "-")
        packed = kb(f.gzip_size) if f.size else "-"
        rows = "-" if f.rows is None else f"{f.rows:,}"
        lines.append(f"  {f.what:<50} {ttfb:>17} {total:>17} {size:>9} {sent:>9} {packed:>9} {rows:>6}")
    health, read, again, changed = figures[:4]
    read_ms = statistics.median(read.total_ms)
    lines.append(
        f"  /register's TTFB: {statistics.median(again.ttfb_ms) / statistics.median(health.ttfb_ms):.0f}x "
        f"/healthz's read again and again, {statistics.median(changed.ttfb_ms) / read_ms:.1f}x the register "
        "read alone just after a change"
    )
    if not any(f.wire is not None for f in figures):
        lines.append(
            "  the server does not compress: 'sent' is the size as is; 'gzip -6' is what gzip would send"
        )
    for page, when in ((again, "read again and again"), (changed, "just after a change")):
        median, high = statistics.median(page.ttfb_ms), p95(page.ttfb_ms)
        verdict = "met" if median < TARGET_MS else "NOT met"
        at_p95 = "also at p95" if high < TARGET_MS else "not at p95"
        lines.append(
            f"  target: GET /register with {arrangements:,} arrangements, TTFB under {TARGET_MS:.0f} ms, "
            f"{when}: {verdict} (median {median:.1f} ms; {at_p95}: {high:.1f} ms)"
        )
    return lines


def kb(size: int) -> str:
    return f"{size / 1024:,.1f}KB"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench register", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--arrangements",
        type=int,
        default=ARRANGEMENTS,
        help=f"arrangements in the register (default {ARRANGEMENTS:,})",
    )
    parser.add_argument(
        "--requests", type=int, default=REQUESTS, help=f"measured per request (default {REQUESTS})"
    )
    parser.add_argument(
        "--warmup", type=int, default=WARMUP, help=f"warm-up requests each (default {WARMUP})"
    )
    args = parser.parse_args(argv)
    if args.arrangements < 1 or args.requests < 1 or args.warmup < 0:
        parser.error("--arrangements and --requests must be at least 1, --warmup at least 0")
    figures = run(args.arrangements, args.requests, args.warmup)
    for line in report(args.arrangements, args.requests, args.warmup, figures):
        print(line)


if __name__ == "__main__":
    main()
