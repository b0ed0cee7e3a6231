"""Resumable sampling on the tiny model; used by the kill/resume test of ``sample_to_shards``.

Samples ``--n-prompts`` prompts (k=2, T=1.0) in shards of ``--shard-size`` into ``out_dir`` and
writes the returned rows to ``--result`` (JSON) when it finishes. Before sampling each missing shard
it prints ``sampling shard N`` (flushed); with ``--pause-at N`` it then sleeps instead of sampling
shard N, so a test can SIGKILL it at exactly that point (shards 0..N-1 written, shard N not).
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

PROMPTS = [
    "Hi",
    "Write a haiku about the sea.",
    "What is 2+2?",
    "Explain recursion in one long sentence with an example about trees.",
    "Name a color.",
    "Give three reasons to learn Python, as a bulleted list.",
    "Translate 'good morning' into French.",
    "Why is the sky blue?",
    "List the first five prime numbers.",
    "Summarize the plot of Hamlet in two sentences.",
    "Ok",
    "Describe a cat to someone who has never seen one, in exactly four sentences.",
    "What is the capital of Japan?",
    "Write a limerick about a programmer who never sleeps.",
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--result", required=True)
    ap.add_argument("--n-prompts", type=int, default=12)
    ap.add_argument("--shard-size", type=int, default=3)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--pause-at", type=int, default=-1)
    args = ap.parse_args()
    torch.set_num_threads(1)

    from sfdpo_helpers import models, sampling

    tok = models.load_tokenizer("tiny")
    model = models.tiny_model(tok, seed=0)
    original = sampling.generate
    counter = {"shard": 0}

    def announced(model, tokenizer, prompts, **kwargs):
        # sample_to_shards calls generate once per missing shard, with that shard's prompts
        shard = PROMPTS.index(prompts[0]) // args.shard_size
        print(f"sampling shard {shard}", flush=True)
        if shard == args.pause_at:
            time.sleep(600)  # wait to be killed
        counter["shard"] += 1
        return original(model, tokenizer, prompts, **kwargs)

    sampling.generate = announced
    rows = sampling.sample_to_shards(
        model,
        tok,
        PROMPTS[: args.n_prompts],
        args.out_dir,
        shard_size=args.shard_size,
        seed=args.seed,
        progress=False,
        k=2,
        temperature=1.0,
        max_new_tokens=6,
        batch_size=4,
    )
    Path(args.result).write_text(json.dumps(rows, ensure_ascii=False))
    print(f"done: {counter['shard']} shards sampled", flush=True)


if __name__ == "__main__":
    main()
