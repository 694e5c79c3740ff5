"""Counted nouns in messages: ``counted(1, "replica")`` is "1 replica", ``counted(3, "replica")`` "3 replicas"."""

from __future__ import annotations


def counted(number: int, singular: str, plural: str | None = None) -> str:
    """``number`` and the noun that agrees with it (``plural`` defaults to ``singular`` + "s")."""
    return f"{number} {singular if number == 1 else plural or singular + 's'}"
