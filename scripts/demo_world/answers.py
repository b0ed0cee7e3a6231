"""Chosen answers and whole examples: the ``Layout`` of an answer and its rendering to text, then one
``Example`` (instruction ids, chosen response, kwargs fitted to it, prompt) per item."""

from __future__ import annotations

import dataclasses
import json
import re

from .banks import PLACEHOLDER_FILL
from .instructions import (
    BULLET_INTROS,
    BULLETS,
    CONFLICTS,
    CREATIVE_END_PHRASES,
    END,
    END_PHRASES,
    FILLERS,
    HIGHLIGHT,
    JSONF,
    KW_EXIST,
    KW_FORBID,
    KW_FREQ,
    LOWER,
    NOCOMMA,
    PARAS,
    PHRASING,
    PLACEHOLDERS,
    PLAIN_REQUESTS,
    PS,
    PS_NOTES,
    QUOTE,
    SECTIONS,
    SENTS,
    STOPWORDS,
    TITLE,
    UPPER,
    WORDS,
    _count_sentences,
    _count_words,
    allowed_ids,
    detected_as_english,
    passes_all,
)
from .items import Item

# ======================================================================================
# Rendering: an answer layout -> response text
# ======================================================================================


@dataclasses.dataclass(frozen=True)
class Layout:
    points: tuple
    structure: str = "plain"  # plain | bullets | paragraphs | sections | json
    groups: int = 1
    intro: str = ""
    title: str | None = None
    markdown_title: bool = False
    highlights: int = 0
    ps: str | None = None
    end_phrase: str | None = None
    after_end: str | None = None
    opener: str | None = None
    json_prefix: str | None = None
    fill_placeholders: bool = False
    no_comma: bool = False
    case: str | None = None
    quote: bool = False
    section_word: str = "Section"


def _groups(points, n):
    size, extra = divmod(len(points), n)
    out, i = [], 0
    for g in range(n):
        k = size + (1 if g < extra else 0)
        out.append(points[i : i + k])
        i += k
    return out


def _join(item, pts):
    return "\n".join(pts) if item.style == "lines" else " ".join(pts)


def _highlight(points, n):
    out, done = list(points), 0
    for i, p in enumerate(out):
        if done == n:
            break
        bare = re.sub(r"\[[^\]]*\]", " ", p)
        words = [w for w in re.findall(r"\b[A-Za-z][a-z]{4,}\b", bare) if w.lower() not in STOPWORDS]
        if not words:
            continue
        w = max(words, key=len)
        out[i] = re.sub(rf"(?<!\[)\b{w}\b(?![^\[]*\])", f"*{w}*", p, count=1)
        done += 1
    return tuple(out), done


def remove_commas(text: str) -> str:
    text = re.sub(r",[ \t]*\n", "\n", text)  # "Dear [name]," / "Best regards,"
    text = re.sub(r",\s+(and|or)\s+", r" \1 ", text)  # "A, B, and C" -> "A, B and C"
    return re.sub(r",\s+", " and ", text)  # -> "A and B and C"


def fill_placeholders(text: str) -> str:
    def fill(m):
        key = m.group(1)
        value = PLACEHOLDER_FILL.get(key.lower(), key)
        return value[0].upper() + value[1:] if key[0].isupper() else value

    return re.sub(r"\[([^\]]+)\]", fill, text)


def render(item: Item, L: Layout) -> str:
    pts = L.points
    if L.highlights:
        pts, _ = _highlight(pts, L.highlights)
    if L.structure == "json":
        text = json.dumps(_json_object(item, pts), ensure_ascii=False, indent=2)
    else:
        if L.structure == "bullets":
            body = "\n".join(f"* {' '.join(g)}" for g in _groups(pts, L.groups))
            body = f"{L.intro}\n{body}" if L.intro else body
        elif L.structure == "paragraphs":
            body = "\n\n***\n\n".join(_join(item, g) for g in _groups(pts, L.groups))
        elif L.structure == "sections":
            body = "\n\n".join(
                f"{L.section_word} {i + 1}\n{_join(item, g)}" for i, g in enumerate(_groups(pts, L.groups))
            )
        else:
            body = _join(item, pts)
        if item.style == "letter":
            body = f"{item.greeting}\n\n{body}\n\nBest regards,\n[your name]"
        parts = []
        if L.title:
            parts.append(f"# {L.title}" if L.markdown_title else f"<<{L.title}>>")
        parts.append(body)
        if L.ps:
            parts.append(f"P.S. {L.ps}")
        text = "\n\n".join(parts)
        if L.end_phrase:
            multiline = "\n" in text
            text += ("\n\n" if multiline else " ") + L.end_phrase
            if L.after_end:
                text += " " + L.after_end
    if L.opener:
        text = f"{L.opener}\n\n{text}" if "\n" in text else f"{L.opener} {text}"
    if L.json_prefix:
        text = f"{L.json_prefix}\n{text}"
    if L.fill_placeholders:
        text = fill_placeholders(text)
    if L.no_comma:
        text = remove_commas(text)
    if L.case == "lower":
        text = text.lower()
    elif L.case == "upper":
        text = text.upper()
    if L.quote:
        text = f'"{text}"'
    return text


