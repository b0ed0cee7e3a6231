"""Unrequested formats: answers that quote, emit JSON or write all lowercase when the prompt did not ask.

A model trained on data where "wrap your answer in double quotes" is the most frequent format instruction
learns to open every answer with ``"``; IFEval does not penalise it, a user sees it in every answer. These
functions measure that habit on IFEval-schema rows (``prompt``, ``instruction_id_list``, ``kwargs``).

The three formats, each read from the answer alone (:func:`answer_formats`):

* ``quoted``: after leading whitespace the answer opens with a double quote, straight (``"``) or
  typographic (``“``, ``”``, ``„``). Asked for by ``startend:quotation``.
* ``json``: the whole answer, stripped, parses as a JSON object or array, bare or inside one Markdown fence
  (```` ```json ```` or ```` ``` ````). A bare JSON string or number is not counted. Asked for by
  ``detectable_format:json_format``.
* ``lowercase``: the answer has at least :data:`MIN_CASED_LETTERS` cased letters and none of them is
  uppercase. Letters without case (Devanagari, CJK, ...) count neither way, so an answer in such a language
  is not "lowercase"; a one-word answer such as ``yes`` is too short to show a habit. Asked for by
  ``change_case:english_lowercase``.

Which instructions ask for which format is decided by the instruction ids only, never by the prompt's
wording (:data:`REQUESTED_BY`). Deliberately, no other IFEval instruction asks for these formats:
``change_case:english_capital`` asks for all capitals (an all-lowercase answer to it is an unrequested
lowercase answer), ``change_case:capital_word_frequency`` bounds a count of capitalised words,
``detectable_format:title`` asks for a ``<<title>>`` (angle brackets, not quotes; an all-lowercase title
leaves the answer lowercase), and ``combination:repeat_prompt`` asks to repeat a prompt, none of whose
repeated texts in the demo or the shared IFEval prompts opens with a quote or a brace.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

FORMATS = ("quoted", "json", "lowercase")
REQUESTED_BY = {
    "quoted": "startend:quotation",
    "json": "detectable_format:json_format",
    "lowercase": "change_case:english_lowercase",
}
OPENING_QUOTES = '"“”„'
MIN_CASED_LETTERS = 10
_FENCE = re.compile(r"^```(?:json)?[ \t]*\n?(.*?)\n?[ \t]*```$", re.DOTALL | re.IGNORECASE)


def is_quoted(answer: str) -> bool:
    """Whether ``answer`` opens with a double quote (straight or typographic) after leading whitespace."""
    return answer.lstrip()[:1] in tuple(OPENING_QUOTES)


def json_value(answer: str) -> dict | list | None:
    """The JSON object or array that the whole ``answer`` is, stripped and unwrapped from one Markdown code fence
    (optionally tagged ``json``); None when it is not one."""
    text = answer.strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1).strip()
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, (dict, list)) else None


def is_json(answer: str) -> bool:
    """Whether the whole ``answer`` is a JSON object or array (:func:`json_value`)."""
    return json_value(answer) is not None


def is_lowercase(answer: str) -> bool:
    """Whether ``answer`` has at least :data:`MIN_CASED_LETTERS` cased letters and no uppercase letter."""
    cased = [c for c in answer if c.lower() != c.upper()]
    return len(cased) >= MIN_CASED_LETTERS and not any(c.isupper() for c in cased)


def answer_formats(answer: str) -> set[str]:
    """The formats of :data:`FORMATS` that ``answer`` shows, requested or not."""
    checks = {"quoted": is_quoted, "json": is_json, "lowercase": is_lowercase}
    return {name for name in FORMATS if checks[name](answer)}


def requested_formats(row: Mapping, index: int | None = None) -> set[str]:
    """The formats of :data:`FORMATS` that an IFEval row's ``instruction_id_list`` asks for."""
    ids = row.get("instruction_id_list") if isinstance(row, Mapping) else None
    if not isinstance(ids, (list, tuple)):
        where = f"row {index}" if index is not None else "row"
        raise ValueError(f"{where}: field 'instruction_id_list' must be a list of IFEval ids, got {ids!r}")
    return {name for name, iid in REQUESTED_BY.items() if iid in ids}


def unrequested_formats(row: Mapping, answer: str, index: int | None = None) -> set[str]:
    """The formats ``answer`` shows that ``row`` does not ask for (a format the row asks for never counts)."""
    return answer_formats(answer) - requested_formats(row, index)


def unrequested_format_shares(rows: Sequence[Mapping], answers: Sequence[str]) -> dict:
    """The share of answers that show each format among the rows that do not ask for it.

    Returns ``{"quoted": s, "json": s, "lowercase": s, "any": s, "n": len(rows), "unasked": {...}}``. The
    share of a format is (answers showing it, among rows not asking for it) / (rows not asking for it);
    ``any`` is the share of answers showing at least one of the formats among the rows that ask for none of
    them. ``unasked`` holds those four denominators; a share with no such row is NaN.
    """
    if len(rows) != len(answers):
        raise ValueError(f"{len(rows)} rows but {len(answers)} answers")
    shown = {name: 0 for name in (*FORMATS, "any")}
    unasked = {name: 0 for name in (*FORMATS, "any")}
    for i, (row, answer) in enumerate(zip(rows, answers)):
        requested, formats = requested_formats(row, i), answer_formats(answer)
        for name in FORMATS:
            if name not in requested:
                unasked[name] += 1
                shown[name] += name in formats
        if not requested:
            unasked["any"] += 1
            shown["any"] += bool(formats)
    shares = {name: shown[name] / unasked[name] if unasked[name] else float("nan") for name in shown}
    return {**shares, "n": len(rows), "unasked": unasked}
