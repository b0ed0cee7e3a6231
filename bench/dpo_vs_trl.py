"""Benchmark: the same DPO job with TRL's DPOTrainer and with sfdpo, on this machine.

    python bench/dpo_vs_trl.py [--model tiny|embedded|qwen0.5b-random] [--pairs N] [--epochs 2] [--max-length L]
                               [--batch-size B]
    python bench/dpo_vs_trl.py --memory

``--model qwen0.5b-random`` is a randomly initialised Qwen2.5-0.5B-shaped model (the config values of
``bench/gpu_check.py``, nothing downloaded) with the embedded SmolLM2 tokenizer, whose 49,152 ids fit its
151,936-token vocabulary: the study's scale, for a GPU. On a CUDA machine both sides train there (fp32, TRL
``use_cpu=False``) and each worker also reports its peak GPU memory (``torch.cuda.max_memory_allocated``).

**Job mode.** Same model, same pairs (``sfdpo_helpers/demo_data/pairs.jsonl`` if present, else the
test fixture ``tests/fixtures/mini/pairs.jsonl``, repeated in order if there are fewer than ``--pairs``),
same batch size (one micro-batch per step, no accumulation), same maximum length, full fine-tuning in
fp32, same learning rate, cosine schedule without warm-up, AdamW (torch's, weight decay 0), gradient
clipping at 1.0, reference log-probs precomputed in one pass before training (timed), no eval, no
logging. Pairs longer than ``--max-length`` tokens (prompt + reply) are left out *before* either side
sees them, so neither side truncates anything.

What is made equal on purpose, and why:

* TRL gets the *standard* (string) format with the prompt already rendered by our chat template and the
  bare reply as completion; TRL appends ``eos`` = ``<|im_end|>``. Its token ids and completion masks are
  then exactly ours: each worker hashes its token ids and the parent prints whether they agree.
* TRL 1.16 defaults ``bf16=True`` (autocast, even on CPU) and gradient checkpointing on; both are off,
  because sfdpo runs fp32 without checkpointing here. TRL's default optimizer (fused AdamW) is replaced by
  torch's AdamW, the one sfdpo uses.
* TRL's sampler is replaced by sfdpo's length-grouped batches (same seed), so both sides see the same
  batches in the same order and the per-step losses can be compared, not only the first one.

The first-step loss is log 2 on both sides by construction (policy = reference), so it checks that the
reference pass and the policy pass agree; the following steps check the whole update. The loss maths at
Δ ≠ 0 is compared against TRL in ``tests/test_dpo_losses.py``.

Fairness of time and memory: each side runs in its **own subprocess**, one after the other, with the same
``torch.set_num_threads``. Wall time starts after imports and model loading (identical for both) and covers
tokenization, the reference pass and training. sfdpo's ``train`` always writes a final checkpoint (weights +
optimizer) and TRL is told to save nothing, so that save is timed separately and the ratio is printed with
and without it. Peak RSS is ``ru_maxrss`` of the worker process: a process-wide high-water mark, which is why
each side needs a process of its own (in one process the second run could never show a lower peak than the
first). It is printed as the absolute peak and as the rise over the RSS measured after the model is loaded
(the two workers import different libraries). The parent imports no torch, so the fork-time RSS a child
inherits in its high-water mark is negligible.

**Memory mode** (``--memory``). Peak memory of a forward + backward of summed response log-probs, with
:func:`sfdpo_helpers.losses.sequence_logps` (hidden states kept only at labelled positions, output layer in
checkpointed chunks) against the naive ``log_softmax(model(x).logits).gather(labels)``, on a randomly
initialised 2-layer, 256-wide Qwen2 with Qwen2.5's vocabulary of 151,936, batch 4 x 512 tokens with about
half of them response tokens. ``tracemalloc`` does not see torch's allocations and torch has no CPU
allocator peak statistic, so each variant runs in its own subprocess and reports ``ru_maxrss`` minus the RSS
just before the forward pass (model, inputs and libraries already in memory).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO_PAIRS = ROOT / "sfdpo_helpers" / "demo_data" / "pairs.jsonl"
MINI_PAIRS = ROOT / "tests" / "fixtures" / "mini" / "pairs.jsonl"
MB = 1024 * 1024


# --- shared by the workers ------------------------------------------------------------------------


def _setup(threads: int):
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TQDM_DISABLE", "1")
    sys.path.insert(0, str(ROOT))
    import torch

    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)


def _rss() -> int:
    import psutil

    return psutil.Process().memory_info().rss


def _peak_rss() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux


def _load(model_name: str):
    from sfdpo_helpers import models

    if model_name == "qwen0.5b-random":
        import torch
        from transformers import Qwen2Config, Qwen2ForCausalLM

        from bench.gpu_check import QWEN25_05B

        tok = models.load_tokenizer(models.EMBEDDED)
        ids = dict(pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id, bos_token_id=tok.bos_token_id)
        torch.manual_seed(0)
        return tok, Qwen2ForCausalLM(Qwen2Config(**QWEN25_05B, **ids))
    tok = models.load_tokenizer(model_name)
    model = models.tiny_model(tok, seed=0) if model_name == "tiny" else models.load_model(model_name)
    return tok, model


def _peak_gpu() -> int | None:
    import torch

    return torch.cuda.max_memory_allocated() if torch.cuda.is_available() else None


def _select_pairs(tok, n: int, max_length: int) -> tuple[list[dict], str, int]:
    """The first pairs whose chosen and rejected sequences both fit ``max_length``, repeated up to ``n``."""
    from sfdpo_helpers.collators import tokenize_pairs
    from sfdpo_helpers.data import load_pairs

    path = DEMO_PAIRS if DEMO_PAIRS.exists() else MINI_PAIRS
    rows, _ = load_pairs(str(path))
    examples, _ = tokenize_pairs(rows, tok, 10**6, 10**6)
    fit = [
        rows[e["index"]]
        for e in examples
        if max(len(e["chosen"]["input_ids"]), len(e["rejected"]["input_ids"])) <= max_length
    ]
    if not fit:
        raise SystemExit(f"no pair of {path} fits in {max_length} tokens")
    picked = [fit[i % len(fit)] for i in range(n)]
    return (
        [{"prompt": r["prompt"], "chosen": r["chosen"], "rejected": r["rejected"]} for r in picked],
        str(path.relative_to(ROOT)),
        min(n, len(fit)),
    )


def _token_hash(seqs: list[tuple[list[int], int]]) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(seqs).encode()).hexdigest()[:16]


# --- job workers ----------------------------------------------------------------------------------


def _timer(timers: dict, name: str, fn):
    """``fn`` that adds its wall time to ``timers[name]`` (works for methods too: ``self`` is in ``*a``)."""

    def wrapper(*a, **k):
        t = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            timers[name] += time.perf_counter() - t

    return wrapper


def _sfdpo_settings(args):
    from sfdpo_helpers import training

    return training.TrainSettings(
        lr=args.lr,
        epochs=args.epochs,
        batch_size=args.batch_size,
        micro_batch_size=args.batch_size,
        warmup_ratio=0.0,
        weight_decay=0.0,
        max_grad_norm=1.0,
        seed=0,
        mixed_precision="no",
    )


def worker_sfdpo(args) -> dict:
    from sfdpo_helpers import dpo, training
    from sfdpo_helpers.collators import tokenize_pairs

    tok, model = _load(args.model)
    rows, source, distinct = _select_pairs(tok, args.pairs, args.max_length)
    examples, _ = tokenize_pairs(rows, tok, args.max_length, args.max_length)
    assert len(examples) == len(rows)
    sequences = [(e[k]["input_ids"], e[k]["prompt_len"]) for e in examples for k in ("chosen", "rejected")]
    timers = {"reference_s": 0.0, "save_s": 0.0}
    dpo.precompute_reference = _timer(timers, "reference_s", dpo.precompute_reference)
    if hasattr(training, "save_checkpoint"):  # the final checkpoint save, timed apart
        training.save_checkpoint = _timer(timers, "save_s", training.save_checkpoint)
    else:  # training.py saves through checkpoints.save (looked up at call time)
        from sfdpo_helpers import checkpoints

        checkpoints.save = _timer(timers, "save_s", checkpoints.save)
    rss_loaded = _rss()
    with tempfile.TemporaryDirectory() as run_dir:
        t0 = time.perf_counter()
        history, _ = dpo.train_dpo(
            model,
            tok,
            rows,
            _sfdpo_settings(args),
            Path(run_dir) / "run",
            reference="precomputed",
            max_prompt_tokens=args.max_length,
            max_response_tokens=args.max_length,
            progress=False,
        )
        wall = time.perf_counter() - t0
    return {
        "wall_s": wall,
        **timers,
        "losses": [r["loss"] for r in history if "loss" in r],
        "rss_loaded": rss_loaded,
        "peak_rss": _peak_rss(),
        "peak_gpu": _peak_gpu(),
        "tokens": _token_hash(sequences),
        "source": source,
        "distinct": distinct,
    }


def _same_batches_trainer(batch_size: int):
    """A DPOTrainer subclass whose sampler yields sfdpo's seeded length-grouped batches."""
    import torch
    from trl import DPOTrainer

    from sfdpo_helpers.collators import length_grouped_batches

    class SameBatches(torch.utils.data.Sampler):
        """sfdpo's seeded length-grouped batches, flattened (every batch is full when B divides N)."""

        def __init__(self, lengths):
            self.lengths, self.epoch, self.calls, self.explicit = lengths, 0, 0, False

        def set_epoch(self, epoch):
            self.epoch, self.explicit = epoch, True

        def __iter__(self):
            epoch = self.epoch if self.explicit else self.calls
            self.calls += 1
            return iter([i for b in length_grouped_batches(self.lengths, batch_size, 0, epoch) for i in b])

        def __len__(self):
            return len(self.lengths)

    class Trainer(DPOTrainer):
        def _get_train_sampler(self, train_dataset=None):
            ds = train_dataset if train_dataset is not None else self.train_dataset
            columns = zip(ds["prompt_ids"], ds["chosen_ids"], ds["rejected_ids"])
            return SameBatches([2 * len(p) + len(c) + len(r) for p, c, r in columns])

    return Trainer


