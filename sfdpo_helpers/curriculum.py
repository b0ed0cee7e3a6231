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

import random
import re

from .winrate import win_rate

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

_KEYWORDS = {
    "math_reasoning": r"\d+\s*[\+\-\*/x×]|\bhow many\b|\bcalculate|\bsolve|\bpercent|\bhow far|\bhow much|\bsum\b|\bfaster than\b|\bday of the week\b",
    "multilingual": r"\btranslat|\bin (french|spanish|german|italian|portuguese)\b|\bwhat does .* mean in\b",
    "classification": r"\bclassify|\bcategori[sz]e|\bwhich (category|group)|\bis .* a (fruit|mammal|noun|verb)|\bpositive or negative\b|\bsentiment\b",
    "imitation_writing": r"\bin the style of\b|\bimitat|\bas if you were\b|\bpretend\b|\blike a pirate\b|\bvoice of\b",
    "professional_writing": r"\bemail\b|\bletter\b|\bcover letter|\bmemo\b|\bresume\b|\bannouncement|\bproposal\b|\bmanager\b",
    "creative_writing": r"\bpoem\b|\bstory\b|\bhaiku\b|\blimerick\b|\bsong\b|\bfable\b|\btale\b|\bverse\b",
    "instructions_procedures": r"\bhow (do|can|to) (i|you)\b|\bsteps?\b|\binstructions\b|\bguide\b|\brecipe\b",
    "science_explanation": r"\bwhy does\b|\bexplain\b|\bhow does\b|\bphotosynth|\bgravity\b|\batom|\bcell\b|\benergy\b|\bscien",
    "open_discussion": r"\bwhat do you think\b|\bpros and cons\b|\bshould\b|\bopinion\b|\bdiscuss\b|\bdebate\b|\badvantages\b",
    "general_knowledge": r"\bwho (was|is|invented)\b|\bwhat is the capital\b|\bwhen did\b|\bwhich (city|country)\b|\bhistory\b",
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
