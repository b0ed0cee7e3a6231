"""Cached answers: a model's answers to a prompt set, generated once (in resumable shards) and reused by
every notebook and the results summary.

The cache folder of a model is ``cache_dir/<model name>-<fingerprint>``; the fingerprint covers the
prompts, the decoding settings and the model's weights (a sample of the bytes of its safetensors
file), so retraining a model into the same folder never reuses stale answers.
"""

from __future__ import annotations

import os
import statistics
from pathlib import Path

from . import sampling
from .files import fingerprint


def _weights_sample(name: str, n_blocks: int = 64, block: int = 1 << 16) -> list[bytes]:
    """Evenly spaced blocks of a saved model's weight file (nothing for hub ids or ``embedded``)."""
    files = sorted(Path(name).glob("*.safetensors")) if Path(name).is_dir() else []
    sample = []
    for path in files:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            for i in range(n_blocks):
                f.seek(i * max(0, size - block) // max(1, n_blocks - 1))
                sample.append(f.read(block))
    return sample


def _shard_size(batch_size: int, shard_size: int | None) -> int:
    """A shard is one generation batch unless told otherwise; both must be positive."""
    if batch_size <= 0 or (shard_size is not None and shard_size <= 0):
        raise ValueError(f"batch_size must be positive (and shard_size if given), got {batch_size}, {shard_size}")
    return shard_size or batch_size


def _folder(cache_dir, name: str, prompts: list[str], max_new_tokens: int, temperature: float, seed: int, shard: int,
            precision: str = "auto"):  # fmt: skip
    """The cache folder of these answers: the model's name and a fingerprint of everything they depend on
    (the precision as resolved on this machine: bf16 and fp32 decoding differ)."""
    from .models import mixed_precision

    settings = {"max_new_tokens": max_new_tokens, "temperature": temperature, "seed": seed, "shard": shard,
                "precision": mixed_precision(precision)}  # fmt: skip
    key = fingerprint(str(name), prompts, settings, *_weights_sample(str(name)))
    return Path(cache_dir) / f"{Path(name).name}-{key}"


def cached_answers(
    model,
    tokenizer,
    prompts: list[str],
    cache_dir,
    name: str,
    max_new_tokens: int = 96,
    temperature: float = 0.0,
    batch_size: int = 32,
    seed: int = 0,
    shard_size: int | None = None,
    precision: str = "auto",
) -> list[str]:
    """One answer per prompt from ``model`` (greedy unless ``temperature``), cached under ``cache_dir``.

    ``name`` identifies the model: its folder (whose weights enter the fingerprint) or a hub id. A shard is one
    generation batch unless ``shard_size`` says otherwise: on a CPU a decoding step of 96 rows costs about
    what one of 32 rows does (the weights are read once per step either way), so fewer, fuller batches pay.
    """
    shard_size = _shard_size(batch_size, shard_size)
    rows = sampling.sample_to_shards(
        model,
        tokenizer,
        prompts,
        _folder(cache_dir, name, prompts, max_new_tokens, temperature, seed, shard_size, precision),
        shard_size=shard_size,
        seed=seed,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        batch_size=batch_size,
        precision=precision,
    )
    return [r["responses"][0] for r in rows]


def model_answers(
    model_path: str,
    prompts: list[str],
    cache_dir,
    max_new_tokens: int = 96,
    batch_size: int = 32,
    seed: int = 0,
    shard_size: int | None = None,
    precision: str = "auto",
) -> list[str]:
    """Greedy answers of the model saved at ``model_path`` (or ``embedded``/``tiny``/a hub id), cached.

    The model is loaded only when some answers are missing: a rerun with every answer cached loads nothing.
    """
    from . import models

    shard_size = _shard_size(batch_size, shard_size)
    folder = _folder(cache_dir, model_path, prompts, max_new_tokens, 0.0, seed, shard_size, precision)
    shards = range(-(-len(prompts) // shard_size))  # sampling.sample_to_shards names them shard-00000.jsonl, ...
    model = tokenizer = None
    if not all((folder / f"shard-{n:05d}.jsonl").exists() for n in shards):
        model, tokenizer = models.load_model(model_path), models.load_tokenizer(model_path)
    return cached_answers(
        model, tokenizer, prompts, cache_dir, model_path, max_new_tokens, 0.0, batch_size, seed, shard_size, precision
    )


def token_lengths(tokenizer, texts: list[str]) -> list[int]:
    """Each answer's length in tokens, encoded again (no special tokens)."""
    return [len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts]


def reached_cap(n_tokens: int, max_new_tokens: int) -> bool:
    """Whether an answer of ``n_tokens`` (encoded again) ran into the generation cap: at least
    ``max_new_tokens − 2``, since decoding drops special tokens and encoding may merge or split one at the end
    (capped answers of the demo come back as 94–96 tokens, the others below 94 almost always)."""
    return n_tokens >= max_new_tokens - 2


def length_summary(lengths: list[int], max_new_tokens: int) -> dict[str, float]:
    """Median answer length in tokens and the share of answers that ran into the cap (:func:`reached_cap`)."""
    if not lengths:
        raise ValueError("no answers to measure")
    capped = sum(reached_cap(n, max_new_tokens) for n in lengths)
    return {"median tokens": statistics.median(lengths), "at the cap": capped / len(lengths)}