def _trl_config(args, out: str):
    import torch
    from trl import DPOConfig

    return DPOConfig(
        output_dir=out,
        beta=0.1,
        loss_type=["sigmoid"],
        learning_rate=args.lr,
        num_train_epochs=args.epochs,
        per_device_train_batch_size=args.batch_size,
        gradient_accumulation_steps=1,
        max_length=args.max_length,
        precompute_ref_log_probs=True,
        precompute_ref_batch_size=args.batch_size,
        lr_scheduler_type="cosine",
        warmup_steps=0,
        weight_decay=0.0,
        max_grad_norm=1.0,
        optim="adamw_torch",
        bf16=False,
        activation_checkpointing=False,
        use_cpu=not torch.cuda.is_available(),
        report_to=[],
        save_strategy="no",
        logging_strategy="no",
        eval_strategy="no",
        disable_tqdm=True,
        dataloader_num_workers=0,
        seed=0,
    )


def worker_trl(args) -> dict:
    from datasets import Dataset
    from trl import DPOTrainer

    from sfdpo_helpers.collators import prompt_text

    tok, model = _load(args.model)
    rows, source, distinct = _select_pairs(tok, args.pairs, args.max_length)
    dataset = Dataset.from_list(
        [{"prompt": prompt_text(tok, r["prompt"]), "chosen": r["chosen"], "rejected": r["rejected"]} for r in rows]
    )
    timers, losses = {"reference_s": 0.0}, []
    DPOTrainer._precompute_ref_logps = _timer(timers, "reference_s", DPOTrainer._precompute_ref_logps)
    rss_loaded = _rss()
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        trainer = _same_batches_trainer(args.batch_size)(
            model=model, args=_trl_config(args, out), train_dataset=dataset, processing_class=tok
        )
        original_loss = trainer.compute_loss

        def recording_loss(model, inputs, return_outputs=False, num_items_in_batch=None):
            out = original_loss(model, inputs, return_outputs, num_items_in_batch)
            if model.training:
                losses.append(float((out[0] if return_outputs else out).detach()))
            return out

        trainer.compute_loss = recording_loss
        trainer.train()
        wall = time.perf_counter() - t0
    ds = trainer.train_dataset
    assert len(ds) == len(rows), "TRL dropped pairs"
    columns = zip(ds["prompt_ids"], ds["chosen_ids"], ds["rejected_ids"])
    sequences = [s for p, c, r in columns for s in ((p + c, len(p)), (p + r, len(p)))]
    return {
        "wall_s": wall,
        **timers,
        "save_s": 0.0,
        "losses": losses,
        "rss_loaded": rss_loaded,
        "peak_rss": _peak_rss(),
        "peak_gpu": _peak_gpu(),
        "tokens": _token_hash(sequences),
        "source": source,
        "distinct": distinct,
    }


