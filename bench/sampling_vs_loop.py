"""Throughput of ``sampling.generate`` (batched, length-sorted, left padding, KV cache) against a
naive loop of one ``model.generate`` call per prompt, on the same prompts, in one process.

Both decode greedily with the same ``max_new_tokens`` and the same stop token (``<|im_end|>``).
New tokens are counted from the generated ids themselves: the tokens of each answer before its
first end-of-turn token, plus that token when the answer stopped by itself; padding after a row
stopped is never counted. The same counter is used for both paths.

    python bench/sampling_vs_loop.py --model embedded --prompts 32 --max-new-tokens 64
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

FALLBACK_PROMPTS = [
    "Explain what a hash table is.",
    "Write a short poem about autumn.",
    "What is the capital of France?",
    "Give three tips for learning a new language.",
    "Summarize the causes of World War I in a paragraph.",
    "How do vaccines work?",
    "Write a haiku about the sea.",
    "What is 17 times 23?",
]


def load_prompts(n: int) -> list[str]:
    path = ROOT / "sfdpo_helpers" / "demo_data" / "eval_prompts.jsonl"
    if path.exists():
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        prompts = [r["prompt"] for r in rows]
    else:
        prompts = FALLBACK_PROMPTS
    return [prompts[i % len(prompts)] for i in range(n)]


def count_new(new_ids, eot: int) -> int:
    """Tokens generated for one row: up to and including the first end-of-turn token."""
    ids = new_ids.tolist()
    return ids.index(eot) + 1 if eot in ids else len(ids)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="embedded", help="embedded | tiny | a local model folder")
    ap.add_argument("--prompts", type=int, default=32)
    ap.add_argument("--max-new-tokens", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch CPU threads (0: torch's default); on a shared "
        "machine 1 avoids the stalls of oversubscribed threads",
    )
    args = ap.parse_args(argv)

    import torch

    if args.threads > 0:
        torch.set_num_threads(args.threads)

    from sfdpo_helpers import models, sampling
    from sfdpo_helpers.collators import end_of_turn_id, prompt_text

    tok = models.load_tokenizer(args.model)
    model = models.load_model(args.model).eval()
    eot = end_of_turn_id(tok)
    prompts = load_prompts(args.prompts)
    print(
        f"model={args.model} prompts={len(prompts)} max_new_tokens={args.max_new_tokens} "
        f"batch_size={args.batch_size} torch_threads={torch.get_num_threads()} device=cpu"
    )

    # --- naive loop: one prompt at a time
    def loop(ps):
        texts, tokens = [], 0
        for p in ps:
            ids = tok(prompt_text(tok, p), return_tensors="pt", add_special_tokens=False)
            with torch.no_grad():
                out = model.generate(
                    **ids,
                    max_new_tokens=args.max_new_tokens,
                    do_sample=False,
                    eos_token_id=eot,
                    pad_token_id=tok.pad_token_id,
                    use_cache=True,
                )
            new = out[0, ids["input_ids"].shape[1] :]
            tokens += count_new(new, eot)
            texts.append(tok.decode(new, skip_special_tokens=True).strip())
        return texts, tokens

    # --- sampling.generate, with model.generate wrapped only to count the generated ids
    counted = {"tokens": 0}
    real_generate = model.generate

    def counting_generate(**kw):
        out = real_generate(**kw)
        for row in out[:, kw["input_ids"].shape[1] :]:
            counted["tokens"] += count_new(row, eot)
        return out

    model.generate = counting_generate

    def batched(ps):
        counted["tokens"] = 0
        texts = [
            r[0]
            for r in sampling.generate(
                model, tok, ps, k=1, temperature=0.0, max_new_tokens=args.max_new_tokens, batch_size=args.batch_size
            )
        ]
        return texts, counted["tokens"]

    # warm-up (first-call allocations, lazy imports) for both paths, not timed
    loop(prompts[:1])
    batched(prompts[:2])

    start = time.perf_counter()
    batch_texts, batch_tokens = batched(prompts)
    batch_s = time.perf_counter() - start
    start = time.perf_counter()
    loop_texts, loop_tokens = loop(prompts)
    loop_s = time.perf_counter() - start

    batch_tps, loop_tps = batch_tokens / batch_s, loop_tokens / loop_s
    same = sum(a == b for a, b in zip(batch_texts, loop_texts))
    print(f"sampling.generate : {batch_tokens} new tokens in {batch_s:.1f} s = {batch_tps:.1f} tok/s")
    print(f"per-prompt loop   : {loop_tokens} new tokens in {loop_s:.1f} s = {loop_tps:.1f} tok/s")
    print(
        f"speed-up: {batch_tps / loop_tps:.2f}x tokens/s, {loop_s / batch_s:.2f}x wall time (target >= 3x); "
        f"identical greedy answers: {same}/{len(prompts)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
