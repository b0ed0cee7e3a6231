"""The demo world's gold reward: is the answer right, are the instructions followed, is the form clean?

The DPO paper measures preference learning inside a world whose reward is known (a sentiment classifier
labels the pairs and scores the policies); this is the offline demo's known reward. Every demo prompt
carries a ``reference`` (``sfdpo_helpers/demo_data/DATA_CARD.md``): the number, the name or label, the key
facts, the target phrase or the topic's words a right answer states. The score is a weighted sum of three
components, each in [0, 1]:

    score = 0.6 · task + 0.25 · instructions + 0.15 · form

* ``task`` (:func:`task_score`): 1 when the answer states the right answer, else 0. It reads the answer
  **where it is stated** (the concluding sentence of a calculation, the clause that names the oldest, the
  sentences about the year asked), never credits a sentence copied from the prompt, and scores 0 when the
  answer hedges (every candidate listed, both labels, a wrong fact beside a right one).
* ``instructions``: the share of the prompt's IFEval instructions followed (the verifiable judge's score;
  1 when the prompt states none).
* ``form`` (:func:`form_penalties`): 1 minus penalties for a repetition loop (1), an evasion or refusal (1),
  each format nobody asked for (an opening quote, a JSON answer, all lowercase: 0.5 each) and, only where
  the judge is told the generation budget, an answer cut at that budget in mid-sentence (0.5; see
  :func:`cut_at_budget`), floored at 0.

Task is a **gate**: 0.6 > 0.25 + 0.15, so on a checkable task any right answer outscores any wrong one,
whatever their formats. The rules and weights are frozen under :data:`GOLD_VERSION`, which names every
cached score; they are a measuring stick, never tuned toward a result.

What it cannot see: whether an explanation is *good* (only whether it states the key facts), style, tone,
truth beyond the reference, numbers written in words, and anything a reference does not list.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ..formats import json_value
from ._common import check_lengths
from .references import TASKS, check_reference, reference_in_words  # noqa: F401  (the gold reward's API)

GOLD_VERSION = "gold-3"  # gold-2's task rules + the cut-at-the-budget penalty; history: docs/measurements.md
WEIGHTS = {"task": 0.6, "instructions": 0.25, "form": 0.15}
PENALTIES = {"repetition loop": 1.0, "evasion": 1.0, "unasked quoted": 0.5, "unasked json": 0.5,
             "unasked lowercase": 0.5, "cut at the budget": 0.5}  # fmt: skip

# Cues that a sentence does not assert what it names ("Many people guess Sydney", "not a leap year").
NEGATION_CUES = re.compile(
    r"\b(not|no|never|myth|mistake|mistaken|wrongly|guess|guesses|despite|although|instead|rather than|"
    r"isn't|aren't|wasn't|doesn't|don't|misconception)\b",
    re.IGNORECASE,
)
EVASIONS = re.compile(
    r"(i'?m sorry|i am sorry|i can'?t help|i cannot help|i am not able to|i'?m not able to|as an ai\b|"
    r"depends on many factors|no single correct|decide for yourself|consult a specialist|many sides to it|"
    r"lots of things to consider|do some research)",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W_]+(?:[.:,'][^\W_]+)*")  # words, with 4,500 / 14:35 / 2.5 / don't kept whole
_CLAUSE_SPLIT = re.compile(r"[,;:]|\b(?:because|since|so|but|while|whereas|as)\b", re.IGNORECASE)
_GLUE = {"and", "or", "the", "a", "an", "of"}
RESULT_CUES = r"(?:is|are|was|were|equals?|=|gets?|makes?|be|becomes?)"
# a clause about the subject of a label ("91 is ...") may name it or refer back to it ("It is composite.")
_REFERS_BACK = re.compile(r"^\W*(?:it|this|that|the number|the year|this number|this year)\b", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]”’]*\s+")
# how a finished answer may end: a sentence's end, a closing quote or bracket, a code fence, a markdown mark
_FINISHED = re.compile(r"[.!?\"'”’)\]}`*>]\s*$")


# --- text helpers ---------------------------------------------------------------------------------------


def fold(text: str) -> str:
    """Lowercase without accents and markdown marks: "Buenos días" and "*buenos dias*" compare equal."""
    text = unicodedata.normalize("NFKD", text.replace("*", "").replace("#", ""))
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


def words(text: str) -> list[str]:
    """The folded words of ``text`` (numbers with inner separators kept whole)."""
    return _WORD.findall(fold(text))


def _contains(text: str, phrase: str) -> bool:
    """Whether the folded ``phrase`` occurs in ``text`` as whole words (a trailing plural ``s`` allowed)."""
    return re.search(rf"(?<![^\W_]){re.escape(fold(phrase))}s?(?![^\W_])", fold(text)) is not None


def answer_text(answer: str) -> str:
    """The answer as prose: a JSON answer's string values joined as sentences; otherwise the text itself."""
    value = json_value(answer)
    if value is None:
        return answer
    parts = []

    def walk(v, key=""):
        if isinstance(v, Mapping):
            for k, x in v.items():
                walk(x, str(k))
        elif isinstance(v, list):
            for x in v:
                walk(x, key)
        elif v is not None:
            text = str(v).strip()
            parts.append(text if re.search(r"[.!?]$", text) else f"The {key} is {text}." if key else f"{text}.")

    walk(value)
    return " ".join(parts)


