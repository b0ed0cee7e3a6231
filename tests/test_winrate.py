"""Tests for sfdpo_helpers.winrate."""

import math
import warnings

import numpy as np
import pytest

from sfdpo_helpers.winrate import WinRate, paired_win_rates, to_markdown, win_rate


def test_counts_with_exact_and_near_ties():
    a = [1.0, 2.0, 3.0, 0.5, 1.0 + 1e-12, 7.0]
    b = [0.0, 2.0, 4.0, 0.5, 1.0, 6.0]
    r = win_rate(a, b, n_resamples=200)
    assert (r.wins, r.ties, r.losses, r.n) == (2, 3, 1, 6)
    assert r.rate == pytest.approx((2 + 1.5) / 6)
    assert r.ci_low <= r.rate <= r.ci_high


def test_tie_tolerance_is_absolute_1e9():
    assert win_rate([1.0 + 2e-9], [1.0]).wins == 1
    assert win_rate([1.0 + 5e-10], [1.0]).ties == 1


def test_degenerate_all_same_collapses_ci_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for a, b, rate in (([2, 2, 2], [1, 1, 1], 1.0), ([1, 1], [1, 1], 0.5), ([0], [1], 0.0)):
            r = win_rate(a, b, n_resamples=100)
            assert (r.rate, r.ci_low, r.ci_high) == (rate, rate, rate)


def test_bca_method_and_determinism():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=50), rng.normal(size=50)
    r1 = win_rate(a, b, n_resamples=300, method="BCa", seed=3)
    r2 = win_rate(a, b, n_resamples=300, method="BCa", seed=3)
    assert (r1.ci_low, r1.ci_high) == (r2.ci_low, r2.ci_high)
    assert 0.0 <= r1.ci_low <= r1.rate <= r1.ci_high <= 1.0


def test_ci_coverage_on_synthetic_bernoulli():
    rng = np.random.default_rng(12345)
    covered = 0
    reps = 200
    for rep in range(reps):
        wins = rng.random(100) < 0.6
        r = win_rate(wins.astype(float), np.full(100, 0.5), n_resamples=500, seed=rep)
        covered += r.ci_low <= 0.6 <= r.ci_high
    assert 0.88 * reps <= covered <= 0.99 * reps


def test_by_category():
    a = [1, 1, 0, 0, 5]
    b = [0, 0, 1, 0, 5]
    r = win_rate(a, b, categories=["x", "x", "y", "y", "z"], n_resamples=100)
    assert set(r.by_category) == {"x", "y", "z"}
    assert r.by_category["x"].rate == 1.0 and r.by_category["x"].n == 2
    assert (r.by_category["y"].losses, r.by_category["y"].ties) == (1, 1)
    assert r.by_category["z"].rate == 0.5
    assert isinstance(r.by_category["x"], WinRate)


def test_errors_name_lengths_and_nan_index():
    with pytest.raises(ValueError, match="3 items.*2"):
        win_rate([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match=r"scores_b\[1\] is NaN"):
        win_rate([1, 2], [1, math.nan])
    with pytest.raises(ValueError, match="categories has 1"):
        win_rate([1, 2], [0, 0], categories=["a"])
    with pytest.raises(ValueError, match="empty"):
        win_rate([], [])


def test_paired_win_rates_and_markdown():
    scores = {"base": [1, 1, 1, 1], "sft": [2, 2, 0, 1], "dpo": [2, 2, 2, 2]}
    results = paired_win_rates(scores, "base", n_resamples=100)
    assert [r.model for r in results] == ["sft", "dpo"]
    assert all(r.baseline == "base" for r in results)
    assert results[0].rate == pytest.approx(2.5 / 4)
    assert results[1].as_row()["win_rate"] == 1.0
    table = to_markdown(results)
    lines = table.splitlines()
    assert lines[0].startswith("| model | vs | win rate")
    assert len(lines) == 4 and "| dpo | base | 1.000 | [1.000, 1.000] | 4 / 0 / 0 | 4 |" in table
    with pytest.raises(ValueError, match="baseline 'nope'"):
        paired_win_rates(scores, "nope")
    with pytest.raises(ValueError, match="'bad' has 1 scores"):
        paired_win_rates({"base": [1, 2], "bad": [1]}, "base")
