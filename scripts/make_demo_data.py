"""Build the offline demo data shipped in ``sfdpo_helpers/demo_data``.

    python scripts/make_demo_data.py            # rewrite the five files (deterministic)
    python scripts/make_demo_data.py --out DIR  # write them somewhere else

Every prompt is a small task from one of the study's ten categories plus one to three
verifiable instructions (none for about half of the SFT prompts) in IFEval's schema
(``instruction_id_list`` + ``kwargs``). Every response is *built*, never sampled from a model: the script
takes a hand-written answer (a
few short sentences, steps or verse lines from the YAML banks in ``scripts/demo_banks/``;
math and some classification answers are computed) and transforms it until it satisfies each instruction
(lowercase, word limits, bullets, JSON, quotes, P.S., sections, no commas, ...). A rejected
response is the same answer with one instruction broken (a forgotten P.S., a comma, the
wrong bullet count, too long, ...), or an off-topic, rambling or evasive reply. The reserve
pool (``prompt_pool.jsonl``) holds prompts only, from topics kept out of every other split. The script
checks all of this with its own copy of IFEval's rules, made a little stricter than IFEval
(word counts must hold both for ``\\w+`` tokens and whitespace tokens, keywords must match
both as substrings and as whole words, ...), so that any faithful IFEval judge agrees.

The output depends only on this file, the banks in ``scripts/demo_banks/`` (read with
``pyyaml``, every value as a string) and ``langdetect`` (IFEval's case checks require English
as detected by it, so answers in capitals are screened with it). The optional cross-checks
(``sfdpo_helpers.judges``, the real IFEval prompts in ``../shared``) only report, never choose.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import hashlib
import json
import math
import random
import re
import statistics
import string
import sys
from pathlib import Path

import yaml

SEED = 20250101
REPO = Path(__file__).resolve().parents[1]
OUT_DIR = REPO / "sfdpo_helpers" / "demo_data"
IFEVAL_DEV = REPO.parent / "shared" / "data" / "ifeval" / "ifeval_dev.jsonl"

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
PER_CATEGORY = {"sft": 100, "pairs": 100, "dev": 25, "eval": 25}
DEV_FIRST_KEY = 1001
SPLIT_SEED = {"dev": "eval", "eval": "test"}  # the dev split keeps the seeds the first held-out split had

# ======================================================================================
# Banks: the hand-written text (topics with their answers, phrases, names, and the wording
# tables further down) lives in scripts/demo_banks/*.yaml, one file per family, so that prose
# is edited without touching code. Each file is read once, at import, and checked against the
# shape the generator needs; a bad file raises BankError naming the file and the entry.
# Sentences are short, end with . ! or ?, carry no inner full stops, and use commas only
# inside lists ("A, B, and C") so that a no-comma version can be made.
# ======================================================================================

BANK_DIR = Path(__file__).resolve().parent / "demo_banks"


class BankError(ValueError):
    """A file in ``scripts/demo_banks`` does not have the shape the generator needs."""


class _TextLoader(yaml.SafeLoader):
    """YAML's safe loader with every scalar left a string ("yes", "no", "on", "1.0", "3/4", "2019"
    and "null" stay text; no booleans, numbers, dates or nulls) and duplicate keys refused."""

    yaml_implicit_resolvers = {}  # no implicit types: every plain scalar is a str

    def construct_mapping(self, node, deep=False):
        keys = [k for k, _ in node.value if isinstance(k, yaml.ScalarNode)]
        for i, key in enumerate(keys):
            if any(key.value == earlier.value for earlier in keys[:i]):
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping", node.start_mark, f"duplicate key {key.value!r}", key.start_mark
                )
        return super().construct_mapping(node, deep=deep)


def _fail(where, message):
    raise BankError(f"{where}: {message}")


def _text(value, where, allow_empty=False):
    """A string; unless ``allow_empty``, one with more than white space."""
    if not isinstance(value, str) or not (allow_empty or value.strip()):
        _fail(where, f"expected {'a string' if allow_empty else 'a non-empty string'}, got {value!r}")
    return value


def _text_or_empty(value, where):
    return _text(value, where, allow_empty=True)


def _texts(value, where, check=_text, at_least=1):
    """A list of at least ``at_least`` values, each checked by ``check``."""
    if not isinstance(value, list) or len(value) < at_least:
        _fail(where, f"expected a list of at least {at_least} strings, got {value!r}")
    return [check(v, f"{where}[{i}]") for i, v in enumerate(value)]


def _texts_or_empty(value, where):
    return _texts(value, where, check=_text_or_empty)


def _mapping(value, where, check=_text):
    """A non-empty mapping with string keys, each value checked by ``check``; order kept."""
    if not isinstance(value, dict) or not value:
        _fail(where, f"expected a non-empty mapping, got {value!r}")
    return {_text(k, f"{where} (a key)"): check(v, f"{where}[{k!r}]") for k, v in value.items()}


def _one_of(*options):
    def check(value, where):
        if value not in options:
            _fail(where, f"expected one of {', '.join(options)}, got {value!r}")
        return value

    return check


def _record(spec):
    """A mapping with exactly the keys of ``spec`` (key -> check); returns the checked values in
    ``spec``'s order."""

    def check(value, where):
        if not isinstance(value, dict):
            _fail(where, f"expected a mapping with keys {', '.join(spec)}, got {value!r}")
        missing, unknown = [k for k in spec if k not in value], [k for k in value if k not in spec]
        if missing or unknown:
            _fail(where, f"missing keys {missing}, unknown keys {unknown} (expected {', '.join(spec)})")
        return {key: check_key(value[key], f"{where}: {key}") for key, check_key in spec.items()}

    return check


def _entries(fields, optional=()):
    """A non-empty list of mappings with the keys of ``fields`` (name -> check; names in
    ``optional`` may be left out and then read as ""). Returns one tuple per entry, values in the
    order of ``fields`` (the tuple the generator unpacks); the first field must be unique."""

    def check(value, where):
        if not isinstance(value, list) or not value:
            _fail(where, f"expected a non-empty list of entries with keys {', '.join(fields)}")
        out, seen = [], set()
        for i, entry in enumerate(value):
            at = f"{where}[{i}]"
            if not isinstance(entry, dict):
                _fail(at, f"expected a mapping with keys {', '.join(fields)}, got {entry!r}")
            name = entry.get(next(iter(fields)))
            at += f" ({name!r})" if isinstance(name, str) else ""
            missing = [k for k in fields if k not in entry and k not in optional]
            unknown = [k for k in entry if k not in fields]
            if missing or unknown:
                _fail(at, f"missing keys {missing}, unknown keys {unknown} (expected {', '.join(fields)})")
            row = tuple(check_key(entry.get(k, ""), f"{at}: {k}") for k, check_key in fields.items())
            if row[0] in seen:
                _fail(at, f"{next(iter(fields))} {row[0]!r} appears twice")
            seen.add(row[0])
            out.append(row)
        return out

    return check


def load_banks(name: str, spec: dict) -> dict:
    """Read ``scripts/demo_banks/<name>`` and check it against ``spec`` (top-level key -> check,
    each check taking ``(value, where)``). Returns the checked values in ``spec``'s order; a
    missing file, bad YAML, a missing or unknown key or a malformed entry raises ``BankError``
    naming the file and the entry."""
    path = BANK_DIR / name
    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.load(f, Loader=_TextLoader)
    except (OSError, yaml.YAMLError) as err:
        raise BankError(f"{path}: {err}") from err
    return _record(spec)(doc, str(path))


