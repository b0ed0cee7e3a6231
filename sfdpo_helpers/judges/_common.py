"""Small helpers the judges share: length checks, chat rendering, next-token logits.

torch and the collators (which import torch) are imported inside the functions, so
``import sfdpo_helpers.judges`` stays light for the offline IFEval judge.
"""

from __future__ import annotations

from collections.abc import Sequence


def check_lengths(prompts: Sequence, responses: Sequence) -> None:
    """Every judge scores aligned lists; a length mismatch is a caller bug, never truncated."""
    if len(prompts) != len(responses):
        raise ValueError(f"{len(prompts)} prompts but {len(responses)} responses")


def model_device(model):
    """Where a model's inputs go: the device of its first parameter (the embeddings under device_map)."""
    try:
        return next(model.parameters()).device
    except StopIteration:  # pragma: no cover - parameterless model
        import torch

        return torch.device("cpu")


def chat_text(tokenizer, messages: list[dict], add_generation_prompt: bool) -> str:
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt)


def pad_id(tokenizer) -> int:
    """The id used for padding: the tokenizer's pad token, else its eos token (masked out either way)."""
    for value in (tokenizer.pad_token_id, tokenizer.eos_token_id):
        if value is not None:
            return int(value)
    return 0


def shared_prefix_length(id_lists: list[list[int]]) -> int:
    """How many leading tokens every row has in common, leaving at least one token of each row after them."""
    if len(id_lists) < 2:
        return 0
    first, shortest = id_lists[0], min(len(ids) for ids in id_lists)
    n = 0
    while n < shortest - 1 and all(ids[n] == first[n] for ids in id_lists):
        n += 1
    return n


def _cache_key(out) -> str:
    """Where a model output holds its KV cache, which is also the keyword a forward pass takes it back under:
    ``cache`` in transformers 5.x, ``past_key_values`` before."""
    return "cache" if "cache" in out else "past_key_values"


def last_logits(model, id_lists: list[list[int]], pad_token_id: int, then: int | None = None, share_prefix=False):
    """Next-token logits after each token list: left padding with explicit position ids, so
    a padded row sees the same positions as when it is scored alone.

    With ``then`` (a token id), also the logits after that token appended to every row, as a second
    tensor: one more step on the first pass's KV cache, so the rows are not run twice.

    With ``share_prefix`` the tokens all rows start with (a judge's template: about 40% of a self-judge row)
    run once; their KV cache is repeated for every row and each row's remainder follows, left-padded
    *after* the prefix, with positions counting on from the prefix: the same attention and positions as
    above, for less compute (values equal up to float rounding)."""
    import torch

    from ..collators import pad

    device = model_device(model)
    n = len(id_lists)
    shared = shared_prefix_length(id_lists) if share_prefix else 0
    batch = pad([ids[shared:] for ids in id_lists], pad_token_id, side="left")
    mask = batch["attention_mask"].to(device)
    positions = batch["position_ids"].to(device) + shared
    with torch.no_grad():
        past = {}
        if shared:
            prefix = model(input_ids=torch.tensor([id_lists[0][:shared]], device=device), use_cache=True)
            key = _cache_key(prefix)
            prefix[key].batch_repeat_interleave(n)
            past = {key: prefix[key]}
            mask = torch.cat([mask.new_ones((n, shared)), mask], dim=1)
        out = model(
            input_ids=batch["input_ids"].to(device),
            attention_mask=mask,
            position_ids=positions,
            use_cache=then is not None,
            logits_to_keep=1,
            **past,
        )
        first = out.logits[:, -1, :].float()
        if then is None:
            return first
        cache = _cache_key(out)
        step = model(
            input_ids=torch.full((n, 1), int(then), dtype=batch["input_ids"].dtype, device=device),
            attention_mask=torch.cat([mask, mask.new_ones((n, 1))], dim=1),
            position_ids=positions[:, -1:] + 1,
            **{cache: out[cache]},
            logits_to_keep=1,
        )
    return first, step.logits[:, -1, :].float()
