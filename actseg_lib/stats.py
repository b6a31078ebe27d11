"""The spread of a score over training seeds, and how two arms compare.

An ablation arm is trained with a few seeds (three in the book). Its score is reported
as the mean with the **sample** standard deviation (``ddof=1``: the population form
underestimates the spread of so few draws) and a **Student-t confidence interval** for
the mean: with n seeds, ``mean ± t(1 - a/2, n - 1) * s / sqrt(n)``. For three seeds the
95 % quantile is t(0.975, 2) = 4.30, so the interval's half-width is 2.48 sample
standard deviations: three seeds pin a mean down only loosely, and the tables say so.

Two arms are "apart" when their means differ by more than twice the pooled sample
standard deviation, the rule the chapters use; :func:`compare_seeds` also gives the
Welch confidence interval of the difference.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy import stats as scipy_stats


@dataclass(frozen=True)
class SeedSummary:
    """One score over n seeds: mean, sample standard deviation, t confidence interval.

    With one seed the spread is unknown: ``std`` and ``half_width`` are NaN.
    """

    values: tuple[float, ...]
    mean: float
    std: float  # sample standard deviation (ddof=1)
    half_width: float  # of the confidence interval: t quantile * std / sqrt(n)
    confidence: float

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width

    def format(self, digits: int = 1, spread: str = "ci", scale: float = 1.0) -> str:
        """``"mean ± half-width"`` (``spread="ci"``) or ``"mean ± std"`` (``spread="std"``),
        every number multiplied by ``scale`` (e.g. 0.01 for a percentage as a fraction)."""
        if spread not in ("ci", "std"):
            raise ValueError(f"spread: 'ci' or 'std', got {spread!r}")
        mean = f"{self.mean * scale:.{digits}f}"
        if self.n < 2:
            return mean  # one seed: no spread to show
        width = self.half_width if spread == "ci" else self.std
        return f"{mean} ± {width * scale:.{digits}f}"

    def __str__(self) -> str:
        return self.format()


def seed_summary(values: Iterable[float], confidence: float = 0.95) -> SeedSummary:
    """Mean, sample standard deviation and Student-t ``confidence`` interval of ``values``
    (one score per seed).

    >>> s = seed_summary([1.0, 2.0, 3.0])
    >>> round(s.std, 6), round(s.half_width, 4)  # 1 and t(0.975, 2) / sqrt(3) = 4.3027 / 1.7321
    (1.0, 2.4841)
    """
    values = tuple(float(v) for v in values)
    if not values:
        raise ValueError("seed_summary: no values (one score per seed expected)")
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"seed_summary: non-finite score among {values}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence: a probability in (0, 1), got {confidence}")
    n = len(values)
    mean = float(np.mean(values))
    if n == 1:
        return SeedSummary(values, mean, math.nan, math.nan, confidence)
    std = float(np.std(values, ddof=1))
    t = float(scipy_stats.t.ppf(0.5 + confidence / 2, df=n - 1))
    return SeedSummary(values, mean, std, t * std / math.sqrt(n), confidence)


@dataclass(frozen=True)
class Comparison:
    """Arm a against arm b on one score.

    ``difference``: mean(a) - mean(b). ``pooled_std``: sqrt((s_a^2 + s_b^2) / 2), sample
    standard deviations. ``apart``: |difference| > ``spread`` * pooled_std. ``low``/``high``:
    the Welch ``confidence`` interval of the difference.
    """

    a: SeedSummary
    b: SeedSummary
    difference: float
    pooled_std: float
    spread: float
    low: float
    high: float

    @property
    def apart(self) -> bool:
        return abs(self.difference) > self.spread * self.pooled_std

    @property
    def verdict(self) -> str:
        return "apart" if self.apart else "within the seed spread"


def compare_seeds(a: Iterable[float], b: Iterable[float], spread: float = 2.0, confidence: float = 0.95) -> Comparison:
    """How two arms' per-seed scores compare: the difference of their means, against
    ``spread`` times their pooled sample standard deviation (the chapters' reading: apart,
    or within the seed spread), and the Welch ``confidence`` interval of the difference."""
    sa, sb = seed_summary(a, confidence), seed_summary(b, confidence)
    if sa.n < 2 or sb.n < 2:
        raise ValueError(f"compare_seeds: each arm needs two seeds or more, got {sa.n} and {sb.n}")
    difference = sa.mean - sb.mean
    pooled = math.sqrt((sa.std**2 + sb.std**2) / 2)
    va, vb = sa.std**2 / sa.n, sb.std**2 / sb.n  # squared standard errors of the two means
    if va + vb == 0.0:
        low = high = difference  # no spread at all: the interval is the point
    else:
        dof = (va + vb) ** 2 / (va**2 / (sa.n - 1) + vb**2 / (sb.n - 1))  # Welch-Satterthwaite
        half = float(scipy_stats.t.ppf(0.5 + confidence / 2, df=dof)) * math.sqrt(va + vb)
        low, high = difference - half, difference + half
    return Comparison(sa, sb, difference, pooled, spread, low, high)