# Entry shapes -> the tuples the generator unpacks. Topic: (title, tasks, answer sentences);
# professional writing: (title, tasks, body sentences, greeting or "" for a document);
# imitation writing: (title, tasks, sentences or verse lines, "prose" | "lines");
# classification: (title, tasks, label, answer sentences), the first sentence stating the label;
# multilingual: (English phrase, {language: translation}, usage note).
_TOPICS = _entries({"title": _text, "tasks": _texts, "answer": _texts})
_PROCEDURES = _entries({"title": _text, "tasks": _texts, "steps": _texts})
_POEMS = _entries({"title": _text, "tasks": _texts, "lines": _texts})
_LETTERS = _entries(
    {"title": _text, "tasks": _texts, "body": _texts, "greeting": _text_or_empty}, optional=("greeting",)
)
_IMITATIONS = _entries({"title": _text, "tasks": _texts, "answer": _texts, "style": _one_of("prose", "lines")})
_CLASSIFICATIONS = _entries({"title": _text, "tasks": _texts, "label": _text, "answer": _texts})
_PHRASES = _entries({"english": _text, "translations": _mapping, "note": _text})


def _language_notes(value, where):
    """At least three notes per language: a phrase's i-th translation uses note (i + j) % 3."""
    return _mapping(value, where, check=lambda v, at: _texts(v, at, at_least=3))


def _check_languages(phrases, notes, where):
    """Every language of a translation has its notes."""
    for english, translations, _ in phrases:
        if set(translations) - set(notes):
            _fail(where, f"{english!r}: no language_notes for {sorted(set(translations) - set(notes))}")


def _weekdays(value, where):
    days = _texts(value, where, at_least=7)
    if len(days) != 7:
        _fail(where, f"expected the 7 days of the week, got {len(days)}")
    return days


# load_banks returns its values in the order of the spec, so they unpack in that order.
GENERAL_KNOWLEDGE, RESERVE_GENERAL_KNOWLEDGE = load_banks(
    "general_knowledge.yaml", {"topics": _TOPICS, "reserve": _TOPICS}
).values()
SCIENCE, RESERVE_SCIENCE = load_banks("science_explanation.yaml", {"topics": _TOPICS, "reserve": _TOPICS}).values()
POEMS, STORIES, RESERVE_POEMS, RESERVE_STORIES = load_banks(
    "creative_writing.yaml",
    {"poems": _POEMS, "stories": _TOPICS, "reserve_poems": _POEMS, "reserve_stories": _TOPICS},
).values()
PROFESSIONAL, RESERVE_PROFESSIONAL, PLACEHOLDER_FILL = load_banks(
    "professional_writing.yaml", {"topics": _LETTERS, "reserve": _LETTERS, "placeholder_fill": _mapping}
).values()
PROCEDURES, RESERVE_PROCEDURES = load_banks(
    "instructions_procedures.yaml", {"topics": _PROCEDURES, "reserve": _PROCEDURES}
).values()
DISCUSSIONS, RESERVE_DISCUSSIONS = load_banks("open_discussion.yaml", {"topics": _TOPICS, "reserve": _TOPICS}).values()
IMITATIONS, RESERVE_IMITATIONS = load_banks(
    "imitation_writing.yaml", {"topics": _IMITATIONS, "reserve": _IMITATIONS}
).values()
CLASSIFICATIONS, RESERVE_CLASSIFICATIONS = load_banks(
    "classification.yaml", {"topics": _CLASSIFICATIONS, "reserve": _CLASSIFICATIONS}
).values()
PHRASES, RESERVE_PHRASES, LANGUAGE_NOTES, LANGUAGE_TIPS = load_banks(
    "multilingual.yaml",
    {"phrases": _PHRASES, "reserve": _PHRASES, "language_notes": _language_notes, "language_tips": _texts},
).values()
_check_languages(PHRASES + RESERVE_PHRASES, LANGUAGE_NOTES, BANK_DIR / "multilingual.yaml")

# Generated items (math word problems) draw their people and days from these lists.
NAMES, WEEKDAYS = load_banks(
    "math_reasoning.yaml", {"names": lambda v, at: _texts(v, at, at_least=3), "weekdays": _weekdays}
).values()


@dataclasses.dataclass(frozen=True)
class Item:
    category: str
    uid: str
    title: str
    tasks: tuple
    points: tuple  # answer sentences, steps or verse lines (ordered)
    style: str = "prose"  # prose | steps | lines | letter | label | math | document
    greeting: str = ""  # letters only
    json_fields: tuple = ()  # leading JSON fields (label, computed answer, ...)
    complete: bool = False  # must keep every point (a solution, a poem, a procedure)


# ======================================================================================
# Generated items: math word problems and number facts (answers computed here). Each
# _math_* template draws its numbers from ``rng`` and returns one worked problem.
# ======================================================================================


def _math_item(kind, title, tasks, points, answer):
    """A math Item; ``answer`` is the value, or ((field, value), ...) for several JSON fields."""
    fields = answer if isinstance(answer, tuple) else (("answer", answer),)
    return Item(
        "math_reasoning",
        f"math/{kind}/" + "/".join(str(v) for _, v in fields) + "/" + tasks[0],
        title,
        tuple(tasks),
        tuple(points),
        "math",
        json_fields=fields,
        complete=True,
    )


def _math_shopping(rng: random.Random) -> Item:
    goods = [
        ("notebook", "notebooks", "pen", "pens"),
        ("apple", "apples", "banana", "bananas"),
        ("ticket", "tickets", "drink", "drinks"),
        ("sandwich", "sandwiches", "juice", "juices"),
    ]
    x, xs, y, ys = rng.choice(goods)
    p, q, a, b = rng.randint(2, 9), rng.randint(1, 5), rng.randint(2, 6), rng.randint(2, 8)
    tot = a * p + b * q
    art = "An" if x[0] in "aeiou" else "A"
    return _math_item(
        "shop",
        "Total Cost",
        [
            f"{art} {x} costs {p} dollars and a {y} costs {q} dollars. "
            f"How much do {a} {xs} and {b} {ys} cost in total?",
            f"Work out the total price of {a} {xs} at {p} dollars each and {b} {ys} at {q} dollars each.",
        ],
        [
            f"The {xs} cost {a} times {p} which is {a * p} dollars.",
            f"The {ys} cost {b} times {q} which is {b * q} dollars.",
            f"Adding the two amounts gives {a * p} plus {b * q} which equals {tot} dollars.",
            f"So the total cost is {tot} dollars.",
        ],
        tot,
    )


def _math_speed(rng: random.Random) -> Item:
    veh = rng.choice(["train", "car", "bus", "cyclist"])
    v = rng.choice([12, 15, 18, 20]) if veh == "cyclist" else rng.choice(range(40, 130, 10))
    t = rng.randint(2, 6)
    return _math_item(
        "speed",
        "Distance Travelled",
        [
            f"A {veh} travels at {v} kilometres per hour for {t} hours. How far does it go?",
            f"How many kilometres does a {veh} cover in {t} hours at a steady {v} kilometres per hour?",
        ],
        [
            "Distance equals speed multiplied by time.",
            f"The speed is {v} kilometres per hour and the time is {t} hours.",
            f"{v} times {t} is {v * t}.",
            f"The {veh} travels {v * t} kilometres.",
        ],
        v * t,
    )


