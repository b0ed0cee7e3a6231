"""Pair building for RS-DPO and self-improvement, on hand-made cases."""

import math
import random

import pytest

from sfdpo_helpers.pairs import (
    mix_pairs,
    reward_gap_pairs,
    rs_dpo_pairs,
    select_best_and_bottom3,
    select_best_and_worst,
    self_improvement_pairs,
    tie_counts,
)
from sfdpo_helpers.sampling import STUDY_SCHEDULE, schedule_temperatures

ROWS = [{"prompt": f"p{i}", "chosen": f"good {i}", "rejected": f"bad {i}"} for i in range(10)]


def test_rs_dpo_pairs_put_the_sample_in_rejected_and_count_skips():
    samples = [f"mine {i}" for i in range(10)]
    samples[3], samples[5] = "  ", "good 5"
    pairs, skipped = rs_dpo_pairs(ROWS, samples)
    assert len(pairs) == 8 and skipped == {"empty sample": 1, "sample == chosen": 1}
    assert pairs[0] == {"prompt": "p0", "chosen": "good 0", "rejected": "mine 0", "rejected_source": "policy",
                        "rejected_kind": "policy sample"}  # fmt: skip
    with pytest.raises(ValueError, match="10 rows but 9 samples"):
        rs_dpo_pairs(ROWS, samples[:9])


@pytest.mark.parametrize("fraction,expected", [(1.0, 10), (0.2, 2), (0.1, 1), (0.0, 0)])
def test_mixtures_take_exactly_the_fraction(fraction, expected):
    rs, _ = rs_dpo_pairs(ROWS, [f"mine {i}" for i in range(10)])
    mixed = mix_pairs(rs, ROWS, fraction, seed=1)
    assert len(mixed) == 10 and [p["prompt"] for p in mixed] == [r["prompt"] for r in ROWS]
    assert sum(p["rejected"].startswith("mine") for p in mixed) == expected
    assert mixed == mix_pairs(rs, ROWS, fraction, seed=1)  # seeded


def test_mixture_keeps_dataset_pair_when_the_sample_was_skipped():
    rs, _ = rs_dpo_pairs(ROWS[:1], ["good 0"])
    assert mix_pairs(rs, ROWS[:1], 1.0) == ROWS[:1]


def test_reward_gap_rule():
    pairs = reward_gap_pairs("p", ["a", "b", "c"], [2.0, 0.0, 1.9], tau=1.0, eta=0.85)
    # sigma(2) = 0.88 > 0.85 and sigma(1.9) = 0.87 > 0.85; sigma(0.1) = 0.52 is too small a gap
    assert [(p["chosen"], p["rejected"]) for p in pairs] == [("a", "b"), ("c", "b")]
    assert reward_gap_pairs("p", ["a", "b"], [1.0, 1.0]) == []
    with pytest.raises(ValueError):
        reward_gap_pairs("p", ["a"], [1.0], eta=0.3)


def test_best_and_bottom3_picks_best_and_one_of_the_three_worst():
    rewards = [0.5, 0.9, 0.1, 0.7, 0.2, 0.3, 0.8, 0.6]
    seen = set()
    rng = random.Random(0)
    for _ in range(200):
        best, rejected = select_best_and_bottom3(list("abcdefgh"), rewards, rng)
        assert best == 1
        seen.add(rejected)
    assert seen == {2, 4, 5}  # the three lowest rewards, each drawn


def test_ties_fewer_than_three_and_all_equal():
    rng = random.Random(0)
    assert select_best_and_bottom3(["a", "b", "c"], [1.0, 1.0, 1.0], rng) is None
    assert select_best_and_bottom3(["a"], [1.0], rng) is None
    assert select_best_and_bottom3(["a", "b"], [0.0, 1.0], rng) == (1, 0)
    # tie for best: either best is chosen, the other best is never rejected
    picked = {select_best_and_bottom3(["a", "b", "c", "d"], [1.0, 1.0, 0.0, 0.5], rng) for _ in range(100)}
    assert picked == {(0, 2), (0, 3), (1, 2), (1, 3)}


