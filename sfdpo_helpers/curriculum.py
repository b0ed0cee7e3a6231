"""Curriculum: which kinds of prompts does the aligned model lose on, and more prompts of those kinds.

The study sorted its evaluation prompts into about ten categories, measured per category how often
the DPO model *lost* to the SFT model, and asked other LLMs for new prompts in the two worst
categories. Offline:

* categories come with the demo prompts (``category`` column); unlabeled prompts go through a small
  keyword classifier (:func:`keyword_category`); online an LLM classifier can be plugged in with the
  same signature (:func:`api_category`);
* new prompts come from the demo world's reserve pool (made by the same template generator as the
  demo data, disjoint from every split), or from any generator with the signature of
  :func:`pool_prompts`.
"""

from __future__ import annotations

import math
import random
import re

from .winrate import minimum_detectable_effect, win_rate

CATEGORIES = [
    "math_reasoning",
    "general_knowledge",
    "science_explanation",
    "creative_writing",
    "professional_writing",
    "instructions_procedures",
    "multilingual",
    "open_discussion",
    "imitation_writing",
    "classification",
]

_KEYWORDS = {  # each category's alternatives, joined into one regular expression; tried in this order
    "math_reasoning": "|".join(
        [
            r"\d+\s*[\+\-\*/x×]",
            r"\bhow many\b",
            r"\bcalculate",
            r"\bsolve",
            r"\bpercent",
            r"\bhow far",
            r"\bhow much",
            r"\bsum\b",
            r"\bfaster than\b",
            r"\bday of the week\b",
        ]
    ),
    "multilingual": "|".join(
        [r"\btranslat", r"\bin (french|spanish|german|italian|portuguese)\b", r"\bwhat does .* mean in\b"]
    ),
    "classification": "|".join(
        [
            r"\bclassify",
            r"\bcategori[sz]e",
            r"\bwhich (category|group)",
            r"\bis .* a (fruit|mammal|noun|verb)",
            r"\bpositive or negative\b",
            r"\bsentiment\b",
        ]
    ),
    "imitation_writing": "|".join(
        [
            r"\bin the style of\b",
            r"\bimitat",
            r"\bas if you were\b",
            r"\bpretend\b",
            r"\blike a pirate\b",
            r"\bvoice of\b",
        ]
    ),
    "professional_writing": "|".join(
        [
            r"\bemail\b",
            r"\bletter\b",
            r"\bcover letter",
            r"\bmemo\b",
            r"\bresume\b",
            r"\bannouncement",
            r"\bproposal\b",
            r"\bmanager\b",
        ]
    ),
    "creative_writing": "|".join(
        [r"\bpoem\b", r"\bstory\b", r"\bhaiku\b", r"\blimerick\b", r"\bsong\b", r"\bfable\b", r"\btale\b", r"\bverse\b"]
    ),
    "instructions_procedures": "|".join(
        [r"\bhow (do|can|to) (i|you)\b", r"\bsteps?\b", r"\binstructions\b", r"\bguide\b", r"\brecipe\b"]
    ),
    "science_explanation": "|".join(
        [
            r"\bwhy does\b",
            r"\bexplain\b",
            r"\bhow does\b",
            r"\bphotosynth",
            r"\bgravity\b",
            r"\batom",
            r"\bcell\b",
            r"\benergy\b",
            r"\bscien",
        ]
    ),
    "open_discussion": "|".join(
        [
            r"\bwhat do you think\b",
            r"\bpros and cons\b",
            r"\bshould\b",
            r"\bopinion\b",
            r"\bdiscuss\b",
            r"\bdebate\b",
            r"\badvantages\b",
        ]
    ),
    "general_knowledge": "|".join(
        [
            r"\bwho (was|is|invented)\b",
            r"\bwhat is the capital\b",
            r"\bwhen did\b",
            r"\bwhich (city|country)\b",
            r"\bhistory\b",
        ]
    ),
}


def keyword_category(prompt: str) -> str:
    """The first category (in the order above) whose keywords match; ``general_knowledge`` otherwise."""
    text = prompt.lower()
    for category, pattern in _KEYWORDS.items():
        if re.search(pattern, text):
            return category
    return "general_knowledge"


def categorise(rows: list[dict], classifier=keyword_category) -> tuple[list[str], int]:
    """A category per row: the row's own label when it has one, else ``classifier(prompt)``.
    Returns (categories, how many came from the classifier)."""
    out, guessed = [], 0
    for row in rows:
        label = row.get("category")
        if not label:
            label, guessed = classifier(row["prompt"]), guessed + 1
        out.append(label)
    return out, guessed


def api_category(prompt: str, chat) -> str:
    """LLM classifier for online users: ``chat(text) -> str`` is any chat-completion call."""
    answer = (
        chat(
            "Classify the request into exactly one of these categories and answer with the category name "
            f"only: {', '.join(CATEGORIES)}.\n\nRequest: {prompt}"
        )
        .strip()
        .lower()
    )
    return next((c for c in CATEGORIES if c in answer), "general_knowledge")


