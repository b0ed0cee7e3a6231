"""The verifiable instructions: their ids, which never combine, which an item allows, how a prompt states
them (and the wording responses add), and the reference checks (``follows``, ``verdict``, ...)."""

from __future__ import annotations

import json
import re
import string

from .banks import _fail, _mapping, _record, _text, _texts, _texts_or_empty, load_banks
from .config import CATEGORIES
from .items import Item

# ======================================================================================
# Instructions: how a prompt states them, which combine, and the reference checks.
# ======================================================================================

LOWER, UPPER = "change_case:english_lowercase", "change_case:english_capital"
WORDS, SENTS, PARAS = (
    "length_constraints:number_words",
    "length_constraints:number_sentences",
    "length_constraints:number_paragraphs",
)
KW_EXIST, KW_FORBID, KW_FREQ = "keywords:existence", "keywords:forbidden_words", "keywords:frequency"
BULLETS, JSONF, TITLE = (
    "detectable_format:number_bullet_lists",
    "detectable_format:json_format",
    "detectable_format:title",
)
HIGHLIGHT, SECTIONS = "detectable_format:number_highlighted_sections", "detectable_format:multiple_sections"
QUOTE, END, PS = "startend:quotation", "startend:end_checker", "detectable_content:postscript"
UNASKED_QUOTE = "unasked quotation"  # the rejected kind of a pair whose rejected answer adds quotes
NOCOMMA, PLACEHOLDERS = "punctuation:no_comma", "detectable_content:number_placeholders"
ALL_IDS = [
    LOWER,
    UPPER,
    WORDS,
    SENTS,
    PARAS,
    KW_EXIST,
    KW_FORBID,
    KW_FREQ,
    BULLETS,
    JSONF,
    QUOTE,
    END,
    PS,
    HIGHLIGHT,
    SECTIONS,
    TITLE,
    NOCOMMA,
    PLACEHOLDERS,
]

# Pairs that are never combined: contradictory (lowercase vs capitals), structurally
# clashing (JSON vs bullets), or combinations where IFEval-faithful judges could disagree
# (sentence counts in bulleted text, "Section" headers after a case change, ...).
_CONFLICTS = [
    (LOWER, UPPER),
    (LOWER, SECTIONS),
    (UPPER, SECTIONS),
    (LOWER, PS),
    (LOWER, END),
    (UPPER, END),
    (LOWER, SENTS),
    (UPPER, SENTS),
    *[(JSONF, x) for x in (BULLETS, PARAS, SECTIONS, TITLE, QUOTE, END, PS, HIGHLIGHT, SENTS, NOCOMMA)],
    *[(QUOTE, x) for x in (END, BULLETS)],
    (END, PS),
    *[(BULLETS, x) for x in (HIGHLIGHT, SECTIONS, PARAS, SENTS)],
    *[(SECTIONS, x) for x in (PARAS, SENTS)],
    (PARAS, SENTS),
    *[(SENTS, x) for x in (TITLE, PS, HIGHLIGHT, PLACEHOLDERS)],
]
# The demo world's division of labour, as smoltalk and UltraFeedback teach different things: SFT answers
# show the *format* instructions only; every preference pair contrasts answers on a *constraint*
# instruction, which SFT never shows (its prompt may also ask for formats, which both answers keep, so
# DPO does not unlearn them); evaluation prompts and the reserve pool mix both. So each stage has
# something of its own to teach, and the evaluation can see it.
FORMAT_IDS = frozenset({TITLE, SECTIONS, BULLETS, JSONF, HIGHLIGHT, PLACEHOLDERS, PARAS, QUOTE})
CONSTRAINT_IDS = frozenset(ALL_IDS) - FORMAT_IDS
# No SFT prompt asks for quotes: a quote is one token that fits in front of any answer, so the SFT model
# imitates it without reading the instruction. On the dev prompts that do not ask for quotes, the SFT model
# opened 21% of its answers with one when 8 of its 160 training replies were quoted, 8% with 2, 4.5% with 0
# (base model: 1.4%). Quoting on request is learnt from the preference pairs, which set an asked-for quote
# against a missing one and an unasked one against none (UNASKED_QUOTE_SHARE).
SFT_IDS = FORMAT_IDS - {QUOTE}
SPLIT_IDS = {"sft": (SFT_IDS, None), "pairs": (None, CONSTRAINT_IDS)}  # (only these ids, at least one of)

