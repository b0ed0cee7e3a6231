"""Building preference pairs from samples: RS-DPO and self-improvement (pure functions).

* :func:`rs_dpo_pairs`: the study's RS-DPO. The SFT model's own answer to a training prompt becomes
  the *rejected* response, the dataset's chosen answer stays *chosen*.
* :func:`mix_pairs`: RS-DPO1/2/3 train on 100% / 20% / 10% such pairs, the rest from the dataset.
* :func:`reward_gap_pairs`: the original RS-DPO rule (Khaki et al. 2024, Alg. 1): among k scored
  samples of a prompt keep every ordered pair (j, l) with σ((r_j − r_l)/τ) > η.
* :func:`select_best_and_bottom3`: self-improvement. Chosen = the best-scored sample, rejected = a
  random one of the 3 worst (seeded; ties broken at random, never by index); prompts whose samples all
  score the same are dropped. :func:`select_best_and_worst` is the "worst" rule, :func:`tie_counts`
  tells how often ties decided.
"""

from __future__ import annotations

import math
import random
from collections import Counter


def rs_dpo_pairs(rows: list[dict], samples: list[str]) -> tuple[list[dict], Counter]:
    """``{"prompt", "chosen": dataset chosen, "rejected": model sample}`` per row; skips are counted
    (an empty sample, or a sample identical to the chosen answer)."""
    if len(rows) != len(samples):
        raise ValueError(f"{len(rows)} rows but {len(samples)} samples")
    pairs, skipped = [], Counter()
    for row, sample in zip(rows, samples):
        if not sample or not sample.strip():
            skipped["empty sample"] += 1
        elif sample.strip() == row["chosen"].strip():
            skipped["sample == chosen"] += 1
        else:
            pairs.append({**row, "rejected": sample, "rejected_source": "policy", "rejected_kind": "policy sample"})
    return pairs, skipped


def mix_pairs(rs_pairs: list[dict], dataset_pairs: list[dict], fraction: float, seed: int = 0) -> list[dict]:
    """Per prompt, the RS pair with probability ``fraction`` (exactly round(fraction·n) prompts), else
    the dataset pair. Prompts without an RS pair (skipped samples) keep their dataset pair."""
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be in [0, 1], got {fraction}")
    rs_by_prompt = {p["prompt"]: p for p in rs_pairs}
    order = list(range(len(dataset_pairs)))
    random.Random(seed).shuffle(order)
    take_rs = set(order[: round(fraction * len(dataset_pairs))])
    return [rs_by_prompt.get(p["prompt"], p) if i in take_rs else p for i, p in enumerate(dataset_pairs)]


def reward_gap_pairs(
    prompt: str, responses: list[str], rewards: list[float], tau: float = 1.0, eta: float = 0.85
) -> list[dict]:
    """Ordered pairs (y_j ≻ y_l) with σ((r_j − r_l)/τ) > η (Khaki et al. 2024, Algorithm 1)."""
    if len(responses) != len(rewards):
        raise ValueError(f"{len(responses)} responses but {len(rewards)} rewards")
    if tau <= 0 or not 0.5 <= eta < 1:
        raise ValueError(f"need tau > 0 and 0.5 <= eta < 1, got tau={tau}, eta={eta}")
    pairs = []
    for j, rj in enumerate(rewards):
        for k, rl in enumerate(rewards):
            if j != k and 1 / (1 + math.exp(-(rj - rl) / tau)) > eta:
                pairs.append(
                    {
                        "prompt": prompt,
                        "chosen": responses[j],
                        "rejected": responses[k],
                        "reward_chosen": rj,
                        "reward_rejected": rl,
                    }
                )
    return pairs


TIE_TOLERANCE = 1e-12  # rewards this close count as equal (the verifiable judge's fractions tie exactly)


def _tied_with(rewards: list[float], value: float, among) -> list[int]:
    """The indices in ``among`` whose reward equals ``value`` (within :data:`TIE_TOLERANCE`), in order."""
    return [i for i in among if math.isclose(rewards[i], value, abs_tol=TIE_TOLERANCE)]


def _random_best(rewards: list[float], rng: random.Random) -> int | None:
    """A random one of the highest-scored samples (seeded), or None when every sample scores the same.

    Ties are broken with ``rng``, never by index: the samples come in the order of the temperature schedule
    (2 x T=0.2, 3 x 0.7, 3 x 1.2), so "the first best" would nearly always be a T=0.2 sample."""
    if math.isclose(max(rewards), min(rewards), abs_tol=TIE_TOLERANCE):
        return None
    return rng.choice(_tied_with(rewards, max(rewards), range(len(rewards))))


