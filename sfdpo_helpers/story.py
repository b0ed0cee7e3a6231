"""The story parameters of each notebook and the range each may take.

A notebook's parameters cell keeps the few values its story is about (β in 04, the mixtures in 05, ...). Each
has a documented range here; :func:`check` runs in ``settings.setup`` so a value outside it is one clear error
naming the parameter and its range, and ``tests/test_notebooks.py`` runs every notebook with all its story
parameters moved at once to :data:`MOVED` (other values inside the ranges), so a value in range never stops a
notebook halfway.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .settings import ParameterError


@dataclass(frozen=True)
class Range:
    """What one parameter may be: a ``rule`` (a predicate) and its ``text`` for the error message."""

    text: str
    rule: Callable[[object], bool]


def between(low: float, high: float, kind: type = float) -> Range:
    def rule(v):
        return (
            isinstance(v, (int, float))
            and not isinstance(v, bool)
            and (kind is float or isinstance(v, int))
            and (low <= v <= high)
        )

    return Range(f"{'an integer' if kind is int else 'a number'} from {low} to {high}", rule)


def one_of(*options) -> Range:
    return Range(f"one of {', '.join(map(repr, options))}", lambda v: v in options)


def _schedule(v) -> bool:
    pairs = [tuple(p) for p in v] if isinstance(v, (list, tuple)) else []
    ok = all(len(p) == 2 and 0 < p[0] <= 2 and isinstance(p[1], int) and p[1] >= 1 for p in pairs)
    return ok and 4 <= sum(p[1] for p in pairs) <= 16  # a best answer and a bottom 3 need at least 4


def _best_of(v) -> bool:
    return (
        isinstance(v, (list, tuple))
        and len(v) == 2
        and between(0, 16, int).rule(v[0])
        and between(1, 96, int).rule(v[1])
    )


_LABEL_MARKS = set("rRwW ,")


def labels(text: str) -> list[int]:
    """Hand labels written as letters, ``r`` (right, 1) or ``w`` (wrong, 0); spaces and commas are ignored.

    >>> labels("rw w,R")
    [1, 0, 0, 1]
    """
    bad = [f"{c!r} at position {i + 1}" for i, c in enumerate(text) if c not in _LABEL_MARKS]
    if bad:
        raise ParameterError(f"my_labels: only r (right) and w (wrong) are labels; found {', '.join(bad[:3])}")
    return [1 if c in "rR" else 0 for c in text if c in "rRwW"]


RANGES: dict[str, dict[str, Range]] = {
    "03": {
        "n_self_judge": between(0, 500, int),
        "wrong_answer": Range("a text of at most 2000 characters", lambda v: isinstance(v, str) and len(v) <= 2000),
        "my_labels": Range(
            "r/w letters, at most 40",
            lambda v: isinstance(v, str) and set(v) <= _LABEL_MARKS and sum(c in "rRwW" for c in v) <= 40,
        ),
    },
    "04": {
        "beta": between(0.01, 1.0),
        "dpop_weight": between(0.0, 10.0),
        "dpop_in_sigmoid": one_of(False, True),
        "dpop_share": between(0.05, 1.0),
        "kl_weight": between(0.0, 10.0),
        "reference": one_of("precomputed", "model"),
    },
    "05": {"sample_temperature": between(0.0, 2.0), "beta": between(0.01, 1.0)},
    "06": {
        "n_weakest": between(1, 10, int),
        "min_prompts_per_category": between(1, 100, int),
        "n_new_per_category": between(1, 35, int),
    },
    "07": {
        "rounds": between(1, 5, int),
        "beta": between(0.01, 1.0),
        "best_of": Range("[n from 0 to 16, prompts from 1 to 96]", _best_of),
        "cross_judge": one_of(False, True),
        "khaki_prompts": between(0, 96, int),
        "khaki_tau": between(0.001, 1.0),
        "khaki_eta": between(0.5, 0.999),
        "round_dpop_weight": between(0.0, 10.0),
        "schedule": Range("(temperature above 0 up to 2, answers ≥ 1) pairs, 4 to 16 answers in all", _schedule),
        "rejected_rule": one_of("random_bottom3", "worst"),
    },
}

# Other values inside the ranges, all at once: the test that runs every notebook off its defaults.
MOVED: dict[str, dict] = {
    "03": {"n_self_judge": 3, "wrong_answer": "The answer is 7.", "my_labels": "r w r"},
    "04": {
        "beta": 0.3,
        "dpop_weight": 0.5,
        "dpop_in_sigmoid": True,
        "dpop_share": 0.25,
        "kl_weight": 0.5,
        "reference": "model",
    },  # fmt: skip
    "05": {"sample_temperature": 1.0, "beta": 0.3},
    "06": {"n_weakest": 1, "min_prompts_per_category": 2, "n_new_per_category": 2},
    "07": {
        "rounds": 2,
        "beta": 0.2,
        "best_of": [3, 2],
        "cross_judge": False,
        "khaki_prompts": 3,
        "khaki_tau": 0.2,
        "khaki_eta": 0.7,
        "round_dpop_weight": 0.5,
        "schedule": [[0.5, 2], [1.0, 3]],  # lists: papermill passes a tuple as its text
        "rejected_rule": "worst",
    },  # fmt: skip
}


def check(notebook: str, namespace: Mapping) -> None:
    """One :class:`ParameterError` naming every story parameter of ``notebook`` outside its range."""
    bad = [f"{name}={namespace[name]!r} (must be {r.text})" for name, r in RANGES.get(notebook, {}).items()
           if name in namespace and not r.rule(namespace[name])]  # fmt: skip
    if bad:
        raise ParameterError(f"notebook {notebook}: {'; '.join(bad)}")
