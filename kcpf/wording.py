"""Small pieces of English the framework's messages share."""

from __future__ import annotations


def plural(count: int, noun: str, plural_noun: str | None = None) -> str:
    """“1 row”, “2 rows”, “0 rows”; irregular plurals are given: plural(3, "is", "are")."""
    word = noun if count == 1 else (plural_noun or noun + "s")
    return f"{count:,} {word}"
