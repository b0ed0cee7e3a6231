"""Peak GPU memory of each notebook at the study's settings, from parameter counts, lengths and batch.

    python scripts/memory_table.py            # the README's table (Markdown)

An estimate, not a measurement (no GPU was at hand when it was written): every number comes from the
arithmetic below, with the model shapes of Qwen2.5-0.5B (config.json values) and the reward models'
published sizes. What it counts:

* weights: parameters × bytes (fp32 master weights under bf16/fp16 autocast, as the kit trains);
* training state: full fine-tuning keeps fp32 gradients and AdamW's two moments (16 bytes per
  parameter in all); LoRA (r = 16 on every projection) only for the adapter's parameters;
* activations (bf16/fp16): 66·h bytes per token and layer kept for backward, times micro-batch ×
  sequence length (DPO runs chosen and rejected rows together). Korthikanti et al. 2022 count 34·h for
  a GPT block with a 4h MLP; Qwen2.5's SwiGLU MLP is 5.4h wide with three matrices. 66·h is what the one
  GPU measurement of this project gives: sfdpo's SFT step on a random Qwen2.5-0.5B-shaped model, batch
  8 × 1024, bf16, H200, peaked at 19.5 GiB (16 × 1024: 31.7 GiB; this formula: 19.5 and 30.6);
* the output layer: the kit's chunked log-probs keep one chunk of fp32 logits (and its gradient) at a
  time (1 GiB here), not batch × length × vocabulary (8 × 1024 × 151,936 × 4 bytes = 4.6 GiB, twice);
* generation: weights plus the KV cache (2 × layers × kv_heads × head_dim × 2 bytes per token);
* 1 GiB for the CUDA context and allocator slack.
"""

from __future__ import annotations

import argparse

GIB = 2**30
QWEN25_05B = {
    "params": 494_032_768,
    "embed": 151_936 * 896,
    "layers": 24,
    "hidden": 896,
    "kv_heads": 2,
    "head_dim": 64,
    "vocab": 151_936,
    "intermediate": 4864,
}
REWARD_MODELS = {"Skywork-Reward-V2-Qwen3-0.6B": 0.6e9, "Nemotron-70B-Reward (4-bit)": 70.6e9 * 0.56 / 2}
GPUS = {"T4 16 GB": 16, "L4 24 GB": 24, "A100/H100 80 GB": 80}
CONTEXT = 1.0 * GIB


def lora_params(model: dict, r: int = 16) -> int:
    """r × (in + out) for q, k, v, o, gate, up, down in every layer."""
    h, kv, inter = model["hidden"], model["kv_heads"] * model["head_dim"], model["intermediate"]
    shapes = [(h, h), (h, kv), (h, kv), (h, h), (h, inter), (h, inter), (inter, h)]
    return model["layers"] * sum(r * (a + b) for a, b in shapes)


def training_bytes(model: dict, lora_r: int, sequences: int, seq_len: int, logits_budget: float = GIB) -> float:
    weights = 4 * model["params"]
    trainable = lora_params(model, lora_r) if lora_r else model["params"]
    state = 12 * trainable  # fp32 gradient + AdamW exp_avg + exp_avg_sq
    activations = 66 * model["hidden"] * model["layers"] * sequences * seq_len
    return weights + state + activations + logits_budget + CONTEXT


def generation_bytes(model: dict, batch: int, seq_len: int) -> float:
    kv = 2 * model["layers"] * model["kv_heads"] * model["head_dim"] * 2 * batch * seq_len
    return 4 * model["params"] + kv + 4 * batch * model["vocab"] + CONTEXT


def rows(
    micro_batch: int = 8,
    lora_r: int = 0,
    prompt: int = 255,
    response: int = 420,
    gen_batch: int = 64,
    new_tokens: int = 512,
    reward: str = "Skywork-Reward-V2-Qwen3-0.6B",
) -> list[tuple[str, float]]:
    """(notebook, GiB) at the given settings; the reward model is loaded beside the policy in 03–07."""
    m, seq = QWEN25_05B, prompt + response
    rm = 2 * REWARD_MODELS[reward] if "4-bit" not in reward else REWARD_MODELS[reward]  # bf16 or 4-bit bytes
    gen = generation_bytes(m, gen_batch, prompt + new_tokens)
    sft = training_bytes(m, lora_r, micro_batch, seq)
    dpo = training_bytes(m, lora_r, 2 * micro_batch, seq)
    return [
        ("01 data prep (tokenizer only)", 0.0),
        ("02 SFT (+ win-rate monitor)", (sft + rm) / GIB),
        ("03 answers + judging", (gen + rm) / GIB),
        ("04 DPO (precomputed reference)", (dpo + rm) / GIB),
        ("05 RS-DPO (sampling, then DPO)", (max(dpo, gen) + rm) / GIB),
        ("06 curriculum (answers + judging)", (gen + rm) / GIB),
        (
            "07 self-improvement (8 samples, DPO)",
            (max(dpo, generation_bytes(m, gen_batch, prompt + new_tokens)) + rm) / GIB,
        ),
    ]


def table(**settings) -> str:
    lines = ["| notebook | peak GiB | " + " | ".join(GPUS) + " |", "|---|---|" + "---|" * len(GPUS)]
    for name, gib in rows(**settings):
        fits = ["fits" if gib <= size * 0.93 else "**no**" for size in GPUS.values()]  # 16 GB cards hold ~14.9 GiB
        lines.append(f"| {name} | {gib:.1f} | " + " | ".join(fits) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--micro-batch", type=int, default=8)
    ap.add_argument("--lora-r", type=int, default=0)
    args = ap.parse_args()
    print(
        f"The study's settings (full fine-tuning, micro-batch {args.micro_batch}, prompt 255 + response 420 tokens):\n"
    )
    print(table(micro_batch=args.micro_batch, lora_r=args.lora_r))
    print("\nThe colab profile (LoRA r=16, micro-batch 4, 256 new tokens):\n")
    print(table(micro_batch=4, lora_r=16, new_tokens=256))


if __name__ == "__main__":
    main()
