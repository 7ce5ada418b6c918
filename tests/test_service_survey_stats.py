"""Satisfaction formulas on known answer sets (checked by hand) and their properties."""

from collections import Counter
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jalin.service import survey_stats as stats

D = Decimal


# --- Known answer sets ---------------------------------------------------------------------


def test_nps_of_the_issue_example_is_zero():
    # 2 promoters (10, 9), 2 passives (8, 7), 2 detractors (6, 0) of 6: 33.33 − 33.33 = 0.
    scores = [10, 9, 8, 7, 6, 0]
    assert stats.promoters_percent(scores) == D("33.33")
    assert stats.detractors_percent(scores) == D("33.33")
    assert stats.nps(scores) == D("0.00")


@pytest.mark.parametrize(("scores", "expected"), [
    ([10, 10, 10], D("100.00")),                  # all promoters
    ([0, 3, 6], D("-100.00")),                    # all detractors
    ([7, 8, 7, 8], D("0.00")),                    # all passives
    ([10, 9, 9, 8, 2], D("40.00")),               # 3/5 − 1/5 = 60 − 20
    ([9, 6, 6], D("-33.33")),                     # 1/3 − 2/3 = −33.333…
    ([10, 10, 6], D("33.33")),                    # 2/3 − 1/3
    ([9, 9, 7], D("66.67")),                      # 2/3 − 0 = 66.666… rounds up
    ([10] * 7 + [5] * 3 + [8] * 2, D("33.33")),   # 7/12 − 3/12 = 4/12
])
def test_nps_known_sets(scores, expected):
    assert stats.nps(scores) == expected


def test_nps_is_rounded_once_not_per_percentage():
    # 1 promoter, 0 detractors of 6 passives+1: 1/7 = 14.2857… → 14.29 exactly once.
    scores = [9] + [7] * 6
    assert stats.nps(scores) == D("14.29")
    # 2 promoters and 1 detractor of 7: 28.571… − 14.285… = 14.2857… → 14.29 (rounding each
    # first would give 28.57 − 14.29 = 14.28).
    scores = [9, 9, 0, 7, 7, 7, 7]
    assert stats.promoters_percent(scores) - stats.detractors_percent(scores) == D("14.28")
    assert stats.nps(scores) == D("14.29")


@pytest.mark.parametrize(("scores", "good", "expected"), [
    ([5, 4, 3, 2, 1], 4, D("40.00")),   # 5 and 4 of five
    ([5, 5, 5], 4, D("100.00")),
    ([1, 2, 3], 4, D("0.00")),
    ([4, 3, 3], 4, D("33.33")),
    ([4, 4, 3], 4, D("66.67")),
    ([3, 3, 2], 3, D("66.67")),         # threshold 3: "at or above"
    ([1], 1, D("100.00")),
])
def test_csat_known_sets(scores, good, expected):
    assert stats.csat_percent(scores, good_threshold=good) == expected


@pytest.mark.parametrize(("scores", "expected"), [
    ([7, 7, 7], D("7.00")),
    ([1, 7], D("4.00")),
    ([5, 6, 6], D("5.67")),             # 17/3 = 5.666…
    ([2, 3, 3], D("2.67")),             # 8/3
    ([1, 2], D("1.50")),
    ([4, 4, 5], D("4.33")),
])
def test_ces_mean_known_sets(scores, expected):
    assert stats.ces(scores) == expected


@pytest.mark.parametrize(("answered", "sent", "expected"), [
    (0, 10, D("0.00")), (10, 10, D("100.00")), (1, 3, D("33.33")), (2, 3, D("66.67")),
    (7, 20, D("35.00")),
])
def test_response_rate(answered, sent, expected):
    assert stats.response_rate(answered=answered, sent=sent) == expected


@pytest.mark.parametrize(("score", "low", "high", "expected"), [
    (1, 1, 5, D("0.00")), (5, 1, 5, D("100.00")), (3, 1, 5, D("50.00")),
    (4, 1, 5, D("75.00")), (0, 0, 10, D("0.00")), (7, 0, 10, D("70.00")),
    (2, 1, 7, D("16.67")), (6, 1, 7, D("83.33")),
])
def test_normalized(score, low, high, expected):
    assert stats.normalized(score, low=low, high=high) == expected


