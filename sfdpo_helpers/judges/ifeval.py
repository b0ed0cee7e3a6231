"""IFEval instruction checks, IFEval's four accuracies, and the offline :class:`VerifiableJudge`.

The checkers come from the PyPI package ``if-verifiable`` (its
``if_verifiable.ifeval`` modules are Google's reference ``instructions.py``; an
AST comparison with EleutherAI lm-eval 0.4.13's copy found only cosmetic
differences). lm-eval was not used: it pulls a large dependency tree and its
IFEval utilities try to download NLTK data when imported. Only the checker
classes are used; the evaluation loop (strict and the four loose variants) is
written here to follow IFEval's ``evaluation_lib`` exactly, and unknown ids or
wrong kwargs raise instead of being skipped or replaced by random values.

The two checks that need NLTK data (sentence and word counts) use the offline
Punkt splitter of :mod:`.sentences`. ``langdetect`` is seeded
(``DetectorFactory.seed = 0``) so ``language:response_language`` is
deterministic (IFEval itself does not seed it).
"""

from __future__ import annotations

import functools
import inspect
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ._common import check_lengths
from .sentences import split_sentences, word_tokenize

# Arguments that IFEval expects as integers (a string "3" would fail later).
_INT_ARGS = {
    "num_sentences",
    "num_placeholders",
    "num_bullets",
    "num_highlights",
    "num_sections",
    "num_paragraphs",
    "nth_paragraph",
    "frequency",
    "num_words",
    "let_frequency",
    "capital_frequency",
}


@functools.lru_cache(maxsize=1)
def _registry() -> dict[str, type]:
    """IFEval's instruction registry, with the two NLTK-data users made offline."""
    import langdetect
    from if_verifiable.ifeval import instructions as ins
    from if_verifiable.ifeval.instructions_registry import INSTRUCTION_DICT

    langdetect.DetectorFactory.seed = 0

    def compare(count, threshold, relation):
        return count < threshold if relation == "less than" else count >= threshold

    class NumberOfSentences(ins.NumberOfSentences):
        def check_following(self, value):
            n = len(split_sentences(value))
            return compare(n, self._num_sentences_threshold, self._comparison_relation)

    class CapitalWordFrequency(ins.CapitalWordFrequencyChecker):
        def check_following(self, value):
            n = sum(word.isupper() for word in word_tokenize(value))
            return compare(n, self._frequency, self._comparison_relation)

    registry = dict(INSTRUCTION_DICT)
    registry["length_constraints:number_sentences"] = NumberOfSentences
    registry["change_case:capital_word_frequency"] = CapitalWordFrequency
    return registry


def supported_instructions() -> list[str]:
    """The IFEval instruction ids this judge can check."""
    return sorted(_registry())


def _expected_args(cls) -> list[str]:
    params = inspect.signature(cls.build_description).parameters
    return [name for name in params if name != "self"]


def _build_checker(instruction_id: str, kwargs: Mapping | None, prompt: str, row: int | None = None):
    """Build one IFEval checker; wrong ids or kwargs raise ``ValueError``."""
    where = f"row {row}: " if row is not None else ""
    cls = _registry().get(instruction_id)
    if cls is None:
        raise ValueError(
            f"{where}unknown instruction id {instruction_id!r}; supported: {', '.join(supported_instructions())}"
        )
    kwargs = {k: v for k, v in dict(kwargs or {}).items() if v is not None}
    expected = _expected_args(cls)
    for key in kwargs:
        if key not in expected:
            raise ValueError(f"{where}instruction {instruction_id!r} got unexpected kwarg {key!r}; expected {expected}")
    for key in expected:
        if key not in kwargs:
            raise ValueError(
                f"{where}instruction {instruction_id!r} is missing kwarg {key!r} "
                f"(IFEval would draw a random value); expected {expected}"
            )
        value = kwargs[key]
        if key in _INT_ARGS and (not isinstance(value, int) or isinstance(value, bool)):
            raise ValueError(f"{where}instruction {instruction_id!r}: kwarg {key!r} must be an int, got {value!r}")
    checker = cls(instruction_id)
    try:
        checker.build_description(**kwargs)
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"{where}instruction {instruction_id!r}: bad kwargs {kwargs!r}: {exc!r}") from exc
    args = checker.get_instruction_args()
    if args and "prompt" in args:  # IFEval's evaluation_lib does this too
        checker.build_description(prompt=prompt)
    return checker


