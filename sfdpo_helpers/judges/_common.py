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


def last_logits(model, id_lists: list[list[int]], pad_token_id: int, then: int | None = None):
    """Next-token logits after each token list: left padding with explicit position ids, so
    a padded row sees the same positions as when it is scored alone.

    With ``then`` (a token id), also the logits after that token appended to every row, as a second
    tensor: one more step on the first pass's KV cache, so the rows are not run twice."""
    import torch

    from ..collators import pad

    batch = pad(id_lists, pad_token_id, side="left")
    device = model_device(model)
    mask = batch["attention_mask"].to(device)
    with torch.no_grad():
        out = model(
            input_ids=batch["input_ids"].to(device),
            attention_mask=mask,
            position_ids=batch["position_ids"].to(device),
            use_cache=then is not None,
            logits_to_keep=1,
        )
        first = out.logits[:, -1, :].float()
        if then is None:
            return first
        n = len(id_lists)
        cache = "cache" if "cache" in out else "past_key_values"  # the output's and the input's name since 5.x
        step = model(
            input_ids=torch.full((n, 1), int(then), dtype=batch["input_ids"].dtype, device=device),
            attention_mask=torch.cat([mask, mask.new_ones((n, 1))], dim=1),
            position_ids=batch["position_ids"][:, -1:].to(device) + 1,
            **{cache: out[cache]},
            logits_to_keep=1,
        )
    return first, step.logits[:, -1, :].float()