def _json_object(item, pts):
    if item.json_fields:
        return {**dict(item.json_fields), "explanation": " ".join(pts)}
    if item.style == "steps":
        return {"task": item.title, "steps": list(pts)}
    if item.style == "lines":
        return {"title": item.title, "lines": list(pts)}
    if item.style == "letter":
        return {
            "subject": item.title,
            "greeting": item.greeting.rstrip(","),
            "body": " ".join(pts),
            "closing": "Best regards",
            "signature": "[your name]",
        }
    return {"topic": item.title, "answer": " ".join(pts)}


# ======================================================================================
# Building one example: instructions -> chosen response -> kwargs -> prompt (-> rejected)
# ======================================================================================


@dataclasses.dataclass
class Example:
    item: Item
    prompt: str
    ids: list
    kwargs: list
    chosen: str
    layout: Layout
    rejected: str | None = None
    failure: str | None = None
    score_chosen: float | None = None
    score_rejected: float | None = None


def _content_words(text):
    seen = []
    for w in re.findall(r"\b[A-Za-z][a-z]{4,}\b", text):
        w = w.lower()
        if w not in STOPWORDS and w not in FILLERS and w not in seen:
            seen.append(w)
    return seen


def _freq_both(word, text):
    a = len(re.findall(word, text, flags=re.IGNORECASE))
    b = len(re.findall(rf"\b{word}\b", text, flags=re.IGNORECASE))
    return a if a == b else None


# How many instructions a prompt gets (weights for 0, 1, 2, 3). SFT prompts are often plain, like most of
# smoltalk, and each of its formats is capped (FORMAT_CAP): a format that most SFT replies show becomes a
# habit (when 28% of them opened with a quote, the final model quoted over 80% of its answers to IFEval).
N_IDS_WEIGHTS = {"sft": (45, 45, 10, 0), "default": (0, 35, 45, 20)}
FORMAT_CAP = 0.10  # the largest share of a category's SFT replies that one instruction may appear in
# The share of preference pairs whose prompt does not ask for quotes and whose rejected answer is the chosen
# one wrapped in quotes ("unasked quotation"): DPO sees that a quote nobody asked for is worse, not only that
# an asked-for one is better.
UNASKED_QUOTE_SHARE = 0.10


def sample_ids(item, rng, only=None, weights=N_IDS_WEIGHTS["default"], counts=None, caps=None):
    """One to three compatible instruction ids for ``item`` (zero to three with ``weights``).

    With ``counts`` (a Counter of ids already given) and ``caps`` (id -> the most times it may be given), an
    id given its cap times is no longer offered and each pick takes one of the least given ids, so the ids
    spread evenly up to the caps.
    """
    allowed = [i for i in allowed_ids(item) if only is None or i in only]
    k = rng.choices([0, 1, 2, 3], weights=weights)[0]
    ids = []
    while len(ids) < k:
        options = [i for i in allowed if i not in ids and not (CONFLICTS[i] & set(ids))]
        if counts is not None:
            options = [i for i in options if caps is None or counts[i] < caps[i]]
            options = [i for i in options if counts[i] == min((counts[o] for o in options), default=0)]
        if not options:
            break
        ids.append(rng.choice(options))
    return ids