CONFLICTS = {a: set() for a in ALL_IDS}
for _a, _b in _CONFLICTS:
    CONFLICTS[_a].add(_b)
    CONFLICTS[_b].add(_a)


def allowed_ids(item: Item) -> list[str]:
    ids = [i for i in ALL_IDS if i != PLACEHOLDERS or item.category == "professional_writing"]
    if item.category == "multilingual":  # langdetect must see English for the case checks
        ids = [i for i in ids if i not in (LOWER, UPPER, SENTS)]
    if item.style in ("lines", "letter"):
        ids = [i for i in ids if i not in (BULLETS, SECTIONS, SENTS)]
    if item.style == "letter":
        ids = [i for i in ids if i not in (END, QUOTE)]
    if item.style == "document":
        ids = [i for i in ids if i != SENTS]
    if not all(re.fullmatch(r"[^.!?]*[.!?]", p) for p in item.points):
        ids = [i for i in ids if i != SENTS]
    return ids


# Wording tables (scripts/demo_banks/instructions.yaml and responses.yaml): how a prompt states
# each instruction, and the text responses add around an answer or rejected answers are made of.
RELATIONS = ("less than", "at least")
WITH_RELATION = (WORDS, SENTS, KW_FREQ)  # PHRASING is keyed (id, relation) for these
TEMPLATE_FIELDS = ("n", "w", "p", "list", "word", "keyword", "term", "them", "placeholder", "blank")


def _templates(value, where, fields=TEMPLATE_FIELDS):
    """A list of ``str.format`` templates using only the given fields."""

    def template(text, at):
        _text(text, at)
        try:
            used = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
        except ValueError as err:
            _fail(at, f"bad {{field}} in {text!r}: {err}")
        if used - set(fields):
            _fail(at, f"unknown field(s) {sorted(used - set(fields))} in {text!r}; known: {', '.join(fields)}")
        return text

    return _texts(value, where, check=template)


def _phrasing(value, where):
    """Per instruction id a list of templates, or for the ids in WITH_RELATION one list per
    relation; returns PHRASING, keyed by the id or by (id, relation)."""
    table = _mapping(value, where, check=lambda v, at: v)
    out = {}
    for iid, texts in table.items():
        at = f"{where}[{iid!r}]"
        if iid not in ALL_IDS:
            _fail(at, f"unknown instruction id; known: {', '.join(ALL_IDS)}")
        if iid in WITH_RELATION:
            per_relation = _mapping(texts, at, check=_templates)
            if sorted(per_relation) != sorted(RELATIONS):
                _fail(at, f"expected one list for each relation {RELATIONS}, got {list(per_relation)}")
            out.update({(iid, relation): t for relation, t in per_relation.items()})
        else:
            out[iid] = _templates(texts, at)
    missing = [i for i in ALL_IDS if i not in table]
    if missing:
        _fail(where, f"no phrasing for {missing}")
    return out


def _per_category(value, where):
    """PS notes: a list for every category."""
    notes = _mapping(value, where, check=_texts)
    if set(notes) != set(CATEGORIES):
        _fail(where, f"expected the categories {CATEGORIES}, got {list(notes)}")
    return notes


def _bullet_intros(value, where):
    """Intros per category ("" = no intro) with a ``default`` for the categories not listed."""
    intros = _mapping(value, where, check=_texts_or_empty)
    if "default" not in intros or set(intros) - set(CATEGORIES) - {"default"}:
        _fail(where, f"expected categories and a default, got {list(intros)}")
    return intros


def _fillers(value, where):
    """Forbidden word (one lowercase word) -> the sentence that uses it (a rejected answer opens with it)."""
    fillers = _mapping(value, where)
    for word, sentence in fillers.items():
        if not re.fullmatch(r"[a-z]+", word):
            _fail(f"{where}[{word!r}]", "a forbidden word must be one lowercase word")
        if not re.search(rf"\b{re.escape(word)}\b", sentence, flags=re.IGNORECASE):
            _fail(f"{where}[{word!r}]", f"the sentence {sentence!r} does not use the word")
    return fillers


