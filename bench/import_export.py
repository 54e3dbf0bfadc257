"""Import a 5,000-row Transparency Code register into the embedded register and export it as JSON,
against plain `csv` + `json` round-tripping the same file, in the same run."""

from __future__ import annotations

import csv
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from connectors.clock import SystemClock
from connectors.sqlite_register import SqliteRegister
from connectors.transparency_csv import read_csv
from kcpf.export import export_document
from kcpf.framework import FRAMEWORK_2025
from kcpf.lifecycle import RoleDirectory
from kcpf.model import Council
from kcpf.services import FrameworkService

ROWS = 5_000
RUNS = 3
HEADERS = [
    "Reference Number", "Title of agreement", "Department", "Description of goods and services",
    "Supplier Name", "Supplier details", "Contract Value (£)", "Irrecoverable VAT", "Start date", "End date",
    "Review date", "Procurement route", "SME/VCSE", "Company number",
]  # fmt: skip
TP = RoleDirectory(tp=frozenset({"tp@chorley.gov.uk"})).actor("tp@chorley.gov.uk")


def write_register(path: Path, rows: int) -> None:
    """A realistic, deterministic published register: £ signs, commas, UK dates, mixed case."""
    rng = random.Random(2026)
    services = ["Streetscene", "Communities", "Housing", "Customer and Digital", "Planning", "Finance"]
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(HEADERS)
        for n in range(rows):
            start = date(2018, 4, 1) + timedelta(days=rng.randrange(3000))
            end = start + timedelta(days=rng.randrange(180, 3650))
            value = rng.randrange(5_000, 5_000_000)
            writer.writerow(
                [
                    f"CBC-{n:05d}",
                    f"Contract {n} for {rng.choice(['cleaning', 'software', 'repairs', 'consultancy'])}",
                    rng.choice(services),
                    "Goods and services, as specified",
                    rng.choice(["ACME LTD", "Acme Ltd", "Bright Sparks plc", "Places for People"])
                    + f" {n % 97}",
                    "1 High Street, Chorley",
                    f"£{value:,}.00",
                    "£0.00",
                    start.strftime("%d/%m/%Y"),
                    end.strftime("%d/%m/%Y"),
                    "",
                    rng.choice(["Open tender", "Quotation", "Framework call-off"]),
                    rng.choice(["SME", "Non-SME", "VCSE"]),
                    f"{rng.randrange(10**7):08d}",
                ]
            )


def kcpf_round_trip(source: Path, work: Path) -> int:
    with SqliteRegister(work / "register.sqlite3") as register:
        framework = FrameworkService(register, SystemClock(), FRAMEWORK_2025)
        headers, rows = read_csv(source)
        plan = framework.import_register(TP, Council.CHORLEY, headers, rows)
        if plan.blocked or len(plan.to_add) != ROWS:
            raise SystemExit(f"the benchmark register did not import cleanly: {plan.summary()}")
        arrangements = register.arrangements()
        document = export_document(framework.files(arrangements), FRAMEWORK_2025, SystemClock().now())
        (work / "register.json").write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
        return len(document["arrangements"])


def baseline_round_trip(source: Path, work: Path) -> int:
    with source.open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    (work / "baseline.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    return len(rows)


def timed(run: Callable[[Path, Path], int], source: Path) -> list[float]:
    times = []
    for _ in range(RUNS):
        with tempfile.TemporaryDirectory() as work:
            started = time.perf_counter()
            count = run(source, Path(work))
            times.append(time.perf_counter() - started)
            assert count == ROWS
    return times


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "register.csv"
        write_register(source, ROWS)
        size = source.stat().st_size
        kcpf = timed(kcpf_round_trip, source)
        plain = timed(baseline_round_trip, source)
    best, base = min(kcpf), min(plain)
    print(f"import + JSON export of a {ROWS:,}-row register ({size / 1024:,.0f} KiB), best of {RUNS}:")
    for label, best_time, times in (
        ("KCPF (validate, plan, save to SQLite, export JSON)", best, kcpf),
        ("baseline (csv.DictReader + json.dumps)", base, plain),
    ):
        print(f"  {label:52} {best_time:7.3f} s  (median {statistics.median(times):.3f} s)")
    print(f"  KCPF takes {best / base:,.0f}x the baseline; {ROWS / best:,.0f} rows/s")


if __name__ == "__main__":
    main()