# --- memory workers -------------------------------------------------------------------------------


def worker_memory(args) -> dict:
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from sfdpo_helpers.losses import sequence_logps

    config = Qwen2Config(
        vocab_size=151_936,
        hidden_size=256,
        intermediate_size=1024,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
    )
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(config).train()
    batch, length = 4, 512
    ids = torch.randint(0, config.vocab_size, (batch, length))
    mask = torch.ones_like(ids)
    labels = ids.clone()
    for row, prompt in enumerate([240, 256, 272, 256]):  # about half of the tokens are response tokens
        labels[row, :prompt] = -100
    rss0 = _rss()
    t0 = time.perf_counter()
    if args.variant == "naive":
        logits = model(input_ids=ids, attention_mask=mask).logits
        logp = torch.log_softmax(logits[:, :-1].float(), dim=-1)
        targets = labels[:, 1:]
        per_token = logp.gather(-1, targets.clamp(min=0)[..., None]).squeeze(-1) * (targets != -100)
        total = per_token.sum(-1)
    else:
        total = sequence_logps(model, ids, mask, labels, chunk_size=args.chunk_size or None)
    total.sum().backward()
    wall = time.perf_counter() - t0
    return {
        "peak_rise": _peak_rss() - rss0,
        "rss0": rss0,
        "wall_s": wall,
        "value": total.sum().item(),
        "response_tokens": int((labels != -100).sum()) - batch,
    }