def _loose_variants(response: str) -> list[str]:
    """IFEval's loose variants: first/last/both lines removed, asterisks removed."""
    lines = response.split("\n")
    cut = ["\n".join(lines[1:]).strip(), "\n".join(lines[:-1]).strip(), "\n".join(lines[1:-1]).strip()]
    return [response, response.replace("*", ""), *cut, *(c.replace("*", "") for c in cut)]


def _follows(checker, response: str, loose: bool) -> bool:
    variants = _loose_variants(response) if loose else [response]
    return any(v.strip() and checker.check_following(v) for v in variants)


def check_instruction(
    instruction_id: str, kwargs: Mapping | None, prompt: str, response: str, loose: bool = False
) -> bool:
    """Whether ``response`` follows one IFEval instruction (strict unless ``loose``)."""
    return _follows(_build_checker(instruction_id, kwargs, prompt), response, loose)


class _Row:
    """One IFEval row with its checkers built (validated) once."""

    def __init__(self, row: Mapping, index: int):
        if "prompt" not in row or "instruction_id_list" not in row:
            raise ValueError(f"row {index}: needs 'prompt' and 'instruction_id_list' keys")
        self.prompt = row["prompt"]
        self.ids = list(row["instruction_id_list"])
        kwargs = list(row.get("kwargs") or [{}] * len(self.ids))
        if len(kwargs) != len(self.ids):
            raise ValueError(f"row {index}: {len(self.ids)} instruction ids but {len(kwargs)} kwargs dicts")
        self.checkers = [_build_checker(iid, kw, self.prompt, row=index) for iid, kw in zip(self.ids, kwargs)]

    def results(self, response: str, loose: bool) -> list[bool]:
        return [_follows(c, response, loose) for c in self.checkers]


def _compile_rows(rows: Iterable[Mapping]) -> list[_Row]:
    return [r if isinstance(r, _Row) else _Row(r, i) for i, r in enumerate(rows)]


def evaluate(rows: Iterable[Mapping], responses: Sequence[str]) -> dict[str, Any]:
    """IFEval's four accuracies for ``responses`` (aligned with ``rows``).

    Returns ``prompt_strict``, ``prompt_loose`` (share of prompts whose every
    instruction is followed), ``instruction_strict``, ``instruction_loose``
    (share of all instructions followed), ``n_prompts``, ``n_instructions``,
    ``per_instruction`` ({id: {"total", "strict", "loose"}} pass counts) and
    ``per_prompt`` (the strict and loose booleans of each row).
    """
    compiled = _compile_rows(rows)
    if len(compiled) != len(responses):
        raise ValueError(f"{len(compiled)} rows but {len(responses)} responses")
    per_instruction: dict[str, dict[str, int]] = {}
    per_prompt = []
    for row, response in zip(compiled, responses):
        strict, loose = row.results(response, False), row.results(response, True)
        per_prompt.append({"instruction_id_list": row.ids, "strict": strict, "loose": loose})
        for iid, passed_strict, passed_loose in zip(row.ids, strict, loose):
            counts = per_instruction.setdefault(iid, {"total": 0, "strict": 0, "loose": 0})
            counts["total"] += 1
            counts["strict"] += passed_strict
            counts["loose"] += passed_loose
    n_ins = sum(len(p["strict"]) for p in per_prompt)

    def share(values, n):
        return sum(values) / n if n else float("nan")

    return {
        "prompt_strict": share((all(p["strict"]) for p in per_prompt), len(per_prompt)),
        "prompt_loose": share((all(p["loose"]) for p in per_prompt), len(per_prompt)),
        "instruction_strict": share((sum(p["strict"]) for p in per_prompt), n_ins),
        "instruction_loose": share((sum(p["loose"]) for p in per_prompt), n_ins),
        "n_prompts": len(per_prompt),
        "n_instructions": n_ins,
        "per_instruction": dict(sorted(per_instruction.items())),
        "per_prompt": per_prompt,
    }


