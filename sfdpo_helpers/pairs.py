"""Building preference pairs from samples: RS-DPO and self-improvement (pure functions).

* :func:`rs_dpo_pairs`: the study's RS-DPO. The SFT model's own answer to a training prompt becomes
  the *rejected* response, the dataset's chosen answer stays *chosen*.
* :func:`mix_pairs`: RS-DPO1/2/3 train on 100% / 20% / 10% such pairs, the rest from the dataset.
* :func:`reward_gap_pairs`: the original RS-DPO rule (Khaki et al. 2024, Alg. 1): among k scored
  samples of a prompt keep every ordered pair (j, l) with σ((r_j − r_l)/τ) > η.
* :func:`select_best_and_bottom3`: self-improvement. Chosen = the best-scored sample, rejected = a
  random one of the 3 worst (seeded); prompts whose samples all score the same are dropped.
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
            pairs.append({**row, "rejected": sample, "rejected_source": "policy"})
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


def select_best_and_bottom3(responses: list[str], rewards: list[float], rng: random.Random) -> tuple[int, int] | None:
    """(index of chosen, index of rejected), or None when there is nothing to prefer.

    Chosen = the highest reward (the first such sample on ties). Rejected = a random one of the
    (up to) 3 lowest-scored *other* samples; with 2 samples that is the other one. None when there are
    fewer than 2 samples or when the best and the worst score tie (all rewards equal).
    """
    if len(responses) != len(rewards):
        raise ValueError(f"{len(responses)} responses but {len(rewards)} rewards")
    if len(rewards) < 2:
        return None
    best = max(range(len(rewards)), key=lambda i: (rewards[i], -i))
    if math.isclose(rewards[best], min(rewards), abs_tol=1e-12):
        return None
    others = sorted((i for i in range(len(rewards)) if i != best), key=lambda i: (rewards[i], i))
    bottom = [i for i in others[:3] if rewards[i] < rewards[best]]
    return best, rng.choice(bottom)


def self_improvement_pairs(
    prompts: list[str], samples: list[list[str]], rewards: list[list[float]], seed: int = 0
) -> tuple[list[dict], Counter]:
    """Apply :func:`select_best_and_bottom3` to every prompt; dropped prompts are counted by reason."""
    rng = random.Random(seed)
    pairs, dropped = [], Counter()
    for prompt, responses, scores in zip(prompts, samples, rewards, strict=True):
        picked = select_best_and_bottom3(responses, scores, rng)
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