def test_a_tie_for_the_best_is_broken_at_random_not_by_the_temperature_schedule():
    """With coarse scores most of the 8 samples tie at the top. Samples come in schedule order (2 x T=0.2,
    3 x 0.7, 3 x 1.2): the chosen one must be drawn among the tied ones, so its temperature varies."""
    temperatures = schedule_temperatures(STUDY_SCHEDULE)
    rewards = [1.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.5]  # tied best: 0, 1, 2, 3, 5, 6
    chosen = [select_best_and_bottom3(list("abcdefgh"), rewards, random.Random(seed))[0] for seed in range(300)]
    assert set(chosen) == {0, 1, 2, 3, 5, 6}
    assert {temperatures[i] for i in chosen} == {0.2, 0.7, 1.2}
    assert max(chosen.count(i) for i in set(chosen)) < 100  # about 50 each, not one index most of the time
    # many prompts in one seeded pass: the same
    pairs, _ = self_improvement_pairs(["p"] * 300, [list("abcdefgh")] * 300, [rewards] * 300, seed=0)
    assert {p["chosen"] for p in pairs} == set("abcdfg")


def test_which_tied_lowest_samples_are_the_bottom_3_is_drawn_at_random():
    """Five samples tie at the bottom: any of them may be rejected, not only the three lowest indices."""
    rewards = [1.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.9]
    rejected = {select_best_and_bottom3(list("abcdefgh"), rewards, random.Random(seed))[1] for seed in range(300)}
    assert rejected == {2, 3, 4, 5, 6}
    untied = [1.0, 0.1, 0.2, 0.0, 0.0, 0.9, 0.8, 0.7]  # no tie at the boundary: the 3 lowest are 3, 4 and 1
    assert {select_best_and_bottom3(list("abcdefgh"), untied, random.Random(s))[1] for s in range(200)} == {1, 3, 4}


def test_the_worst_rule_rejects_the_lowest_with_ties_at_random():
    rewards = [0.5, 1.0, 0.0, 0.2, 0.1, 1.0, 0.3, 0.0]  # best: 1 and 5; worst: 2 and 7; bottom 3: 2, 7 and 4
    picked = {select_best_and_worst(list("abcdefgh"), rewards, random.Random(seed)) for seed in range(300)}
    assert {b for b, _ in picked} == {1, 5} and {w for _, w in picked} == {2, 7}
    assert select_best_and_worst(["a", "b"], [1.0, 1.0], random.Random(0)) is None
    samples, scores = [list("abcdefgh")] * 100, [rewards] * 100
    worst, _ = self_improvement_pairs(["p"] * 100, samples, scores, seed=1, rejected_rule="worst")
    assert {p["rejected"] for p in worst} == {"c", "h"}
    bottom3, _ = self_improvement_pairs(["p"] * 100, samples, scores, seed=1)  # the default: the study's rule
    assert {p["rejected"] for p in bottom3} == {"c", "h", "e"}
    with pytest.raises(ValueError, match=r"unknown rejected_rule 'best3'; the rules are 'random_bottom3', 'worst'"):
        self_improvement_pairs(["p"], [["a", "b"]], [[0.0, 1.0]], rejected_rule="best3")


def test_tie_counts():
    rewards = [[1.0, 1.0, 0.0], [0.5, 0.5, 0.5], [1.0, 0.0, 0.0], [0.3, 0.2, 0.1], [2 / 3, 1 / 3 + 1 / 3, 0.0]]
    assert tie_counts(rewards) == {"prompts": 5, "best tied": 2, "all tied": 1, "worst tied": 1}
    assert tie_counts([]) == {"prompts": 0, "best tied": 0, "all tied": 0, "worst tied": 0}
    with pytest.raises(ValueError, match="prompt 1: no rewards"):
        tie_counts([[1.0, 0.0], []])


def test_self_improvement_pairs_counts_drops_and_is_seeded():
    prompts = ["p1", "p2", "p3", "p4"]
    samples = [["x", "y", "z"], ["u", "v"], ["w"], ["same", "same"]]
    rewards = [[0.0, 1.0, 0.5], [0.3, 0.3], [1.0], [1.0, 0.0]]
    pairs, dropped = self_improvement_pairs(prompts, samples, rewards, seed=3)
    assert [p["prompt"] for p in pairs] == ["p1"] and pairs[0]["chosen"] == "y"
    assert dropped == {"best and worst tie": 1, "fewer than 2 samples": 1, "chosen text == rejected text": 1}
    assert pairs == self_improvement_pairs(prompts, samples, rewards, seed=3)[0]


