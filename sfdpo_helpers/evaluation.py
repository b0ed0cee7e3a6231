"""Evaluate models: responses on held-out prompts, judged, compared per prompt.

* :func:`responses_for` generates (greedy by default) responses of a model on a prompt list and
  caches them as a JSONL keyed by model, prompts and decoding settings, so notebooks 03–07 never
  pay twice for the same model's answers (the base model's answers are reused everywhere).
* :func:`compare` turns judge scores of several models into a win-rate table with 95% CIs.
* :func:`ifeval_report` scores any checkpoint on a JSONL of IFEval-schema prompts (prompt- and
  instruction-level, strict and loose), e.g. the real IFEval prompts in ``../shared/data/ifeval``.
* :func:`win_rate_monitor` builds the ``monitor_fn`` the training loop calls every N steps.

``python -m sfdpo_helpers.evaluation MODEL PROMPTS.jsonl [--n N]`` prints a checkpoint's IFEval accuracies.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from . import sampling
from .winrate import win_rate


def _fingerprint(model_name: str, prompts: list[str], settings: dict) -> str:
    h = hashlib.sha256(json.dumps([model_name, prompts, settings], sort_keys=True).encode())
    return h.hexdigest()[:12]


def responses_for(
    model,
    tokenizer,
    prompts: list[str],
    cache_dir,
    name: str,
    max_new_tokens: int = 96,
    temperature: float = 0.0,
    batch_size: int = 32,
    seed: int = 0,
    shard_size: int = 32,
) -> list[str]:
    """One response per prompt, generated in resumable shards under ``cache_dir/<name>-<fingerprint>/``.

    ``name`` identifies the model (e.g. its folder); change it when the weights change.
    """
    settings = {"max_new_tokens": max_new_tokens, "temperature": temperature, "seed": seed}
    folder = Path(cache_dir) / f"{Path(name).name}-{_fingerprint(str(name), prompts, settings)}"
    rows = sampling.sample_to_shards(
        model,
        tokenizer,
        prompts,
        folder,
        shard_size=shard_size,
        seed=seed,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        batch_size=batch_size,
    )
    return [r["responses"][0] for r in rows]


def compare(
    scores: dict[str, list[float]], pairs: list[tuple[str, str]], categories: list[str] | None = None, seed: int = 0
) -> list:
    """Win rates (with 95% bootstrap CIs and per-category breakdowns) for each (model, baseline) pair."""
    return [
        win_rate(scores[model], scores[baseline], categories=categories, seed=seed, model=model, baseline=baseline)
        for model, baseline in pairs
    ]


def ifeval_report(
    model, tokenizer, rows: list[dict], cache_dir, name: str, max_new_tokens: int = 256, batch_size: int = 32
) -> dict:
    """IFEval's four accuracies of a model (greedy decoding, the model's own chat template)."""
    from .judges import evaluate

    responses = responses_for(
        model, tokenizer, [r["prompt"] for r in rows], cache_dir, name, max_new_tokens, batch_size=batch_size
    )
    return evaluate(rows, responses)


def win_rate_monitor(
    tokenizer, prompts: list[str], judge, baseline_responses: list[str], max_new_tokens: int = 64, batch_size: int = 32
):
    """``monitor_fn(model, step)`` for :func:`training.train`: greedy answers on a fixed prompt set,
    judged against the starting model's answers; logs ``win_rate`` (ties ½) and its CI."""
    baseline_scores = judge.score(prompts, baseline_responses)

    def monitor(model, step):
        answers = [
            r[0]
            for r in sampling.generate(
                model, tokenizer, prompts, k=1, temperature=0.0, max_new_tokens=max_new_tokens, batch_size=batch_size
            )
        ]
        result = win_rate(judge.score(prompts, answers), baseline_scores, n_resamples=500)
        return {"win_rate": result.rate, "win_rate_ci_low": result.ci_low, "win_rate_ci_high": result.ci_high}

    return monitor


