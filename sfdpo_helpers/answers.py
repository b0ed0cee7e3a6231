"""Cached answers: a model's answers to a prompt set, generated once (in resumable shards) and reused by
every notebook and the results summary.

The cache folder of a model is ``cache_dir/<model name>-<fingerprint>``; the fingerprint covers the
prompts, the decoding settings, the batch size, the precision and the model: its saved folder's files (a
sample of the bytes of its safetensors file, its config and tokenizer files), or a sample of an in-memory
model's parameters, so retraining a model into the same folder never reuses stale answers.
"""

from __future__ import annotations

import statistics
from pathlib import Path

from . import sampling
from .files import fingerprint, saved_model_sample


def saved_model_key(name: str) -> str:
    """The identity of a model given by name, without loading it: its folder's files
    (:func:`files.saved_model_sample`: the weights, config, generation config and tokenizer) or, for a hub id,
    ``tiny`` or ``embedded``, the name alone."""
    return fingerprint(str(name), *saved_model_sample(str(name)))


def model_key(model, tokenizer, name: str) -> str:
    """The identity of the model answering: its saved folder's (:func:`saved_model_key`) when ``name`` is one,
    else a fingerprint of the in-memory model and its tokenizer (:func:`sampling.model_fingerprint`: a model
    trained in this kernel, or given any name, is never answered from another model's cache)."""
    if Path(str(name)).is_dir() or model is None:
        return saved_model_key(name)
    return fingerprint(str(name), sampling.model_fingerprint(model, tokenizer))


def _shard_size(batch_size: int, shard_size: int | None) -> int:
    """A shard is one generation batch unless told otherwise; both must be positive."""
    if batch_size <= 0 or (shard_size is not None and shard_size <= 0):
        raise ValueError(f"batch_size must be positive (and shard_size if given), got {batch_size}, {shard_size}")
    return shard_size or batch_size


def _folder(cache_dir, name: str, prompts: list[str], max_new_tokens: int, temperature: float, seed: int, shard: int,
            precision: str = "auto", batch_size: int | None = None, model: str = ""):  # fmt: skip
    """The cache folder of these answers: the model's name and a fingerprint of everything they depend on: the
    model (``model``: :func:`model_key`, by default :func:`saved_model_key` of ``name``), the prompts, the
    decoding settings, the batch size (it decides the batches' seeds and padding) and the precision as
    resolved on this machine (bf16 and fp32 decoding differ)."""
    from .models import mixed_precision

    settings = {"max_new_tokens": max_new_tokens, "temperature": float(temperature), "seed": seed, "shard": shard,
                "precision": mixed_precision(precision), "batch_size": batch_size or shard}  # fmt: skip
    key = fingerprint(model or saved_model_key(name), prompts, settings)
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
    key: str | None = None,
) -> list[str]:
    """One answer per prompt from ``model`` (greedy unless ``temperature``), cached under ``cache_dir``.

    ``name`` names the model's cache folder; the model's identity (``key``, by default :func:`model_key`) is its
    saved folder's files when ``name`` is one, else a fingerprint of the in-memory model. A shard is one
    generation batch unless ``shard_size`` says otherwise: on a CPU a decoding step of 96 rows costs about
    what one of 32 rows does (the weights are read once per step either way), so fewer, fuller batches pay.
    """
    shard_size = _shard_size(batch_size, shard_size)
    key = key or model_key(model, tokenizer, name)
    rows = sampling.sample_to_shards(
        model,
        tokenizer,
        prompts,
        _folder(cache_dir, name, prompts, max_new_tokens, temperature, seed, shard_size, precision, batch_size, key),
        shard_size=shard_size,
        seed=seed,
        model_key=key,
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
    key = saved_model_key(model_path)  # known without loading the model
    folder = _folder(cache_dir, model_path, prompts, max_new_tokens, 0.0, seed, shard_size, precision, batch_size, key)
    shards = range(-(-len(prompts) // shard_size))  # sampling.sample_to_shards names them shard-00000.jsonl, ...
    model = tokenizer = None
    if not all((folder / f"shard-{n:05d}.jsonl").exists() for n in shards):
        model, tokenizer = models.load_model(model_path), models.load_tokenizer(model_path)
    return cached_answers(
        model, tokenizer, prompts, cache_dir, model_path, max_new_tokens, 0.0, batch_size, seed, shard_size, precision,
        key,
    )  # fmt: skip


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
