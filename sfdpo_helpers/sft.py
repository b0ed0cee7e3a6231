"""Supervised fine-tuning: the pieces the SFT notebook wires into :func:`training.train`."""

from __future__ import annotations

import torch

from .collators import PackedSFTCollator, SFTCollator, tokenize_sft
from .losses import sft_loss_sum
from .training import TrainSettings, train


def response_token_count(batch) -> int:
    """Labelled (response + end-of-turn) tokens in a batch: the SFT loss is averaged over these."""
    return int((batch["labels"][:, 1:] != -100).sum())


@torch.no_grad()
def eval_loss(
    model, examples: list[dict], pad_token_id: int, batch_size: int = 8, chunk_size: int | None = None
) -> float:
    """Token-weighted mean NLL of the response tokens of ``examples``."""
    collate = SFTCollator(pad_token_id)
    device = next(model.parameters()).device
    total, tokens = 0.0, 0
    for start in range(0, len(examples), batch_size):
        batch = {k: v.to(device) for k, v in collate(examples[start : start + batch_size]).items()}
        loss, n = sft_loss_sum(model, batch, chunk_size)
        total, tokens = total + float(loss), tokens + n
    return total / max(tokens, 1)


def train_sft(
    model,
    tokenizer,
    train_rows: list[dict],
    eval_rows: list[dict],
    settings: TrainSettings,
    run_dir,
    max_prompt_tokens: int = 320,
    max_response_tokens: int = 440,
    monitor_fn=None,
    resume: bool = True,
    progress: bool = True,
):
    """Tokenize, then train with the response-token-normalised NLL. Returns (history, skip reports)."""
    train_ex, train_report = tokenize_sft(train_rows, tokenizer, max_prompt_tokens, max_response_tokens, "sft train")
    eval_ex, eval_report = tokenize_sft(eval_rows, tokenizer, max_prompt_tokens, max_response_tokens, "sft eval")
    pad = tokenizer.pad_token_id

    def loss_sum(m, batch):
        loss, _ = sft_loss_sum(m, batch, settings.chunk_size)
        return loss, {}

    def eval_fn(m):
        return (
            {"eval_loss": eval_loss(m, eval_ex, pad, settings.micro_batch_size, settings.chunk_size)} if eval_ex else {}
        )

    lengths = [len(e["input_ids"]) for e in train_ex]
    collate = PackedSFTCollator(pad_token_id=pad) if settings.packing else SFTCollator(pad)
    history = train(model, train_ex, collate, loss_sum, response_token_count, lengths, settings, run_dir,
                    eval_fn, monitor_fn, resume, progress)  # fmt: skip
    return history, (train_report, eval_report)
