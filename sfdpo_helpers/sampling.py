"""Batched sampling with the chat template: left padding, KV cache, K samples, temperature schedule.

Generation pads on the **left** (the new tokens of every row start at the same position; right
padding would make short prompts continue after pad tokens). Prompts are tokenized once and sorted by
token length before batching so rows of a batch need little padding, and results are returned in the
input order. Decoding uses an explicit ``GenerationConfig`` built here (never the model's own sampling
settings) and stops at every end id of the model (``<|im_end|>`` and ``<|endoftext|>`` for Qwen2.5).
It runs on the model's device under :func:`sfdpo_helpers.models.autocast`.

Long jobs (thousands of prompts x K samples) go through :func:`sample_to_shards`, which writes
one JSONL shard per block of prompts atomically and skips the shards that exist, so a killed
job resumes without duplicates or gaps.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
from pathlib import Path

import torch

from . import models
from .collators import end_of_turn_id, pad, prompt_text

STUDY_SCHEDULE = ((0.2, 2), (0.7, 3), (1.2, 3))  # (temperature, samples): 8 samples per prompt


def end_ids(model, tokenizer) -> list[int]:
    """Every id that ends an answer: the end-of-turn token (``<|im_end|>``), each id of the model's
    ``generation_config.eos_token_id`` (Qwen2.5's base model ends with ``<|endoftext|>``, its Instruct model
    lists both) and the tokenizer's eos; deduplicated, in that order."""
    config = getattr(_base_model(model), "generation_config", None)
    listed = getattr(config, "eos_token_id", None)
    listed = [] if listed is None else [listed] if isinstance(listed, int) else list(listed)
    ids = [end_of_turn_id(tokenizer), *listed, tokenizer.eos_token_id]
    return list(dict.fromkeys(int(i) for i in ids if i is not None))


