"""Run every benchmark: `make bench` (or `python -m bench`)."""

from __future__ import annotations

from bench import import_export, sharepoint


def main() -> None:
    import_export.main()
    sharepoint.main()


if __name__ == "__main__":
    main()