def _math_discount(rng: random.Random) -> Item:
    thing = rng.choice(["jacket", "lamp", "backpack", "pair of boots", "desk chair"])
    pct = rng.choice([10, 20, 25, 50])
    price = rng.choice([p for p in range(40, 201, 20) if p * pct % 100 == 0])
    off = price * pct // 100
    return _math_item(
        "discount",
        "Sale Price",
        [
            f"A {thing} costs {price} dollars and is on sale for {pct} percent off. What is the sale price?",
            f"What does a {price} dollar {thing} cost after a {pct} percent discount?",
        ],
        [
            f"The discount is {pct} percent of {price} dollars.",
            f"{pct} percent of {price} is {off} dollars.",
            f"Subtracting gives {price} minus {off} which is {price - off}.",
            f"The sale price is {price - off} dollars.",
        ],
        price - off,
    )


def _math_rectangle(rng: random.Random) -> Item:
    place = rng.choice(["garden", "classroom", "car park", "swimming pool"])
    length = rng.randint(5, 20)
    w = rng.randint(2, length - 1)
    return _math_item(
        "rect",
        "Area and Perimeter",
        [
            f"A {place} is {length} metres long and {w} metres wide. What are its area and perimeter?",
            f"Find the area and the perimeter of a rectangular {place} measuring {length} metres by {w} metres.",
        ],
        [
            "The area of a rectangle is its length times its width.",
            f"{length} times {w} gives an area of {length * w} square metres.",
            "The perimeter is two times the sum of the length and the width.",
            f"Two times {length + w} gives a perimeter of {2 * (length + w)} metres.",
        ],
        (("area", length * w), ("perimeter", 2 * (length + w))),
    )


def _math_average(rng: random.Random) -> Item:
    who = rng.choice(NAMES)
    s = [rng.randint(60, 100) for _ in range(3)]
    s.append(rng.choice([x for x in range(60, 101) if (sum(s) + x) % 4 == 0]))
    tot = sum(s)
    return _math_item(
        "avg",
        "Average Score",
        [
            f"{who} scored {s[0]}, {s[1]}, {s[2]}, and {s[3]} on four tests. What is the average score?",
            f"What is the mean of the test scores {s[0]}, {s[1]}, {s[2]}, and {s[3]}?",
        ],
        [
            f"Adding the scores gives {s[0]} plus {s[1]} plus {s[2]} plus {s[3]} which is {tot}.",
            "There are four scores.",
            f"{tot} divided by 4 is {tot // 4}.",
            f"The average score is {tot // 4}.",
        ],
        tot // 4,
    )


def _math_ages(rng: random.Random) -> Item:
    a, b = rng.sample(NAMES, 2)
    young, x, y = rng.randint(5, 20), rng.randint(2, 10), rng.randint(2, 10)
    s = 2 * young + x + 2 * y
    return _math_item(
        "age",
        "Age Puzzle",
        [f"{a} is {x} years older than {b}. In {y} years the sum of their ages will be {s}. How old is {b} now?"],
        [
            f"Call the age of {b} now b so {a} is b plus {x}.",
            f"In {y} years they will be b plus {y} and b plus {x + y}.",
            f"Their sum is 2b plus {x + 2 * y} which must equal {s}.",
            f"So 2b is {s - x - 2 * y} and b is {young}.",
            f"{b} is {young} years old now.",
        ],
        young,
    )


def _math_sequence(rng: random.Random) -> Item:
    if rng.random() < 0.6:
        start, d = rng.randint(1, 20), rng.randint(2, 9)
        t = [start + i * d for i in range(5)]
        rule, step = f"Each number is {d} more than the one before.", f"{t[3]} plus {d} is {t[4]}."
    else:
        start, r = rng.randint(1, 5), rng.choice([2, 3])
        t = [start * r**i for i in range(5)]
        rule, step = f"Each number is {r} times the one before.", f"{t[3]} times {r} is {t[4]}."
    return _math_item(
        "seq",
        "Next in the Sequence",
        [
            f"What number comes next in the sequence {t[0]}, {t[1]}, {t[2]}, {t[3]}?",
            f"Find the next term: {t[0]}, {t[1]}, {t[2]}, {t[3]}.",
        ],
        [rule, f"The last number shown is {t[3]}.", step, f"The next number is {t[4]}."],
        t[4],
    )


def _math_pizza(rng: random.Random) -> Item:
    n = rng.randint(2, 6)
    slices = rng.choice([6, 8, 10, 12])
    k = rng.choice([k for k in range(1, 9) if k * slices % n == 0])
    tot = k * slices
    return _math_item(
        "pizza",
        "Sharing Pizza",
        [f"{n} friends share {k} pizzas cut into {slices} slices each. How many slices does each friend get?"],
        [
            f"There are {k} pizzas with {slices} slices each.",
            f"That makes {k} times {slices} which is {tot} slices.",
            f"Sharing {tot} slices among {n} friends means dividing {tot} by {n}.",
            f"Each friend gets {tot // n} slices.",
        ],
        tot // n,
    )


def _math_film(rng: random.Random) -> Item:
    h0, m0 = rng.randint(9, 20), rng.choice(range(0, 60, 5))
    dur = rng.choice([d for d in range(65, 180, 5) if d % 60])
    dh, dm = divmod(dur, 60)
    mid = f"{h0 + dh}:{m0:02d}"
    end_min = h0 * 60 + m0 + dur
    end = f"{end_min // 60 % 24}:{end_min % 60:02d}"
    hours = "1 hour" if dh == 1 else f"{dh} hours"
    return _math_item(
        "film",
        "When the Film Ends",
        [f"A film starts at {h0}:{m0:02d} and lasts {dur} minutes. At what time does it end?"],
        [
            f"The film lasts {dur} minutes which is {hours} and {dm} minutes.",
            f"Adding {hours} to {h0}:{m0:02d} gives {mid}.",
            f"Adding {dm} more minutes gives {end}.",
            f"The film ends at {end}.",
        ],
        end,
    )


def _math_weekday(rng: random.Random) -> Item:
    today = rng.randrange(7)
    n = rng.choice([k for k in range(3, 60) if k % 7])
    r = n % 7
    day = WEEKDAYS[(today + r) % 7]
    return _math_item(
        "day",
        "Day of the Week",
        [f"If today is {WEEKDAYS[today]}, what day of the week will it be in {n} days?"],
        [
            "The days of the week repeat every 7 days.",
            f"{n} divided by 7 leaves a remainder of {r}.",
            f"Counting {r} days forward from {WEEKDAYS[today]} gives {day}.",
            f"In {n} days it will be {day}.",
        ],
        day,
    )


def _math_minutes(rng: random.Random) -> Item:
    h, m = rng.randint(2, 9), rng.randint(5, 55)
    return _math_item(
        "min",
        "Converting Time",
        [f"How many minutes are there in {h} hours and {m} minutes?"],
        [
            "One hour has 60 minutes.",
            f"{h} hours is {h} times 60 which is {h * 60} minutes.",
            f"Adding {m} minutes gives {h * 60 + m} minutes.",
            f"So {h} hours and {m} minutes is {h * 60 + m} minutes.",
        ],
        h * 60 + m,
    )