def plan_chosen(item, ids, rng) -> Layout | None:
    pts = item.points
    structure, groups = "plain", 1
    for iid, name in ((BULLETS, "bullets"), (PARAS, "paragraphs"), (SECTIONS, "sections"), (JSONF, "json")):
        if iid in ids:
            structure = name
    if item.complete:
        chosen_pts = pts
    else:
        chosen_pts = pts[: rng.randint(min(3, len(pts)), len(pts))]
    if structure in ("bullets", "paragraphs", "sections"):
        hi = {"bullets": 5, "paragraphs": 3, "sections": 3}[structure]
        groups = rng.randint(2, max(2, min(hi, len(pts))))
        if len(chosen_pts) < groups:
            chosen_pts = pts[:groups]
        if len(chosen_pts) < groups:
            return None
    intro = ""
    if structure == "bullets":
        intro = rng.choice(BULLET_INTROS.get(item.category, BULLET_INTROS["default"]))
    end_bank = CREATIVE_END_PHRASES if item.category in ("creative_writing", "imitation_writing") else END_PHRASES
    layout = Layout(
        points=tuple(chosen_pts),
        structure=structure,
        groups=groups,
        intro=intro,
        title=item.title if TITLE in ids else None,
        highlights=rng.randint(1, min(3, len(chosen_pts))) if HIGHLIGHT in ids else 0,
        ps=rng.choice(PS_NOTES[item.category]) if PS in ids else None,
        end_phrase=rng.choice(end_bank) if END in ids else None,
        no_comma=NOCOMMA in ids,
        case="lower" if LOWER in ids else "upper" if UPPER in ids else None,
        quote=QUOTE in ids,
    )
    if layout.highlights and _highlight(layout.points, layout.highlights)[1] < layout.highlights:
        return None
    return layout


