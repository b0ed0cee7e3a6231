"""GPU check at the study's scale: a randomly initialised Qwen2.5-0.5B-shaped model, synthetic tokens.

    python bench/gpu_check.py            # on a CUDA machine (about 3 minutes on an H100)
    python bench/gpu_check.py --cpu      # smoke mode at tiny size (CI)

Needs torch, transformers, accelerate, peft and this repository; downloads nothing (the model is
built from Qwen2.5-0.5B's published config values, written below). Prints one line per measurement:

* SFT: tokens/s and MFU of a training step (forward, backward, AdamW) at 1024 tokens, bf16 autocast,
  with the kit's chunked response-only loss; MFU = achieved FLOP/s / peak bf16 FLOP/s, FLOPs per token
  = 6·N (non-embedding parameters plus the output layer) + 12·layers·hidden·sequence (attention);
* DPO: tokens/s of an sfdpo DPO step (chosen + rejected in one forward, precomputed reference);
  ``bench/dpo_vs_trl.py --model qwen0.5b-random`` gives the ratio against TRL on the same batch;
* peak GPU memory of each; sampling tokens/s with K=8 samples per prompt.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

QWEN25_05B = dict(
    vocab_size=151936,
    hidden_size=896,
    intermediate_size=4864,
    num_hidden_layers=24,
    num_attention_heads=14,
    num_key_value_heads=2,
    max_position_embeddings=32768,
    rope_theta=1_000_000.0,
    rms_norm_eps=1e-6,
    tie_word_embeddings=True,
)
TINY = dict(
    QWEN25_05B, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2
)
PEAK_BF16 = {"H100": 989e12, "H200": 989e12, "A100": 312e12, "L4": 121e12, "T4": 65e12}


def build(config: dict, device, attn: str):
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    model = Qwen2ForCausalLM(Qwen2Config(**config, attn_implementation=attn)).to(device)
    return model


def flops_per_token(model, seq: int) -> float:
    cfg = model.config
    n = sum(p.numel() for name, p in model.named_parameters() if "embed_tokens" not in name)
    n += cfg.vocab_size * cfg.hidden_size  # the (tied) output layer still costs its matmul
    return 6 * n + 12 * cfg.num_hidden_layers * cfg.hidden_size * seq


def peak_flops() -> float | None:
    if not torch.cuda.is_available():
        return None
    name = torch.cuda.get_device_name()
    return next((v for k, v in PEAK_BF16.items() if k in name), None)


def synthetic_batch(batch: int, seq: int, vocab: int, device, response_fraction: float = 0.5):
    ids = torch.randint(0, vocab, (batch, seq), device=device)
    labels = ids.clone()
    labels[:, : int(seq * (1 - response_fraction))] = -100
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": labels}


def timed(fn, steps: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / steps


def reset_peak():
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()


def peak_gib() -> str:
    return f"{torch.cuda.max_memory_allocated() / 2**30:.1f} GiB" if torch.cuda.is_available() else "n/a (CPU)"


def sft_check(model, args, device):
    from sfdpo_helpers.losses import sft_loss_sum

    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=torch.cuda.is_available())
    batch = synthetic_batch(args.batch, args.seq, model.config.vocab_size, device, response_fraction=1.0)

    def step():
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.bf16):
            loss, n = sft_loss_sum(model, batch)
        (loss / n).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    reset_peak()
    seconds = timed(step, args.steps)
    tokens = args.batch * args.seq / seconds
    peak = peak_flops()
    mfu = f"{tokens * flops_per_token(model, args.seq) / peak:.1%}" if peak else "n/a"
    print(f"SFT  {args.batch}x{args.seq} tokens: {tokens:,.0f} tokens/s  MFU {mfu}  peak memory {peak_gib()}")


def dpo_check(model, args, device):
    from sfdpo_helpers.dpo import DPOSettings, dpo_batch_terms

    opt = torch.optim.AdamW(model.parameters(), lr=1e-6, fused=torch.cuda.is_available())
    pairs = max(1, args.batch // 2)
    batch = synthetic_batch(2 * pairs, args.seq, model.config.vocab_size, device)
    batch["ref_chosen"] = torch.zeros(pairs, device=device) - 100.0
    batch["ref_rejected"] = torch.zeros(pairs, device=device) - 100.0

    def step():
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.bf16):
            terms = dpo_batch_terms(model, batch, DPOSettings(beta=0.1))
        terms["loss"].mean().backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    reset_peak()
    seconds = timed(step, args.steps)
    print(
        f"DPO  {pairs} pairs x 2 x {args.seq} tokens: {2 * pairs * args.seq / seconds:,.0f} tokens/s "
        f"(sfdpo; TRL ratio: bench/dpo_vs_trl.py)  peak memory {peak_gib()}"
    )


@torch.no_grad()
def sampling_check(model, args, device):
    prompts = torch.randint(0, model.config.vocab_size, (args.prompts, 64), device=device)
    reset_peak()
    model.eval()

    def run():
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.bf16):
            model.generate(
                input_ids=prompts,
                attention_mask=torch.ones_like(prompts),
                do_sample=True,
                temperature=1.0,
                num_return_sequences=8,
                max_new_tokens=args.new_tokens,
                min_new_tokens=args.new_tokens,
                pad_token_id=0,
                top_k=0,
            )

    seconds = timed(run, 1, warmup=1)
    print(
        f"Sampling K=8, {args.prompts} prompts, {args.new_tokens} new tokens: "
        f"{args.prompts * 8 * args.new_tokens / seconds:,.0f} new tokens/s  peak memory {peak_gib()}"
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cpu", action="store_true", help="smoke mode: tiny model on the CPU")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=1024)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--prompts", type=int, default=32)
    ap.add_argument("--new-tokens", type=int, default=256)
    ap.add_argument("--attn", default="sdpa", help="sdpa or flash_attention_2 (if installed)")
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--gradient-checkpointing", action="store_true")
    args = ap.parse_args()
    if args.cpu:
        args.batch, args.seq, args.steps, args.prompts, args.new_tokens = 2, 64, 2, 2, 8
    device = torch.device("cuda" if torch.cuda.is_available() and not args.cpu else "cpu")
    args.bf16 = device.type == "cuda"
    model = build(TINY if args.cpu else QWEN25_05B, device, args.attn)
    if args.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if args.compile:
        model.model.compile()
    name = torch.cuda.get_device_name() if device.type == "cuda" else "CPU"
    print(
        f"device {name}; model {sum(p.numel() for p in model.parameters()) / 1e6:.0f}M parameters; "
        f"attention {args.attn}; compile {args.compile}; gradient checkpointing {args.gradient_checkpointing}"
    )
    sft_check(model, args, device)
    dpo_check(model, args, device)
    sampling_check(model, args, device)


if __name__ == "__main__":
    main()