def test_no_answers_is_none_not_zero():
    assert stats.nps([]) is None
    assert stats.csat_percent([], good_threshold=4) is None
    assert stats.ces([]) is None
    assert stats.promoters_percent([]) is None
    assert stats.response_rate(answered=0, sent=0) is None
    assert stats.csat_from_counts(good=0, answers=0) is None
    summary = stats.summarize([], good_threshold=4)
    assert summary.answers == 0 and summary.csat is None and summary.nps is None


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        stats.normalized(6, low=1, high=5)
    with pytest.raises(ValueError):
        stats.normalized(1, low=5, high=5)
    with pytest.raises(ValueError):
        stats.response_rate(answered=-1, sent=3)
    with pytest.raises(ValueError):
        stats.csat_from_counts(good=4, answers=3)
    with pytest.raises(ValueError):
        stats.histogram({3: -1})


def test_summarize_matches_the_single_formulas():
    scores = [5, 4, 4, 2, 1]
    summary = stats.summarize(scores, good_threshold=4)
    assert summary.answers == 5 and summary.good == 3
    assert summary.csat == D("60.00") == stats.csat_from_counts(good=3, answers=5)
    assert summary.mean == D("3.20")


# --- Properties ----------------------------------------------------------------------------

nps_scores = st.lists(st.integers(min_value=0, max_value=10), min_size=1, max_size=200)
csat_scores = st.lists(st.integers(min_value=1, max_value=5), min_size=1, max_size=200)


@given(nps_scores)
def test_nps_is_within_bounds_and_equals_the_histogram_result(scores):
    value = stats.nps(scores)
    assert D("-100") <= value <= D("100")
    assert stats.nps(Counter(scores)) == value
    assert value == value.quantize(D("0.01"))


@given(nps_scores, st.randoms())
def test_nps_does_not_depend_on_order(scores, random):
    shuffled = list(scores)
    random.shuffle(shuffled)
    assert stats.nps(shuffled) == stats.nps(scores)


@given(nps_scores)
def test_nps_rises_when_a_detractor_becomes_a_promoter(scores):
    if 0 not in scores:
        scores = scores + [0]
    better = list(scores)
    better[better.index(0)] = 10
    assert stats.nps(better) > stats.nps(scores)


@given(nps_scores)
def test_nps_is_promoters_minus_detractors_within_a_cent(scores):
    difference = stats.promoters_percent(scores) - stats.detractors_percent(scores)
    assert abs(difference - stats.nps(scores)) <= D("0.01")


@given(csat_scores, st.integers(min_value=1, max_value=5))
def test_csat_is_a_percentage_and_monotonic_in_the_threshold(scores, good):
    value = stats.csat_percent(scores, good_threshold=good)
    assert D("0") <= value <= D("100")
    if good < 5:
        assert stats.csat_percent(scores, good_threshold=good + 1) <= value
    assert stats.csat_percent(scores, good_threshold=1) == D("100.00")


@given(st.lists(st.integers(min_value=1, max_value=7), min_size=1, max_size=200))
def test_ces_mean_lies_between_the_extremes(scores):
    value = stats.ces(scores)
    assert D(min(scores)) <= value <= D(max(scores))


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=1, max_value=10**6))
def test_response_rate_is_a_percentage_when_answered_le_sent(answered, sent):
    answered = min(answered, sent)
    assert D("0") <= stats.response_rate(answered=answered, sent=sent) <= D("100")


@given(st.sampled_from([(1, 5), (0, 10), (1, 7)]), st.data())
def test_normalized_is_monotonic_and_spans_0_to_100(scale, data):
    low, high = scale
    a = data.draw(st.integers(min_value=low, max_value=high))
    b = data.draw(st.integers(min_value=low, max_value=high))
    if a <= b:
        assert stats.normalized(a, low=low, high=high) <= stats.normalized(b, low=low,
                                                                           high=high)
    assert stats.normalized(low, low=low, high=high) == D("0.00")
    assert stats.normalized(high, low=low, high=high) == D("100.00")