def _math_percent(rng: random.Random) -> Item:
    pct = rng.choice([10, 20, 25, 30, 40, 50, 60, 75])
    n = rng.choice([k for k in range(40, 801, 20) if k * pct % 100 == 0])
    how = rng.choice(["walk", "cycle", "take the bus"])
    return _math_item(
        "pct",
        "Percent of a Group",
        [f"{pct} percent of the {n} students at a school {how} to school. How many students is that?"],
        [
            f"Finding {pct} percent means multiplying by {pct} and dividing by 100.",
            f"{n} times {pct} is {n * pct}.",
            f"{n * pct} divided by 100 is {n * pct // 100}.",
            f"So {n * pct // 100} students {how} to school.",
        ],
        n * pct // 100,
    )


def _math_rate(rng: random.Random) -> Item:
    thing = rng.choice(["bottles", "cookies", "bolts", "labels"])
    r, h = rng.randint(5, 40), rng.randint(1, 4)
    return _math_item(
        "rate",
        "Production Rate",
        [f"A machine makes {r} {thing} per minute. How many {thing} does it make in {h} hours?"],
        [
            f"One hour has 60 minutes so {h} hours is {h * 60} minutes.",
            f"The machine makes {r} {thing} each minute.",
            f"{r} times {h * 60} is {r * h * 60}.",
            f"It makes {r * h * 60} {thing} in {h} hours.",
        ],
        r * h * 60,
    )


def _math_coins(rng: random.Random) -> Item:
    who = rng.choice(NAMES)
    a, b = rng.randint(2, 15), rng.randint(2, 15)
    return _math_item(
        "coins",
        "Counting Coins",
        [f"{who} has {a} coins worth 5 cents and {b} coins worth 10 cents. How many cents is that in total?"],
        [
            f"The 5 cent coins are worth {a} times 5 which is {5 * a} cents.",
            f"The 10 cent coins are worth {b} times 10 which is {10 * b} cents.",
            f"Together that is {5 * a} plus {10 * b} which is {5 * a + 10 * b} cents.",
            f"{who} has {5 * a + 10 * b} cents in total.",
        ],
        5 * a + 10 * b,
    )


def _math_ordering(rng: random.Random) -> Item:
    a, b, c = rng.sample(NAMES, 3)
    rel, lo, hi = rng.choice(
        [("taller", "shortest", "tallest"), ("older", "youngest", "oldest"), ("faster", "slowest", "fastest")]
    )
    ask_low = rng.random() < 0.5
    q, ans = (lo, c) if ask_low else (hi, a)
    return _math_item(
        "order",
        "Ordering Puzzle",
        [f"{a} is {rel} than {b}. {b} is {rel} than {c}. Who is the {q}?"],
        [
            f"{a} is {rel} than {b} and {b} is {rel} than {c}.",
            f"So the order from {hi} to {lo} is {a} then {b} then {c}.",
            "The comparison carries over from one person to the next.",
            f"{ans} is the {q}.",
        ],
        ans,
    )


MATH_TEMPLATES = [
    _math_shopping,
    _math_speed,
    _math_discount,
    _math_rectangle,
    _math_average,
    _math_ages,
    _math_sequence,
    _math_pizza,
    _math_film,
    _math_weekday,
    _math_minutes,
    _math_percent,
    _math_rate,
    _math_coins,
    _math_ordering,
]


def math_items(rng: random.Random, n_per_template: int) -> list[Item]:
    """``n_per_template`` word problems from each of MATH_TEMPLATES, in turns, with distinct uids."""
    out, seen = [], set()
    for _ in range(n_per_template):
        for make in MATH_TEMPLATES:
            for _try in range(20):
                it = make(rng)
                if it.uid not in seen:
                    seen.add(it.uid)
                    out.append(it)
                    break
    return out


def _label_item(uid, title, tasks, label, points) -> Item:
    """A classification Item whose JSON answer starts with ``"label": label``."""
    return Item(
        "classification",
        uid,
        title,
        tuple(tasks),
        tuple(points),
        "label",
        json_fields=(("label", label),),
        complete=True,
    )


def _prime_item(n: int) -> Item:
    d = next((k for k in range(2, math.isqrt(n) + 1) if n % k == 0), None)
    if d is None:
        label, pts = (
            "prime",
            [
                f"{n} is a prime number.",
                "It has no divisors other than 1 and itself.",
                f"None of the whole numbers from 2 to {math.isqrt(n)} divide it evenly.",
                "That matches the definition of a prime number.",
            ],
        )
    else:
        label, pts = (
            "composite",
            [
                f"{n} is a composite number.",
                f"It can be divided evenly by {d}.",
                f"{d} times {n // d} equals {n}.",
                "A number with a divisor other than 1 and itself is composite.",
            ],
        )
    tasks = (f"Is {n} a prime number or a composite number?", f"Classify {n} as prime or composite.")
    return _label_item(f"prime/{n}", "Prime or Composite", tasks, label, pts)


def _leap_item(y: int) -> Item:
    century = "Century years are leap years only when they divide evenly by 400."
    if y % 400 == 0:
        label, pts = (
            "leap year",
            [f"{y} is a leap year.", f"{y} is divisible by 400.", century, f"So {y} has 366 days."],
        )
    elif y % 100 == 0:
        label, pts = (
            "common year",
            [
                f"{y} is not a leap year.",
                f"{y} is a century year that is not divisible by 400.",
                century,
                f"So {y} has 365 days.",
            ],
        )
    elif y % 4 == 0:
        label, pts = (
            "leap year",
            [
                f"{y} is a leap year.",
                f"{y} is divisible by 4 and is not a century year.",
                "Such years get an extra day on 29 February.",
                f"So {y} has 366 days.",
            ],
        )
    else:
        label, pts = (
            "common year",
            [
                f"{y} is not a leap year.",
                f"{y} is not divisible by 4.",
                "Only years divisible by 4 can be leap years.",
                f"So {y} has 365 days.",
            ],
        )
    tasks = (f"Is {y} a leap year or a common year?", f"Classify the year {y} as a leap year or a common year.")
    return _label_item(f"leap/{y}", "Leap Year Check", tasks, label, pts)


def number_items(rng: random.Random) -> list[Item]:
    """Computed classification items: prime or composite, leap year or not."""
    primes = [_prime_item(n) for n in rng.sample(range(11, 200), 40)]
    return primes + [_leap_item(y) for y in rng.sample(range(1800, 2101), 24)]


def multilingual_items(phrases=None, start: int = 0) -> list[tuple[int, Item]]:
    out = []
    for i, (en, trans, note) in enumerate(PHRASES if phrases is None else phrases, start):
        for j, (lang, t) in enumerate(trans.items()):
            lang_note = LANGUAGE_NOTES[lang][(i + j) % 3]
            tip = LANGUAGE_TIPS[(i + 2 * j) % len(LANGUAGE_TIPS)]
            out.append(
                (
                    i,
                    Item(
                        "multilingual",
                        f"ml/{en}/{lang}/to",
                        f"Saying {en} in {lang}",
                        (
                            f'How do you say "{en}" in {lang}?',
                            f'Translate "{en}" into {lang} and tell me when to use it.',
                        ),
                        (f'In {lang} you say "{t}" for "{en}".', note, lang_note, tip),
                    ),
                )
            )
            out.append(
                (
                    i,
                    Item(
                        "multilingual",
                        f"ml/{en}/{lang}/from",
                        f"The {lang} phrase {t}",
                        (
                            f'What does the {lang} phrase "{t}" mean in English?',
                            f'I heard someone say "{t}" in {lang}. What does it mean?',
                        ),
                        (f'The {lang} phrase "{t}" means "{en}".', note, lang_note, tip),
                    ),
                )
            )
    return out


