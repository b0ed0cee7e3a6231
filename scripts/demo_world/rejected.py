"""The rejected answers of the preference pairs: the chosen answer with one instruction broken, a
repetition loop, a rambling, off-topic or evasive reply, or an unasked quotation; and the pair's scores."""

from __future__ import annotations

import dataclasses
import random
import re

from .answers import UNASKED_QUOTE_SHARE, Example, Layout, _join, render
from .config import SEED
from .instructions import (
    BROKEN,
    BULLETS,
    CONFLICTS,
    CONSTRAINT_IDS,
    END,
    EVASIVE,
    FILLERS,
    HIGHLIGHT,
    JSONF,
    KW_EXIST,
    KW_FORBID,
    KW_FREQ,
    LOWER,
    NOCOMMA,
    PARAS,
    PLACEHOLDERS,
    PS,
    QUOTE,
    RAMBLE,
    SECTIONS,
    SENTS,
    TITLE,
    UNASKED_QUOTE,
    UPPER,
    WORDS,
    fails_some,
    passes_all,
    verdict,
)
from .references import gold_task, wrong_item, wrong_points_map

# --- rejected responses ------------------------------------------------------------------


def _break(item, ex: Example, iid, kw, rng) -> Layout | None:
    """The chosen layout with one instruction broken the way a weak model breaks it."""
    L = ex.layout
    rep = dataclasses.replace
    if iid in (LOWER, UPPER):
        return rep(L, case=None)
    if iid in (WORDS, SENTS):
        if kw["relation"] == "less than":
            extra = [p for p in item.points if p not in L.points] + rng.sample(RAMBLE, len(RAMBLE))
            return rep(L, points=L.points + tuple(extra))
        return rep(L, points=L.points[: max(1, L.groups)], ps=None, intro="")
    if iid in (PARAS, BULLETS, SECTIONS):
        return _break_groups(L, iid, rng)
    if iid == JSONF:
        return (
            rep(L, json_prefix=rng.choice(BROKEN["json_prefixes"])) if rng.random() < 0.7 else rep(L, structure="plain")
        )
    if iid == QUOTE:
        return rep(L, quote=False)
    if iid == END:
        return rep(L, end_phrase=None) if rng.random() < 0.5 else rep(L, after_end=rng.choice(BROKEN["after_end"]))
    if iid == PS:
        return rep(L, ps=None)
    if iid == HIGHLIGHT:
        return rep(L, highlights=0) if L.highlights == 1 or rng.random() < 0.5 else rep(L, highlights=L.highlights - 1)
    if iid == TITLE:
        return rep(L, title=None) if rng.random() < 0.5 else rep(L, markdown_title=True)
    if iid == NOCOMMA:
        return rep(L, no_comma=False, opener=rng.choice(BROKEN["comma_openers"]))
    if iid == PLACEHOLDERS:
        return rep(L, fill_placeholders=True)
    if iid == KW_FORBID:
        return rep(L, opener=FILLERS[kw["forbidden_words"][0]])
    if iid == KW_EXIST:
        return _drop_points_with(L, kw["keywords"][-1])
    if iid == KW_FREQ:
        if kw["relation"] == "at least":
            return _drop_points_with(L, kw["keyword"])
        extra = tuple(t.format(w=kw["keyword"]) for t in BROKEN["keyword_repeats"])
        return rep(L, points=L.points + extra)
    raise KeyError(iid)


def _break_groups(L: Layout, iid, rng) -> Layout:
    """Paragraphs, bullets or sections broken: one group too many or too few, or none at all."""
    rep = dataclasses.replace
    if iid == PARAS:
        return (
            rep(L, groups=L.groups + 1)
            if len(L.points) > L.groups and rng.random() < 0.5
            else rep(L, groups=L.groups - 1)
        )
    if iid == BULLETS:
        r = rng.random()
        if r < 0.4 and len(L.points) > L.groups:
            return rep(L, groups=L.groups + 1)
        if r < 0.8:
            return rep(L, groups=L.groups - 1)
        return rep(L, structure="plain", intro="")
    return rep(L, groups=L.groups - 1) if rng.random() < 0.6 else rep(L, section_word="Part")  # SECTIONS


def _drop_points_with(L: Layout, word) -> Layout | None:
    """The layout without the points that mention ``word``; None if too few points are left."""
    kept = tuple(p for p in L.points if not re.search(word, p, re.I))
    if not kept or len(kept) < L.groups:
        return None
    return dataclasses.replace(L, points=kept)


def _off_topic_text(item, pool, rng):
    other = rng.choice([o for o in pool if o.uid != item.uid])
    return (
        _join(other, other.points[: rng.randint(2, len(other.points))])
        if other.style != "letter"
        else " ".join(other.points)
    )


def _loop(text: str, rng) -> str:
    """A degenerate answer, the way small models decode greedily: the answer, then one of its sentences
    (or itself) again and again until the token budget cuts it mid-sentence."""
    sentences = re.split(r"(?<=[.!?])\s+", text.strip())
    unit = rng.choice([sentences[-1], sentences[0], text.strip()])
    words = (text.strip() + " " + " ".join([unit] * rng.randint(3, 6))).split(" ")
    return " ".join(words[: len(words) - rng.randint(1, max(1, min(6, len(unit.split()) - 1)))])


