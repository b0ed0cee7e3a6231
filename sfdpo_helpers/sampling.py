"""Batched sampling with the chat template: left padding, KV cache, K samples, temperature schedule.

Generation pads on the **left** (the new tokens of every row start at the same position; right
padding would make short prompts continue after pad tokens). Prompts are sorted by length before
batching so rows of a batch need little padding, and results are returned in the input order.
Generation stops at the end-of-turn token.

Long jobs (thousands of prompts x K samples) go through :func:`sample_to_shards`, which writes
one JSONL shard per block of prompts atomically and skips the shards that exist, so a killed
job resumes without duplicates or gaps.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch

from .collators import end_of_turn_id, prompt_text

STUDY_SCHEDULE = ((0.2, 2), (0.7, 3), (1.2, 3))  # (temperature, samples): 8 samples per prompt


def _encode_left(tokenizer, prompts: list[str], device):
    texts = [prompt_text(tokenizer, p) for p in prompts]
    old_side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    try:
        enc = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    finally:
        tokenizer.padding_side = old_side
    return {k: v.to(device) for k, v in enc.items()}


@torch.no_grad()
def generate(
    model,
    tokenizer,
    prompts: list[str],
    k: int = 1,
    temperature: float = 0.7,
    top_p: float = 1.0,
    max_new_tokens: int = 256,
    batch_size: int = 32,
    seed: int = 0,
    progress: bool = False,
) -> list[list[str]]:
    """``k`` responses for each prompt (``result[i][j]`` is sample j of prompt i).

    ``temperature=0`` is greedy decoding (then the k samples are identical). Seeded: the same
    arguments give the same responses (this reseeds torch's global generator). A batch holds
    ``batch_size // k`` prompts, at least one (so k rows when ``k > batch_size``).
    """
    from tqdm.auto import tqdm

    if k <= 0 or max_new_tokens <= 0 or batch_size <= 0:
        raise ValueError(f"k, max_new_tokens and batch_size must be positive, got {k}, {max_new_tokens}, {batch_size}")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    device = next(model.parameters()).device
    eot = end_of_turn_id(tokenizer)
    lengths = [
        len(ids)
        for ids in tokenizer([prompt_text(tokenizer, p) for p in prompts], add_special_tokens=False)["input_ids"]
    ]
    order = sorted(range(len(prompts)), key=lambda i: lengths[i])  # token lengths: least padding per batch
    per_batch = max(1, batch_size // k)
    out: list[list[str]] = [[] for _ in prompts]
    was_training = model.training
    model.eval()
    for b, start in enumerate(tqdm(range(0, len(order), per_batch), desc="sample", disable=not progress)):
        idx = order[start : start + per_batch]
        enc = _encode_left(tokenizer, [prompts[i] for i in idx], device)
        torch.manual_seed(seed * 100_003 + b)
        sampling = (
            {"do_sample": True, "temperature": temperature, "top_p": top_p, "top_k": 0}
            if temperature > 0
            else {"do_sample": False}
        )
        gen = model.generate(
            **enc,
            max_new_tokens=max_new_tokens,
            num_return_sequences=k,
            eos_token_id=eot,
            pad_token_id=tokenizer.pad_token_id,
            use_cache=True,
            **sampling,
        )
        texts = tokenizer.batch_decode(gen[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
        for j, i in enumerate(idx):
            out[i] = [t.strip() for t in texts[j * k : (j + 1) * k]]
    model.train(was_training)
    return out


def generate_schedule(
    model,
    tokenizer,
    prompts: list[str],
    schedule=STUDY_SCHEDULE,
    max_new_tokens: int = 256,
    batch_size: int = 32,
    seed: int = 0,
) -> list[list[dict]]:
    """Samples at several temperatures: ``result[i]`` lists ``{"temperature", "response"}`` dicts
    (the study's self-improvement: 2 at T=0.2, 3 at T=0.7, 3 at T=1.2)."""
    out: list[list[dict]] = [[] for _ in prompts]
    for s, (temperature, k) in enumerate(schedule):
        responses = generate(
            model,
            tokenizer,
            prompts,
            k,
            temperature,
            max_new_tokens=max_new_tokens,
            batch_size=batch_size,
            seed=seed * 1_000_003 + s,
        )
        for i, rs in enumerate(responses):
            out[i] += [{"temperature": temperature, "response": r} for r in rs]
    return out


def _prompt_key(prompt: str) -> str:
    return hashlib.sha1(prompt.encode("utf-8")).hexdigest()[:16]


def sample_to_shards(
    model,
    tokenizer,
    prompts: list[str],
    out_dir: str | Path,
    shard_size: int = 64,
    seed: int = 0,
    progress: bool = True,
    **generate_kwargs,
) -> list[dict]:
    """Resumable sampling: shard ``n`` covers prompts ``[n*shard_size, (n+1)*shard_size)``.

    Each shard is written atomically once complete; on a rerun existing shards are read back,
    checked against their prompts, and only the missing ones are sampled. Each shard uses its own
    seed, so the result does not depend on where a previous run was interrupted. Returns one row
    ``{"prompt", "responses"}`` per prompt, in order.
    """
    from tqdm.auto import tqdm

    from .files import atomic_write_text
    from .data import read_jsonl

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    starts = range(0, len(prompts), shard_size)
    for n, start in enumerate(tqdm(starts, desc="shards", disable=not progress)):
        chunk = prompts[start : start + shard_size]
        path = out_dir / f"shard-{n:05d}.jsonl"
        if path.exists():
            done = read_jsonl(path)
            if [r["key"] for r in done] != [_prompt_key(p) for p in chunk]:
                raise ValueError(f"{path} was written for other prompts; use a new out_dir")
            rows += done
            continue
        responses = generate(model, tokenizer, chunk, seed=seed * 1_000_003 + n, **generate_kwargs)
        shard = [{"key": _prompt_key(p), "prompt": p, "responses": r} for p, r in zip(chunk, responses)]
        atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in shard))
        rows += shard
        if progress:  # a plain line too, for papermill logs
            print(f"{out_dir.name}: {len(rows)}/{len(prompts)} prompts sampled", flush=True)
    return rows
