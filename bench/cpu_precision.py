"""fp32 against bf16 autocast on this CPU, side by side in one process: a LoRA training step (forward and
backward of one micro-batch) and greedy decoding with ``sampling.generate``. Why ``mixed_precision: auto``
picks bf16 on CPUs with native bf16 matmuls (``models.cpu_has_native_bf16``) and fp32 elsewhere.

Decoding speed is rows × new tokens per second (the budget, whether or not a row ended early: both precisions
get the same prompts). The two precisions alternate, ``--repeats`` times each after one warm-up, so a drift of
the machine's speed hits both alike; the ratio line compares their medians.

    python bench/cpu_precision.py                     # embedded SmolLM2-135M: about 3 minutes on 2 cores
    python bench/cpu_precision.py --model tiny --repeats 1 --rows 2 --tokens 16 --new-tokens 4   # smoke
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

PRECISIONS = ("no", "bf16")


def train_step(model, ids, precision: str) -> float:
    """Seconds of one forward and backward of ``ids`` under the precision's autocast (gradients cleared)."""
    from sfdpo_helpers import models

    start = time.perf_counter()
    with models.autocast(precision, device="cpu"):
        loss = model(input_ids=ids, labels=ids).loss
    loss.backward()
    model.zero_grad(set_to_none=True)
    return time.perf_counter() - start


def decode(model, tokenizer, prompts, new_tokens: int, precision: str) -> float:
    """Seconds of greedy decoding of ``prompts`` in one batch."""
    from sfdpo_helpers import sampling

    start = time.perf_counter()
    sampling.generate(model, tokenizer, prompts, temperature=0.0, max_new_tokens=new_tokens, batch_size=len(prompts),
                      precision=precision)  # fmt: skip
    return time.perf_counter() - start


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="embedded", help="embedded | tiny | a local model folder")
    ap.add_argument("--rows", type=int, default=8, help="micro-batch rows of the training step")
    ap.add_argument("--tokens", type=int, default=300, help="tokens per training row")
    ap.add_argument("--prompts", type=int, default=96, help="decoding batch (the offline profile's gen_batch_size)")
    ap.add_argument("--new-tokens", type=int, default=24)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)

    import torch

    from sfdpo_helpers import models, training

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, native bf16: {models.cpu_has_native_bf16()}")
    tokenizer = models.load_tokenizer(args.model)
    model = training.add_lora(models.load_model(args.model, device="cpu"), r=16, seed=0)
    ids = torch.randint(100, len(tokenizer) - 1, (args.rows, args.tokens), generator=torch.Generator().manual_seed(0))
    prompts = [f"Write {i + 2} sentences about the number {i}." for i in range(args.prompts)]
    times: dict = {(task, p): [] for task in ("train", "decode") for p in PRECISIONS}
    for repeat in range(args.repeats + 1):  # the first round warms up both paths and is not counted
        for p in PRECISIONS:
            step = train_step(model, ids, p)
            answer = decode(model, tokenizer, prompts, args.new_tokens, p)
            if repeat:
                times["train", p].append(step)
                times["decode", p].append(answer)
    for task, unit, work in (
        ("train", "tokens/s", ids.numel()),
        ("decode", "rows x steps/s", len(prompts) * args.new_tokens),
    ):
        median = {p: statistics.median(times[task, p]) for p in PRECISIONS}
        for p in PRECISIONS:
            print(f"{task:6} {p:4}: {median[p]:7.2f} s, {work / median[p]:8.1f} {unit}")
        print(f"{task:6} bf16 / fp32 speed: {median['no'] / median['bf16']:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