def split_sentences(text: str) -> list[str]:
    """Sentences: cut after . ! or ? (and a closing quote or bracket) before white space, and at line breaks;
    case does not matter ("... b is 14. hugo is 14 years old." is two sentences)."""
    return [s for line in text.splitlines() for s in _SENTENCE_END.split(line) if s.strip()]


def statements(prompt: str, answer: str) -> list[str]:
    """The answer's sentences (lines split too), without the ones copied from the prompt."""
    prompt_words = f" {' '.join(words(prompt))} "
    out = []
    for sentence in split_sentences(answer_text(answer)):
        ws = words(sentence)
        if ws and f" {' '.join(ws)} " not in prompt_words:
            out.append(sentence)
    return out


def clauses(sentence: str) -> list[str]:
    """A sentence cut at commas, semicolons, colons and because / since / so / but / while / whereas / as."""
    return [c for c in _CLAUSE_SPLIT.split(sentence) if c and c.strip()]


# --- the task component ---------------------------------------------------------------------------------


def _number(token: str) -> str | None:
    """A number token in canonical form ("4,500" -> "4500", "82.0" -> "82", "9:05" -> "9:05"); else None."""
    if re.fullmatch(r"\d{1,2}:\d{2}", token):
        return token
    token = token.replace(",", "")
    if not re.fullmatch(r"\d+(\.\d+)?", token):
        return None
    return token.split(".")[0] if re.fullmatch(r"\d+\.0+", token) else token


def numbers(text: str) -> list[str]:
    """The numbers of ``text`` in canonical form, in order; "2:35 pm" becomes "14:35"."""
    out, tokens = [], words(text)
    for i, token in enumerate(tokens):
        value = _number(token)
        if value and ":" in value and i + 1 < len(tokens) and tokens[i + 1] in ("pm", "p.m"):
            h, m = value.split(":")
            value = f"{int(h) % 12 + 12}:{m}"
        if value:
            out.append(value)
    return out


def number_task(prompt: str, answer: str, ref: Mapping) -> tuple[int, str]:
    """Every field of ``ref["answer"]`` (name -> value) stated, and nothing else stated as the answer.

    A JSON answer with the field's key is read there. Otherwise ``answer`` is read in its *concluding*
    sentence: the last one holding a candidate number (a number that is not in the prompt, unless it is the
    right value); it is right when its candidates are exactly the right value. A named field (``area``,
    ``perimeter``) is read as the first candidate after the field's name in the last sentence naming it.
    "84.5" where 82 is right, "4500 or 4000" and a number copied from the prompt all score 0.
    """
    given = set(numbers(prompt))
    parsed = json_value(answer)

    def stated_as_result(text, value):
        """A value that is also a number of the prompt counts only after is / equals / gets ...: "the average is
        72", not "Ava scored 72, 61, 84 and 71" restating the data."""
        return re.search(rf"\b{RESULT_CUES}\W+(?:\w+\W+){{0,2}}{re.escape(value)}(?![\w:])", fold(text)) is not None

    found, sentences = [], statements(prompt, answer)
    for name, value in ref["answer"].items():
        value = _number(str(value)) or str(value)

        def candidates(text, value=value, field=False):
            copied_ok = field or value not in given or stated_as_result(text, value)  # a JSON field names its value
            return [n for n in numbers(text) if (n == value and copied_ok) or n not in given]

        if isinstance(parsed, Mapping) and name in parsed:
            stated = candidates(str(parsed[name]), field=True)
        elif name == "answer":
            stated = next((c for c in map(candidates, reversed(sentences)) if c), [])
        else:
            naming = [s for s in sentences if _contains(s, name)]
            tail = fold(naming[-1]).split(fold(name), 1)[-1] if naming else ""
            stated = candidates(tail)[:1]
        if set(stated) != {value}:
            copied = sorted({n for sent in sentences for n in numbers(sent)} & given) if not stated else []
            said = ", ".join(stated) or (f"only numbers of the prompt ({', '.join(copied)})" if copied else "no number")
            return 0, f"{name}: states {said} (right: {value})"
        found.append(f"{name} {value}")
    return 1, "states " + ", ".join(found)


