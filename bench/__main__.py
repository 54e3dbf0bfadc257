"""Run every benchmark: `make bench` (or `python -m bench`)."""

from __future__ import annotations

from bench import import_export, reports


def main() -> None:
    import_export.main()
    reports.main()


if __name__ == "__main__":
    main()
