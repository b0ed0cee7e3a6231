"""The items examples are built from: the ``Item`` record, the math and number problems generated here, the
multilingual and topic items of the banks, and the training, held-out (``build_pools``) and reserve
(``build_reserve_pools``) pools."""

from __future__ import annotations

import dataclasses
import math
import random

from .banks import (
    CLASSIFICATIONS,
    DISCUSSIONS,
    GENERAL_KNOWLEDGE,
    IMITATIONS,
    LANGUAGE_NOTES,
    LANGUAGE_TIPS,
    NAMES,
    PHRASES,
    POEMS,
    PROCEDURES,
    PROFESSIONAL,
    RESERVE_CLASSIFICATIONS,
    RESERVE_DISCUSSIONS,
    RESERVE_GENERAL_KNOWLEDGE,
    RESERVE_IMITATIONS,
    RESERVE_PHRASES,
    RESERVE_POEMS,
    RESERVE_PROCEDURES,
    RESERVE_PROFESSIONAL,
    RESERVE_SCIENCE,
    RESERVE_STORIES,
    SCIENCE,
    STORIES,
    WEEKDAYS,
)
from .config import CATEGORIES, SEED
from .references import (
    LEAP_ALIASES,
    PRIME_ALIASES,
    choice_reference,
    facts_reference,
    label_reference,
    number_reference,
    phrase_reference,
    topic_reference,
)


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
    reference: dict = dataclasses.field(default=None, compare=False, hash=False)  # what a right answer states


# ======================================================================================
# Generated items: math word problems and number facts (answers computed here). Each
# _math_* template draws its numbers from ``rng`` and returns one worked problem.
# ======================================================================================


def _math_item(kind, title, tasks, points, answer, reference=None):
    """A math Item; ``answer`` is the value, or ((field, value), ...) for several JSON fields. Its reference is
    the number(s), unless ``reference`` says otherwise (a name, a day)."""
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
        reference=reference or number_reference(fields),
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
        choice_reference(day, [d for d in WEEKDAYS if d != WEEKDAYS[today]], read="last"),
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
        choice_reference(ans, [a, b, c], cue=q),
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


def _label_item(uid, title, tasks, label, points, reference) -> Item:
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
        reference=reference,
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
    reference = choice_reference(label, ["prime", "composite"], subject=str(n), aliases=PRIME_ALIASES)
    return _label_item(f"prime/{n}", "Prime or Composite", tasks, label, pts, reference)


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
    reference = choice_reference(label, ["leap year", "common year"], subject=str(y), aliases=LEAP_ALIASES)
    return _label_item(f"leap/{y}", "Leap Year Check", tasks, label, pts, reference)


def number_items(rng: random.Random) -> list[Item]:
    """Computed classification items: prime or composite, leap year or not."""
    primes = [_prime_item(n) for n in rng.sample(range(11, 200), 40)]
    return primes + [_leap_item(y) for y in rng.sample(range(1800, 2101), 24)]


def multilingual_items(phrases=None, start: int = 0) -> list[tuple[int, Item]]:
    out = []
    known = PHRASES + RESERVE_PHRASES  # the other phrases of a language are the plausible wrong answers
    english = [en for en, _, _ in known]
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
                        reference=phrase_reference(t, [tr[lang] for _, tr, _ in known if lang in tr]),
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
                        reference=phrase_reference(en, english),
                    ),
                )
            )
    return out


def _topic_items(cat, bank, style, complete=False) -> list[Item]:
    """Items of a bank of (title, tasks, points) topics, or (title, tasks, points, key, wrong) facts."""
    return [
        Item(cat, f"{cat}/{t}", t, tuple(tasks), tuple(pts), style, complete=complete,
             reference=facts_reference(*facts) if facts else topic_reference(pts, tasks, t))
        for t, tasks, pts, *facts in bank
    ]  # fmt: skip


def _imitation_items(bank) -> list[Item]:
    return [
        Item(
            "imitation_writing",
            f"imitation/{t}",
            t,
            tuple(tasks),
            tuple(pts),
            style,
            complete=True,
            reference=topic_reference(pts, tasks, t),
        )
        for t, tasks, pts, style in bank  # fmt: skip
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
            reference=topic_reference(pts, tasks, t),
        )
        for t, tasks, pts, greet in bank
    ]


def _classification_items(bank) -> list[Item]:
    return [
        _label_item(f"cls/{t}", t, tasks, label, pts, label_reference(label, options))
        for t, tasks, label, pts, options in bank
    ]


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
