"""N officers at once doing whole assessments against the KCPF bot, against a bare Agents SDK echo bot given
the same turns, in the same run.

Each bot is a real server process on a free port (the KCPF bot is `kcpf serve` on a temporary data directory;
the echo bot is `bench/echo_bot.py`). This process plays Teams: each officer is their own personal
conversation, posting activities to /api/messages, and the stand-in Bot Connector (tests/bot_harness.py) takes
the replies and answers the members API. A turn's latency is from sending the activity to the HTTP response,
which the adapter gives once the turn's replies are posted. Turns started in the warm-up are not counted.

    python -m bench bot --officers 20 --seconds 20 --rounds 4 --warmup 3
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from connectors.sqlite_register import SqliteRegister
from tests.bot_harness import Chat, Connector, Person, reply_text

ROOT = Path(__file__).resolve().parents[1]
TP_EMAIL = "alex.tp@chorley.gov.uk"
TARGET_SHARE_OF_ECHO = 0.70
TARGET_P99_MS = 150.0
_REFERENCE = re.compile(r"\bKCP-\d+\b")


class FlowBroken(Exception):
    """The bot did not answer as the conversation needs (no reply, no reference, an error status)."""


# The officers and what they type.


def officers(count: int) -> list[Person]:
    return [
        Person(
            f"29:officer-{n}",
            f"Officer {n}",
            f"officer.{n}@chorley.gov.uk",
            f"00000000-0000-0000-0001-{n:012d}",
        )
        for n in range(1, count + 1)
    ]


def identify_turns(title: str) -> list[str]:
    """`new`, its eleven answers and `save`: a £250k contract running seven years."""
    return [
        "new",
        title,
        "contract",
        "Chorley",
        "Acme Ltd",
        "£250,000",
        "1 April 2024",
        "31 March 2031",
        "no",
        "Runs the leisure centres.",
        "1",
        "me",
        "save",
    ]


def assess_turns(reference: str) -> list[str]:
    """`assess`, the five criteria (accepting the record's suggestions for value and length), `save` and
    `no` to the offer to propose it: key on 4 of 5."""
    return [f"assess {reference}", "ok", "yes", "yes", "ok", "no", "save", "no"]


TURNS_PER_ASSESSMENT = len(identify_turns("")) + len(assess_turns(""))


# Timing.


@dataclass(frozen=True)
class TurnTime:
    started: float
    ended: float


@dataclass(frozen=True)
class Run:
    """One bot process under load: the turns counted (started after the warm-up, finished in the window)."""

    latencies_ms: list[float]
    seconds: float  # the window
    server_cpu: float | None  # the bot process's CPU seconds (all threads) in the window, where known
    turns: int  # every turn, warm-up included
    assessments: int  # whole assessments completed, warm-up included


def counted(times: Sequence[TurnTime], window_start: float, window_end: float) -> list[float]:
    return [
        (t.ended - t.started) * 1000 for t in times if t.started >= window_start and t.ended <= window_end
    ]


@dataclass(frozen=True)
class Figures:
    turns: int
    turns_per_second: float
    p50_ms: float
    p99_ms: float
    server_cpu_ms: float | None  # per turn


def figures(runs: Sequence[Run]) -> Figures:
    """The runs of one bot pooled: turns over their windows' total length, percentiles over every turn."""
    latencies = sorted(ms for run in runs for ms in run.latencies_ms)
    seconds = sum(run.seconds for run in runs)
    cpu = [run.server_cpu for run in runs]
    if not latencies:
        return Figures(0, 0.0, 0.0, 0.0, None)
    p99 = (
        statistics.quantiles(latencies, n=100, method="inclusive")[98] if len(latencies) > 1 else latencies[0]
    )
    cpu_ms = None if None in cpu else sum(c or 0.0 for c in cpu) * 1000 / len(latencies)
    return Figures(len(latencies), len(latencies) / seconds, statistics.median(latencies), p99, cpu_ms)


# The load.


@dataclass
class Officer:
    chat: Chat
    expects_flow: bool  # the KCPF bot: check the conversation goes where a whole assessment goes
    times: list[TurnTime] = field(default_factory=list)
    assessments: int = 0

    async def say(self, text: str) -> list[dict[str, Any]]:
        started = time.perf_counter()
        try:
            replies = await self.chat.say(text)
        except AssertionError as error:  # the harness asserts a 2xx status
            raise FlowBroken(f"{self.chat.person.email} typed “{text}”: HTTP status {error}") from None
        self.times.append(TurnTime(started, time.perf_counter()))
        if not replies:
            raise FlowBroken(f"{self.chat.person.email} typed “{text}” and the bot did not answer")
        return replies

    async def whole_assessment(self) -> None:
        self.assessments += 1
        title = f"Leisure centres {self.chat.person.id} {self.assessments}"
        replies: list[dict[str, Any]] = []
        for text in identify_turns(title):
            replies = await self.say(text)
        found = _REFERENCE.search("\n".join(reply_text(a) for a in replies))
        if found is None and self.expects_flow:
            raise FlowBroken(
                f"`save` of a new contract gave no KCP reference: {[reply_text(a) for a in replies]}"
            )
        for text in assess_turns(found.group(0) if found else "KCP-0001"):
            await self.say(text)


async def load(
    url: str,
    connector: Connector,
    people: Sequence[Person],
    *,
    warmup: float,
    seconds: float,
    assessments: int | None = None,
    expects_flow: bool,
    server: Server | None = None,
    profile: Path | None = None,
) -> Run:
    """Every officer does whole assessments until the window closes (finishing the one under way) or, given
    `assessments`, until they have done that many. `profile`: sample `server` with py-spy in the window."""
    spy = py_spy() if profile else None
    async with aiohttp.ClientSession() as session:
        crowd = [Officer(Chat(person, url, connector, session), expects_flow) for person in people]
        began = time.perf_counter()
        window_start, window_end = began + warmup, began + warmup + seconds

        cpu: dict[str, float | None] = {}

        async def work(officer: Officer) -> None:
            while time.perf_counter() < window_end and (
                assessments is None or officer.assessments < assessments
            ):
                await officer.whole_assessment()

        sampling: list[subprocess.Popen[bytes]] = []

        async def meter() -> None:
            await asyncio.sleep(max(0.0, window_start - time.perf_counter()))
            cpu["start"] = server.cpu() if server else None
            if spy and server and profile:
                sampling.append(sample(spy, server.pid, seconds, profile))
            await asyncio.sleep(max(0.0, window_end - time.perf_counter()))
            cpu["end"] = server.cpu() if server else None

        metering = asyncio.create_task(meter())
        await asyncio.gather(*(work(officer) for officer in crowd))
        if time.perf_counter() < window_end:  # every officer finished early: the window closes now
            metering.cancel()
            window_end = time.perf_counter()
            cpu["end"] = server.cpu() if server else None
        await asyncio.gather(metering, return_exceptions=True)
        for process in sampling:
            await asyncio.to_thread(process.wait)
    start, end = cpu.get("start"), cpu.get("end")
    times = [t for officer in crowd for t in officer.times]
    return Run(
        counted(times, window_start, window_end),
        window_end - window_start,
        end - start if start is not None and end is not None else None,
        len(times),
        sum(o.assessments for o in crowd),
    )


# The servers.


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pid: int) -> float | None:
    """A process's user + system CPU time so far, all threads (Linux; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def py_spy() -> str | None:
    """The sampling profiler, from the virtual environment or PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