# --- parent ---------------------------------------------------------------------------------------


def _spawn(argv: list[str]) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = f.name
    try:
        proc = subprocess.run([sys.executable, __file__, *argv, "--_out", out], capture_output=True, text=True)
        if proc.returncode != 0:
            sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-6000:])
            raise SystemExit(f"worker {argv[:2]} failed with exit code {proc.returncode}")
        return json.loads(Path(out).read_text())
    finally:
        os.unlink(out)


def run_job(args) -> None:
    common = [
        "--model",
        args.model,
        "--pairs",
        str(args.pairs),
        "--epochs",
        str(args.epochs),
        "--max-length",
        str(args.max_length),
        "--batch-size",
        str(args.batch_size),
        "--lr",
        str(args.lr),
        "--threads",
        str(args.threads),
    ]
    ours = _spawn(["--_worker", "sfdpo", *common])
    trl = _spawn(["--_worker", "trl", *common])
    steps = len(ours["losses"])
    print(
        f"DPO job: model={args.model} pairs={args.pairs} ({ours['distinct']} distinct, from {ours['source']}) "
        f"max_length={args.max_length} batch={args.batch_size} epochs={args.epochs} steps={steps} lr={args.lr:g} "
        f"threads={args.threads} fp32 {'GPU' if ours['peak_gpu'] is not None else 'CPU'}"
    )
    same_tokens = ours["tokens"] == trl["tokens"]
    print(
        f"tokenizations identical: {'yes' if same_tokens else 'NO'} (token-id hash {ours['tokens']} vs {trl['tokens']})"
    )
    for name, r in (("sfdpo", ours), ("TRL  ", trl)):
        extra = f", final checkpoint save {r['save_s']:.1f} s" if r["save_s"] else ""
        print(
            f"{name}: wall {r['wall_s']:.1f} s (reference pass {r['reference_s']:.1f} s{extra}), peak RSS "
            f"{r['peak_rss'] / MB:.0f} MB (+{(r['peak_rss'] - r['rss_loaded']) / MB:.0f} MB over the loaded model)"
            + (f", peak GPU memory {r['peak_gpu'] / MB:.0f} MB" if r.get("peak_gpu") is not None else "")
        )
    print(
        f"wall ratio TRL/sfdpo: {trl['wall_s'] / ours['wall_s']:.2f} "
        f"(without sfdpo's checkpoint save: {trl['wall_s'] / (ours['wall_s'] - ours['save_s']):.2f})"
    )
    a, b = ours["losses"][0], trl["losses"][0]
    print(
        f"first-step loss: sfdpo {a:.6f}  TRL {b:.6f}  |diff| {abs(a - b):.1e} "
        f"({'OK' if abs(a - b) <= 1e-4 else 'MISMATCH'} at 1e-4{'' if same_tokens else ', tokenizations differ'})"
    )
    if len(trl["losses"]) == steps:
        diffs = [abs(x - y) for x, y in zip(ours["losses"], trl["losses"])]
        worst = max(range(steps), key=diffs.__getitem__)
        note = "" if args.pairs % args.batch_size == 0 else " (pairs not a multiple of batch: batches may differ)"
        print(
            f"per-step loss, same batches in the same order: max |diff| {diffs[worst]:.1e} at step {worst + 1} "
            f"(sfdpo {ours['losses'][worst]:.6f}, TRL {trl['losses'][worst]:.6f}); last step sfdpo "
            f"{ours['losses'][-1]:.6f} TRL {trl['losses'][-1]:.6f}{note}"
        )
    else:
        print(f"step counts differ: sfdpo {steps}, TRL {len(trl['losses'])}")