def _topic_items(cat, bank, style, complete=False) -> list[Item]:
    """Items of a bank of (title, tasks, points) topics."""
    return [Item(cat, f"{cat}/{t}", t, tuple(tasks), tuple(pts), style, complete=complete) for t, tasks, pts in bank]


def _imitation_items(bank) -> list[Item]:
    return [
        Item("imitation_writing", f"imitation/{t}", t, tuple(tasks), tuple(pts), style, complete=True)
        for t, tasks, pts, style in bank
    ]


def _professional_items(bank) -> list[Item]:
    return [
        Item(
            "professional_writing",
            f"pro/{t}",
            t,
            tuple(tasks),
            tuple(pts),
            "letter" if greet else "document",
            greeting=greet,
            complete=True,
        )
        for t, tasks, pts, greet in bank
    ]


def _classification_items(bank) -> list[Item]:
    return [_label_item(f"cls/{t}", t, tasks, label, pts) for t, tasks, label, pts in bank]


def build_pools() -> dict[str, dict[str, list[Item]]]:
    """Items per category, split into a held-out pool (eval) and a training pool (sft, pairs):
    every fifth item of each bank or generated list is held out."""
    rng = random.Random(f"{SEED}-pools")
    pools = {c: {"train": [], "eval": []} for c in CATEGORIES}

    def add(cat, items_with_index):
        for i, it in items_with_index:
            pools[cat]["eval" if i % 5 == 4 else "train"].append(it)

    add("general_knowledge", enumerate(_topic_items("general_knowledge", GENERAL_KNOWLEDGE, "prose")))
    add("science_explanation", enumerate(_topic_items("science_explanation", SCIENCE, "prose")))
    add("open_discussion", enumerate(_topic_items("open_discussion", DISCUSSIONS, "prose")))
    add(
        "instructions_procedures",
        enumerate(_topic_items("instructions_procedures", PROCEDURES, "steps", complete=True)),
    )
    add("creative_writing", enumerate(_topic_items("creative_writing", POEMS, "lines", complete=True)))
    add("creative_writing", enumerate(_topic_items("creative_writing", STORIES, "prose", complete=True)))
    add("imitation_writing", enumerate(_imitation_items(IMITATIONS)))
    add("professional_writing", enumerate(_professional_items(PROFESSIONAL)))
    add("classification", enumerate(_classification_items(CLASSIFICATIONS)))
    add("classification", enumerate(number_items(rng)))
    add("multilingual", multilingual_items())
    add("math_reasoning", enumerate(math_items(rng, 20)))
    return pools


POOL_PER_CATEGORY = 35
POOL_FIRST_KEY = 10001
POOL_NUMBER_ITEMS = {"prime": 12, "leap": 8}  # computed classification items beside the text ones


def build_reserve_pools(pools=None) -> dict[str, list[Item]]:
    """Items for the reserve prompt pool, per category: the reserve banks' topics plus freshly
    generated math problems and prime/leap-year questions. Computed items that coincide with an
    item of ``build_pools()`` (same uid or task text) are dropped, so no pool topic or task is in
    sft, pairs or eval. Own seed: building it leaves the other splits' random streams alone."""
    pools = build_pools() if pools is None else pools
    taken = [it for c in pools for part in pools[c].values() for it in part]
    taken_uids = {it.uid for it in taken}
    taken_tasks = {t for it in taken for t in it.tasks}
    rng = random.Random(f"{SEED}-reserve")

    def fresh(items):
        return [it for it in items if it.uid not in taken_uids and not set(it.tasks) & taken_tasks]

    reserve = {
        "general_knowledge": _topic_items("general_knowledge", RESERVE_GENERAL_KNOWLEDGE, "prose"),
        "science_explanation": _topic_items("science_explanation", RESERVE_SCIENCE, "prose"),
        "open_discussion": _topic_items("open_discussion", RESERVE_DISCUSSIONS, "prose"),
        "instructions_procedures": _topic_items("instructions_procedures", RESERVE_PROCEDURES, "steps", complete=True),
        "creative_writing": (
            _topic_items("creative_writing", RESERVE_POEMS, "lines", complete=True)
            + _topic_items("creative_writing", RESERVE_STORIES, "prose", complete=True)
        ),
        "imitation_writing": _imitation_items(RESERVE_IMITATIONS),
        "professional_writing": _professional_items(RESERVE_PROFESSIONAL),
        "classification": _classification_items(RESERVE_CLASSIFICATIONS),
        "multilingual": [it for _, it in multilingual_items(RESERVE_PHRASES, start=len(PHRASES))],
        "math_reasoning": fresh(math_items(rng, 4)),
    }
    numbers = fresh(number_items(rng))
    for kind, n in POOL_NUMBER_ITEMS.items():
        reserve["classification"] += [it for it in numbers if it.uid.startswith(kind + "/")][:n]
    for cat, items in reserve.items():
        assert len({it.uid for it in items}) == len(items), cat
        tasks = {t for it in items for t in it.tasks}
        assert not {it.uid for it in items} & taken_uids and not tasks & taken_tasks, cat
    return reserve


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


def build_rejected(ex: Example, pool, rng):
    """Returns (text, failure kind) for a response that fails at least one instruction."""
    item = ex.item
    mode = rng.choices(["break", "loop", "rambling", "off_topic", "evasive"], weights=[52, 16, 10, 8, 14])[0]
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
REJECTED_SCORE = {"rambling": 3.5, "repetition loop": 3.5, "off_topic": 2.0, "evasive": 1.5, UNASKED_QUOTE: 6.0}


def score_pair(ex: Example, rng):
    chosen = rng.choice([8.0, 8.5, 9.0, 9.5, 10.0])
    if ex.failure.startswith("broke:"):
        followed = sum(verdict(i, k, ex.rejected) == "pass" for i, k in zip(ex.ids, ex.kwargs)) / len(ex.ids)
        rejected = 4.0 + round(4 * followed) / 2 + rng.choice([0.0, 0.5])
    else:
        rejected = REJECTED_SCORE[ex.failure] + rng.choice([0.0, 0.5])
    return chosen, min(rejected, chosen - 1.0)


# ======================================================================================
# Splits and files
# ======================================================================================


