"""Counts with their noise: the exact (Garwood) Poisson interval, in plain Python.

The interval's ends are the chi-square quantiles chi2(a/2, 2k)/2 and chi2(1-a/2, 2k+2)/2;
without scipy they are found by bisection on the Poisson CDF, which is monotone in the mean.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

CONFIDENCE: Final = 0.95
_ITERATIONS: Final = 80  # bisection steps: past float precision for any count here


def poisson_cdf(k: int, mean: float) -> float:
    """P(X <= k) for X ~ Poisson(mean), summed in log space (no overflow for large k)."""
    if k < 0:
        return 0.0
    if mean <= 0:
        return 1.0
    log_mean = math.log(mean)
    terms = [math.exp(i * log_mean - mean - math.lgamma(i + 1)) for i in range(k + 1)]
    return min(1.0, math.fsum(terms))


def _solve(k: int, target: float) -> float:
    """The mean at which P(X <= k) equals target (the CDF falls as the mean grows)."""
    low, high = 0.0, k + 10.0 * math.sqrt(k + 1) + 10.0
    for _ in range(_ITERATIONS):
        mid = (low + high) / 2
        if poisson_cdf(k, mid) > target:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def garwood(k: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The exact two-sided interval for the mean of a Poisson count k."""
    if k < 0:
        raise ValueError(f"a count cannot be negative: {k}")
    tail = (1 - confidence) / 2
    # Lower end: P(X >= k) = tail, i.e. P(X <= k - 1) = 1 - tail; 0 when nothing was seen.
    low = 0.0 if k == 0 else _solve(k - 1, 1 - tail)
    return low, _solve(k, tail)


@dataclass(frozen=True, slots=True)
class Rate:
    """A count over a number of trials (deploys, reloads), with its 95% interval per trial."""

    count: int
    trials: int
    low: float
    high: float

    @property
    def value(self) -> float:
        return self.count / self.trials

    def overlaps(self, other: Rate) -> bool:
        return self.low <= other.high and other.low <= self.high

    def __str__(self) -> str:
        return f"{self.value:.2f} ({self.low:.2f}-{self.high:.2f})"


def rate(count: int, trials: int) -> Rate:
    """count / trials with the Garwood interval of the count, scaled the same way."""
    if trials <= 0:
        raise ValueError(f"a rate needs at least one trial, not {trials}")
    low, high = garwood(count)
    return Rate(count, trials, low / trials, high / trials)