def run_memory(args) -> None:
    naive = _spawn(["--_worker", "memory", "--variant", "naive", "--threads", str(args.threads)])
    ours = _spawn(["--_worker", "memory", "--variant", "ours", "--chunk-size", "0", "--threads", str(args.threads)])
    fixed = _spawn(["--_worker", "memory", "--variant", "ours", "--chunk-size", "1024", "--threads", str(args.threads)])
    print(
        f"memory: forward+backward of summed response log-probs, random 2-layer 256-wide Qwen2, vocab 151,936, "
        f"batch 4 x 512 tokens ({naive['response_tokens']} predicted response tokens), threads={args.threads}"
    )
    print(f"naive log_softmax(logits).gather: peak RSS rise {naive['peak_rise'] / MB:.0f} MB, {naive['wall_s']:.1f} s")
    for name, r in (("sequence_logps default chunk_size (auto)", ours), ("sequence_logps chunk_size=1024", fixed)):
        print(
            f"{name}: peak RSS rise {r['peak_rise'] / MB:.0f} MB, {r['wall_s']:.1f} s, ratio ours/naive "
            f"{r['peak_rise'] / naive['peak_rise']:.2f} (target <= 0.3); summed log-prob "
            f"{r['value']:.3f} vs naive {naive['value']:.3f}"
        )


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", choices=["tiny", "embedded", "qwen0.5b-random"], default="tiny")
    ap.add_argument("--pairs", type=int, default=16)
    ap.add_argument("--epochs", type=float, default=2)
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--lr", type=float, default=None, help="default: 1e-3 for tiny, 5e-6 for embedded")
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads of both workers (1: on a shared 2-core machine 2 threads ran ~5x slower)",
    )
    ap.add_argument("--memory", action="store_true", help="peak memory of sequence_logps vs naive log_softmax")
    ap.add_argument("--_worker", choices=["sfdpo", "trl", "memory"], help=argparse.SUPPRESS)
    ap.add_argument("--_out", help=argparse.SUPPRESS)
    ap.add_argument("--variant", choices=["ours", "naive"], default="ours", help=argparse.SUPPRESS)
    ap.add_argument("--chunk-size", type=int, default=1024, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.lr is None:
        args.lr = 1e-3 if args.model == "tiny" else 5e-6
    if args._worker:
        _setup(args.threads)
        result = {"sfdpo": worker_sfdpo, "trl": worker_trl, "memory": worker_memory}[args._worker](args)
        Path(args._out).write_text(json.dumps(result))
        return
    import signal

    # `timeout` / kill: leave through SystemExit, so that subprocess.run kills the running worker too
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    run_memory(args) if args.memory else run_job(args)


if __name__ == "__main__":
    main()