def loss_rates(
    scores_model: list[float], scores_reference: list[float], categories: list[str], seed: int = 0
) -> list[dict]:
    """Per category: how often the model *loses* to the reference (ties ½), with n and a 95% CI.

    ``loss rate = 1 − win rate(model vs reference)``. Rows are sorted worst first (the study's
    Figure 11 table).
    """
    result = win_rate(scores_model, scores_reference, categories=categories, seed=seed)
    rows = [
        {
            "category": c,
            "n": r.n,
            "losses": r.losses,
            "ties": r.ties,
            "wins": r.wins,
            "loss_rate": 1 - r.rate,
            "ci_low": 1 - r.ci_high,
            "ci_high": 1 - r.ci_low,
        }
        for c, r in result.by_category.items()
    ]
    return sorted(rows, key=lambda r: (-r["loss_rate"], -r["n"], r["category"]))


def weakest(rows: list[dict], k: int = 2, min_n: int = 5) -> list[str]:
    """The ``k`` categories with the highest loss rate, preferring those with at least ``min_n`` prompts
    (too few eligible: the remaining places go to the smaller categories, still by loss rate)."""
    eligible = [r for r in rows if r["n"] >= min_n]
    ranked = eligible + [r for r in rows if r["n"] < min_n]
    return [r["category"] for r in ranked[:k]]


def _corrected_sign_p(row: dict, tested: int) -> float:
    """The two-sided sign test of a category's losses against its wins (ties dropped), times the number of
    categories tested (Bonferroni), at most 1."""
    from scipy.stats import binomtest

    decisive = row["losses"] + row["wins"]
    p = float(binomtest(row["losses"], decisive, 0.5).pvalue) if decisive else 1.0
    return min(1.0, p * tested)


def ranking_note(rows: list[dict], picked: list[str], min_n: int = 5) -> str:
    """How far the ranking behind ``picked`` (from :func:`weakest`) can be trusted, in sentences a notebook prints:
    the categories left out with a higher loss rate (fewer than ``min_n`` prompts) or the same one as the last one
    picked; whether the 95% CI of a category with ``min_n`` prompts or more lies above ½ (the model loses there
    beyond chance; the bootstrap CI of one or two prompts means nothing); how far from ½ a picked category's loss
    rate must be to be seen at its n and ties (:func:`.winrate.minimum_detectable_effect`).
    """
    if not picked:
        return ""
    by = {r["category"]: r for r in rows}
    last = by[picked[-1]]["loss_rate"]
    tied = [r["category"] for r in rows if r["category"] not in picked and abs(r["loss_rate"] - last) < 1e-9]
    skipped = [r for r in rows if r["category"] not in picked and r["n"] < min_n and r["loss_rate"] > last + 1e-9]
    notes = [
        f"{r['category']} loses more often, but n = {r['n']} is under the {min_n} prompts to rank." for r in skipped
    ]
    if tied:
        notes.append(
            f"{', '.join(tied)} {'has' if len(tied) == 1 else 'have'} the same loss rate ({last:.3f}) as "
            f"{picked[-1]}: the tie went to the category with more prompts, then by name."
        )
    tested = [r for r in rows if r["n"] >= min_n]
    corrected = {r["category"]: _corrected_sign_p(r, len(tested)) for r in tested}
    ci_above = [r["category"] for r in tested if r["ci_low"] > 0.5]
    above = [c for c in ci_above if corrected[c] < 0.05]
    if above:
        notes.append(
            f"The 95% CI of the loss rate lies above ½ for {', '.join(above)}, and the sign test of losses against "
            f"wins, Bonferroni-corrected for the {len(tested)} categories tested, gives p = "
            f"{', '.join(f'{corrected[c]:.2g}' for c in above)}: the model loses there beyond chance."
        )
    for c in [c for c in ci_above if c not in above]:
        notes.append(
            f"{c}'s 95% CI lies above ½, but with {len(tested)} categories tested its corrected sign test gives "
            f"p = {corrected[c]:.2g}: one of several categories can look this bad by chance."
        )
    mde = {c: minimum_detectable_effect(by[c]["n"], by[c]["ties"] / by[c]["n"]) for c in picked}
    seen = [f"½ ± {mde[c]:.2f} for {c} (n = {by[c]['n']})" for c in picked if math.isfinite(mde[c])]
    tied_all = [c for c in picked if not math.isfinite(mde[c])]
    if not ci_above:
        notes.append(
            f"No 95% CI of a category with {min_n} prompts or more lies above ½, so this ranking may be chance."
        )
    notes.append(
        "At these n and ties a picked category's loss rate is detectable only"
        + (f" outside {' and '.join(seen)}" if seen else "")
        + (f"; every prompt of {' and '.join(tied_all)} tied" if tied_all else "")
        + " (α = 0.05, power 0.8)."
    )
    if max(r["loss_rate"] for r in rows) <= 0.5:
        notes.append(
            "In no category does the model lose more often than it wins: the weakest are where it gained least."
        )
    return " ".join(notes)


def _normalise(text: str) -> str:
    return " ".join(text.lower().split())


def pool_prompts(
    pool: list[dict], categories: list[str], n_per_category: int, exclude: list[str], seed: int = 0
) -> list[dict]:
    """New prompts of the given categories from a reserve pool, never one of ``exclude`` (evaluation and
    training prompts), de-duplicated, seeded. Raises if the pool has too few."""
    seen = {_normalise(p) for p in exclude}
    rng = random.Random(seed)
    out = []
    for category in categories:
        candidates = [r for r in pool if r.get("category") == category and _normalise(r["prompt"]) not in seen]
        if len(candidates) < n_per_category:
            raise ValueError(f"the pool has {len(candidates)} new prompts for {category!r}, {n_per_category} asked")
        for row in rng.sample(candidates, n_per_category):
            seen.add(_normalise(row["prompt"]))
            out.append(row)
    return out
