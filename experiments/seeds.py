"""Seed lists on the command line of the acceptance scripts."""

from __future__ import annotations


def parse_seeds(text: str) -> list[int]:
    """'1,2,5' or '1-10' (inclusive) or a mix: '1-3,7'."""
    seeds: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        seeds += list(range(int(lo), int(hi or lo) + 1))
    return seeds
