"""Train the tiny model on the mini fixture; used by the kill/resume and multi-process tests.

Prints ``micro-batch N`` (flushed) before each forward so a test can SIGKILL it at a chosen point.
Writes ``<run_dir>/final.safetensors`` with the trained weights when it finishes.
"""

import argparse
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run_dir")
    ap.add_argument("--stage", choices=["sft", "dpo"], default="sft")
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--micro-batch-size", type=int, default=2)
    ap.add_argument("--save-every", type=int, default=1)
    ap.add_argument("--lr", type=float, default=1e-3)
    args = ap.parse_args()
    torch.set_num_threads(1)

    from safetensors.torch import save_file

    from sfdpo_helpers import data, models, training

    mini = Path(__file__).resolve().parents[1] / "fixtures" / "mini"
    tok = models.load_tokenizer("tiny")
    model = models.tiny_model(tok, seed=0)
    settings = training.TrainSettings(
        lr=args.lr,
        epochs=100,
        batch_size=args.batch_size,
        micro_batch_size=args.micro_batch_size,
        max_steps=args.steps,
        save_every=args.save_every,
        warmup_ratio=0.2,
        seed=3,
    )
    counter = {"n": 0}

    def announce():
        counter["n"] += 1
        print(f"micro-batch {counter['n']}", flush=True)

    if args.stage == "sft":
        from sfdpo_helpers import sft

        rows, _ = data.load_sft(str(mini))
        original = sft.sft_loss_sum

        def loud(*a, **kw):
            announce()
            return original(*a, **kw)

        sft.sft_loss_sum = loud
        sft.train_sft(model, tok, rows, rows[:2], settings, args.run_dir, progress=False)
    else:
        from sfdpo_helpers import dpo

        pairs, _ = data.load_pairs(str(mini))
        dpo.train_dpo(
            model, tok, pairs, settings, args.run_dir, reference="precomputed", progress=False, on_micro_batch=announce
        )
    trained = {n: p.detach().cpu().contiguous() for n, p in model.named_parameters() if p.requires_grad}
    save_file(trained, str(Path(args.run_dir) / "final.safetensors"))
    print("done", flush=True)


if __name__ == "__main__":
    main()
