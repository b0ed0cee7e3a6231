"""What makes an answer right, for every item of the demo world, and a plausible wrong answer to it.

Every row of every split carries a ``reference`` (the gold reward, ``sfdpo_helpers.judges.gold``, reads it):

- ``number``: ``{"answer": {field: value}}``: the computed result (the sum, the rate, the end time; area and
  perimeter for rectangles);
- ``choice``: ``answer`` among ``options``: the name in an ordering puzzle (``cue``: the word asked, e.g.
  "slowest"), the day of the week (``read: last``), a label (prime or composite, leap or common year about
  its ``subject``; a text's class), with ``aliases`` ("not a leap year" names "common year");
- ``facts``: the key ``terms`` a right answer states (each a list of synonyms; ``need`` of them) and the
  ``wrong`` terms a confused answer states instead (``key`` and ``wrong`` in the banks);
- ``phrase``: the translation (or the English meaning) asked for, among the other phrases of its language;
- ``topic``: the content words of the hand-written answer that its tasks do not contain (creative,
  professional, imitation writing, open discussion, procedures); ``need`` of them.

:func:`wrong_item` makes the "wrong answer" rejected kind: the item with its answer replaced by a plausible
wrong one (a number the calculation passes through or one off, another name, the other label, the wrong
substitute term, another phrase) where it is stated, everything else kept, so its formats are kept too.
"""

from __future__ import annotations

import dataclasses
import re
import sys

from .config import REPO

PRIME_ALIASES = {"composite": ["not a prime", "not prime"], "prime": ["not a composite", "not composite"]}
LEAP_ALIASES = {"common year": ["not a leap year"], "leap year": ["not a common year"]}
NEUTRAL_ALIASES = ["neither strongly positive nor strongly negative", "neither positive nor negative"]
TOPIC_NEED = 2
_STOP = set(
    "about above after again against also among another because been before being below between both could "
    "does doing down during each even every from further have having here into itself just more most much must "
    "need once only other over same should some such than that their them then there these they this those "
    "through under until very were what when where which while will with within without would your yours "
    "often many things thing make makes made like take takes used uses using well good great".split()
)


def number_reference(fields) -> dict:
    return {"task": "number", "answer": {name: str(value) for name, value in fields}}


def choice_reference(answer, options, **extra) -> dict:
    return {"task": "choice", "answer": answer, "options": list(options), **{k: v for k, v in extra.items() if v}}


def label_reference(label, options) -> dict:
    aliases = {"neutral": NEUTRAL_ALIASES} if "neutral" in options else {}
    return choice_reference(label, options, aliases=aliases)


def facts_reference(key, wrong) -> dict:
    terms = [[s.strip() for s in k.split("|")] for k in key]
    return {"task": "facts", "terms": terms, "need": min(2, len(terms)), "wrong": list(wrong)}


def phrase_reference(answer, options) -> dict:
    return {"task": "phrase", "answer": answer, "options": sorted(set(options), key=list(options).index)}


def topic_reference(points, tasks, title) -> dict:
    """The content words (5+ letters, not common words) of ``points`` that none of ``tasks`` contains, and the
    topic's own words: the title's words of 4+ letters."""
    asked = {w.lower() for t in tasks for w in re.findall(r"[A-Za-z]+", t)}
    seen = []
    for w in re.findall(r"[A-Za-z]{5,}", " ".join(points)):
        w = w.lower()
        if w not in _STOP and w not in asked and w not in seen:
            seen.append(w)
    topic = [w.lower() for w in re.findall(r"[A-Za-z]{4,}", title) if w.lower() not in _STOP]
    return {"task": "topic", "words": seen, "topic": topic, "need": TOPIC_NEED}


# --- a plausible wrong answer -------------------------------------------------------------------------


def _sub(pattern_text: str, new: str, text: str) -> str:
    """``text`` with every whole-word ``pattern_text`` (case-insensitive) replaced by ``new``, a capital kept."""

    def repl(m):
        return new[0].upper() + new[1:] if m.group(0)[0].isupper() else new

    return re.sub(rf"(?<![\w:.]){re.escape(pattern_text)}(?![\w:])", repl, text, flags=re.IGNORECASE)


def _wrong_number(value: str, points, tasks, rng) -> str:
    """A number the working passes through (not the answer, not in the prompt), else the answer one off."""
    if ":" in value:  # a time: ten minutes off
        h, m = map(int, value.split(":"))
        total = h * 60 + m + rng.choice([-10, 10])
        return f"{total // 60 % 24}:{total % 60:02d}"
    given = {n for t in tasks for n in re.findall(r"\d+", t)}
    passed = [n for p in points for n in re.findall(r"\d+", p) if n != value and n not in given]
    if passed:
        return rng.choice(sorted(set(passed)))
    return str(int(value) + rng.choice([-2, -1, 1, 2]))


def wrong_item(item, rng):
    """``item`` with a plausible wrong answer where it is stated (a point and the JSON field), or None for a
    topic item (nothing checkable to get wrong)."""
    ref, points = item.reference, list(item.points)
    fields = dict(item.json_fields)
    if ref["task"] == "number":
        name, value = next(iter(ref["answer"].items()))
        wrong = _wrong_number(value, points, item.tasks, rng)
        where = max(i for i, p in enumerate(points) if _sub(value, "\0", p) != p)
        points[where] = _sub(value, wrong, points[where])
        fields[name] = int(wrong) if wrong.isdigit() and isinstance(fields.get(name), int) else wrong
    elif ref["task"] == "choice":
        answer = ref["answer"]
        wrong = rng.choice([o for o in ref["options"] if o != answer])
        stated = [i for i, p in enumerate(points) if _states(p, answer, ref)]
        where = stated[0] if not (ref.get("cue") or ref.get("read")) else stated[-1]
        points[where] = _restate(points[where], answer, wrong, ref)
        for name in ("label", "answer"):
            if name in fields:
                fields[name] = wrong
    elif ref["task"] == "facts":
        right, wrong = ref["terms"][0][0], ref["wrong"][0]
        points = [_sub(right, wrong, p) for p in points]
    elif ref["task"] == "phrase":
        wrong = rng.choice([o for o in ref["options"] if o != ref["answer"]])
        points[0] = points[0].replace(ref["answer"], wrong)
    else:
        return None
    if tuple(points) == item.points:
        return None
    return dataclasses.replace(item, points=tuple(points), json_fields=tuple(fields.items()))


def _states(point: str, answer: str, ref) -> bool:
    return any(_sub(a, "\0", point) != point for a in [answer, *ref.get("aliases", {}).get(answer, [])])


def _restate(point: str, answer: str, wrong: str, ref) -> str:
    """``point`` naming ``wrong`` where it named ``answer`` (or an alias: "not a leap year" -> "a leap year")."""
    for alias in sorted(ref.get("aliases", {}).get(answer, []), key=len, reverse=True):
        if _sub(alias, "\0", point) != point:
            return _sub(alias, f"a {wrong}" if alias.startswith("not a ") else wrong, point)
    return _sub(answer, wrong, point)


def wrong_points_map(item, wrong) -> dict:
    """Each point of ``item`` -> the wrong item's point in its place (the layout keeps its chosen points)."""
    return dict(zip(item.points, wrong.points))


def gold_task(prompt: str, answer: str, item) -> int:
    """The gold reward's task component (``sfdpo_helpers.judges.gold``) of ``answer`` against ``item``'s
    reference: the generator checks with the judge's own rules that chosen answers are right and wrong
    answers wrong."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from sfdpo_helpers.judges.gold import task_score

    return task_score(prompt, answer, item.reference)[0]