def make_judge(
    kind: str,
    rows: list[dict],
    reward_model: str = "",
    api_base_url: str = "",
    api_model: str = "",
    api_key_env: str = "NVIDIA_API_KEY",
    cache_dir=None,
    policy=None,
    tokenizer=None,
):
    """The judge a notebook asks for by name: ``verifiable`` (offline default: IFEval checks of each
    prompt's instructions), ``reward`` (a Hugging Face reward model), ``api`` (an OpenAI-compatible
    reward endpoint, key from ``$api_key_env``) or ``self`` (the policy as LLM-as-judge)."""
    from . import judges

    if kind == "verifiable":
        missing = [i for i, r in enumerate(rows) if not r.get("instruction_id_list")]
        if missing:
            raise ValueError(
                f"the verifiable judge needs instruction_id_list on every prompt; rows {missing[:5]} have none"
            )
        return judges.VerifiableJudge(rows)
    if kind == "reward":
        return judges.RewardModelJudge(reward_model or "nvidia/Llama-3.1-Nemotron-70B-Reward-HF")
    if kind == "api":
        cache = Path(cache_dir) / "api_judge_cache.jsonl" if cache_dir else None
        return judges.ApiJudge(api_base_url, api_model, api_key_env=api_key_env, cache_path=cache)
    if kind == "self":
        return judges.SelfJudge(policy, tokenizer)
    raise ValueError(f"judge must be 'verifiable', 'reward', 'api' or 'self', got {kind!r}")


def answers_of(
    model_path: str, prompts: list[str], cache_dir, max_new_tokens: int = 96, batch_size: int = 32, seed: int = 0
) -> list[str]:
    """Greedy answers of the model saved at ``model_path`` (or ``embedded``/``tiny``/a hub id), cached."""
    from . import models

    return responses_for(
        models.load_model(model_path),
        models.load_tokenizer(model_path),
        prompts,
        cache_dir,
        model_path,
        max_new_tokens,
        batch_size=batch_size,
        seed=seed,
    )


def start_model_monitor(
    model,
    tokenizer,
    prompts_file,
    n_prompts: int,
    judge: str = "verifiable",
    max_new_tokens: int = 64,
    batch_size: int = 32,
    seed: int = 0,
):
    """Win-rate monitoring against the model *as it is now* (call before training starts): its greedy
    answers on ``n_prompts`` held-out prompts become the fixed baseline of :func:`win_rate_monitor`.
    Returns None when ``n_prompts`` is 0 (monitoring off)."""
    from .data import read_jsonl, subset

    if not n_prompts:
        return None
    rows = subset(read_jsonl(prompts_file), n_prompts, seed)
    judge = make_judge(judge, rows, policy=model, tokenizer=tokenizer) if isinstance(judge, str) else judge
    prompts = [r["prompt"] for r in rows]
    start = [
        r[0]
        for r in sampling.generate(
            model, tokenizer, prompts, k=1, temperature=0.0, max_new_tokens=max_new_tokens, batch_size=batch_size
        )
    ]
    return win_rate_monitor(tokenizer, prompts, judge, start, max_new_tokens, batch_size)


def main(argv: list[str] | None = None) -> int:
    """``python -m sfdpo_helpers.evaluation MODEL PROMPTS.jsonl``: IFEval's four accuracies of a checkpoint."""
    import argparse

    from . import data, models

    ap = argparse.ArgumentParser(
        description="IFEval-style accuracies of a model on a JSONL of IFEval-schema prompts "
        "(prompt, instruction_id_list, kwargs), e.g. ../shared/data/ifeval/ifeval_dev.jsonl"
    )
    ap.add_argument("model", help="a saved model folder, 'embedded', 'tiny' or a hub id")
    ap.add_argument("prompts", help="JSONL with prompt, instruction_id_list and kwargs columns")
    ap.add_argument("--n", type=int, default=None, help="score the first n prompts only (default: all)")
    ap.add_argument("--max-new-tokens", type=int, default=256)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--cache", default="runs/ifeval_answers", help="answers are cached here (resumable shards)")
    args = ap.parse_args(argv)
    rows = data.read_jsonl(args.prompts)[: args.n]
    report = ifeval_report(
        models.load_model(args.model),
        models.load_tokenizer(args.model),
        rows,
        args.cache,
        args.model,
        args.max_new_tokens,
        args.batch_size,
    )
    summary = {k: v for k, v in report.items() if isinstance(v, (int, float))}
    print(
        json.dumps(
            {"model": args.model, "prompts": args.prompts, "max_new_tokens": args.max_new_tokens, **summary}, indent=1
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
