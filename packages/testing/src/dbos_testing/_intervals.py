"""Counting overlaps of (start, end) intervals: how many things ran at once."""

from __future__ import annotations

from collections.abc import Iterable


def most_at_once(intervals: Iterable[tuple[float, float]]) -> int:
    """The most intervals in progress at one moment (one that ends as another starts does not
    overlap it)."""
    points = sorted(point for start, end in intervals for point in ((start, 1), (end, -1)))
    running = most = 0
    for _, delta in points:
        running += delta
        most = max(most, running)
    return most
