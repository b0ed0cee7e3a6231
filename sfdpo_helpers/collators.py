"""From text to tensors: chat-template rendering, label masking, right padding or padding-free packing.

The labels of an example are the token ids of the assistant's reply *plus its end-of-turn
token*; every prompt token and every padding position is -100 (ignored by the loss).
Two traps this module avoids:

* The prompt/response boundary comes from rendering the conversation twice (prompt with the
  generation header, then the whole conversation) and checking that the first is a token prefix
  of the second, instead of tokenizing the two halves separately and hoping they join.
* SmolLM2 uses the same token for padding and for end-of-turn (``<|im_end|>``). Masking "every
  pad token" would also mask the end-of-turn and the model would never learn to stop, so labels
  are built from *positions*, never from token ids.

Packing (:func:`pack`, :class:`PackedSFTCollator`, :class:`PackedPairCollator`) puts a micro-batch in one row (or a few)
with ``position_ids`` restarting per example and no padding at all; :func:`token_budget_batches` sizes
micro-batches by tokens instead of rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .data import DataError, SkipReport

IGNORE = -100


def end_of_turn_id(tokenizer) -> int:
    """``<|im_end|>`` where the vocabulary has it (SmolLM2, Qwen2.5), else the eos token."""
    eot = tokenizer.convert_tokens_to_ids("<|im_end|>")
    if isinstance(eot, int) and eot != tokenizer.unk_token_id and eot is not None:
        return eot
    return tokenizer.eos_token_id


def prompt_text(tokenizer, prompt: str) -> str:
    """The prompt as the model sees it at generation time (chat template + assistant header)."""
    return tokenizer.apply_chat_template(
        [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
    )


def _ids(tokenizer, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def tokenize_example(tokenizer, prompt: str, response: str) -> dict:
    """``input_ids`` and ``labels`` for one (prompt, response); labels = response + end-of-turn."""
    prompt_ids = _ids(tokenizer, prompt_text(tokenizer, prompt))
    full = tokenizer.apply_chat_template(
        [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}], tokenize=False
    )
    full_ids = _ids(tokenizer, full)
    n = len(prompt_ids)
    if full_ids[:n] != prompt_ids:
        raise DataError(
            "the rendered prompt is not a token prefix of the rendered conversation "
            "(chat template or tokenizer merges across the boundary)"
        )
    eot = end_of_turn_id(tokenizer)
    try:
        end = full_ids.index(eot, n) + 1  # include the end-of-turn token, drop what follows it
    except ValueError:
        raise DataError("the rendered conversation has no end-of-turn token after the reply") from None
    ids = full_ids[:end]
    return {"input_ids": ids, "labels": [IGNORE] * n + ids[n:], "prompt_len": n}


def _fit(example: dict, max_prompt_tokens: int, max_response_tokens: int) -> tuple[dict, bool]:
    """Cut the reply to ``max_response_tokens`` labelled tokens; say whether it was cut."""
    n = example["prompt_len"]
    if n > max_prompt_tokens:
        raise DataError(f"prompt alone has {n} tokens, over the budget of {max_prompt_tokens}")
    if len(example["input_ids"]) - n <= max_response_tokens:
        return example, False
    end = n + max_response_tokens
    return {"input_ids": example["input_ids"][:end], "labels": example["labels"][:end], "prompt_len": n}, True


def tokenize_sft(
    rows: list[dict], tokenizer, max_prompt_tokens: int = 300, max_response_tokens: int = 450, dataset: str = "sft"
) -> tuple[list[dict], SkipReport]:
    """Tokenized SFT examples. The budgets here are a safety net above the data-prep truncation
    (the chat template adds a few tokens); rows over them are counted, never silently dropped."""
    report = SkipReport(dataset)
    out = []
    for i, row in enumerate(rows):
        report.seen += 1
        try:
            ex, cut = _fit(
                tokenize_example(tokenizer, row["prompt"], row["response"]), max_prompt_tokens, max_response_tokens
            )
        except DataError as err:
            report.skip(str(err), i)
            continue
        if cut:
            report.examples.setdefault("responses cut to budget (kept)", i)
        out.append(ex)
    return out, report


def tokenize_pairs(
    rows: list[dict], tokenizer, max_prompt_tokens: int = 300, max_response_tokens: int = 450, dataset: str = "pairs"
) -> tuple[list[dict], SkipReport]:
    """Tokenized preference pairs ``{"chosen": example, "rejected": example}``.

    Skipped and counted: empty chosen/rejected, identical chosen and rejected, a prompt that alone
    is over the budget, a template that does not split cleanly.
    """
    report = SkipReport(dataset)
    out = []
    for i, row in enumerate(rows):
        report.seen += 1
        try:
            for name in ("prompt", "chosen", "rejected"):
                if not isinstance(row.get(name), str) or not row[name].strip():
                    raise DataError(f"field {name!r} missing or empty")
            if row["chosen"].strip() == row["rejected"].strip():
                raise DataError("chosen == rejected")
            chosen, _ = _fit(
                tokenize_example(tokenizer, row["prompt"], row["chosen"]), max_prompt_tokens, max_response_tokens
            )
            rejected, _ = _fit(
                tokenize_example(tokenizer, row["prompt"], row["rejected"]), max_prompt_tokens, max_response_tokens
            )
        except DataError as err:
            report.skip(str(err), i)
            continue
        out.append({"chosen": chosen, "rejected": rejected, "index": i})
    return out, report


def pad(id_lists: list[list[int]], pad_token_id: int, side: str = "right", labels: list[list[int]] | None = None):
    """Pad token lists to one width: ``input_ids``, ``attention_mask`` and ``position_ids`` (0, 1, ... over
    the real tokens of each row), plus ``labels`` (-100 on padding) when given.

    ``side="right"`` for training (the loss ignores the padding at the end), ``"left"`` for generation and
    next-token scoring (the last real token of every row sits in the last column).
    """
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    width = max(len(ids) for ids in id_lists)
    out = {
        "input_ids": torch.full((len(id_lists), width), pad_token_id, dtype=torch.long),
        "attention_mask": torch.zeros((len(id_lists), width), dtype=torch.long),
    }
    if labels is not None:
        out["labels"] = torch.full((len(id_lists), width), IGNORE, dtype=torch.long)
    for row, ids in enumerate(id_lists):
        span = slice(width - len(ids), width) if side == "left" else slice(0, len(ids))
        out["input_ids"][row, span] = torch.tensor(ids, dtype=torch.long)
        out["attention_mask"][row, span] = 1
        if labels is not None:
            out["labels"][row, span] = torch.tensor(labels[row], dtype=torch.long)
    out["position_ids"] = (out["attention_mask"].cumsum(-1) - 1).clamp(min=0)
    return out


def pad_right(examples: list[dict], pad_token_id: int) -> dict[str, torch.Tensor]:
    """Right-pad tokenized examples for training: ``input_ids``, ``attention_mask``, ``labels``."""
    batch = pad([e["input_ids"] for e in examples], pad_token_id, "right", [e["labels"] for e in examples])
    del batch["position_ids"]  # right padding: the model's default positions are already right
    return batch


@dataclass
class SFTCollator:
    pad_token_id: int

    def __call__(self, examples: list[dict]) -> dict[str, torch.Tensor]:
        return pad_right(examples, self.pad_token_id)


@dataclass
class PairCollator:
    """Chosen rows then rejected rows in one batch, so one forward pass scores both."""

    pad_token_id: int

    def __call__(self, pairs: list[dict]) -> dict[str, torch.Tensor]:
        batch = pad_right([p["chosen"] for p in pairs] + [p["rejected"] for p in pairs], self.pad_token_id)
        batch["pair_index"] = torch.tensor([p["index"] for p in pairs])
        return batch


def length_grouped_batches(
    lengths: list[int], batch_size: int, seed: int, epoch: int, group_factor: int = 32
) -> list[list[int]]:
    """Seeded batches of similar lengths: shuffle, sort within windows, shuffle the batches.

    Depends only on (seed, epoch), so a resumed run sees exactly the same batches.
    """
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    order = torch.randperm(len(lengths), generator=g).tolist()
    window = batch_size * group_factor
    batches = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: -lengths[i])
        batches += [chunk[j : j + batch_size] for j in range(0, len(chunk), batch_size)]
    perm = torch.randperm(len(batches), generator=g).tolist()
    return [batches[i] for i in perm]


# --- padding-free packing ---------------------------------------------------------------------------


def _check_packable(examples: list[dict]) -> None:
    if not examples:
        raise ValueError("pack() needs at least one example")
    for i, e in enumerate(examples):
        if not e["input_ids"]:
            raise ValueError(f"example {i} is empty")
        if len(e["labels"]) != len(e["input_ids"]):
            raise ValueError(f"example {i}: {len(e['labels'])} labels for {len(e['input_ids'])} tokens")
        if e["labels"][0] != IGNORE:
            raise ValueError(
                f"example {i}: its first token has a label, which packing would predict across the boundary "
                "from the previous example (mask the first token, e.g. it is a prompt token)"
            )


def pack(examples: list[dict], row_tokens: int | None = None, pad_token_id: int = 0) -> dict[str, torch.Tensor]:
    """Concatenate tokenized examples into one row (or a few), with no attention mask.

    For examples of lengths n_1 .. n_k and T = Σ n_i, returns (1, T) tensors ``input_ids``, ``labels``,
    ``position_ids`` (0 .. n_i − 1 within each example) and ``sequence_index`` (i on the positions of example i).
    Without an attention mask, transformers' SDPA / eager attention derive the block-diagonal causal mask from
    the restarting ``position_ids`` (``masking_utils.find_packed_sequence_indices``) and FlashAttention-2 its
    variable-length path, so no token attends across examples; the model must then be called with
    ``use_cache=False`` (losses.final_hidden_states does).

    ``row_tokens``: fill rows of at most ``max(row_tokens, longest example)`` tokens in order (greedy, see
    :func:`token_budget_batches`) instead of one row, giving (R, W) tensors, W the longest row. SDPA computes a
    packed row's attention as a dense masked T × T product, so with SDPA one long row costs T² where padding cost
    Σ W²; rows about the padded width keep that in check (FlashAttention-2's varlen path does not need it). A
    shorter row is completed by a padding segment (``pad_token_id``, positions 0, 1, ..., no labels,
    ``sequence_index`` −1), a pseudo-sequence that attends only to itself.

    The first token of every example must carry no label: position t predicts label t+1, so a label there
    would be predicted from the previous example's last token. That is a ValueError, never a silent error.
    """
    _check_packable(examples)
    lengths = [len(e["input_ids"]) for e in examples]
    rows = [list(range(len(examples)))]
    if row_tokens is not None:
        rows = token_budget_batches(lengths, max(row_tokens, max(lengths)))
    width = max(sum(lengths[i] for i in row) for row in rows)
    out = {k: [] for k in ("input_ids", "labels", "position_ids", "sequence_index")}
    for row in rows:
        rest = width - sum(lengths[i] for i in row)
        out["input_ids"].append([t for i in row for t in examples[i]["input_ids"]] + [pad_token_id] * rest)
        out["labels"].append([t for i in row for t in examples[i]["labels"]] + [IGNORE] * rest)
        out["position_ids"].append([p for i in row for p in range(lengths[i])] + list(range(rest)))
        out["sequence_index"].append([i for i in row for _ in range(lengths[i])] + [-1] * rest)
    return {k: torch.tensor(v, dtype=torch.long) for k, v in out.items()}


@dataclass
class PackedSFTCollator:
    """SFT examples packed into one row (or rows of about ``row_tokens``, see :func:`pack`);
    ``losses.sft_loss_sum`` reads it like a padded batch."""

    row_tokens: int | None = None
    pad_token_id: int = 0

    def __call__(self, examples: list[dict]) -> dict[str, torch.Tensor]:
        return pack(examples, self.row_tokens, self.pad_token_id)


@dataclass
class PackedPairCollator:
    """Pairs packed (:func:`pack`): the n chosen sequences, then the n rejected ones, so the per-sequence
    log-probs ``logps`` (2n,) split as ``logps[:n]`` (chosen) and ``logps[n:]`` (rejected). Also carries
    ``pair_index`` (n,) and, when every pair has them, ``ref_chosen`` / ``ref_rejected`` (n,) float32, like
    ``PairCollator`` and ``dpo.PrecomputedPairCollator``."""

    row_tokens: int | None = None
    pad_token_id: int = 0

    def __call__(self, pairs: list[dict]) -> dict[str, torch.Tensor]:
        sequences = [p["chosen"] for p in pairs] + [p["rejected"] for p in pairs]
        batch = pack(sequences, self.row_tokens, self.pad_token_id)
        batch["pair_index"] = torch.tensor([p["index"] for p in pairs])
        if all("ref_chosen" in p and "ref_rejected" in p for p in pairs):
            batch["ref_chosen"] = torch.tensor([p["ref_chosen"] for p in pairs], dtype=torch.float32)
            batch["ref_rejected"] = torch.tensor([p["ref_rejected"] for p in pairs], dtype=torch.float32)
        return batch


def token_budget_batches(
    lengths: list[int],
    max_tokens: int,
    order: list[int] | None = None,
    padded: bool = False,
    rows_per_example: int = 1,
) -> list[list[int]]:
    """Split ``order`` (default 0 .. len−1) into consecutive micro-batches that fit a token budget.

    Cost of a micro-batch b: packed ``rows_per_example · Σ_{i∈b} lengths[i]`` (the packed row's length);
    padded (``padded=True``) ``rows_per_example · |b| · max_{i∈b} lengths[i]`` (the padded tensor's size).
    Greedy: each micro-batch takes examples in order while its cost stays ≤ ``max_tokens``, so it is the largest
    prefix of the remaining order that fits. For pairs use ``rows_per_example=2`` with the longer of chosen and
    rejected as length when padded, or ``lengths = chosen + rejected`` and 1 when packed. An example that alone
    costs more than the budget is a ValueError.
    """
    if max_tokens <= 0:
        raise ValueError(f"max_tokens must be positive, got {max_tokens}")
    order = list(range(len(lengths))) if order is None else list(order)
    batches, current, total, longest = [], [], 0, 0
    for i in order:
        n = lengths[i]
        alone = rows_per_example * n
        if alone > max_tokens:
            raise ValueError(f"example {i} alone costs {alone} tokens, over the budget of {max_tokens}")
        if padded:
            cost = rows_per_example * (len(current) + 1) * max(longest, n)
        else:
            cost = total + alone
        if current and cost > max_tokens:
            batches.append(current)
            current, total, longest = [], 0, 0
        current.append(i)
        total, longest = total + alone, max(longest, n)
    if current:
        batches.append(current)
    return batches