def _check(responses: list[str], rewards: list[float]) -> None:
    if len(responses) != len(rewards):
        raise ValueError(f"{len(responses)} responses but {len(rewards)} rewards")


def select_best_and_bottom3(responses: list[str], rewards: list[float], rng: random.Random) -> tuple[int, int] | None:
    """(index of chosen, index of rejected), or None when there is nothing to prefer.

    Chosen = the highest reward, ties broken at random. Rejected = a random one of the (up to) 3 lowest-scored
    samples that score below the chosen one; which of several tied samples belong to "the 3 lowest" is drawn
    at random too (the samples are shuffled with ``rng`` before a stable sort by reward). With 2 samples the
    rejected one is the other. None when there are fewer than 2 samples or when every reward is the same.
    """
    _check(responses, rewards)
    best = _random_best(rewards, rng) if len(rewards) >= 2 else None
    if best is None:
        return None
    below = [i for i in range(len(rewards)) if rewards[i] < rewards[best] - TIE_TOLERANCE]
    rng.shuffle(below)
    bottom3 = sorted(below, key=lambda i: rewards[i])[:3]
    return best, rng.choice(bottom3)


def select_best_and_worst(responses: list[str], rewards: list[float], rng: random.Random) -> tuple[int, int] | None:
    """(index of chosen, index of rejected): the highest and the lowest reward, each tie broken at random;
    None when there are fewer than 2 samples or when every reward is the same."""
    _check(responses, rewards)
    best = _random_best(rewards, rng) if len(rewards) >= 2 else None
    if best is None:
        return None
    return best, rng.choice(_tied_with(rewards, min(rewards), range(len(rewards))))


REJECTED_RULES = {"random_bottom3": select_best_and_bottom3, "worst": select_best_and_worst}


def rejected_rule_function(rejected_rule: str):
    """The selection function of a rejected rule's name (one of :data:`REJECTED_RULES`), else a clear error."""
    if rejected_rule not in REJECTED_RULES:
        raise ValueError(
            f"unknown rejected_rule {rejected_rule!r}; the rules are {', '.join(map(repr, REJECTED_RULES))}"
        )
    return REJECTED_RULES[rejected_rule]


def tie_counts(rewards: list[list[float]]) -> dict[str, int]:
    """How often ties decide a pair, over per-prompt rewards (``rewards[i][j]``: sample j of prompt i).

    ``prompts``; ``best tied``: prompts whose highest reward is shared by 2 or more samples (the chosen one is
    drawn among them); ``all tied``: prompts whose samples all score the same (dropped: nothing to prefer);
    ``worst tied``: prompts whose lowest reward is shared by 2 or more samples (both tie counts leave out the
    all-tied prompts)."""
    counts = {"prompts": len(rewards), "best tied": 0, "all tied": 0, "worst tied": 0}
    for i, scores in enumerate(rewards):
        if not scores:
            raise ValueError(f"prompt {i}: no rewards")
        if math.isclose(max(scores), min(scores), abs_tol=TIE_TOLERANCE):
            counts["all tied"] += 1
            continue
        counts["best tied"] += len(_tied_with(scores, max(scores), range(len(scores)))) >= 2
        counts["worst tied"] += len(_tied_with(scores, min(scores), range(len(scores)))) >= 2
    return counts


def self_improvement_pairs(
    prompts: list[str],
    samples: list[list[str]],
    rewards: list[list[float]],
    seed: int = 0,
    rejected_rule: str = "random_bottom3",
) -> tuple[list[dict], Counter]:
    """Apply the ``rejected_rule`` to every prompt: ``"random_bottom3"`` (the study,
    :func:`select_best_and_bottom3`) or ``"worst"`` (:func:`select_best_and_worst`); dropped prompts are
    counted by reason. Seeded: ties and the random rejected sample are drawn from ``seed``."""
    select = rejected_rule_function(rejected_rule)
    rng = random.Random(seed)
    pairs, dropped = [], Counter()
    for prompt, responses, scores in zip(prompts, samples, rewards, strict=True):
        picked = select(responses, scores, rng)
        if picked is None:
            dropped["fewer than 2 samples" if len(responses) < 2 else "best and worst tie"] += 1
            continue
        c, r = picked
        if responses[c].strip() == responses[r].strip():
            dropped["chosen text == rejected text"] += 1
            continue
        pairs.append(
            {
                "prompt": prompt,
                "chosen": responses[c],
                "rejected": responses[r],
                "reward_chosen": scores[c],
                "reward_rejected": scores[r],
            }
        )
    return pairs, dropped
