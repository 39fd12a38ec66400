"""Percentiles and medians for the benchmark's numbers."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank q-th percentile (q in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def median(values: Sequence[float]) -> float:
    """The median of the values that are numbers; NaN when there are none."""
    present = [v for v in values if not math.isnan(v)]
    return statistics.median(present) if present else math.nan


def spread(values: Sequence[float]) -> tuple[float, float, float]:
    """p50, p95 and p99 of one run's values."""
    return percentile(values, 50), percentile(values, 95), percentile(values, 99)