WRONG_ANSWER = "wrong answer"  # the rejected kind that states a plausible wrong answer, formats kept
REJECTED_MODES = {"break": 40, WRONG_ANSWER: 45, "loop": 12, "rambling": 8, "off_topic": 6, "evasive": 10}


def build_rejected(ex: Example, pool, rng):
    """Returns (text, failure kind) for a response that fails at least one instruction, or that follows them all
    but states a wrong answer (:data:`WRONG_ANSWER`)."""
    item = ex.item
    mode = rng.choices(list(REJECTED_MODES), weights=list(REJECTED_MODES.values()))[0]
    if mode == WRONG_ANSWER:
        text = wrong_answer(ex, rng)
        if text is not None:
            return text, WRONG_ANSWER
    if mode in ("rambling", "off_topic", "evasive"):
        text, kind = _replacement_reply(ex, mode, pool, rng)
        if kind is not None:
            return text, kind
    order = list(zip(ex.ids, ex.kwargs))
    if mode == "loop":
        text = _loop(ex.chosen, rng)
        if fails_some(ex.ids, ex.kwargs, text) and text != ex.chosen:
            return text, "repetition loop"
    rng.shuffle(order)
    order.sort(key=lambda pair: pair[0] not in CONSTRAINT_IDS)  # break a constraint instruction if there is one
    for iid, kw in order:
        L = _break(item, ex, iid, kw, rng)
        if L is None:
            continue
        text = render(item, L)
        if text != ex.chosen and verdict(iid, kw, text) == "fail":
            return text, f"broke:{iid}"
    return None, None


def wrong_answer(ex: Example, rng):
    """The chosen answer with a plausible wrong answer in its place (:func:`references.wrong_item`): every
    instruction still followed, the task wrong under the gold reward; None where that cannot be made."""
    wrong = wrong_item(ex.item, rng)
    if wrong is None:
        return None
    swap = wrong_points_map(ex.item, wrong)
    text = render(wrong, dataclasses.replace(ex.layout, points=tuple(swap[p] for p in ex.layout.points)))
    if text == ex.chosen or not passes_all(ex.ids, ex.kwargs, text) or gold_task(ex.prompt, text, wrong) != 0:
        return None
    return text


def _replacement_reply(ex: Example, mode, pool, rng):
    """A rambling, off-topic or evasive reply instead of the answer. It keeps the chosen answer's quotes when
    the prompt asks for them: else the opening quote alone would tell chosen from rejected, and DPO would
    learn to open every answer with one."""
    item = ex.item
    if mode == "rambling":
        extra = rng.sample(RAMBLE, 3)
        text = _join(item, item.points[:2]) + " " + " ".join(extra) + " " + _join(item, item.points[2:])
        if item.style == "letter":
            text = " ".join(item.points[:2] + tuple(extra) + item.points[2:])
    elif mode == "off_topic":
        text = _off_topic_text(item, pool, rng)
    else:
        text = rng.choice(EVASIVE)
    if QUOTE in ex.ids:
        text = f'"{text}"'
    if fails_some(ex.ids, ex.kwargs, text) and text != ex.chosen:
        return text, mode
    return None, None


def unasked_quote(ex: Example):
    """(rejected, kind) for the "unasked quotation" pairs (:data:`UNASKED_QUOTE_SHARE`, drawn per prompt): the
    chosen answer wrapped in quotes that its prompt does not ask for, when the wrapped answer still follows
    every instruction, so the quote is the only difference. None for every other pair."""
    if QUOTE in ex.ids or CONFLICTS[QUOTE] & set(ex.ids):
        return None
    if random.Random(f"{SEED}-unasked-quote-{ex.prompt}").random() >= UNASKED_QUOTE_SHARE:
        return None
    text = render(ex.item, dataclasses.replace(ex.layout, quote=True))
    if text == ex.chosen or not passes_all(ex.ids, ex.kwargs, text):
        return None
    return text, UNASKED_QUOTE


# the score of a rejected answer by its kind (one broken instruction is scored by how many others it follows)
REJECTED_SCORE = {"rambling": 3.5, "repetition loop": 3.5, "off_topic": 2.0, "evasive": 1.5, UNASKED_QUOTE: 6.0,
                  WRONG_ANSWER: 3.0}  # fmt: skip


def score_pair(ex: Example, rng):
    chosen = rng.choice([8.0, 8.5, 9.0, 9.5, 10.0])
    if ex.failure.startswith("broke:"):
        followed = sum(verdict(i, k, ex.rejected) == "pass" for i, k in zip(ex.ids, ex.kwargs)) / len(ex.ids)
        rejected = 4.0 + round(4 * followed) / 2 + rng.choice([0.0, 0.5])
    else:
        rejected = REJECTED_SCORE[ex.failure] + rng.choice([0.0, 0.5])
    return chosen, min(rejected, chosen - 1.0)