def instruction_rates(rows: Sequence[Mapping], responses: Sequence[Sequence[str]]) -> dict[str, dict[str, float]]:
    """Per instruction id: how many of ``rows`` carry it (``prompts``) and the share of their responses that
    follow it, strict (``followed``). ``responses`` holds one list per row: a greedy answer, or a prompt's 8
    samples (then ``followed`` says how often the model *can* follow it, what best-of-8 has to work with)."""
    compiled = _compile_rows(rows)
    if len(compiled) != len(responses):
        raise ValueError(f"{len(compiled)} rows but {len(responses)} response lists")
    flat = evaluate(
        [row for row, texts in zip(compiled, responses) for _ in texts], [t for ts in responses for t in ts]
    )
    carried = Counter(iid for row in compiled for iid in set(row.ids))
    return {
        iid: {"prompts": carried[iid], "followed": counts["strict"] / counts["total"]}
        for iid, counts in flat["per_instruction"].items()
    }


def changed_instructions(
    rows: Sequence[Mapping], before: Sequence[str], after: Sequence[str]
) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """(lost, gained): the (row index, instruction id) of every instruction that the ``before`` answer follows
    and the ``after`` answer does not, and the reverse (strict checks; answers aligned with ``rows``)."""
    old, new = evaluate(rows, before)["per_prompt"], evaluate(rows, after)["per_prompt"]
    flips = [(i, iid, was, now) for i, (b, a) in enumerate(zip(old, new))
             for iid, was, now in zip(b["instruction_id_list"], b["strict"], a["strict"]) if was != now]  # fmt: skip
    return [(i, iid) for i, iid, was, _ in flips if was], [(i, iid) for i, iid, was, _ in flips if not was]


class VerifiableJudge:
    """Offline judge: the share of a prompt's IFEval instructions a response follows.

    ``rows`` are IFEval rows (``prompt``, ``instruction_id_list``, ``kwargs``),
    or a mapping prompt -> row. All checkers are built (validated) here, so a
    bad row fails at construction with its index. ``score`` looks each prompt
    up by its exact text and returns a float in [0, 1] (strict, or IFEval's
    loose variants when ``loose=True``).
    """

    def __init__(self, rows: Iterable[Mapping] | Mapping[str, Mapping], loose: bool = False):
        if isinstance(rows, Mapping):
            rows = [{**row, "prompt": prompt} for prompt, row in rows.items()]
        self.rows = _compile_rows(rows)
        self.loose = loose
        self._by_prompt: dict[str, _Row] = {}
        for i, row in enumerate(self.rows):
            other = self._by_prompt.setdefault(row.prompt, row)
            if other is not row and other.ids != row.ids:
                raise ValueError(f"row {i}: same prompt as an earlier row with other instructions")

    def __repr__(self) -> str:
        return f"VerifiableJudge({len(self.rows)} rows, loose={self.loose})"

    def checks(self, prompt: str, response: str) -> list[tuple[str, bool]]:
        """(instruction id, followed) for each of ``prompt``'s instructions (strict unless ``loose``)."""
        row = self._by_prompt.get(prompt)
        if row is None:
            raise ValueError(f"prompt is not among the judge's rows: {prompt[:80]!r}")
        return list(zip(row.ids, row.results(response, self.loose)))

    def score(self, prompts: Sequence[str], responses: Sequence[str]) -> list[float]:
        """Fraction of each prompt's instructions followed, in [0, 1]."""
        check_lengths(prompts, responses)
        scores = []
        for i, (prompt, response) in enumerate(zip(prompts, responses)):
            row = self._by_prompt.get(prompt)
            if row is None:
                raise ValueError(f"prompt {i} is not among the judge's rows: {prompt[:80]!r}")
            results = row.results(response, self.loose)
            scores.append(sum(results) / len(results) if results else 0.0)
        return scores

    def evaluate(self, responses: Sequence[str]) -> dict[str, Any]:
        """IFEval's four numbers for responses aligned with the judge's rows."""
        return evaluate(self.rows, responses)
