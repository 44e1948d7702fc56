"""Pace statistics from a distribution of whole days (pure; no Django).

The database returns the distribution (days → number of cases) with one grouped query;
these functions turn it into the figures. Definitions:

- mean: total days ÷ cases, rounded to one decimal place, halves up (10.25 → 10.3, as a
  spreadsheet does; worked in exact decimals, never binary floats);
- median: the middle value of the sorted days; with an even number of cases, the mean of
  the two middle values (so it can end in .5);
- mode: every value that occurs most often, smallest first. A distribution where several
  values tie lists them all (``modes``); ``mode`` is the smallest of them, for a single
  figure in a table;
- minimum and maximum: the smallest and largest days; the range is maximum − minimum.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal


@dataclass(frozen=True)
class PaceStats:
    cases: int = 0
    mean: float | None = None
    median: float | None = None
    modes: tuple[int, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    #: (days, cases) for every value that occurs, smallest first.
    distribution: tuple[tuple[int, int], ...] = field(default=())

    @property
    def mode(self) -> int | None:
        return self.modes[0] if self.modes else None

    @property
    def range(self) -> int | None:
        if self.minimum is None or self.maximum is None:
            return None
        return self.maximum - self.minimum


def round_half_up(value: Decimal, places: int = 1) -> float:
    """``value`` to ``places`` decimal places, a half rounded away from zero (10.25 →
    10.3), as a float for display. Python's ``round`` rounds halves to even (10.2)."""
    return float(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def _nth(distribution: list[tuple[int, int]], index: int) -> int:
    """The value at 0-based position ``index`` of the expanded sorted list."""
    seen = 0
    for value, count in distribution:
        seen += count
        if index < seen:
            return value
    raise IndexError(index)


def pace_stats(histogram: Mapping[int, int]) -> PaceStats:
    """The statistics of ``histogram`` (days → number of cases; zero counts ignored)."""
    dist = sorted((int(d), int(n)) for d, n in histogram.items() if n > 0)
    total = sum(n for _, n in dist)
    if total == 0:
        return PaceStats()
    mean = round_half_up(Decimal(sum(d * n for d, n in dist)) / Decimal(total))
    if total % 2:
        median = float(_nth(dist, total // 2))
    else:
        median = (_nth(dist, total // 2 - 1) + _nth(dist, total // 2)) / 2
    top = max(n for _, n in dist)
    modes = tuple(d for d, n in dist if n == top)
    return PaceStats(
        cases=total,
        mean=mean,
        median=median,
        modes=modes,
        minimum=dist[0][0],
        maximum=dist[-1][0],
        distribution=tuple(dist),
    )


def bands(distribution: tuple[tuple[int, int], ...], width: int) -> list[tuple[str, int]]:
    """The distribution grouped in bands of ``width`` days ("0 to 6 days", ...), for a chart
    that stays readable however wide the range. Empty bands inside the range are kept."""
    if not distribution:
        return []
    width = max(1, width)
    counts: dict[int, int] = {}
    for days, n in distribution:
        counts[days // width] = counts.get(days // width, 0) + n
    lo, hi = min(counts), max(counts)
    out = []
    for b in range(lo, hi + 1):
        start, end = b * width, b * width + width - 1
        label = f"{start} days" if width == 1 else f"{start} to {end} days"
        out.append((label, counts.get(b, 0)))
    return out
