"""Experiment statistics, checked against SciPy and statsmodels on known data."""

from collections import Counter

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportions_ztest,
    samplesize_proportions_2indep_onetail,
)

from jalin.sales.experiment_stats import (
    assign_group,
    compare_means,
    compare_rates,
    holm_adjusted,
    peeking_warning,
    sample_size_per_group,
    unit_interval,
)


@pytest.mark.parametrize(("sa", "na", "sb", "nb"), [
    (120, 2400, 156, 2380),   # 5.0% vs 6.55%
    (30, 1000, 30, 1000),     # no difference
    (0, 500, 7, 480),         # control converts nobody
    (480, 500, 450, 500),     # treatment worse
])
def test_compare_rates_matches_statsmodels(sa, na, sb, nb):
    result = compare_rates(successes_a=sa, n_a=na, successes_b=sb, n_b=nb)

    z, p = proportions_ztest([sb, sa], [nb, na])
    low, high = confint_proportions_2indep(sb, nb, sa, na, method="wald", compare="diff")
    assert result.statistic == pytest.approx(z, rel=1e-9)
    assert result.p_value == pytest.approx(p, rel=1e-9)
    assert result.ci_low == pytest.approx(low, rel=1e-9, abs=1e-12)
    assert result.ci_high == pytest.approx(high, rel=1e-9, abs=1e-12)
    assert result.difference == pytest.approx(sb / nb - sa / na)


def test_compare_rates_known_answer():
    # 5.00% vs 6.55% of ~2,400 each: significant at 95%, lift about +31%.
    result = compare_rates(successes_a=120, n_a=2400, successes_b=156, n_b=2380)
    assert result.significant
    assert result.relative_lift == pytest.approx((156 / 2380 - 0.05) / 0.05)
    assert result.ci_low > 0
    assert compare_rates(successes_a=0, n_a=10, successes_b=3, n_b=10).relative_lift is None


def test_compare_rates_rejects_impossible_counts():
    with pytest.raises(ValueError):
        compare_rates(successes_a=5, n_a=0, successes_b=1, n_b=10)
    with pytest.raises(ValueError):
        compare_rates(successes_a=11, n_a=10, successes_b=1, n_b=10)


def _aggregates(values):
    values = np.asarray(values, dtype=float)
    return len(values), values.sum(), (values**2).sum()


def test_compare_means_matches_scipy_welch():
    rng = np.random.default_rng(7)
    # Revenue per recipient: most bring nothing, a few order.
    a = np.where(rng.random(3000) < 0.04, rng.gamma(2.0, 900_000, 3000), 0.0)
    b = np.where(rng.random(2900) < 0.05, rng.gamma(2.0, 950_000, 2900), 0.0)
    n_a, s_a, q_a = _aggregates(a)
    n_b, s_b, q_b = _aggregates(b)

    result = compare_means(n_a=n_a, sum_a=s_a, sum_squares_a=q_a,
                           n_b=n_b, sum_b=s_b, sum_squares_b=q_b)

    reference = stats.ttest_ind(b, a, equal_var=False)
    interval = reference.confidence_interval(0.95)
    assert result.statistic == pytest.approx(reference.statistic, rel=1e-6)
    assert result.p_value == pytest.approx(reference.pvalue, rel=1e-6)
    assert result.ci_low == pytest.approx(interval.low, rel=1e-6)
    assert result.ci_high == pytest.approx(interval.high, rel=1e-6)
    assert result.difference == pytest.approx(b.mean() - a.mean())


def test_compare_means_identical_constant_groups():
    result = compare_means(n_a=10, sum_a=50, sum_squares_a=250, n_b=10, sum_b=50,
                           sum_squares_b=250)
    assert result.p_value == 1.0
    assert not result.significant


@pytest.mark.parametrize(("baseline", "effect"), [(0.10, 0.02), (0.04, 0.01), (0.5, -0.05)])
def test_sample_size_matches_statsmodels(baseline, effect):
    ours = sample_size_per_group(baseline_rate=baseline, minimum_detectable_effect=effect)
    reference = samplesize_proportions_2indep_onetail(
        diff=effect, prop2=baseline, power=0.8, alpha=0.05, alternative="two-sided")
    assert ours == pytest.approx(reference, abs=1.01)


def test_sample_size_textbook_value():
    # 10% → 12%, alpha 0.05 two-sided, power 0.8: 3,841 per group (Fleiss, no correction).
    assert sample_size_per_group(baseline_rate=0.10, minimum_detectable_effect=0.02) == 3841
    with pytest.raises(ValueError):
        sample_size_per_group(baseline_rate=0.10, minimum_detectable_effect=0)


def test_holm_matches_statsmodels():
    p_values = [0.01, 0.04, 0.03, 0.20]
    assert holm_adjusted(p_values) == pytest.approx(
        list(multipletests(p_values, method="holm")[1]))


def test_assignment_is_reproducible_and_follows_weights():
    first = [assign_group(seed="s1", key=i, weights=[1, 1], holdout_percent=10)
             for i in range(20_000)]
    again = [assign_group(seed="s1", key=i, weights=[1, 1], holdout_percent=10)
             for i in reversed(range(20_000))]
    assert first == list(reversed(again))
    counts = Counter(first)
    assert counts[None] / 20_000 == pytest.approx(0.10, abs=0.01)
    assert counts[0] / 20_000 == pytest.approx(0.45, abs=0.015)
    assert counts[1] / 20_000 == pytest.approx(0.45, abs=0.015)
    # Another seed reshuffles.
    other = [assign_group(seed="s2", key=i, weights=[1, 1], holdout_percent=10)
             for i in range(20_000)]
    assert other != first
    with pytest.raises(ValueError):
        assign_group(seed="s", key=1, weights=[1, 0])


def test_assignment_is_uniform_enough():
    # Kolmogorov–Smirnov against U(0,1): the hash gives no detectable structure.
    values = [unit_interval(seed="ks", key=i) for i in range(5000)]
    assert stats.kstest(values, "uniform").pvalue > 0.001


@given(st.integers(0, 10**9), st.lists(st.integers(1, 9), min_size=1, max_size=5),
       st.integers(0, 50))
def test_assignment_always_returns_a_valid_group(key, weights, holdout):
    group = assign_group(seed="prop", key=key, weights=weights, holdout_percent=holdout)
    assert group is None or 0 <= group < len(weights)
    if holdout == 0:
        assert group is not None


def test_peeking_warning():
    assert peeking_warning(planned_per_group=1000, smallest_group=400,
                           window_closed=True) == "underpowered"
    assert peeking_warning(planned_per_group=1000, smallest_group=1200,
                           window_closed=False) == "window_open"
    assert peeking_warning(planned_per_group=1000, smallest_group=1200,
                           window_closed=True) == ""