def decoding_config(model, tokenizer, temperature: float, top_p: float, max_new_tokens: int, k: int = 1):
    """A ``GenerationConfig`` built from scratch, so every model is decoded the same way.

    Why not the model's: Qwen2.5-Instruct's generation_config.json sets repetition_penalty 1.1, temperature
    0.7, top_p 0.8 and top_k 20, and transformers fills every unset value from it, so "greedy" would not be
    greedy and two models would be compared under different decoders. Every default is set explicitly here
    (sampling: the given temperature and top-p, no top-k cut; greedy: plain argmax), and
    :func:`_own_generation_config` hides the model's config while generating."""
    from transformers import GenerationConfig

    settings = GenerationConfig._get_default_generation_params()  # greedy, no penalties, no n-gram blocking
    settings.pop("max_length", None)  # max_new_tokens decides
    if temperature > 0:
        settings.update(do_sample=True, temperature=temperature, top_p=top_p, top_k=0)
    settings.update(
        repetition_penalty=1.0,
        no_repeat_ngram_size=0,
        max_new_tokens=max_new_tokens,
        num_return_sequences=k,
        eos_token_id=end_ids(model, tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        use_cache=True,
    )
    return GenerationConfig(**settings)


def _base_model(model):
    """The transformers model under a PEFT wrapper (its ``generate`` and ``generation_config``)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


@contextlib.contextmanager
def _own_generation_config(model, config):
    """Swap in ``config`` as the model's generation_config while generating: transformers fills the values a
    passed config leaves unset from ``model.generation_config``; this way nothing of the model's leaks in."""
    base = _base_model(model)
    saved = base.generation_config
    base.generation_config = config
    try:
        yield
    finally:
        base.generation_config = saved


def _prompt_ids(tokenizer, prompts: list[str]) -> list[list[int]]:
    """Each prompt chat-templated and tokenized once (the ids sort the batches and fill them)."""
    return tokenizer([prompt_text(tokenizer, p) for p in prompts], add_special_tokens=False)["input_ids"]


def _left_batch(id_lists: list[list[int]], pad_token_id: int, device) -> dict:
    """Left-padded ``input_ids`` and ``attention_mask`` on ``device`` (generate derives positions from the mask)."""
    batch = pad(id_lists, pad_token_id, side="left")
    return {"input_ids": batch["input_ids"].to(device), "attention_mask": batch["attention_mask"].to(device)}


def _per_sample_temperatures(temperature, k: int) -> list[float] | None:
    """None for one temperature; else the list of k temperatures (sample j of a prompt is drawn at the j-th)."""
    if isinstance(temperature, (int, float)):
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {temperature}")
        return None
    temperatures = [float(t) for t in temperature]
    if len(temperatures) != k or any(t <= 0 for t in temperatures):
        raise ValueError(f"a list of temperatures needs k = {k} of them, all > 0; got {temperatures}")
    return temperatures


def _row_temperatures(temperatures: list[float], n_prompts: int):
    """A logits processor dividing each row's logits by its own temperature. ``generate`` lays out the k samples
    of a prompt next to each other (row ``i*k + j`` is sample j of prompt i); it runs before any top-p cut."""
    from transformers import LogitsProcessor, LogitsProcessorList

    class RowTemperature(LogitsProcessor):
        def __init__(self, values):
            self.values = torch.tensor(values)[:, None]

        def __call__(self, input_ids, scores):
            return scores / self.values.to(scores)

    return LogitsProcessorList([RowTemperature(temperatures * n_prompts)])


@torch.no_grad()
def generate(
    model,
    tokenizer,
    prompts: list[str],
    k: int = 1,
    temperature: float | list[float] = 0.7,
    top_p: float = 1.0,
    max_new_tokens: int = 256,
    batch_size: int = 32,
    seed: int = 0,
    progress: bool = False,
    precision: str = "auto",
) -> list[list[str]]:
    """``k`` responses for each prompt (``result[i][j]`` is sample j of prompt i).

    ``temperature=0`` is greedy decoding (then the k samples are identical). A list of ``k`` temperatures draws
    sample j of every prompt at ``temperature[j]``, all in the same batches (one pass for the study's 8 samples
    at three temperatures instead of three: on a CPU a decoding step of 96 rows costs about 1.5 times one of
    32, since every step reads all the weights). Decoding uses
    :func:`decoding_config`, never the model's own generation settings, and stops at any of :func:`end_ids`.
    Runs on the model's device (the GPU where :func:`models.load_model` put it) under
    :func:`models.autocast` (``precision``: "auto", "no", "bf16", "fp16"). Seeded: the same arguments give the
    same responses (this reseeds torch's global generator). A batch holds ``batch_size // k`` prompts, at least
    one (so k rows when ``k > batch_size``).
    """
    from tqdm import tqdm  # text bars: a saved notebook keeps their final state (widget bars keep their first)

    if k <= 0 or max_new_tokens <= 0 or batch_size <= 0:
        raise ValueError(f"k, max_new_tokens and batch_size must be positive, got {k}, {max_new_tokens}, {batch_size}")
    per_sample = _per_sample_temperatures(temperature, k)
    device = next(model.parameters()).device
    config = decoding_config(model, tokenizer, 1.0 if per_sample else temperature, top_p, max_new_tokens, k)
    ids = _prompt_ids(tokenizer, prompts)
    order = sorted(range(len(prompts)), key=lambda i: len(ids[i]))  # token lengths: least padding per batch
    per_batch = max(1, batch_size // k)
    out: list[list[str]] = [[] for _ in prompts]
    was_training = model.training
    model.eval()
    try:
        with _own_generation_config(model, config), models.autocast(precision, device):
            for b, start in enumerate(tqdm(range(0, len(order), per_batch), desc="sample", disable=not progress)):
                idx = order[start : start + per_batch]
                enc = _left_batch([ids[i] for i in idx], tokenizer.pad_token_id, device)
                torch.manual_seed(seed * 100_003 + b)
                processors = _row_temperatures(per_sample, len(idx)) if per_sample else None
                gen = model.generate(**enc, generation_config=config, logits_processor=processors)
                texts = tokenizer.batch_decode(gen[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
                for j, i in enumerate(idx):
                    out[i] = [t.strip() for t in texts[j * k : (j + 1) * k]]
    finally:
        model.train(was_training)
    return out


def schedule_temperatures(schedule=STUDY_SCHEDULE) -> list[float]:
    """``((0.2, 2), (0.7, 3), (1.2, 3))`` -> ``[0.2, 0.2, 0.7, 0.7, 0.7, 1.2, 1.2, 1.2]``: sample j's temperature.

    Each entry is ``(temperature > 0, number of samples >= 1)``; anything else is an error naming the entry."""
    for i, entry in enumerate(schedule):
        ok = isinstance(entry, (tuple, list)) and len(entry) == 2 and isinstance(entry[1], int) and entry[1] >= 1
        if not ok or not isinstance(entry[0], (int, float)) or entry[0] <= 0:
            raise ValueError(f"schedule entry {i} is {entry!r}; each entry is (temperature > 0, samples >= 1)")
    if not schedule:
        raise ValueError("the schedule is empty; e.g. sampling.STUDY_SCHEDULE = ((0.2, 2), (0.7, 3), (1.2, 3))")
    return [float(t) for t, k in schedule for _ in range(k)]


def with_temperatures(temperatures: list[float], responses: list[list[str]]) -> list[list[dict]]:
    """Each prompt's samples as ``{"temperature", "response"}`` dicts (sample j was drawn at ``temperatures[j]``)."""
    return [[{"temperature": t, "response": r} for t, r in zip(temperatures, rs)] for rs in responses]


def _prompt_key(prompt: str) -> str:
    return hashlib.sha1(prompt.encode("utf-8")).hexdigest()[:16]


SETTINGS_FILE = "sampled_with.json"  # sample_to_shards' record of what decided the shards' content
# generate's decoding settings and their defaults (read once: a test may replace generate by a stand-in)
_DECODING = {n: p.default for n, p in inspect.signature(generate).parameters.items()
             if n in ("k", "temperature", "top_p", "max_new_tokens", "batch_size", "precision")}  # fmt: skip


def model_fingerprint(model, tokenizer) -> str:
    """A fingerprint of an in-memory model (every parameter, LoRA adapters included: they change its answers)
    and its tokenizer: :func:`models.parameters_sample` and :func:`models.tokenizer_sample`."""
    from .files import fingerprint

    return fingerprint(*models.parameters_sample(model), *models.tokenizer_sample(tokenizer))


def shard_settings(model, tokenizer, seed: int = 0, model_key: str | None = None, **generate_kwargs) -> dict:
    """Everything that decides what :func:`sample_to_shards` writes, besides the prompts (checked per shard):
    the model (``model_key``, else :func:`model_fingerprint` of ``model`` and ``tokenizer``), the seed and every
    decoding setting of :func:`generate` (its defaults filled in; the precision as resolved on this machine:
    bf16 and fp32 sampling differ; the batch size: it decides the batches' seeds and padding)."""
    defaults = _DECODING
    unknown = sorted(set(generate_kwargs) - set(defaults) - {"progress"})
    if unknown:
        raise TypeError(f"generate() has no argument(s) {unknown}")
    decoding = {**defaults, **{n: v for n, v in generate_kwargs.items() if n in defaults}}
    temperature = decoding["temperature"]
    decoding["temperature"] = (
        float(temperature) if isinstance(temperature, (int, float)) else list(map(float, temperature))
    )
    decoding["top_p"] = float(decoding["top_p"])
    decoding["precision"] = models.mixed_precision(decoding["precision"])
    if model_key is None:
        if model is None:
            raise ValueError("sample_to_shards needs the model (or model_key, a fingerprint of its weights)")
        model_key = model_fingerprint(model, tokenizer)
    return {"model": model_key, "seed": int(seed), **decoding}


def _check_settings(out_dir: Path, settings: dict) -> None:
    """Refuse shards sampled with other settings (naming the ones that differ); record the settings of a new
    folder. Shards without a record (written before sampling recorded its settings) are refused too."""
    import json

    from .files import atomic_write_text

    record = out_dir / SETTINGS_FILE
    has_shards = any(out_dir.glob("shard-*.jsonl"))
    if record.exists() and has_shards:
        saved = json.loads(record.read_text())
        differs = [
            f"{k} {saved.get(k)!r} -> {settings.get(k)!r}"
            for k in sorted({*saved, *settings})
            if saved.get(k) != settings.get(k)
        ]
        if differs:
            raise ValueError(
                f"{out_dir} holds samples drawn with other settings ({'; '.join(differs)}); use a new out_dir "
                "(pipeline.sample_shards names its folder by these settings) or delete this one"
            )
    elif has_shards:
        raise ValueError(
            f"{out_dir} holds shards that do not record how they were sampled (written by an older sfdpo): they may "
            "come from another model, temperature or seed. Delete the folder or use a new out_dir"
        )
    else:
        atomic_write_text(record, json.dumps(settings, indent=1))


def sample_to_shards(
    model,
    tokenizer,
    prompts: list[str],
    out_dir: str | Path,
    shard_size: int = 64,
    seed: int = 0,
    progress: bool = True,
    model_key: str | None = None,
    **generate_kwargs,
) -> list[dict]:
    """Resumable sampling: shard ``n`` covers prompts ``[n*shard_size, (n+1)*shard_size)``.

    Each shard is written atomically once complete; on a rerun existing shards are read back,
    checked against their prompts, and only the missing ones are sampled. Each shard uses its own
    seed, so the result does not depend on where a previous run was interrupted. Returns one row
    ``{"prompt", "responses"}`` per prompt, in order.

    The folder records what decided its content (:func:`shard_settings`: the model's weights and tokenizer,
    the seed, the temperatures, the token budget, the precision, ...) in ``sampled_with.json``; shards
    drawn with anything else are refused, never returned. ``model_key``: a fingerprint of the model when the
    caller has one (e.g. of its saved folder; then ``model`` may be None while every shard exists).
    """
    from tqdm import tqdm  # text bars: a saved notebook keeps their final state (widget bars keep their first)

    from .data import read_jsonl
    from .files import write_jsonl

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _check_settings(out_dir, shard_settings(model, tokenizer, seed, model_key, **generate_kwargs))
    rows: list[dict] = []
    starts = range(0, len(prompts), shard_size)
    to_sample = sum(not (out_dir / f"shard-{n:05d}.jsonl").exists() for n in range(len(starts)))
    for n, start in enumerate(tqdm(starts, desc="shards", disable=not (progress and to_sample))):
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
        write_jsonl(shard, path)
        rows += shard
        if progress:  # a plain line too, for papermill logs
            print(f"{out_dir.name}: {len(rows)}/{len(prompts)} prompts sampled", flush=True)
    return rows
