"""The MOS test's statistics: each method's mean opinion score and its 95 % interval, and the paper's figures.

`summarise` pools a method's ratings (1..5) into a `MethodStats`: n, mean, sample standard deviation and the
half-width of the Student t interval, mean ± t_{0.975, n-1} · s / √n; `t_quantile_975` needs no scipy.
`PAPER_MOS` holds Table 2 of Ledig et al. 2017 (arXiv 1609.04802), which the class's scores are set against.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

# Ledig et al. 2017, Table 2: MOS on (Set5, Set14, BSD100), 26 raters, 1 (bad) to 5 (excellent).
# The paper's "SRResNet" row is its MSE-trained SRResNet and "SRGAN" its final SRGAN-VGG54 (§3.4); the
# app's bundled SRGAN is a small demo model trained with an MSE content loss, so the class is rating a
# cousin of the paper's network, not the same one.
PAPER_MOS: dict[str, tuple[float, float, float]] = {
    "bicubic": (1.97, 1.80, 1.47),
    "srresnet": (3.37, 2.98, 2.29),
    "srgan": (3.58, 3.72, 3.56),
    "hr": (4.32, 4.32, 4.46),
}
PAPER_SETS: tuple[str, ...] = ("Set5", "Set14", "BSD100")

# Student t quantile t_{0.975, df} for df = 1..30 (4 decimals, as printed in statistics tables).
_T975 = (12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281, 2.2010, 2.1788, 2.1604,
         2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860, 2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555,
         2.0518, 2.0484, 2.0452, 2.0423)  # fmt: skip
_Z975 = 1.959963984540054  # the normal quantile the t quantile tends to


def t_quantile_975(df: int) -> float:
    """t_{0.975, df}, the Student t quantile of a two-sided 95 % interval (no scipy needed).

    Args:
        df: degrees of freedom, >= 1.

    Returns:
        The table value for df <= 30; beyond it the Cornish-Fisher expansion in 1/df around the normal
        quantile (Abramowitz & Stegun 26.7.5), which is within 1e-5 of the exact value there.
    """
    if df < 1:
        raise ValueError(f"the t quantile needs df >= 1, got {df}")
    if df <= len(_T975):
        return _T975[df - 1]
    z = _Z975
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4


@dataclass(frozen=True)
class MethodStats:
    """The scores one method received: count, mean and its 95 % interval (None where undefined)."""

    n: int
    mean: float | None = None
    sd: float | None = None  # sample standard deviation (n - 1), None for n < 2
    half_width: float | None = None  # t_{0.975, n-1} * sd / sqrt(n), None for n < 2

    @property
    def low(self) -> float | None:
        return None if self.half_width is None else self.mean - self.half_width

    @property
    def high(self) -> float | None:
        return None if self.half_width is None else self.mean + self.half_width


def summarise(scores: Iterable[float]) -> MethodStats:
    """Mean and 95 % interval, mean ± t_{0.975, n-1} · s / √n, of a method's scores.

    Args:
        scores: the ratings (1..5).

    Returns:
        `MethodStats`; with no score everything but n is None, with one score there is no interval.
    """
    values = [float(s) for s in scores]
    n = len(values)
    if n == 0:
        return MethodStats(0)
    mean = sum(values) / n
    if n == 1:
        return MethodStats(1, mean)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    return MethodStats(n, mean, sd, t_quantile_975(n - 1) * sd / math.sqrt(n))
