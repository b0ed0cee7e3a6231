"""Tests for sfdpo_helpers.winrate."""

import math
import warnings

import numpy as np
import pytest

from sfdpo_helpers.winrate import WinRate, compare, minimum_detectable_effect, to_markdown, verdict, win_rate


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
    with pytest.raises(ValueError, match=r"every one of the 2 prompts has a nan score"):
        win_rate([1, math.nan], [math.nan, 2])
    with pytest.raises(ValueError, match="categories has 1"):
        win_rate([1, 2], [0, 0], categories=["a"])
    with pytest.raises(ValueError, match="empty"):
        win_rate([], [])


def test_compare_and_markdown():
    scores = {"base": [1, 1, 1, 1], "sft": [2, 2, 0, 1], "dpo": [2, 2, 2, 2]}
    results = compare(scores, [("sft", "base"), ("dpo", "base")], n_resamples=100)
    assert [(r.model, r.baseline) for r in results] == [("sft", "base"), ("dpo", "base")]
    assert results[0].rate == pytest.approx(2.5 / 4)
    assert results[1].as_row()["win_rate"] == 1.0
    table = to_markdown(results)
    lines = table.splitlines()
    assert lines[0].replace(" ", "").startswith("|model|vs|winrate|95%CI|W/T/L|n|decisive|winsofdecisive|signtestp|")
    assert len(lines) == 4
    dpo = [c.strip() for c in lines[3].strip("|").split("|")]
    assert dpo == ["dpo", "base", "1.000", "[1.000, 1.000]", "4 / 0 / 0", "4", "100%", "1.000", "0.125"]
    with pytest.raises(ValueError, match=r"no scores for \['nope'\]"):
        compare(scores, [("sft", "nope")])
    with pytest.raises(ValueError, match="4 items but scores_b has 2"):
        compare({"base": [1, 2], "bad": [1, 2, 3, 4]}, [("bad", "base")])


def test_decisive_share_and_sign_test_against_binomial():
    # 6 wins, 3 ties, 1 loss: decisive 7, wins of decisive 6/7; sign test p = P(|X - 3.5| >= 2.5), X ~ B(7, 1/2)
    a = [1] * 6 + [0] * 3 + [0]
    b = [0] * 6 + [0] * 3 + [1]
    r = win_rate(a, b, n_resamples=100)
    assert (r.wins, r.ties, r.losses, r.decisive) == (6, 3, 1, 7)
    assert r.decisive_rate == pytest.approx(6 / 7)
    exact = sum(math.comb(7, k) for k in (0, 1, 6, 7)) / 2**7
    assert r.sign_test_p == pytest.approx(exact)
    assert win_rate([1, 1], [1, 1]).sign_test_p == 1.0  # all ties: nothing to test


def test_minimum_detectable_effect_matches_a_simulation():
    # the normal-approximation MDE, checked by simulating win/loss/tie outcomes at rate 1/2 + MDE
    n, ties = 64, 0.5
    mde = minimum_detectable_effect(n, ties)
    assert mde == pytest.approx(2.8016 * math.sqrt((1 - ties) / 4) / math.sqrt(n), rel=1e-3)
    rng = np.random.default_rng(0)
    p_win = (1 - ties) / 2 + mde  # mean outcome = p_win + ties/2 = 1/2 + mde
    hits = 0
    for _ in range(400):
        u = rng.random(n)
        outcomes = np.where(u < p_win, 1.0, np.where(u < p_win + ties, 0.5, 0.0))
        se = outcomes.std(ddof=1) / math.sqrt(n)
        hits += outcomes.mean() - 1.96 * se > 0.5
    assert 0.7 <= hits / 400 <= 0.9  # power 0.8 by construction
    assert minimum_detectable_effect(n, 1.0) == math.inf
    with pytest.raises(ValueError):
        minimum_detectable_effect(0)


