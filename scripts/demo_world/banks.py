"""The YAML banks in ``scripts/demo_banks/``: a strict loader (``BankError`` on a bad file), the checks of
each entry's shape, and the banks of topics, phrases and names, loaded once at import."""

from __future__ import annotations

from pathlib import Path

import yaml

# ======================================================================================
# Banks: the hand-written text (topics with their answers, phrases, names, and the wording
# tables of instructions.py) lives in scripts/demo_banks/*.yaml, one file per family, so that prose
# is edited without touching code. Each file is read once, at import, and checked against the
# shape the generator needs; a bad file raises BankError naming the file and the entry.
# Sentences are short, end with . ! or ?, carry no inner full stops, and use commas only
# inside lists ("A, B, and C") so that a no-comma version can be made.
# ======================================================================================

BANK_DIR = Path(__file__).resolve().parents[1] / "demo_banks"


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
# classification: (title, tasks, label, answer sentences, options), the first sentence stating the label;
# multilingual: (English phrase, {language: translation}, usage note).
_TOPICS = _entries({"title": _text, "tasks": _texts, "answer": _texts})
# facts (general knowledge, science): also the key terms a right answer states ("a | b": synonyms) and
# plausible wrong substitutes for the first one (the gold reward's reference; the "wrong answer" pairs)
_FACTS = _entries({"title": _text, "tasks": _texts, "answer": _texts, "key": _texts, "wrong": _texts})
_PROCEDURES = _entries({"title": _text, "tasks": _texts, "steps": _texts})
_POEMS = _entries({"title": _text, "tasks": _texts, "lines": _texts})
_LETTERS = _entries(
    {"title": _text, "tasks": _texts, "body": _texts, "greeting": _text_or_empty}, optional=("greeting",)
)
_IMITATIONS = _entries({"title": _text, "tasks": _texts, "answer": _texts, "style": _one_of("prose", "lines")})
_CLASSIFICATIONS = _entries(
    {"title": _text, "tasks": _texts, "label": _text, "answer": _texts, "options": _texts}
)  # options: the labels the task offers
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
    "general_knowledge.yaml", {"topics": _FACTS, "reserve": _FACTS}
).values()
SCIENCE, RESERVE_SCIENCE = load_banks("science_explanation.yaml", {"topics": _FACTS, "reserve": _FACTS}).values()
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