def _word_set(value, where):
    return set(_text(value, where).split())


def _plain_requests(value, where):
    templates = _texts(value, where, at_least=8)
    for k, t in enumerate(templates):
        if t.count("{task}") != 1:
            _fail(f"{where}[{k}]", "a plain request holds {task} exactly once")
    return templates


PHRASING, PLAIN_REQUESTS = load_banks(
    "instructions.yaml", {"phrasing": _phrasing, "plain_requests": _plain_requests}
).values()
_BROKEN = _record(
    {
        "json_prefixes": _texts,
        "after_end": _texts,
        "comma_openers": _texts,
        "keyword_repeats": lambda v, at: _templates(v, at, fields=("w",)),
    }
)
(
    END_PHRASES,
    CREATIVE_END_PHRASES,
    PS_NOTES,
    BULLET_INTROS,
    FILLERS,
    RAMBLE,
    EVASIVE,
    BROKEN,
    STOPWORDS,
) = load_banks(
    "responses.yaml",
    {
        "end_phrases": _texts,
        "creative_end_phrases": _texts,
        "ps_notes": _per_category,
        "bullet_intros": _bullet_intros,
        "fillers": _fillers,
        "ramble": lambda v, at: _texts(v, at, at_least=3),  # a rambling answer adds three
        "evasive": _texts,
        "broken": _BROKEN,
        "stopwords": _word_set,
    },
).values()


# ---------------------------------------------------------------------------------------
# Reference checks: IFEval's rules, each under two readings; "pass" means both readings
# pass and "fail" means both fail, so a faithful IFEval judge agrees with either verdict.
# ---------------------------------------------------------------------------------------


def _count_words(text, reading):
    return len(re.findall(r"\w+", text)) if reading == 0 else len(text.split())


def _count_sentences(text, reading):
    # reading 1 also keeps a single capital letter and its period with the next sentence ("A, C, G, and T.
    # The order ..."), as Punkt does with what it takes for an initial
    pattern = r"(?<=[.!?])[\"']?\s+" if reading == 0 else r"(?<![\s,][A-Z]\.)(?<=[.!?])[\"']?\s+(?=[A-Z0-9\"'])"
    return len([s for s in re.split(pattern, text.strip()) if re.search(r"\w", s)])


def _json_ok(text, reading):
    value = text.strip()
    if reading == 0:
        for fence in ("```json", "```Json", "```JSON", "```"):
            value = value.removeprefix(fence)
        value = value.removesuffix("```").strip()
    try:
        json.loads(value)
    except ValueError:
        return False
    return True


def _paragraphs(text, reading):
    if reading == 1:
        parts = re.split(r"\n\s*\*\*\*\s*\n", text)
        return len([p for p in parts if p.strip()]) if all(p.strip() for p in parts) else -1
    parts = re.split(r"\s?\*\*\*\s?", text)
    n = len(parts)
    for i, p in enumerate(parts):
        if not p.strip():
            if i in (0, len(parts) - 1):
                n -= 1
            else:
                return -1
    return n


def _count_bullets(text, reading):
    if reading == 0:
        return len(re.findall(r"^\s*\*[^\*].*$", text, flags=re.M)) + len(re.findall(r"^\s*-.*$", text, flags=re.M))
    return len(re.findall(r"^\s*[*-] +\S", text, flags=re.M))


def _count_highlights(text, reading):
    if reading == 0:
        n = sum(1 for h in re.findall(r"\*[^\n\*]*\*", text) if h.strip("*").strip())
        return n + sum(1 for h in re.findall(r"\*\*[^\n\*]*\*\*", text) if h[2:-2].strip())
    return len(re.findall(r"(?<!\*)\*[^\s*][^\n*]*\*(?!\*)", text))