def test_verdict_names_the_better_model_or_the_minimum_detectable_effect():
    better = win_rate([1] * 20 + [0] * 2, [0] * 20 + [1] * 2, model="dpo", baseline="sft", n_resamples=200)
    assert better.ci_low > 0.5 and "dpo is better" in verdict(better)
    worse = win_rate([0] * 20, [1] * 20, model="dpo", baseline="sft", n_resamples=200)
    assert "sft is better" in verdict(worse)
    # 64 prompts, 40 ties: a win rate can still move ±0.19, more than the detectable ±0.107
    unclear = win_rate([1, 0, 1, 0, 1, 1] * 4 + [0] * 40, [0, 1, 0, 1, 0, 0] * 4 + [0] * 40, model="a", baseline="b")
    text = verdict(unclear)
    mde = minimum_detectable_effect(64, 40 / 64)
    assert "no difference detected" in text and f"½ ± {mde:.3f}" in text and "62% ties" in text


def test_a_prompt_the_judge_could_not_score_is_left_out_and_counted():
    """An API judge scores nan for an input its endpoint refused: that prompt drops out of the win rate, the
    categories and the counts, and the row, the verdict and the table say how many."""
    from sfdpo_helpers.winrate import to_markdown, verdict

    r = win_rate([2, math.nan, 1, 0], [1, 0, math.nan, 1], categories=["x", "x", "y", "y"], model="dpo", baseline="sft")
    assert (r.n, r.wins, r.losses, r.skipped, r.rate) == (2, 1, 1, 2, 0.5)
    assert (r.by_category["x"].n, r.by_category["y"].n) == (1, 1)
    assert r.as_row()["skipped"] == 2 and "2 prompt(s) not judged, left out" in verdict(r)
    assert "not judged" in to_markdown(r) and "not judged" not in to_markdown(win_rate([1], [0]))
    assert win_rate([1], [0]).as_row()["skipped"] == 0


def test_paired_difference_is_the_mean_difference_with_a_paired_bootstrap_ci():
    from sfdpo_helpers.winrate import paired_difference

    a, b = [0.9, 0.8, 0.7, 0.95, 0.85, 0.9], [0.3, 0.35, 0.2, 0.4, 0.3, 0.25]
    result = paired_difference(a, b, model="dpo", baseline="sft")
    by_hand = sum(x - y for x, y in zip(a, b)) / len(a)
    assert result.mean == pytest.approx(by_hand) and result.n == 6
    assert 0 < result.ci_low <= by_hand <= result.ci_high  # every prompt favours A: the CI lies above 0
    same = paired_difference(b, b)
    assert (same.mean, same.ci_low, same.ci_high) == (0.0, 0.0, 0.0)
    assert "no difference detected" in same.sentence() and "dpo is better" in result.sentence()


def test_mcnemar_counts_only_the_prompts_where_exactly_one_model_is_right():
    from scipy.stats import binomtest

    from sfdpo_helpers.winrate import mcnemar, paired_difference

    right_a, right_b = [1, 1, 1, 1, 1, 1, 1, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0, 1, 0, 1]
    b, c, p = mcnemar(right_a, right_b)
    assert (b, c) == (7, 1) and p == pytest.approx(binomtest(7, 8, 0.5).pvalue)
    assert mcnemar([1, 0], [1, 0]) == (0, 0, 1.0)
    result = paired_difference([0.0] * 10, [0.0] * 10, right_a, right_b)
    assert (result.accuracy_a, result.accuracy_b, result.only_a_right) == (0.8, 0.2, 7)


def test_the_verdict_says_when_ties_leave_no_detectable_win_rate():
    from sfdpo_helpers.winrate import verdict, win_rate

    # 43 ties of 50 (07's case in an earlier run): a win rate moves at most ±0.07, less than n = 50 can detect
    result = win_rate([1] * 4 + [0] * 3 + [0.5] * 43, [0] * 4 + [1] * 3 + [0.5] * 43)
    text = verdict(result)
    assert "no win rate could be told from ½" in text and "±0.070" in text and "sees win rates beyond" not in text