def make_split(split, pools, used_prompts):
    examples = []
    for cat in CATEGORIES:
        rng = random.Random(f"{SEED}-{SPLIT_SEED.get(split, split)}-{cat}")
        pool = pools[cat]["eval" if split in ("dev", "eval") else "train"]
        order = list(pool)
        rng.shuffle(order)
        need, i, misses = PER_CATEGORY[split], 0, 0
        got = []
        balance = None
        if split == "sft":
            caps = {i: int(FORMAT_CAP * need) for i in ALL_IDS}
            balance = (N_IDS_WEIGHTS["sft"], collections.Counter(), caps)
        while len(got) < need:
            item = order[i % len(order)]
            i += 1
            ex = build_example(item, rng, used_prompts, *SPLIT_IDS.get(split, (None, None)), balance)
            if ex is not None and split == "pairs":
                ex.rejected, ex.failure = build_rejected(ex, pool, rng)
                ex.rejected, ex.failure = unasked_quote(ex) or (ex.rejected, ex.failure)
                if ex.rejected is None:
                    ex = None
                else:
                    ex.score_chosen, ex.score_rejected = score_pair(ex, rng)
            if ex is None:
                misses += 1
                if misses > 20 * need:
                    raise RuntimeError(f"cannot build {need} {split} examples for {cat}")
                continue
            used_prompts.add(ex.prompt)
            got.append(ex)
        examples.extend(got)
    return examples


def normalise(text: str) -> str:
    """Lowercase, whitespace collapsed: the comparison the curriculum notebook de-duplicates with."""
    return " ".join(text.lower().split())


def make_pool(reserve, used_prompts):
    """``POOL_PER_CATEGORY`` prompts per category from the reserve items, none equal (after
    ``normalise``) to a prompt in ``used_prompts`` or to another pool prompt. Runs after the other
    splits with its own seeds, so adding it changes none of their bytes."""
    seen = {normalise(p) for p in used_prompts}
    examples = []
    for cat in CATEGORIES:
        rng = random.Random(f"{SEED}-pool-{cat}")
        order = list(reserve[cat])
        rng.shuffle(order)
        got, i, misses = [], 0, 0
        while len(got) < POOL_PER_CATEGORY:
            item = order[i % len(order)]
            i += 1
            ex = build_example(item, rng, used_prompts)
            if ex is None or normalise(ex.prompt) in seen:
                misses += 1
                if misses > 20 * POOL_PER_CATEGORY:
                    raise RuntimeError(f"cannot build {POOL_PER_CATEGORY} pool prompts for {cat}")
                continue
            seen.add(normalise(ex.prompt))
            used_prompts.add(ex.prompt)
            got.append(ex)
        examples.extend(got)
    return examples


def _msgs(prompt, response):
    return [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}]


def to_rows(split, examples):
    rows = []
    for k, ex in enumerate(examples):
        meta = {"category": ex.item.category, "instruction_id_list": ex.ids, "kwargs": ex.kwargs}
        if split == "sft":
            rows.append({"messages": _msgs(ex.prompt, ex.chosen), "source": "sfdpo-demo", **meta})
        elif split == "pairs":
            rows.append(
                {
                    "prompt": ex.prompt,
                    "prompt_id": hashlib.sha256(ex.prompt.encode()).hexdigest(),
                    "chosen": _msgs(ex.prompt, ex.chosen),
                    "rejected": _msgs(ex.prompt, ex.rejected),
                    "score_chosen": ex.score_chosen,
                    "score_rejected": ex.score_rejected,
                    **meta,
                }
            )
        elif split == "pool":
            rows.append({"key": POOL_FIRST_KEY + k, "prompt": ex.prompt, **meta})
        elif split == "dev":
            rows.append({"key": DEV_FIRST_KEY + k, "prompt": ex.prompt, **meta})
        else:
            rows.append({"key": k + 1, "prompt": ex.prompt, **meta})
    return rows


def _write_jsonl(rows, path):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def self_check(splits, examples):
    """Raise if a split breaks the data's promises (the tests check the same with the judge)."""
    seen = {}
    for split, rows in splits.items():
        for row in rows:
            prompt = row["prompt"] if "prompt" in row else row["messages"][0]["content"]
            if prompt in seen:
                raise AssertionError(f"prompt in {seen[prompt]} and {split}: {prompt[:80]!r}")
            seen[prompt] = split
    # The pool is compared case- and whitespace-blind, as the curriculum notebook de-duplicates (the
    # older splits are only exact-distinct: a few prompts differ from another by a newline).
    others = {normalise(p) for p, split in seen.items() if split != "pool"}
    pool = [normalise(row["prompt"]) for row in splits["pool"]]
    assert len(set(pool)) == len(pool) and not set(pool) & others, "pool prompt repeats a prompt"
    pool_keys = [row["key"] for row in splits["pool"]]
    held_out_keys = {row["key"] for split in ("dev", "eval") for row in splits[split]}
    assert len(set(pool_keys)) == len(pool_keys) and not set(pool_keys) & held_out_keys
    assert set(collections.Counter(row["category"] for row in splits["pool"]).values()) == {POOL_PER_CATEGORY}
    for ex in examples["sft"] + examples["pairs"] + examples["pool"]:
        assert passes_all(ex.ids, ex.kwargs, ex.chosen), ex.prompt
    for ex in examples["pairs"]:
        if ex.failure == UNASKED_QUOTE:
            assert QUOTE not in ex.ids and ex.rejected == f'"{ex.chosen}"', ex.prompt
        else:
            assert fails_some(ex.ids, ex.kwargs, ex.rejected), ex.prompt
        assert ex.score_chosen > ex.score_rejected
    for bank in (
        GENERAL_KNOWLEDGE,
        SCIENCE,
        STORIES,
        PROCEDURES,
        DISCUSSIONS,
        RESERVE_GENERAL_KNOWLEDGE,
        RESERVE_SCIENCE,
        RESERVE_STORIES,
        RESERVE_PROCEDURES,
        RESERVE_DISCUSSIONS,
    ):
        for title, _, pts in bank:
            for p in pts:
                if "," in p and not re.search(r", (and|or) ", p):
                    raise AssertionError(f"{title}: comma outside a list in {p!r}")


def _plain_words(text):
    return re.findall(r"[a-z0-9']+", text.lower())


