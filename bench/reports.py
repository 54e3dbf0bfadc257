"""The biannual update to SMT for registers of 50, 200 and 1,000 key arrangements (each with KPIs, risks,
financial stability, a governance gap and its half-year update): time and peak memory, how they grow, and a
baseline measured in the same run: python-docx's own API writing a plain document with as many table rows.

Target: 200 arrangements in under 3 seconds on this machine."""

from __future__ import annotations

import io
import itertools
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import docx

from connectors.clock import LONDON
from connectors.report_folder import ReportFolder
from connectors.sqlite_register import SqliteRegister
from connectors.word import WordRenderer
from kcpf.assessment import Answer, assess
from kcpf.calendar import Period
from kcpf.framework import FRAMEWORK_2025
from kcpf.governance import AreaAnswer, InPlace, applicable_areas, review_governance
from kcpf.lifecycle import RoleDirectory
from kcpf.model import Arrangement, ArrangementType, Council, Officer, Status
from kcpf.monitoring import Kpi, Rag, Risk, Trend, prepare_update
from kcpf.records import Record
from kcpf.reports.content import Table
from kcpf.reports.service import ReportService, SmtReport
from kcpf.services import FrameworkService

SIZES = (50, 200, 1_000)
RUNS = 3
TARGET = (200, 3.0)
PERIOD = Period.parse("2026/27-H1")
TODAY = date(2026, 11, 20)
TP = RoleDirectory(tp=frozenset({"tp@chorley.gov.uk"})).actor("tp@chorley.gov.uk", "T&P")
COUNCILS = (Council.CHORLEY, Council.SOUTH_RIBBLE, Council.SHARED)
RAGS = (Rag.GREEN, Rag.AMBER, Rag.RED)


class Clock:
    def now(self) -> datetime:
        return datetime(2026, 11, 20, 10, tzinfo=LONDON)


def fill(register: SqliteRegister, count: int) -> None:
    """`count` key arrangements in monitoring, written straight to the register with their records."""
    at = datetime(2026, 10, 20, 10, tzinfo=LONDON)
    for n in range(count):
        officer = Officer(f"officer{n % 40}@chorley.gov.uk", f"Officer {n % 40}")
        draft = Arrangement(
            title=f"Arrangement {n} for {('waste', 'leisure', 'housing', 'ICT')[n % 4]}",
            type=ArrangementType.PARTNERSHIP if n % 3 == 0 else ArrangementType.CONTRACT,
            council=COUNCILS[n % 3], partner=f"Partner {n} Ltd", responsible_officer=officer,
            annual_value=Decimal(100_000 + 1_250 * n), total_value=Decimal(1_000_000 + 12_500 * n),
            start_date=date(2022, 4, 1), end_date=date(2027 + n % 8, 3, 31), data_shared=n % 2 == 0,
            status=Status.MONITORING, key_since=date(2024, 6, 1),
        )  # fmt: skip
        saved = register.save(draft, action="bench", actor=TP.email, at=at)
        answers = {k: Answer(True, "bench") for k in FRAMEWORK_2025.criterion_keys}
        areas = {a.key: AreaAnswer(a.key, InPlace.YES) for a in applicable_areas(FRAMEWORK_2025, saved)}
        areas["exit_strategy"] = AreaAnswer(
            "exit_strategy", InPlace.NO, "Agree an exit plan", date(2027, 3, 31)
        )
        kpis = [
            Kpi.measured(FRAMEWORK_2025, f"Measure {k}", Decimal(100), Decimal(90 + 5 * k)) for k in range(3)
        ]
        records: list[Record] = [
            assess(FRAMEWORK_2025, saved, answers, by=TP.email, at=at),
            review_governance(FRAMEWORK_2025, saved, areas, by=TP.email, at=at),
            prepare_update(
                saved, PERIOD, performance=RAGS[n % 3], kpis=kpis, achievements="Targets met on time",
                issues_to_escalate="None" if n % 5 else "Budget pressure", by=TP.email, at=at,
                risks=[Risk("Supply chain", Rag.AMBER, Trend.STABLE),
                       Risk("Staffing", Rag.GREEN, Trend.IMPROVING)],
                financial_stability=Risk("Accounts filed; no concerns", Rag.GREEN, Trend.STABLE),
            ),
        ]  # fmt: skip
        register.save(saved, action="bench", actor=TP.email, at=at, records=records)


def table_rows(reports: ReportService) -> int:
    document = reports.document(TP, SmtReport(PERIOD, on=TODAY))
    return sum(len(b.rows) + 1 for b in document.blocks() if isinstance(b, Table))


def baseline(rows: int) -> Callable[[], int]:
    """python-docx's public API: a document with one heading and `rows` three-column table rows."""

    def run() -> int:
        document = docx.Document()
        document.add_heading("Baseline", 1)
        table = document.add_table(rows=0, cols=3)
        for n in range(rows):
            cells = table.add_row().cells
            cells[0].text, cells[1].text, cells[2].text = f"Item {n}", "Detail", "Green"
        buffer = io.BytesIO()
        document.save(buffer)
        return len(buffer.getvalue())

    return run