def _count_sections(text, spliter, reading):
    if reading == 0:
        return len(re.split(r"\s?" + spliter + r"\s?\d+\s?", text)) - 1
    return len(re.findall(r"^\W*" + spliter + r" \d+", text, flags=re.M))


def _compare(count, n, relation):
    return count < n if relation == "less than" else count >= n


def follows(iid: str, kw: dict, text: str, reading: int) -> bool:
    if iid == LOWER:
        return text == text.lower() and any(ch.isalpha() for ch in text)
    if iid == UPPER:
        return text == text.upper() and any(ch.isalpha() for ch in text)
    if iid == WORDS:
        return _compare(_count_words(text, reading), kw["num_words"], kw["relation"])
    if iid == SENTS:
        return _compare(_count_sentences(text, reading), kw["num_sentences"], kw["relation"])
    if iid == PARAS:
        return _paragraphs(text, reading) == kw["num_paragraphs"]
    if iid == KW_EXIST:
        pat = (lambda w: w) if reading == 0 else (lambda w: rf"\b{re.escape(w)}\b")
        return all(re.search(pat(w), text, flags=re.IGNORECASE) for w in kw["keywords"])
    if iid == KW_FORBID:
        pat = (lambda w: rf"\b{w}\b") if reading == 0 else (lambda w: re.escape(w))
        return not any(re.search(pat(w), text, flags=re.IGNORECASE) for w in kw["forbidden_words"])
    if iid == KW_FREQ:
        pat = kw["keyword"] if reading == 0 else rf"\b{re.escape(kw['keyword'])}\b"
        return _compare(len(re.findall(pat, text, flags=re.IGNORECASE)), kw["frequency"], kw["relation"])
    if iid == BULLETS:
        return _count_bullets(text, reading) == kw["num_bullets"]
    if iid == JSONF:
        return _json_ok(text, reading)
    if iid == QUOTE:
        t = text.strip()
        return len(t) > 1 and t[0] == '"' and t[-1] == '"'
    if iid == END:
        return (
            text.strip().lower().endswith(kw["end_phrase"].strip().lower())
            if reading == 0
            else text.rstrip().endswith(kw["end_phrase"].strip())
        )
    if iid == PS:
        return (
            bool(re.findall(r"\s*p\.\s?s\..*$", text.lower(), flags=re.M))
            if reading == 0
            else bool(re.search(r"^\s*\"?P\.S\. ", text, flags=re.M))
        )
    if iid == HIGHLIGHT:
        return _count_highlights(text, reading) >= kw["num_highlights"]
    if iid == SECTIONS:
        return _count_sections(text, kw["section_spliter"], reading) >= kw["num_sections"]
    if iid == TITLE:
        return any(t.lstrip("<").rstrip(">").strip() for t in re.findall(r"<<[^\n]+>>", text))
    if iid == NOCOMMA:
        return "," not in text
    if iid == PLACEHOLDERS:
        return len(re.findall(r"\[.*?\]", text)) >= kw["num_placeholders"]
    raise KeyError(iid)


def detected_as_english(text: str) -> bool:
    """IFEval's case checks also need ``langdetect.detect(text) == "en"``; text in capitals
    full of numbers often fails that. IFEval does not seed langdetect, so demand a clear margin
    (English at probability >= 0.99 under seed 0) rather than a bare win."""
    import langdetect  # a dependency of the judge; needed to build case-instruction examples

    factory = langdetect.detector_factory
    old = factory.DetectorFactory.seed
    try:
        factory.DetectorFactory.seed = 0
        return any(p.lang == "en" and p.prob >= 0.99 for p in langdetect.detect_langs(text))
    except langdetect.LangDetectException:
        return True  # IFEval counts an undetectable language as a pass
    finally:
        factory.DetectorFactory.seed = old


def verdict(iid, kw, text):
    results = {follows(iid, kw, text, r) for r in (0, 1)}
    return "pass" if results == {True} else "fail" if results == {False} else "unclear"


def passes_all(ids, kwargs, text):
    return all(verdict(i, k, text) == "pass" for i, k in zip(ids, kwargs))


def fails_some(ids, kwargs, text):
    return any(verdict(i, k, text) == "fail" for i, k in zip(ids, kwargs))