def asserted_options(text: str, ref: Mapping) -> list[str]:
    """The options a text names, each alias consumed longest first ("not a leap year" names "common year",
    never "leap year" too)."""
    aliases = ref.get("aliases") or {}
    spellings = [(a, o) for o in ref["options"] for a in [o, *aliases.get(o, [])]]
    folded, named = fold(text), []
    for alias, option in sorted(spellings, key=lambda s: -len(s[0])):
        pattern = rf"(?<![^\W_]){re.escape(fold(alias))}s?(?![^\W_])"
        if re.search(pattern, folded):
            folded = re.sub(pattern, " ", folded)
            named.append(option)
    return sorted(set(named), key=ref["options"].index)


def choice_task(prompt: str, answer: str, ref: Mapping) -> tuple[int, str]:
    """The right option of ``ref["options"]`` named, and no other, where the answer is stated.

    The statements are the answer's clauses, about ``ref["subject"]`` when given (sentences that name the year
    or number, or refer back to it: "It is composite.").
    With ``ref["cue"]`` (e.g. "slowest") the answer is read in the last clause holding the cue and an
    option; with ``read: last`` in the last clause naming an option; otherwise (labels) every clause
    counts, so "prime ... composite" in one answer names two options and scores 0.
    """
    subject, cue = ref.get("subject"), ref.get("cue")
    about = [s for s in statements(prompt, answer) if not subject or _contains(s, subject) or _REFERS_BACK.search(s)]
    parts = [c for s in about for c in clauses(s) if asserted_options(c, ref)]
    if cue:
        parts = [c for c in parts if _contains(c, cue)][-1:] or parts[-1:]
    elif ref.get("read") == "last":
        parts = parts[-1:]
    named = sorted({o for c in parts for o in asserted_options(c, ref)}, key=ref["options"].index)
    right = named == [ref["answer"]]
    return int(right), f"names {', '.join(named) or 'no option'} (right: {ref['answer']})"


def _statement_like(sentence: str, vocabulary: Iterable[str]) -> bool:
    """At least 2 words that are neither listed terms nor list glue: a statement, not a bare list."""
    listed = {w for term in vocabulary for w in words(term)}
    return len([w for w in words(sentence) if w not in listed and w not in _GLUE]) >= 2


def facts_task(prompt: str, answer: str, ref: Mapping) -> tuple[int, str]:
    """At least ``ref["need"]`` of the key terms stated (each term a list of synonyms), and no wrong term
    asserted. Only statements count (a bare list of terms does not); a wrong term counts as asserted unless
    its sentence carries a negation cue (:data:`NEGATION_CUES`: "not", "myth", "many people guess" ...)."""
    vocabulary = [t for term in ref["terms"] for t in term] + list(ref.get("wrong", []))
    every = statements(prompt, answer)
    sentences = [s for s in every if _statement_like(s, vocabulary)]
    stated = [term[0] for term in ref["terms"] if any(_contains(s, t) for s in sentences for t in term)]
    wrong = [w for w in ref.get("wrong", []) for s in every if _contains(s, w) and not NEGATION_CUES.search(s)]
    need = ref.get("need", min(2, len(ref["terms"])))
    note = f"states {len(stated)} of {len(ref['terms'])} key terms ({', '.join(stated) or 'none'}; need {need})"
    if wrong:
        return 0, f"asserts the wrong {', '.join(sorted(set(wrong)))}; " + note
    return int(len(stated) >= need), note


