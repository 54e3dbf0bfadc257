"""The register page benchmark's code path, small: six arrangements, two requests each. Figures and counts
only; speed is measured by `make bench`, never asserted here."""

from __future__ import annotations

from bench import register


def test_the_benchmark_measures_every_request_on_a_small_register() -> None:
    said: list[str] = []
    figures = register.run(arrangements=6, requests=2, warmup=1, log=said.append)
    health, read, everything, filtered, one, as_csv = figures
    assert said == ["  (filled 6 arrangements with their records in " + said[0].split(" in ")[1]]
    assert read.rows == 6
    assert everything.rows == 6
    assert filtered.rows == 4  # councils go chorley, south-ribble, shared: Chorley's two and the two shared
    assert one.rows is None
    assert as_csv.rows == 6
    for figure in (health, everything, filtered, one, as_csv):
        assert len(figure.ttfb_ms) == len(figure.total_ms) == 2
        assert all(0 < t <= total for t, total in zip(figure.ttfb_ms, figure.total_ms, strict=True))
        assert figure.size > 0
    assert len(read.total_ms) == 2
    assert read.ttfb_ms == ()
    lines = register.report(6, 2, 1, figures)
    assert len(lines) == 2 + len(figures) + 2 + (everything.wire is None)
    assert "target: GET /register with 6 arrangements, TTFB under 300 ms:" in lines[-1]


def test_p95_is_the_nearest_rank() -> None:
    assert register.p95([float(n) for n in range(20, 0, -1)]) == 19.0
    assert register.p95([5.0]) == 5.0


def test_the_report_says_whether_the_target_is_met() -> None:
    def figures(ttfb: float) -> list[register.Figures]:
        return [
            register.Figures("GET /healthz (baseline)", (1.0, 1.0), (1.0, 1.0), 15),
            register.Figures("register read alone", (), (50.0, 60.0), rows=1000),
            register.Figures(
                "GET /register", (ttfb, ttfb + 100), (ttfb, ttfb + 100), 500_000, None, 40_000, 1000
            ),
        ]

    fast, borderline, slow = (register.report(1000, 2, 0, figures(t)) for t in (100.0, 200.0, 400.0))
    assert fast[-1].endswith(": met (median 150.0 ms; also at p95: 200.0 ms)")
    assert borderline[-1].endswith(": met (median 250.0 ms; not at p95: 300.0 ms)")
    assert "NOT met (median 450.0 ms" in slow[-1]
    assert "the server does not compress" in fast[-2]
