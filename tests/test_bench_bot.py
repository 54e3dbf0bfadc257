"""The bot benchmark's code path, small: both bots in their own processes, two officers, one whole assessment
each. Counts only; speed is measured by `make bench`, never asserted here."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import bot
from connectors.sqlite_register import SqliteRegister


@pytest.mark.parametrize(
    ("command", "kcpf"), [(bot.kcpf_command, True), (bot.echo_command, False)], ids=["kcpf", "echo"]
)
async def test_two_officers_each_do_one_whole_assessment(command: bot.Command, kcpf: bool) -> None:
    people = bot.officers(2)
    # The KCPF run also checks the register holds both assessed arrangements, or raises FlowBroken.
    run = await bot.run_bot(command, people, warmup=0, seconds=120, assessments=1, kcpf=kcpf)
    assert run.assessments == 2
    assert run.turns == 2 * bot.TURNS_PER_ASSESSMENT == 2 * (13 + 8)
    assert len(run.latencies_ms) == run.turns  # no warm-up: every turn is counted
    figures = bot.figures([run])
    assert figures.turns == run.turns
    assert figures.p50_ms <= figures.p99_ms


async def test_a_bot_that_does_not_follow_the_flow_is_caught() -> None:
    """The echo bot answers every turn but never saves anything: driven as KCPF, the run stops."""
    with pytest.raises(bot.FlowBroken, match="gave no KCP reference"):
        await bot.run_bot(bot.echo_command, bot.officers(1), warmup=0, seconds=120, assessments=1, kcpf=True)


def test_turns_in_the_warm_up_or_after_the_window_are_not_counted() -> None:
    times = [bot.TurnTime(0.5, 1.5), bot.TurnTime(1.0, 1.25), bot.TurnTime(2.0, 2.5), bot.TurnTime(2.75, 3.5)]
    assert bot.counted(times, window_start=1.0, window_end=3.0) == [250.0, 500.0]


def test_an_assessment_missing_from_the_register_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "register.sqlite3"
    SqliteRegister(path).close()
    with pytest.raises(bot.FlowBroken, match="completed 1 whole assessments but the register holds 0"):
        bot.check_register(path, 1)


def test_the_report_says_pass_or_miss_against_the_targets() -> None:
    echo = bot.Figures(8000, 800.0, 20.0, 70.0, 1.2)
    fast = bot.Figures(6000, 600.0, 25.0, 120.0, 1.6)
    slow = bot.Figures(4000, 400.0, 40.0, 200.0, 2.5)
    passed = "\n".join(bot.report(20, 3, 10, 2, echo, fast))
    missed = "\n".join(bot.report(20, 3, 10, 2, echo, slow))
    assert "75% of the echo bot's (target at least 70%): PASS" in passed
    assert "p99 120.0 ms (target under 150 ms): PASS" in passed
    assert "50% of the echo bot's (target at least 70%): MISS" in missed
    assert "p99 200.0 ms (target under 150 ms): MISS" in missed
    assert "KCPF's ceiling is 48% of the echo bot's" in missed
