"""The MOS test's statistics: each method's mean opinion score and its 95 % interval, and the paper's figures.

`summarise` pools a method's ratings (1..5) into a `MethodStats`: n, mean, sample standard deviation and a 95 %
percentile bootstrap interval over raters (`bootstrap_interval`), which stays inside the 1..5 scale and counts
one student's ratings as one student's. The Student t interval, mean ± t_{0.975, n-1} · s / √n, treated every
vote as independent and ran past 5 (or below 1) with few votes; `t_quantile_975` (no scipy) stays for the
lesson and the tests that compare the two.
`PAPER_MOS` holds Table 2 of Ledig et al. 2017 (arXiv 1609.04802), which the class's scores are set against.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

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


BOOTSTRAP_RESAMPLES = 2000
FEW_RATERS = 5  # below this many raters an interval is drawn but flagged: the bootstrap cannot know the spread


@dataclass(frozen=True)
class MethodStats:
    """The scores one method received: counts, mean and its 95 % interval (None where undefined).

    The interval is a percentile bootstrap over *raters* (`bootstrap_interval`): always inside the 1..5
    scale, and honest about one student's ratings being alike. `few_raters` flags an interval from fewer
    than `FEW_RATERS` raters, which is too narrow to trust.
    """

    n: int  # votes
    mean: float | None = None
    sd: float | None = None  # sample standard deviation of the votes (n - 1), None for n < 2
    low: float | None = None  # the 95 % interval, None with fewer than two raters
    high: float | None = None
    raters: int = 0
    few_raters: bool = False


def bootstrap_interval(
    by_rater: Sequence[Sequence[float]], *, resamples: int = BOOTSTRAP_RESAMPLES, seed: int | None = None
) -> tuple[float, float]:
    """95 % percentile bootstrap interval of the pooled mean, resampling raters with all their votes.

    A student rates several crops of each method, and one student's ratings are alike (a severe rater is
    severe everywhere); resampling single votes would treat them as independent and give too narrow an
    interval. So each resample draws raters with replacement and pools their votes, and the interval is
    the 2.5th and 97.5th percentiles of the resampled means. Each resampled mean is an average of votes,
    so the interval lies inside [lowest vote, highest vote], inside the 1..5 scale.

    Args:
        by_rater: each rater's votes for one method (raters with no vote are left out).
        resamples: bootstrap resamples.
        seed: the resampling's seed (default: one derived from the votes, so the same votes always give
            the same interval and a chart refreshed every two seconds does not flicker).

    Returns:
        (low, high).

    Raises:
        ValueError: fewer than two raters with votes.
    """
    groups = [list(map(float, g)) for g in by_rater if len(g)]
    if len(groups) < 2:
        raise ValueError("a bootstrap over raters needs at least two raters")
    sums = np.array([sum(g) for g in groups])
    counts = np.array([len(g) for g in groups], dtype=float)
    if seed is None:
        seed = int.from_bytes(hashlib.sha256(repr(sorted(map(sorted, groups))).encode()).digest()[:8], "big")
    picks = np.random.default_rng(seed).integers(0, len(groups), size=(resamples, len(groups)))
    means = sums[picks].sum(axis=1) / counts[picks].sum(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def summarise(scores: Iterable[float] | Mapping[str, Sequence[float]]) -> MethodStats:
    """n, mean and 95 % interval of a method's votes.

    Args:
        scores: rater -> that rater's votes for the method; or a plain sequence of votes, each taken as a
            rater of its own (as when every rater rated one crop).

    Returns:
        `MethodStats`; with no vote everything but n is None, with one rater there is no interval.
    """
    if isinstance(scores, Mapping):
        groups = [list(map(float, v)) for v in scores.values() if len(v)]
    else:
        groups = [[float(v)] for v in scores]
    values = [v for g in groups for v in g]
    n = len(values)
    if n == 0:
        return MethodStats(0)
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else None
    if len(groups) < 2:
        return MethodStats(n, mean, sd, raters=len(groups), few_raters=True)
    low, high = bootstrap_interval(groups)
    return MethodStats(n, mean, sd, low, high, raters=len(groups), few_raters=len(groups) < FEW_RATERS)
