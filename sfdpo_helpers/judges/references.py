"""What a demo prompt's ``reference`` holds (``sfdpo_helpers/demo_data/DATA_CARD.md``): the check that a row's
reference is usable by the gold reward (:mod:`.gold`), and the reference in words, as a reader sees it."""

from __future__ import annotations

from collections.abc import Mapping

TASKS = ("number", "choice", "facts", "phrase", "topic")


def check_reference(reference, index: int | None = None) -> Mapping:
    """``reference`` if it has the fields its task needs, else a ValueError naming the row and the field."""
    where = f"row {index}: " if index is not None else ""
    if not isinstance(reference, Mapping) or reference.get("task") not in TASKS:
        raise ValueError(f"{where}field 'reference' must be a mapping with 'task' one of {TASKS}, got {reference!r}")
    needs = {"number": ["answer"], "choice": ["answer", "options"], "facts": ["terms"], "phrase": ["answer"],
             "topic": ["words"]}[reference["task"]]  # fmt: skip
    missing = [k for k in needs if not reference.get(k)]
    if missing:
        raise ValueError(f"{where}field 'reference' ({reference['task']}) lacks {missing}")
    if reference["task"] == "choice" and reference["answer"] not in reference["options"]:
        raise ValueError(f"{where}field 'reference': answer {reference['answer']!r} is not among its options")
    return reference


def reference_in_words(reference: Mapping) -> str:
    """The reference as a reader sees it (an answer key in words, not the rule): what a hand label is judged by.

    >>> reference_in_words({"task": "choice", "answer": "Zoe", "options": ["Ben", "Cara", "Zoe"]})
    'the right answer: Zoe (the options: Ben, Cara, Zoe)'
    """
    if reference["task"] == "number":
        return "the right result: " + ", ".join(f"{k} = {v}" for k, v in reference["answer"].items())
    if reference["task"] == "choice":
        return f"the right answer: {reference['answer']} (the options: {', '.join(reference['options'])})"
    if reference["task"] == "facts":
        return "a right answer states facts such as: " + "; ".join(" / ".join(t) for t in reference["terms"])
    if reference["task"] == "phrase":
        return f"the right translation or meaning: {reference['answer']}"
    words = ", ".join(reference["words"][:8])
    return f"right = on the task's topic and doing what it asks (words of a reference answer: {words})"