def sample(spy: str, pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes]:
    """py-spy on a running process for `seconds`, without pausing it: whichever thread holds the GIL, which is
    what caps one Python process's turns/s."""
    command = [spy, "record", "--pid", str(pid), "--duration", str(max(1, round(seconds))), "--rate", "200"]
    command += ["--gil", "--threads", "--nonblocking", "--format", "raw", "--output", str(out)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@dataclass(frozen=True)
class Server:
    url: str
    pid: int

    def cpu(self) -> float | None:
        return cpu_seconds(self.pid)


@contextlib.contextmanager
def server(command: Sequence[str], env: dict[str, str], port: int, output: Path) -> Iterator[Server]:
    """A bot in its own process, once /healthz answers; what it prints goes to `output` (a pipe nobody
    reads could fill and stall it). Stopped with SIGINT, as at the console."""
    with output.open("wb") as sink:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        _wait_healthy(process, port, " ".join(command), output)
        yield Server(f"http://127.0.0.1:{port}/api/messages", process.pid)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_healthy(process: subprocess.Popen[bytes], port: int, what: str, output: Path) -> None:
    """Before any load: blocking is harmless here."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            said = output.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{what} stopped with exit code {process.returncode}:\n{said}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not answer /healthz within 60 s")


Command = Callable[[int], list[str]]  # how to start a bot listening on a port


def kcpf_command(port: int) -> list[str]:
    return [sys.executable, "-m", "kcpf", "serve", "--port", str(port)]


def echo_command(port: int) -> list[str]:
    return [sys.executable, "-m", "bench.echo_bot", "--port", str(port)]


@contextlib.asynccontextmanager
async def stand_in_connector(people: Sequence[Person]) -> AsyncIterator[Connector]:
    connector = Connector({p.id: p for p in people})
    runner = web.AppRunner(connector.app(), access_log=None)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    connector.url = f"http://127.0.0.1:{port}/"
    try:
        yield connector
    finally:
        await runner.cleanup()


async def run_bot(
    command: Command,
    people: Sequence[Person],
    *,
    warmup: float,
    seconds: float,
    assessments: int | None = None,
    kcpf: bool,
    profile: Path | None = None,
) -> Run:
    """One bot, in its own process on a fresh data directory, under the officers' load."""
    with tempfile.TemporaryDirectory(prefix="kcpf-bench-bot-") as folder:
        env = {**os.environ, "KCPF_DATA_DIR": folder, "KCPF_TP": TP_EMAIL}
        async with stand_in_connector(people) as connector:
            port = free_port()
            with server(command(port), env, port, Path(folder) / "server.log") as bot:
                run = await load(
                    bot.url,
                    connector,
                    people,
                    warmup=warmup,
                    seconds=seconds,
                    assessments=assessments,
                    expects_flow=kcpf,
                    server=bot,
                    profile=profile,
                )
        if kcpf:
            check_register(Path(folder) / "register.sqlite3", run.assessments)
    return run


def check_register(path: Path, assessments: int) -> None:
    """Every whole assessment the officers went through is in the register, assessed once."""
    with SqliteRegister(path) as register:
        arrangements = register.arrangements()
        unassessed = [a.reference for a in arrangements if len(register.assessments(a.reference)) != 1]
    if len(arrangements) != assessments or unassessed:
        raise FlowBroken(
            f"the officers completed {assessments} whole assessments but the register holds "
            f"{len(arrangements)} arrangements ({len(unassessed)} not assessed exactly once)"
        )


# The report.


def report(
    officers_count: int, warmup: float, seconds: float, rounds: int, echo: Figures, kcpf: Figures
) -> list[str]:
    share = kcpf.turns_per_second / echo.turns_per_second if echo.turns_per_second else 0.0
    lines = [
        f"bot turns: {officers_count} officers at once doing whole assessments ({TURNS_PER_ASSESSMENT} turns "
        f"each); {seconds:g} s measured per bot in {rounds} alternating round{'s' if rounds > 1 else ''}, "
        f"each after {warmup:g} s warm-up:",
        f"  {'':28} {'turns':>7} {'turns/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'bot CPU ms/turn':>16}",
    ]
    for label, f in (("Agents SDK echo bot (base)", echo), ("KCPF bot", kcpf)):
        cpu = "n/a" if f.server_cpu_ms is None else f"{f.server_cpu_ms:.2f}"
        lines.append(
            f"  {label:28} {f.turns:7,} {f.turns_per_second:9,.0f} {f.p50_ms:8.1f} {f.p99_ms:8.1f} {cpu:>16}"
        )
    lines += [
        f"  KCPF throughput is {share:.0%} of the echo bot's (target at least {TARGET_SHARE_OF_ECHO:.0%}): "
        f"{'PASS' if share >= TARGET_SHARE_OF_ECHO else 'MISS'}",
        f"  KCPF p99 {kcpf.p99_ms:.1f} ms (target under {TARGET_P99_MS:.0f} ms): "
        f"{'PASS' if 0 < kcpf.p99_ms < TARGET_P99_MS else 'MISS'}",
    ]
    if echo.server_cpu_ms and kcpf.server_cpu_ms:
        # Steadier than turns/s on a shared machine: a bot's one event loop caps it at 1 / (CPU per turn).
        lines.append(
            f"  by CPU per turn, KCPF's ceiling is {echo.server_cpu_ms / kcpf.server_cpu_ms:.0%} of the echo "
            "bot's (where the bot process is the limit)"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench bot", description=__doc__.split("\n\n")[0])
    parser.add_argument("--officers", type=int, default=20, help="officers at once (default 20)")
    parser.add_argument(
        "--seconds",
        type=float,
        default=20.0,
        help="measured seconds per bot, all rounds together (default 20)",
    )
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds per round (default 3)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=4,
        help="echo and KCPF take turns this many times, so a busy spell on the machine hits both (default 4)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="FILE",
        help="also sample the KCPF bot with py-spy in its last measured window (collapsed stacks to FILE)",
    )
    args = parser.parse_args(argv)
    if args.officers < 1 or args.seconds <= 0 or args.warmup < 0 or args.rounds < 1:
        parser.error("--officers and --rounds must be at least 1, --seconds more than 0, --warmup at least 0")
    spy = py_spy() if args.profile else None
    if args.profile and spy is None:
        parser.error("--profile needs py-spy (`make setup` installs it into .venv)")
    people = officers(args.officers)
    each = {"warmup": args.warmup, "seconds": args.seconds / args.rounds}
    busy = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    echo: list[Run] = []
    kcpf: list[Run] = []
    for round_ in range(1, args.rounds + 1):
        echo.append(asyncio.run(run_bot(echo_command, people, **each, kcpf=False)))
        profile = args.profile if spy and round_ == args.rounds else None
        kcpf.append(asyncio.run(run_bot(kcpf_command, people, **each, kcpf=True, profile=profile)))
    print(
        "\n".join(report(args.officers, args.warmup, args.seconds, args.rounds, figures(echo), figures(kcpf)))
    )
    if busy is not None:
        print(f"  (load average before the run: {busy:.1f} on {os.cpu_count()} CPUs; other work slows both)")
    if args.profile:
        print(f"  py-spy samples of the KCPF bot: {args.profile}")


if __name__ == "__main__":
    main()