def test_loss_rates_and_weakest_categories():
    from sfdpo_helpers.curriculum import loss_rates, weakest

    # model vs reference scores: math loses 3 of 4, writing ties all, chat wins all, tiny loses its only one
    cats = ["math"] * 4 + ["writing"] * 4 + ["chat"] * 4 + ["tiny"]
    model = [0, 0, 0, 1] + [1] * 4 + [1] * 4 + [0]
    ref = [1, 1, 1, 0] + [1] * 4 + [0] * 4 + [1]
    rows = loss_rates(model, ref, cats)
    by = {r["category"]: r for r in rows}
    assert by["math"]["loss_rate"] == 0.75 and by["writing"]["loss_rate"] == 0.5 and by["chat"]["loss_rate"] == 0.0
    assert by["math"]["losses"] == 3 and by["writing"]["ties"] == 4 and by["tiny"]["n"] == 1
    assert [r["category"] for r in rows][:2] == ["tiny", "math"]  # worst first
    assert weakest(rows, k=2, min_n=3) == ["math", "writing"]  # 'tiny' has too few prompts to trust
    assert weakest(rows, k=4, min_n=4) == ["math", "writing", "chat", "tiny"]


def test_ranking_note_names_ties_and_what_the_categories_could_show():
    from sfdpo_helpers.curriculum import loss_rates, ranking_note, weakest

    # math loses 3 of 4, writing ties all 4, poetry (2 prompts) loses 1 wins 1 (= writing's 0.5), chat wins all
    # and tiny loses its only prompt: a higher loss rate, but too few prompts to be ranked (min_n = 3)
    cats = ["math"] * 4 + ["writing"] * 4 + ["poetry"] * 2 + ["chat"] * 4 + ["tiny"]
    model = [0, 0, 0, 1] + [1] * 4 + [0, 1] + [1] * 4 + [0]
    ref = [1, 1, 1, 0] + [1] * 4 + [1, 0] + [0] * 4 + [1]
    rows = loss_rates(model, ref, cats)
    picked = weakest(rows, k=2, min_n=3)
    note = ranking_note(rows, picked, min_n=3)
    assert picked == ["math", "writing"]
    assert "poetry has the same loss rate (0.500) as writing" in note
    assert "tiny loses more often, but n = 1 is under the 3 prompts to rank" in note and "math loses" not in note
    mde_math = (1.959964 + 0.841621) * math.sqrt(1 / 4) / math.sqrt(4)  # no ties at n = 4
    assert "No 95% CI of a category with 3 prompts or more lies above ½" in note  # tiny's [1, 1]: one prompt
    assert f"½ ± {mde_math:.2f} for math (n = 4)" in note
    assert "every prompt of writing tied" in note
    assert "gained least" not in note  # math loses more often than it wins

    # a category lost on all 12 prompts: its CI lies above ½; and one where the model never does worse
    many = ["bad"] * 12 + ["fine"] * 4
    rows = loss_rates([0] * 12 + [1, 1, 1, 0], [1] * 12 + [1, 1, 0, 0], many)
    assert "lies above ½ for bad" in ranking_note(rows, weakest(rows, k=1, min_n=3), min_n=3)
    rows = loss_rates([1, 1, 1, 0], [1, 1, 0, 0], ["fine"] * 4)
    note = ranking_note(rows, ["fine"])
    assert "gained least" in note and "same loss rate" not in note and ranking_note(rows, []) == ""


def test_one_bad_category_of_many_is_beyond_chance_only_after_the_correction_for_the_number_tested():
    from sfdpo_helpers.curriculum import loss_rates, ranking_note

    # "odd" loses 5 of 6 (sign test p = 0.22 alone): its bootstrap CI may lie above ½, but 10 categories tested
    cats = ["odd"] * 6 + [f"c{i}" for i in range(9) for _ in range(6)]
    model = [0, 0, 0, 0, 0, 1] + [1, 0] * 27
    ref = [1, 1, 1, 1, 1, 0] + [0, 1] * 27
    note = ranking_note(loss_rates(model, ref, cats), ["odd"], min_n=3)
    assert "beyond chance" not in note
    assert "½ ± " in note and "for odd (n = 6)" in note  # the picked category's detectable effect, always