def phrase_task(prompt: str, answer: str, ref: Mapping) -> tuple[int, str]:
    """The target phrase (accents and case ignored) in a statement that names no other known phrase."""
    sentences = [s for s in statements(prompt, answer) if _contains(s, ref["answer"])]
    clean = [s for s in sentences if not any(_contains(s, o) for o in ref.get("options", []) if o != ref["answer"])]
    if clean:
        return 1, f"states {ref['answer']!r}"
    return 0, f"{'names other phrases beside' if sentences else 'does not state'} {ref['answer']!r}"


def _stem(word: str) -> str:
    for suffix in ("ing", "es", "ed", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def topic_task(prompt: str, answer: str, ref: Mapping) -> tuple[int, str]:
    """At least ``ref["need"]`` of the topic's words in statements of the answer (sentences of 3 words or more,
    none copied from the prompt): the reference answer's content words that the prompt does not contain, and the
    topic's own words (``ref["topic"]``, from its title: an on-topic answer names its topic, "the moon", even where
    the prompt does too). Plural and -ing/-ed forms match."""
    prompt_stems = {_stem(w) for w in words(prompt)}
    topic = {_stem(w) for w in ref["words"]} - prompt_stems | {_stem(w) for w in ref.get("topic", [])}
    sentences = [s for s in statements(prompt, answer) if len(words(s)) >= 3]
    used = sorted({_stem(w) for s in sentences for w in words(s)} & topic)
    need = ref.get("need", 2)
    return int(
        len(used) >= need
    ), f"uses {len(used)} of the topic's words ({', '.join(used[:6]) or 'none'}; need {need})"


_TASKS = {"number": number_task, "choice": choice_task, "facts": facts_task, "phrase": phrase_task,
          "topic": topic_task}  # fmt: skip


def task_score(prompt: str, answer: str, reference: Mapping) -> tuple[int, str]:
    """(1 or 0, what was read) for one answer against its reference (the rule of ``reference["task"]``)."""
    return _TASKS[reference["task"]](prompt, answer, reference)


# --- the form component ---------------------------------------------------------------------------------


def repetition_loop(answer: str, n: int = 5, times: int = 3) -> bool:
    """Whether some run of ``n`` words occurs ``times`` or more: an answer stuck in a loop."""
    ws = words(answer)
    counts: dict[tuple, int] = {}
    for i in range(len(ws) - n + 1):
        key = tuple(ws[i : i + n])
        counts[key] = counts.get(key, 0) + 1
        if counts[key] >= times:
            return True
    return False


def cut_at_budget(answer: str, n_tokens: int, max_new_tokens: int) -> bool:
    """Whether an answer was cut by its generation budget: it ran into the cap (``n_tokens`` ≥
    ``max_new_tokens − 2``, as :func:`sfdpo_helpers.answers.reached_cap` counts) **and** it stops mid-sentence
    (its last character is not a sentence's end, a closing quote or bracket, a code fence or a markdown mark).

    >>> cut_at_budget("The heart has four chambers and the blood goes to the", 96, 96)
    True
    >>> cut_at_budget("The heart has four chambers.", 96, 96)    # it reached the cap, but finished
    False
    >>> cut_at_budget("The heart has four chambers and the", 40, 96)   # it stopped by itself
    False
    """
    from ..answers import reached_cap  # imported here: the judges package loads no torch on import

    return reached_cap(n_tokens, max_new_tokens) and not _FINISHED.search(answer.strip() or ".")


def form_penalties(row: Mapping, answer: str, cut: bool = False) -> dict[str, float]:
    """The penalties of :data:`PENALTIES` that ``answer`` earns: a repetition loop, an evasion or refusal,
    each format of :mod:`sfdpo_helpers.formats` shown although ``row`` does not ask for it, and ``cut``
    (the caller's :func:`cut_at_budget`, known only where the generation budget is)."""
    from ..formats import unrequested_formats

    found = {"repetition loop": repetition_loop(answer), "evasion": bool(EVASIONS.search(answer)),
             "cut at the budget": cut}  # fmt: skip
    found.update({f"unasked {f}": True for f in unrequested_formats(row, answer)})
    return {name: PENALTIES[name] for name, hit in found.items() if hit}


# --- the judge ------------------------------------------------------------------------------------------


@dataclass
class GoldBreakdown:
    """Why an answer scored what it did: the components (each in [0, 1]) and what each rule read."""

    task: int
    instructions: float
    form: float
    task_note: str
    instruction_checks: list[tuple[str, bool]] = field(default_factory=list)
    penalties: dict[str, float] = field(default_factory=dict)

    @property
    def score(self) -> float:
        return WEIGHTS["task"] * self.task + WEIGHTS["instructions"] * self.instructions + WEIGHTS["form"] * self.form

    def as_dict(self) -> dict:
        """The explorer's shape: score, components, and checks as (label, passed) pairs."""
        checks = [(f"task: {self.task_note}", bool(self.task))] + list(self.instruction_checks)
        checks += [(f"form: {name} (−{amount:g})", False) for name, amount in self.penalties.items()]
        components = {"task": self.task, "instructions": self.instructions, "form": self.form}
        return {"score": self.score, "components": components, "checks": checks, "version": GOLD_VERSION}


class GoldJudge:
    """The offline gold reward (:data:`GOLD_VERSION`): ``score`` returns the weighted sum of task,
    instructions and form for each (prompt, answer); ``breakdown`` says why. ``rows`` are demo rows with
    ``prompt``, ``instruction_id_list``, ``kwargs`` and ``reference``; a row without a usable reference is an
    error naming it, here.

    ``max_new_tokens`` and ``count_tokens`` (a function text → its number of tokens, by the policy's
    tokenizer) tell the judge the budget the answers were generated under; only then does it penalise an
    answer cut at that budget. Leave both out for answers that were written, not generated (the demo pairs)."""

    version = GOLD_VERSION

    def __init__(self, rows: Iterable[Mapping], max_new_tokens: int | None = None, count_tokens=None):
        from .ifeval import VerifiableJudge

        if (max_new_tokens is None) != (count_tokens is None):
            raise ValueError("the budget needs both max_new_tokens and count_tokens (a token counter), or neither")
        self.max_new_tokens, self.count_tokens = max_new_tokens, count_tokens
        rows = list(rows)
        for i, row in enumerate(rows):
            check_reference(row.get("reference"), i)
        self.rows = {row["prompt"]: row for row in rows}
        self.instructions = VerifiableJudge(rows)

    def __repr__(self) -> str:
        budget = f", budget {self.max_new_tokens} tokens" if self.max_new_tokens else ", no budget"
        return f"GoldJudge({len(self.rows)} rows, {GOLD_VERSION}{budget})"

    def _row(self, prompt: str, i: int = 0) -> Mapping:
        row = self.rows.get(prompt)
        if row is None:
            raise ValueError(f"prompt {i} is not among the judge's rows: {prompt[:80]!r}")
        return row

    def breakdown(self, prompt: str, answer: str) -> GoldBreakdown:
        """The three components of ``answer``'s gold reward and what each rule read."""
        row = self._row(prompt)
        task, note = task_score(prompt, answer, row["reference"])
        checks = self.instructions.checks(prompt, answer)
        followed = sum(ok for _, ok in checks) / len(checks) if checks else 1.0
        cut = bool(self.max_new_tokens) and cut_at_budget(answer, self.count_tokens(answer), self.max_new_tokens)
        penalties = form_penalties(row, answer, cut)
        return GoldBreakdown(task, followed, max(0.0, 1.0 - sum(penalties.values())), note, checks, penalties)

    def score(self, prompts: Sequence[str], responses: Sequence[str]) -> list[float]:
        check_lengths(prompts, responses)
        for i, p in enumerate(prompts):
            self._row(p, i)
        return [self.breakdown(p, r).score for p, r in zip(prompts, responses)]

    def task_scores(self, prompts: Sequence[str], responses: Sequence[str]) -> list[int]:
        """The task component alone (1 right, 0 wrong) per answer."""
        check_lengths(prompts, responses)
        return [task_score(p, r, self._row(p, i)["reference"])[0] for i, (p, r) in enumerate(zip(prompts, responses))]