def timed(run: Callable[[], int]) -> tuple[list[float], int]:
    times, size = [], 0
    for _ in range(RUNS):
        started = time.perf_counter()
        size = run()
        times.append(time.perf_counter() - started)
    return times, size


def peak_memory(run: Callable[[], int]) -> int:
    """Peak bytes Python allocated during one run (a separate pass: tracing slows the run). lxml's own
    allocations are not traced, hence also `peak_rss_growth`."""
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def rss_in_child(kind: str, size: int) -> int | None:
    """`peak_rss_growth` of one run in a fresh process, so earlier runs' memory does not hide it."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.reports", "--rss", kind, str(size)], capture_output=True, text=True
    )
    return int(done.stdout) if done.returncode == 0 and done.stdout.strip().isdigit() else None


def child(kind: str, size: int) -> None:
    if kind == "baseline":
        growth = peak_rss_growth(baseline(size))
    else:
        with tempfile.TemporaryDirectory() as folder, SqliteRegister(Path(folder) / "r.sqlite3") as register:
            fill(register, size)
            framework = FrameworkService(register, Clock(), FRAMEWORK_2025)
            reports = ReportService(framework, WordRenderer(), ReportFolder(Path(folder) / "reports"))
            growth = peak_rss_growth(lambda: len(reports.render(TP, SmtReport(PERIOD, on=TODAY)).content))
    print("" if growth is None else growth)


def peak_rss_growth(run: Callable[[], int]) -> int | None:
    """How far the process's resident memory peaked above where it started, over one run (Linux: the
    peak is reset through /proc/self/clear_refs). None where that is not available."""
    status, clear = Path("/proc/self/status"), Path("/proc/self/clear_refs")

    def field(name: str) -> int:
        line = next(x for x in status.read_text().splitlines() if x.startswith(name + ":"))
        return int(line.split()[1]) * 1024

    try:
        before = field("VmRSS")
        clear.write_text("5")
        run()
        return field("VmHWM") - before
    except (OSError, StopIteration):
        return None


def main() -> None:
    print(f"SMT biannual update ({PERIOD.label}) to Word: register read, build and render; best of {RUNS}:")
    print("  py peak: tracemalloc's peak; rss peak: resident memory's rise over one run in a fresh process")
    print(f"  {'arrangements':>12} {'time':>9} {'py peak':>9} {'rss peak':>9} {'size':>8} {'rows':>7} "
          f"{'baseline':>9} {'x base':>7} {'base rss':>9}")  # fmt: skip
    results: list[tuple[int, float, int, int | None]] = []
    for count in SIZES:
        with tempfile.TemporaryDirectory() as folder, SqliteRegister(Path(folder) / "r.sqlite3") as register:
            fill(register, count)
            framework = FrameworkService(register, Clock(), FRAMEWORK_2025)
            reports = ReportService(framework, WordRenderer(), ReportFolder(Path(folder) / "reports"))

            def produce(reports: ReportService = reports) -> int:
                return len(reports.render(TP, SmtReport(PERIOD, on=TODAY)).content)

            times, size = timed(produce)
            memory = peak_memory(produce)
            rows = table_rows(reports)
            base_times, _ = timed(baseline(rows))
        rss = rss_in_child("kcpf", count)
        base_rss = rss_in_child("baseline", rows)
        best, base = min(times), min(base_times)
        results.append((count, best, memory, rss))
        print(
            f"  {count:>12,} {best:>8.3f}s {mb(memory):>9} {mb(rss):>9} {size / 1024:>6,.0f}KB {rows:>7,} "
            f"{base:>8.3f}s {best / base:>6.2f}x {mb(base_rss):>9}   (median {statistics.median(times):.3f}s)"
        )
    for (n0, t0, m0, r0), (n1, t1, m1, r1) in itertools.pairwise(results):
        rss_growth = f", rss peak {r1 / r0:.1f}x" if r0 and r1 else ""
        print(
            f"  {n0:,} -> {n1:,} arrangements ({n1 / n0:.0f}x): time {t1 / t0:.1f}x, py peak {m1 / m0:.1f}x"
            + rss_growth
        )
    target_count, target_seconds = TARGET
    measured = next(t for n, t, _, _ in results if n == target_count)
    verdict = "met" if measured < target_seconds else "NOT met"
    print(
        f"  target: {target_count} arrangements in under {target_seconds:.0f} s: {verdict} ({measured:.3f} s)"
    )


def mb(amount: int | None) -> str:
    return "n/a" if amount is None else f"{amount / 2**20:.1f}MB"


if __name__ == "__main__":
    if sys.argv[1:2] == ["--rss"]:
        child(sys.argv[2], int(sys.argv[3]))
    else:
        main()
