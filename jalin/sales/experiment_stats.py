"""Statistics of campaign experiments: reproducible assignment, sample-size guidance, and the
comparison of two groups on a rate (conversion, click, reply) or on a mean (revenue per
recipient).

Everything works from aggregates (counts, sums, sums of squares) so that a campaign with a
million recipients is compared with one GROUP BY query, not by loading rows.

Conventions: "a" is the control (the baseline variant, or the holdout), "b" the treatment;
differences are b − a; two-sided tests; `confidence` 0.95 unless asked. The tests in
tests/test_sales_experiment_stats.py check every figure against SciPy and statsmodels.
"""

import hashlib
import math
from dataclasses import dataclass

from scipy import stats

# --- Assignment ---------------------------------------------------------------------------


def unit_interval(*, seed, key):
    """A number in [0, 1) that depends only on (seed, key): the same recipient lands in the
    same group however often, and in whichever order, the assignment runs."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign_group(*, seed, key, weights, holdout_percent=0):
    """The index of the variant for `key` (weights: one positive int per variant), or None for
    the holdout. A `holdout_percent` share is held out first; the rest is split by weight."""
    if not weights or any(w <= 0 for w in weights):
        raise ValueError("Every variant needs a positive weight.")
    u = unit_interval(seed=seed, key=key)
    holdout = float(holdout_percent) / 100
    if u < holdout:
        return None
    position = (u - holdout) / (1 - holdout) * sum(weights)
    running = 0
    for index, weight in enumerate(weights):
        running += weight
        if position < running:
            return index
    return len(weights) - 1  # only reachable through floating-point rounding at the top


# --- Sample size --------------------------------------------------------------------------


def sample_size_per_group(*, baseline_rate, minimum_detectable_effect, alpha=0.05, power=0.8):
    """Recipients needed in each of two equal groups to detect an absolute lift of
    `minimum_detectable_effect` over `baseline_rate` (both as fractions, e.g. 0.04 and 0.01)
    with a two-sided test at `alpha` and the given power (normal approximation, unpooled
    variance under the alternative, pooled under the null; no continuity correction).
    Returns an int (rounded up)."""
    p1 = float(baseline_rate)
    p2 = p1 + float(minimum_detectable_effect)
    if not (0 < p1 < 1 and 0 < p2 < 1) or p1 == p2:
        raise ValueError("Rates must be between 0 and 1 and the effect must not be zero.")
    z_alpha = stats.norm.ppf(1 - alpha / 2)
    z_beta = stats.norm.ppf(power)
    p_bar = (p1 + p2) / 2
    numerator = (z_alpha * math.sqrt(2 * p_bar * (1 - p_bar))
                 + z_beta * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))) ** 2
    return math.ceil(numerator / (p2 - p1) ** 2)


# --- Comparisons --------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    control: float          # rate or mean of a
    treatment: float        # rate or mean of b
    difference: float       # b − a
    ci_low: float           # confidence interval of the difference
    ci_high: float
    relative_lift: float | None   # (b − a) / a, None when a is 0
    statistic: float        # z or t
    p_value: float
    confidence: float

    @property
    def significant(self):
        return self.p_value < 1 - self.confidence


def compare_rates(*, successes_a, n_a, successes_b, n_b, confidence=0.95):
    """Two-proportion comparison. The p-value is the pooled two-proportion z-test (as
    statsmodels' proportions_ztest); the interval is the unpooled Wald interval of the
    difference (as statsmodels' confint_proportions_2indep(method="wald"))."""
    if n_a <= 0 or n_b <= 0:
        raise ValueError("Both groups need at least one recipient.")
    if not (0 <= successes_a <= n_a and 0 <= successes_b <= n_b):
        raise ValueError("Successes must be between 0 and the group size.")
    p_a, p_b = successes_a / n_a, successes_b / n_b
    difference = p_b - p_a
    pooled = (successes_a + successes_b) / (n_a + n_b)
    se_pooled = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    if se_pooled == 0:
        z, p_value = 0.0, 1.0
    else:
        z = difference / se_pooled
        p_value = 2 * stats.norm.sf(abs(z))
    se = math.sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b)
    half = stats.norm.ppf(1 - (1 - confidence) / 2) * se
    return Comparison(
        control=p_a, treatment=p_b, difference=difference,
        ci_low=difference - half, ci_high=difference + half,
        relative_lift=(difference / p_a) if p_a else None,
        statistic=z, p_value=p_value, confidence=confidence,
    )


def _mean_and_variance(n, total, total_of_squares):
    mean = total / n
    # Sample variance from aggregates; clamp tiny negative results of floating-point error.
    variance = max((total_of_squares - n * mean * mean) / (n - 1), 0.0) if n > 1 else 0.0
    return mean, variance


def compare_means(*, n_a, sum_a, sum_squares_a, n_b, sum_b, sum_squares_b, confidence=0.95):
    """Welch's t-test of two means from aggregates (n, Σx, Σx²), e.g. revenue per recipient
    where most recipients bring 0. Matches scipy.stats.ttest_ind(equal_var=False) and its
    confidence_interval()."""
    if n_a < 2 or n_b < 2:
        raise ValueError("Both groups need at least two recipients.")
    mean_a, var_a = _mean_and_variance(n_a, float(sum_a), float(sum_squares_a))
    mean_b, var_b = _mean_and_variance(n_b, float(sum_b), float(sum_squares_b))
    difference = mean_b - mean_a
    se_a2, se_b2 = var_a / n_a, var_b / n_b
    se = math.sqrt(se_a2 + se_b2)
    if se == 0:
        return Comparison(control=mean_a, treatment=mean_b, difference=difference,
                          ci_low=difference, ci_high=difference,
                          relative_lift=(difference / mean_a) if mean_a else None,
                          statistic=0.0, p_value=1.0 if difference == 0 else 0.0,
                          confidence=confidence)
    df = (se_a2 + se_b2) ** 2 / (se_a2**2 / (n_a - 1) + se_b2**2 / (n_b - 1))
    t = difference / se
    p_value = 2 * stats.t.sf(abs(t), df)
    half = stats.t.ppf(1 - (1 - confidence) / 2, df) * se
    return Comparison(
        control=mean_a, treatment=mean_b, difference=difference,
        ci_low=difference - half, ci_high=difference + half,
        relative_lift=(difference / mean_a) if mean_a else None,
        statistic=t, p_value=p_value, confidence=confidence,
    )


def holm_adjusted(p_values):
    """Holm–Bonferroni adjusted p-values (same order as given), for campaigns that compare
    several variants with one control."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def peeking_warning(*, planned_per_group, smallest_group, window_closed):
    """Why the result should not be acted on yet, or "" when it may: reading a running test
    and stopping when it looks significant inflates false positives."""
    if planned_per_group and smallest_group < planned_per_group:
        return "underpowered"
    if not window_closed:
        return "window_open"
    return ""
