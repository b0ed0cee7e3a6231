"""Judges that score (prompt, response) pairs for SFT/DPO evaluation, and :func:`make_judge`.

Every judge has one method, ``score(prompts, responses) -> list[float]`` (the
:class:`Judge` protocol), so a notebook can swap the offline judge for a reward
model or a hosted one by changing one setting. Scores compare responses to the
same prompt only; across prompts they are not calibrated.

* ``gold`` -- :class:`GoldJudge` (:mod:`.gold`): the demo world's known reward, offline: is the answer
  right (checked against the prompt's reference), are the instructions followed, is the form clean;
  only for demo prompts that carry a ``reference``.
* ``verifiable`` -- :class:`VerifiableJudge` (:mod:`.ifeval`): IFEval
  instruction checks, offline; only for prompts that carry instructions.
* ``reward`` -- :class:`RewardModelJudge` (:mod:`.reward_model`): a Hugging
  Face reward model, loaded only where it fits.
* ``api`` -- :class:`ApiJudge` (:mod:`.api`): an OpenAI-compatible reward
  endpoint such as NVIDIA's hosted Nemotron reward, with a JSON-lines cache.
* ``self`` -- :class:`SelfJudge` (:mod:`.self_judge`): the policy as its own
  LLM-as-judge; :func:`agreement_rate` compares two judges.

Sentence splitting for the IFEval checks lives in :mod:`.sentences`. torch,
transformers, nltk and openai are imported only inside the functions that need
them, so importing this package is fast.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

from .api import NVIDIA_BASE_URL, NVIDIA_REWARD_MODEL, ApiJudge, MissingApiKeyError, parse_reward
from .gold import GOLD_VERSION, GoldBreakdown, GoldJudge
from .ifeval import (
    VerifiableJudge,
    changed_instructions,
    check_instruction,
    evaluate,
    instruction_rates,
    supported_instructions,
)
from .reward_model import SMALL_REWARD_MODEL, ModelDoesNotFitError, RewardModelJudge, choose_placement
from .self_judge import SelfJudge, agreement_rate, cohen_kappa
from .sentences import sentence_splitter_source, split_sentences

__all__ = [
    "JUDGES",
    "Judge",
    "MissingInstructionsError",
    "make_judge",
    "GoldJudge",
    "GoldBreakdown",
    "GOLD_VERSION",
    "VerifiableJudge",
    "RewardModelJudge",
    "ApiJudge",
    "SelfJudge",
    "agreement_rate",
    "cohen_kappa",
    "changed_instructions",
    "check_instruction",
    "evaluate",
    "instruction_rates",
    "supported_instructions",
    "sentence_splitter_source",
    "split_sentences",
    "parse_reward",
    "choose_placement",
    "MissingApiKeyError",
    "ModelDoesNotFitError",
    "SMALL_REWARD_MODEL",
    "NVIDIA_BASE_URL",
    "NVIDIA_REWARD_MODEL",
]

JUDGES = ("gold", "verifiable", "reward", "api", "self")


@runtime_checkable
class Judge(Protocol):
    """What every judge offers: one float per (prompt, response); compare scores within a prompt only."""

    def score(self, prompts: Sequence[str], responses: Sequence[str]) -> list[float]: ...


class MissingInstructionsError(ValueError):
    """judge='verifiable' was asked to score prompts that carry no IFEval instructions."""


def _verifiable(rows: Sequence[Mapping] | None) -> VerifiableJudge:
    if rows is None:
        raise ValueError("judge='verifiable' needs the IFEval rows (prompt, instruction_id_list, kwargs) as rows=")
    rows = list(rows)
    missing = [i for i, row in enumerate(rows) if not row.get("instruction_id_list")]
    if missing:
        first = ", ".join(str(i) for i in missing[:5]) + (", ..." if len(missing) > 5 else "")
        raise MissingInstructionsError(
            f"{len(missing)} of {len(rows)} rows have no instruction_id_list (rows {first}). judge='verifiable' "
            "only scores IFEval-style prompts that carry instructions to check (e.g. the demo data). Hub prompts "
            "such as UltraFeedback's need judge='reward' (with reward_model=...), judge='api' (with "
            "api_base_url=... and api_model=...) or judge='self'."
        )
    return VerifiableJudge(rows)


def _gold(rows: Sequence[Mapping] | None, max_new_tokens: int | None = None, tokenizer=None) -> GoldJudge:
    rows = list(rows or [])
    missing = [i for i, row in enumerate(rows) if not row.get("reference")]
    if not rows or missing:
        first = ", ".join(str(i) for i in missing[:5]) + (", ..." if len(missing) > 5 else "")
        raise MissingInstructionsError(
            f"{len(missing)} of {len(rows)} rows have no field 'reference' (rows {first}). judge='gold' scores only "
            "the demo world's prompts, which carry a reference answer. Hub prompts such as UltraFeedback's need "
            "judge='reward' (with reward_model=...), judge='api' or judge='self'."
        )
    if max_new_tokens and tokenizer is None:
        raise ValueError("judge='gold' told a budget (max_new_tokens=...) needs the policy's tokenizer= to count")
    if not max_new_tokens:
        return GoldJudge(rows)
    from ..answers import token_lengths  # the count 07 and the length tables use (torch only here)

    return GoldJudge(rows, max_new_tokens, lambda text: token_lengths(tokenizer, [text])[0])


def make_judge(
    kind: str,
    rows: Sequence[Mapping] | None = None,
    *,
    reward_model: str = "",
    api_base_url: str = "",
    api_model: str = "",
    api_key_env: str = "NVIDIA_API_KEY",
    reward_key: str = "reward",
    api_requests_per_minute: float | None = 40,
    cache_dir: str | os.PathLike | None = None,
    policy=None,
    tokenizer=None,
    max_new_tokens: int | None = None,
) -> Judge:
    """The judge a notebook asks for by name (one of :data:`JUDGES`), with every setting checked first.

    ``gold`` needs demo ``rows`` with a ``reference`` (told ``max_new_tokens`` and the policy's ``tokenizer``, it
    also penalises answers cut at that budget); ``verifiable`` needs ``rows`` with instructions; ``reward`` needs
    ``reward_model`` (no silent default: the study's 70B model does not fit
    most machines); ``api`` needs ``api_base_url`` and ``api_model`` (the key
    comes from ``$api_key_env`` or Colab's secrets; rewards are cached in
    ``cache_dir/api_judge_cache.jsonl``; requests are spaced to ``api_requests_per_minute``, NVIDIA's free
    tier allowing 40); ``self`` needs ``policy`` and ``tokenizer``.
    """
    if kind == "gold":
        return _gold(rows, max_new_tokens, tokenizer)
    if kind == "verifiable":
        return _verifiable(rows)
    if kind == "reward":
        if not reward_model:
            raise ValueError(
                "judge='reward' needs the setting reward_model (a Hugging Face reward model id or folder), e.g. "
                f"reward_model={SMALL_REWARD_MODEL!r} (0.6B, fits a 16 GB Colab T4 next to a 0.5B policy)"
            )
        return RewardModelJudge(reward_model)
    if kind == "api":
        if not api_base_url or not api_model:
            raise ValueError(
                f"judge='api' needs the settings api_base_url and api_model (got api_base_url={api_base_url!r}, "
                f"api_model={api_model!r}); e.g. api_base_url={NVIDIA_BASE_URL!r}, api_model={NVIDIA_REWARD_MODEL!r}"
            )
        cache = os.path.join(os.fspath(cache_dir), "api_judge_cache.jsonl") if cache_dir else None
        return ApiJudge(
            api_base_url, api_model, api_key_env=api_key_env, reward_key=reward_key, cache_path=cache,
            requests_per_minute=api_requests_per_minute,
        )  # fmt: skip
    if kind == "self":
        if policy is None or tokenizer is None:
            raise ValueError("judge='self' needs policy= (the model that rates the answers) and its tokenizer=")
        return SelfJudge(policy, tokenizer)
    raise ValueError(f"unknown judge {kind!r}; the judges are {', '.join(map(repr, JUDGES))}")
