"""The revenue/demand forecast and its backtest, on series whose right answers are known."""

import math

import numpy as np
import pytest

from jalin.sales.forecasting import backtest, forecast, seasonal_naive


def seasonal_series(months, *, level=100.0, trend=0.0, amplitude=20.0, noise=0.0, seed=1):
    rng = np.random.default_rng(seed)
    return [level + trend * t + amplitude * math.sin(2 * math.pi * (t % 12) / 12)
            + (rng.normal(0, noise) if noise else 0.0) for t in range(months)]


def test_seasonal_naive_repeats_last_season_or_last_value():
    history = list(range(1, 25))  # two "years" 1..24
    assert seasonal_naive(history, horizon=14, season_length=12) == (
        [float(v) for v in range(13, 25)] + [13.0, 14.0])
    assert seasonal_naive([5, 7], horizon=3, season_length=12) == [7.0, 7.0, 7.0]
    assert seasonal_naive([], horizon=2, season_length=12) == [0.0, 0.0]


def test_backtest_scores_seasonal_naive_by_hand():
    # Season plus growth of 1 per month: "same month last year" is 12 short at every point
    # (give or take the noise), so the baseline's MAE is about 12.
    history = seasonal_series(40, trend=1.0, noise=0.3, seed=9)
    result = backtest(history, horizon=3, origins=4)
    assert result.origins == 4
    assert [(row["origin"], row["step"]) for row in result.errors] == [
        (origin, step) for origin in range(34, 38) for step in (1, 2, 3)]
    for row in result.errors:
        index = row["origin"] + row["step"] - 1
        assert row["actual"] == history[index]
        assert row["naive"] == history[index - 12]
    naive_errors = [abs(row["actual"] - row["naive"]) for row in result.errors]
    model_errors = [abs(row["actual"] - row["forecast"]) for row in result.errors]
    assert result.naive_mae == pytest.approx(sum(naive_errors) / 12)
    assert result.naive_mae == pytest.approx(12.0, abs=1.0)
    assert result.mae == pytest.approx(sum(model_errors) / 12)
    assert result.mase == pytest.approx(result.mae / result.naive_mae)
    assert result.naive_mape == pytest.approx(
        sum(e / abs(r["actual"]) * 100 for e, r in zip(naive_errors, result.errors,
                                                       strict=True)) / 12)
    # Too little history for any origin: nothing tested, nothing claimed.
    empty = backtest(history[:10], horizon=3, origins=4)
    assert empty.origins == 0 and empty.mae is None and empty.mase is None


def test_model_beats_seasonal_naive_on_a_trending_seasonal_series():
    # Growth of 3 per month: "same month last year" is always 36 short; the model learns it.
    history = seasonal_series(60, trend=3.0, noise=2.0, seed=4)
    result = backtest(history, horizon=3, origins=6)
    assert result.naive_mae == pytest.approx(36.0, abs=3.0)
    assert result.beats_naive
    assert result.mase < 0.5
    assert result.mape is not None and result.mape < 5


def test_forecast_continues_trend_and_season_with_intervals():
    history = seasonal_series(48, trend=2.0, noise=1.0, seed=2)
    result = forecast(history, horizon=6, level=0.95)
    assert result.method == "ets_seasonal"
    expected = seasonal_series(54, trend=2.0)[48:]
    for mean, truth, low, high in zip(result.mean, expected, result.lower, result.upper,
                                      strict=True):
        assert low <= mean <= high
        assert abs(mean - truth) < 12
    # Wider intervals further out.
    widths = [u - lo for u, lo in zip(result.upper, result.lower, strict=True)]
    assert widths[-1] > widths[0]
    narrower = forecast(history, horizon=6, level=0.5)
    assert narrower.upper[0] - narrower.lower[0] < widths[0]


def test_short_history_falls_back_and_never_goes_negative():
    assert forecast([10, 12, 11, 13, 12, 14, 13, 15], horizon=3).method == "ets_trend"
    short = forecast([3, 1, 0], horizon=2)
    assert short.method == "naive"
    assert short.mean == [0.0, 0.0]
    assert all(v >= 0 for v in short.lower)
    assert forecast([0, 0, 0, 0, 0, 0, 0], horizon=2).mean == [0.0, 0.0]
    with pytest.raises(ValueError):
        forecast([1, 2, 3], horizon=0)
