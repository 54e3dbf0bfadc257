"""The register page benchmark's code path, small: six arrangements, two requests each. Figures and counts
only; speed is measured by `make bench`, never asserted here."""

from __future__ import annotations

from bench import register


def test_the_benchmark_measures_every_request_on_a_small_register() -> None:
    said: list[str] = []
    figures = register.run(arrangements=6, requests=2, warmup=1, log=said.append)
    health, read, everything, changed, filtered, one, as_csv = figures
    assert said == ["  (filled 6 arrangements with their records in " + said[0].split(" in ")[1]]
    assert read.rows == 6
    assert everything.rows == changed.rows == 6
    assert filtered.rows == 4  # councils go chorley, south-ribble, shared: Chorley's two and the two shared
    assert one.rows is None
    assert as_csv.rows == 6
    for figure in (health, everything, changed, filtered, one, as_csv):
        assert len(figure.ttfb_ms) == len(figure.total_ms) == 2
        assert all(0 < t <= total for t, total in zip(figure.ttfb_ms, figure.total_ms, strict=True))
        assert figure.size > 0
    assert len(read.total_ms) == 2
    assert read.ttfb_ms == ()
    lines = register.report(6, 2, 1, figures)
    assert len(lines) == 2 + len(figures) + 1 + (everything.wire is None) + 2
    assert "target: GET /register with 6 arrangements, TTFB under 300 ms, read again and again:" in lines[-2]
    assert "target: GET /register with 6 arrangements, TTFB under 300 ms, just after a change:" in lines[-1]


def test_p95_is_the_nearest_rank() -> None:
    assert register.p95([float(n) for n in range(20, 0, -1)]) == 19.0
    assert register.p95([5.0]) == 5.0


def test_the_report_says_whether_the_target_is_met() -> None:
    def page(what: str, ttfb: float) -> register.Figures:
        return register.Figures(what, (ttfb, ttfb + 100), (ttfb, ttfb + 100), 500_000, None, 40_000, 1000)

    health = register.Figures("GET /healthz (baseline)", (1.0, 1.0), (1.0, 1.0), 15)
    read = register.Figures("register read alone", (), (50.0, 60.0), rows=1000)
    lines = register.report(1000, 2, 0, [health, read, page("again", 100.0), page("changed", 400.0)])
    assert lines[-2].endswith(", read again and again: met (median 150.0 ms; also at p95: 200.0 ms)")
    assert lines[-1].endswith(", just after a change: NOT met (median 450.0 ms; not at p95: 500.0 ms)")
    borderline = register.report(1000, 2, 0, [health, read, page("again", 200.0), page("changed", 200.0)])
    assert borderline[-1].endswith(": met (median 250.0 ms; not at p95: 300.0 ms)")
    assert "the server does not compress" in lines[-3]
    assert (
        "150x /healthz's read again and again, 8.2x the register read alone just after a change" in lines[-4]
    )