def ifeval_overlap(texts, ifeval_path=IFEVAL_DEV, n=8):
    """Demo texts that share an exact prompt or an ``n``-word shingle with IFEval's prompts."""
    if not Path(ifeval_path).exists():
        return None
    shingles, exact = set(), set()
    for line in Path(ifeval_path).read_text(encoding="utf-8").splitlines():
        words = _plain_words(json.loads(line)["prompt"])
        exact.add(" ".join(words))
        shingles.update(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
    bad = []
    for t in texts:
        words = _plain_words(t)
        if " ".join(words) in exact or any(tuple(words[i : i + n]) in shingles for i in range(len(words) - n + 1)):
            bad.append(t)
    return bad


FILES = {
    "sft": "sft.jsonl",
    "pairs": "pairs.jsonl",
    "dev": "dev_prompts.jsonl",
    "eval": "eval_prompts.jsonl",
    "pool": "prompt_pool.jsonl",
}


def main(out_dir: Path | str = OUT_DIR) -> dict:
    """Write sft.jsonl, pairs.jsonl, eval_prompts.jsonl, prompt_pool.jsonl and DATA_CARD.md into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pools = build_pools()
    used: set = set()
    examples = {}
    for split in ("dev", "pairs", "sft", "eval"):  # dev first: it is the held-out split these seeds first made
        examples[split] = make_split(split, pools, used)
    examples["pool"] = make_pool(build_reserve_pools(pools), used)  # last, own seeds: the others stay as they were
    splits = {s: to_rows(s, examples[s]) for s in ("sft", "pairs", "dev", "eval", "pool")}
    self_check(splits, examples)
    files = FILES
    for split, name in files.items():
        _write_jsonl(splits[split], out_dir / name)
    (out_dir / "DATA_CARD.md").write_text(data_card(splits, examples, out_dir), encoding="utf-8", newline="\n")
    return {split: len(rows) for split, rows in splits.items()}


# ======================================================================================
# Data card
# ======================================================================================


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _reserve_topic_count():
    reserve = (
        RESERVE_GENERAL_KNOWLEDGE,
        RESERVE_SCIENCE,
        RESERVE_POEMS,
        RESERVE_STORIES,
        RESERVE_PROFESSIONAL,
        RESERVE_PROCEDURES,
        RESERVE_DISCUSSIONS,
        RESERVE_IMITATIONS,
        RESERVE_CLASSIFICATIONS,
    )
    return sum(len(b) for b in reserve)


def data_card(splits, examples, out_dir) -> str:
    """DATA_CARD.md for the written ``splits`` (rows) and ``examples`` (with failure kinds)."""
    ids = {s: collections.Counter(i for r in rows for i in r["instruction_id_list"]) for s, rows in splits.items()}
    all_ids = sorted(set().union(*ids.values()))
    sections = [
        _card_intro(),
        _card_files(splits),
        _card_pool(splits),
        _card_responses(examples),
        _card_counts(splits, ids, all_ids),
        _card_format_shares(splits, ids),
        _card_checks_and_limits(len(all_ids)),
    ]
    return "\n\n".join(sections) + "\n"


def _card_intro():
    return f"""# Demo data card

The offline data world of the course kit: instruction prompts from the study's ten categories,
each with one to three verifiable instructions (about half of the SFT prompts with none), as SFT
conversations, preference pairs, held-out evaluation prompts and a reserve pool of new prompts. Notebooks
read these files when
they run without the hub (`source="demo"` in `sfdpo_helpers.data`); the column formats are the
hub datasets' own, so online and offline runs share one code path.

## Provenance
Generated by `scripts/make_demo_data.py` (seed {SEED}); rerunning it rewrites these files
byte for byte. Every prompt and response is assembled from hand-written templates and small
fact banks in `scripts/demo_banks/` (a few short sentences, steps or verse lines per topic), with math
answers, prime/composite and leap-year labels computed by the script. No text was produced by
a language model, and no dataset text was copied: the instruction *schema* follows IFEval
(Zhou et al. 2023: instruction ids and kwarg names), but no IFEval prompt or phrasing is used.
The generator and the tests check that no prompt matches an IFEval prompt exactly or shares an
8-word run with one (against the IFEval dev half in `../shared`, when present).

## Licence
Apache-2.0, the same as the project."""


def _card_files(splits):
    messages = '[{"role": "user", "content": prompt}, {"role": "assistant", "content": response}]'
    return f"""## Files
| file | rows | format |
|---|---|---|
| `sft.jsonl` | {len(splits["sft"])} | like HuggingFaceTB/smoltalk |
| `pairs.jsonl` | {len(splits["pairs"])} | like HuggingFaceH4/ultrafeedback_binarized |
| `dev_prompts.jsonl` | {len(splits["dev"])} | like IFEval's input data |
| `eval_prompts.jsonl` | {len(splits["eval"])} | like IFEval's input data |
| `prompt_pool.jsonl` | {len(splits["pool"])} | like IFEval's input data (no responses) |

Columns (all files also carry `category` (str), `instruction_id_list` (list of str) and
`kwargs` (list of dict, one per instruction, IFEval's kwarg names)):
- `sft.jsonl`: `messages` = `{messages}`, `source` = `"sfdpo-demo"`.
- `pairs.jsonl`: `prompt` (str), `prompt_id` (sha256 hex of the prompt), `chosen` and `rejected`
  (user + assistant messages), `score_chosen` and `score_rejected` (floats on UltraFeedback's
  1-10 scale; chosen 8-10, rejected lower; see below).
- `dev_prompts.jsonl`: `key` (int, from {DEV_FIRST_KEY}), `prompt` (str): for tuning (the offline profile's
  learning rates and sizes were chosen on these), never for reported results.
- `eval_prompts.jsonl`: `key` (int), `prompt` (str): the held-out prompts every notebook and the results
  summary report on; nothing was tuned on them.
- `prompt_pool.jsonl`: `key` (int, from {POOL_FIRST_KEY}; no eval key), `prompt` (str).

The five files share no prompt text and no file repeats a prompt. Dev and evaluation prompts are
built from held-out topics (one in five of each category's hand-written topics and generated problems)
that never appear in `sft.jsonl` or `pairs.jsonl`; they share those topics with each other, under
other instructions and wording (as a validation and a test split of one distribution do)."""


def _card_pool(splits):
    return f"""## Reserve prompt pool
`prompt_pool.jsonl` holds new prompts for the curriculum notebook (06): it finds the categories
where the DPO model loses most and asks for fresh prompts of those categories, which offline come
from this pool ({POOL_PER_CATEGORY} per category, {len(splits["pool"])} in all). Its topics are held out
from *every* other split, evaluation included, because notebook 07 trains on them:
{_reserve_topic_count()} reserve topics written for the pool only (`reserve*` lists in `scripts/demo_banks/`) and
{len(RESERVE_PHRASES)} new phrases for multilingual, plus newly generated math problems and prime/leap-year
questions whose numbers and wording match no item behind sft, pairs or eval. No pool prompt
equals a prompt of another split even ignoring case and whitespace, and no pool prompt repeats.
Only prompts and instructions are shipped (the generator still builds a reference answer for
each, to fit the instruction kwargs to a response that can follow them). The pool is generated
after the other splits with its own seeds, so it changes none of their bytes."""


def _card_responses(examples):
    failures = collections.Counter(
        ex.failure if not ex.failure.startswith("broke:") else "one instruction broken" for ex in examples["pairs"]
    )
    broke = collections.Counter(ex.failure[6:] for ex in examples["pairs"] if ex.failure.startswith("broke:"))
    words = [len(ex.chosen.split()) for ex in examples["sft"] + examples["pairs"]]
    in_range = sum(30 <= w <= 120 for w in words) / len(words)
    return f"""## What the responses are
Chosen and SFT responses are short, correct answers transformed to satisfy every instruction
(lowercase, word and sentence limits, `***` paragraphs, keywords, `* ` bullets, JSON, quotes,
end phrases, P.S., `*highlights*`, `Section N` headers, `<<titles>>`, no commas, `[placeholders]`).
{in_range:.0%} of them have 30 to 120 words (median {statistics.median(words):.0f}).
Rejected responses fail at least one of their prompt's instructions, the way weak models do
(a "repetition loop" is the answer followed by one of its sentences, or itself, repeated until the
token budget cuts it, which is how small models fail under greedy decoding). Rambling, off-topic and
evasive replies keep the quotes of a prompt that asks for them, so the quote alone never tells chosen
from rejected. The "unasked quotation" pairs ({UNASKED_QUOTE_SHARE:.0%} of the prompts that do not ask for
quotes, where wrapping keeps every instruction followed) reject the chosen answer wrapped in quotes: it
breaks no instruction, but nobody asked for it, so DPO learns that an unasked quote is worse:

{_table(["rejected kind", "pairs"], sorted(failures.items()))}

Broken instructions (one per rejected response of that kind):

{_table(["instruction id", "pairs"], sorted(broke.items()))}

`score_chosen` is drawn from 8.0 to 10.0; `score_rejected` is 4.0 to 6.0 for a broken
instruction (higher when more of the other instructions are followed), about 3.5 for rambling and
repetition loops,
2.0 for off-topic and 1.5 for evasive replies, 6.0 for an unasked quotation (plus 0 or 0.5)."""


def _card_counts(splits, ids, all_ids):
    cats = {s: collections.Counter(r["category"] for r in rows) for s, rows in splits.items()}
    n_ins = {s: collections.Counter(len(r["instruction_id_list"]) for r in rows) for s, rows in splits.items()}
    order = ("sft", "pairs", "dev", "eval", "pool")
    by_category = _table(["category", *order], [(c, *(cats[s][c] for s in order)) for c in CATEGORIES])
    by_id = _table(["instruction id", *order], [(i, *(ids[s][i] for s in order)) for i in all_ids])
    per_prompt = {s: f"{n_ins[s][0]}/{n_ins[s][1]}/{n_ins[s][2]}/{n_ins[s][3]}" for s in order}
    formats, constraints = (", ".join(sorted(i.split(":")[1] for i in ids)) for ids in (FORMAT_IDS, CONSTRAINT_IDS))
    return f"""## Which instructions each split teaches
As smoltalk and UltraFeedback teach different things, so do the demo splits: SFT answers show the
*format* instructions only ({formats}); every preference pair's prompt has at least one *constraint*
instruction ({constraints}), which SFT never shows, and its rejected answer breaks a
constraint when it breaks an instruction (a pair's prompt may also ask for formats, which chosen and
rejected both keep, so DPO does not unlearn them); evaluation prompts and the reserve pool mix all.
So SFT and DPO each have something of their own to teach, and the held-out evaluation can see which
stage taught what.

## Counts per category
{by_category}

## Counts per instruction id
{by_id}

Instructions per prompt (0/1/2/3): sft {per_prompt["sft"]},
pairs {per_prompt["pairs"]}, dev {per_prompt["dev"]}, eval {per_prompt["eval"]},
pool {per_prompt["pool"]}."""


def _card_format_shares(splits, ids):
    n_sft = len(splits["sft"])
    plain = sum(not r["instruction_id_list"] for r in splits["sft"])
    rows = [(i.split(":")[1], ids["sft"][i], f"{ids['sft'][i] / n_sft:.1%}") for i in sorted(FORMAT_IDS)]
    return f"""## No format is a habit
A format that many SFT replies show becomes the model's habit: when every SFT prompt asked for one to
three formats and 281 of the 1000 replies were wrapped in quotes, the final model opened more than 80%
of its answers to real IFEval prompts with a quote (base model: 6%). So {plain} of the {n_sft} SFT prompts
({plain / n_sft:.0%}) are plain requests, and no instruction appears in more than {FORMAT_CAP:.0%} of a
category's SFT replies (the generator stops
offering it, and gives each prompt the least used of the formats that fit). No SFT prompt asks for quotes:
a quote is one token that fits in front of any answer, so the SFT model imitates it without reading the
instruction. With quotes in 3% of the SFT replies (8 of the 160 the demo trains on), the SFT model opened 21%
of its answers to dev prompts that do not ask for quotes with one, with 2 of 160 8%, with none 4.5% (base:
1.4%); the final model of a run on the 3% data opened 69 of its 251 answers to real IFEval prompts that do not
ask for quotes with one (base: 14; `docs/measurements.md`). Quoting on request is learnt from the pairs instead,
which set an asked-for quote against a missing one and an unasked quote against none. No SFT or chosen reply
opens with a quote, is JSON, is all lowercase or carries a P.S. unless its prompt asks for it
(`tests/test_demo_data.py` checks both with `sfdpo_helpers.formats`).

{_table(["format instruction", "sft replies", "share"], rows)}"""


def _card_checks_and_limits(n_ids):
    pool_topics, pool_phrases = _reserve_topic_count(), len(RESERVE_PHRASES)
    return f"""## Checks
Every chosen/SFT response follows all its instructions and every rejected response fails at
least one, under IFEval's rules as implemented in the generator (each rule read two ways, e.g.
word counts by `\\w+` tokens and by whitespace, so a faithful judge cannot disagree), and again
in `tests/test_demo_data.py` with `sfdpo_helpers.judges.check_instruction` (IFEval's reference
checkers with Punkt sentence splitting).

## Known limitations
- Small and repetitive by design: a few hundred hand-written sentences, each topic reused under
  several instruction sets, so a model can memorise topics; it is for demonstrating the
  pipeline on a 2-core CPU, not for measuring real instruction following.
- English prompts only; the multilingual category asks about Spanish, French and German
  phrases but answers in English, and never combines with case instructions (IFEval's case
  checks require English text).
- Only {n_ids} of IFEval's 25 instruction types; `placeholders` appears only in
  professional writing; some combinations are never generated (see `_CONFLICTS` in the script).
- Preference signal is mostly verifiable-format errors; off-topic, rambling and evasive
  rejections are the only content failures, and scores are synthetic, not ratings.
- Answers are deliberately short (a few sentences); facts are simplified for brevity.
- sft, pairs and eval are distinct as exact strings only: a few prompts differ from another only
  by a newline instead of a space before the instructions. The pool is distinct from all of
  them and from itself ignoring case and whitespace.
- The pool has only {pool_topics} hand-written reserve topics and {pool_phrases} phrases, so each
  recurs under several instruction sets and task phrasings, as in eval."""


def cross_check_with_judge(out_dir: Path) -> str:
    """Check the written files with ``sfdpo_helpers.judges`` (the tests do the same): a chosen or
    SFT response that fails an instruction, or a rejected one that follows them all, disagrees."""
    sys.path.insert(0, str(REPO))
    from sfdpo_helpers.judges import VerifiableJudge, check_instruction

    def read(name):
        return [json.loads(line) for line in (out_dir / name).read_text(encoding="utf-8").splitlines()]

    def follows_all(row, prompt, response):
        return all(check_instruction(i, k, prompt, response) for i, k in zip(row["instruction_id_list"], row["kwargs"]))

    bad = 0
    for row in read("sft.jsonl"):
        bad += not follows_all(row, row["messages"][0]["content"], row["messages"][1]["content"])
    for row in read("pairs.jsonl"):
        bad += not follows_all(row, row["prompt"], row["chosen"][1]["content"])
        bad += follows_all(row, row["prompt"], row["rejected"][1]["content"])
    VerifiableJudge(read("prompt_pool.jsonl"))  # raises on an unknown id or kwarg
    return f"judge cross-check: {bad} disagreements; prompt pool builds in the judge"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(OUT_DIR), help="output folder (default: the package's demo_data)")
    parser.add_argument("--no-judge", action="store_true", help="skip the cross-check with sfdpo_helpers.judges")
    args = parser.parse_args()
    counts = main(args.out)
    print("wrote", counts, "to", args.out)
    texts = []
    for name in FILES.values():
        for line in (Path(args.out) / name).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            texts.append(row["prompt"] if "prompt" in row else row["messages"][0]["content"])
    overlap = ifeval_overlap(texts)
    print("IFEval overlap:", "IFEval file absent" if overlap is None else f"{len(overlap)} prompts")
    if not args.no_judge:
        try:
            print(cross_check_with_judge(Path(args.out)))
        except ImportError as err:
            print(f"judge cross-check skipped: {err}")