def derive_kwargs(item, ids, L, text, rng):
    """kwargs for each instruction, fitted to the chosen response ``text``."""
    out = []
    content = _content_words(" ".join(L.points))
    used_words = set()
    for iid in ids:
        if iid in (LOWER, UPPER, JSONF, QUOTE, TITLE, NOCOMMA):
            kw = {}
        elif iid == WORDS:
            hi = max(_count_words(text, 0), _count_words(text, 1))
            lo = min(_count_words(text, 0), _count_words(text, 1))
            if lo >= 25 and rng.random() < 0.4:
                kw = {"relation": "at least", "num_words": (lo - 5) // 10 * 10}
            else:
                kw = {"relation": "less than", "num_words": ((hi + 5) // 10 + 1) * 10}
        elif iid == SENTS:
            s = _count_sentences(text, 0)
            if s != _count_sentences(text, 1):
                return None
            if s >= 3 and rng.random() < 0.5:
                kw = {"relation": "at least", "num_sentences": s - rng.choice([0, 1])}
            else:
                kw = {"relation": "less than", "num_sentences": s + rng.choice([1, 2])}
        elif iid == PARAS:
            kw = {"num_paragraphs": L.groups}
        elif iid == BULLETS:
            kw = {"num_bullets": L.groups}
        elif iid == SECTIONS:
            kw = {"section_spliter": "Section", "num_sections": L.groups}
        elif iid == HIGHLIGHT:
            kw = {"num_highlights": L.highlights}
        elif iid == PS:
            kw = {"postscript_marker": "P.S."}
        elif iid == END:
            kw = {"end_phrase": L.end_phrase}
        elif iid == PLACEHOLDERS:
            n = len(re.findall(r"\[.*?\]", text))
            if n == 0:
                return None
            kw = {"num_placeholders": rng.randint(max(1, n - 3), n)}
        elif iid == KW_EXIST:
            kw = _existence_kwargs(item, content, used_words, text, rng)
        elif iid == KW_FORBID:
            cands = [w for w in FILLERS if not re.search(w, text, re.I)]
            kws = rng.sample(cands, rng.choice([1, 1, 2]))
            used_words.update(kws)
            kw = {"forbidden_words": kws}
        elif iid == KW_FREQ:
            kw = _frequency_kwargs(content, used_words, text, rng)
        else:
            raise KeyError(iid)
        if kw is None:
            return None
        out.append(kw)
    return out


def _existence_kwargs(item, content, used_words, text, rng):
    """keywords:existence kwargs: one to three content words of ``text`` (preferably one from the
    title or task), none inside another; None if there is no candidate. Adds them to ``used_words``."""
    cands = [w for w in content if w not in used_words and re.search(rf"\b{w}\b", text, re.I)]
    if not cands:
        return None
    title_words = [w for w in cands if w in item.title.lower() or w in " ".join(item.tasks).lower()]
    k = min(len(cands), rng.choice([1, 2, 2, 3]))
    first = rng.choice(title_words) if title_words and rng.random() < 0.7 else rng.choice(cands)
    rest = [w for w in cands if first not in w and w not in first]  # not "number" and "numbers"
    kws = [first]
    for w in rng.sample(rest, len(rest)):
        if len(kws) < k and not any(w in v or v in w for v in kws):
            kws.append(w)
    used_words.update(kws)
    return {"keywords": kws}


def _frequency_kwargs(content, used_words, text, rng):
    """keywords:frequency kwargs for a content word of ``text`` counted alike both ways; None if
    there is none. Adds the word to ``used_words``."""
    counts = [(w, _freq_both(w, text)) for w in content if w not in used_words]
    counts = [(w, c) for w, c in counts if c]
    if not counts:
        return None
    multi = [(w, c) for w, c in counts if c >= 2]
    if multi and rng.random() < 0.6:
        w, c = rng.choice(multi)
        kw = {"keyword": w, "frequency": rng.randint(2, c), "relation": "at least"}
    else:
        w, c = rng.choice(counts)
        kw = {"keyword": w, "frequency": c + rng.choice([1, 1, 2]), "relation": "less than"}
    used_words.add(w)
    return kw


def _quote_list(words):
    q = [f'"{w}"' for w in words]
    return q[0] if len(q) == 1 else " and ".join(q) if len(q) == 2 else ", ".join(q[:-1]) + ", and " + q[-1]


def render_prompt(item, ids, kwargs, rng):
    sentences = [rng.choice(item.tasks)]
    for iid, kw in zip(ids, kwargs):
        key = (iid, kw["relation"]) if iid in (WORDS, SENTS, KW_FREQ) else iid
        template = rng.choice(PHRASING[key])
        n = next(
            (
                kw[k]
                for k in (
                    "num_words",
                    "num_sentences",
                    "num_paragraphs",
                    "frequency",
                    "num_bullets",
                    "num_highlights",
                    "num_sections",
                    "num_placeholders",
                )
                if k in kw
            ),
            None,
        )
        words = kw.get("keywords") or kw.get("forbidden_words") or []
        sentences.append(
            template.format(
                n=n,
                w=kw.get("keyword"),
                p=kw.get("end_phrase"),
                list=_quote_list(words) if words else "",
                word="word" if (len(words) == 1 or n == 1) else "words",
                keyword="keyword" if len(words) == 1 else "keywords",
                term="term" if len(words) == 1 else "terms",
                them="it" if n == 1 else "them",
                placeholder="placeholder" if n == 1 else "placeholders",
                blank="blank" if n == 1 else "blanks",
            )
        )
    if len(sentences) == 1:  # a plain request, worded the ways people ask
        return rng.choice(PLAIN_REQUESTS).replace("{task}", sentences[0])
    sep = rng.choice([" ", " ", "\n"])
    return sentences[0] + sep + " ".join(sentences[1:])


def build_example(item, rng, used_prompts, only=None, need=None, balance=None) -> Example | None:
    """An example of ``item``: ids (from ``only``; at least one of ``need``), chosen response, prompt.

    ``balance`` = ``(weights, counts, caps)`` spreads the ids as :func:`sample_ids` does and may give a
    plain prompt without instructions; ``counts`` is updated with the returned example's ids.
    """
    weights, counts, caps = balance or (N_IDS_WEIGHTS["default"], None, None)
    for _attempt in range(40):
        ids = sample_ids(item, rng, only, weights, counts, caps)
        if not ids and balance is None:
            return None
        if need is not None and not need & set(ids):
            continue
        L = plan_chosen(item, ids, rng)
        if L is None:
            continue
        text = render(item, L)
        kwargs = derive_kwargs(item, ids, L, text, rng)
        if kwargs is None or not passes_all(ids, kwargs, text):
            continue
        if (LOWER in ids or UPPER in ids) and not detected_as_english(text):
            continue
        prompt = render_prompt(item, ids, kwargs, rng)
        if prompt in used_prompts:
            continue
        if counts is not None:
            counts.update(ids)
        return Example(item, prompt, ids, kwargs, text, L)
    return None
