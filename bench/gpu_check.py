"""GPU check at the study's scale: sfdpo's SFT and DPO steps against the plain HF path, TRL and Liger, one run.

    python bench/gpu_check.py                       # CUDA machine (a few minutes on an H100)
    python bench/gpu_check.py --attn flash_attention_2 --compile --batch 16
    python bench/gpu_check.py --cpu                 # smoke mode at tiny size (CI, well under a minute)

Needs torch, transformers, accelerate, peft and this repository; TRL (with ``datasets``) and Liger are measured
when importable, else a line says they were skipped. Downloads nothing: a random Qwen2.5-0.5B-shaped model is
built from the config values below (``--cpu``: 2 layers, 64 wide, vocabulary 8,192). Every variant starts from
the same weights (restored before each) and sees the same token ids; a step is forward, backward and AdamW
(fused on CUDA) under bf16 autocast (fp32 on a CPU). The first step's loss checks that the variants agree.

**Workloads.** *fixed*: ``--batch`` sequences of ``--seq`` tokens, the second half response. *smoltalk*: prompt
and response lengths drawn (seeded, new per step) from log-normals whose 95th percentile is the study's cut
(Table 1: 255 prompt and 420 response tokens are the 95th percentiles), σ = 1.0 (prompts) and 0.7 (responses),
clipped to [8, 255] and [16, 420]: medians 49 and 133 tokens, 5% at each cap. The σs are assumptions (the kit
ships no smoltalk lengths) giving the skew that makes padding costly. DPO: ``--batch // 2`` pairs sharing the
prompt, reference log-probs precomputed (set to 0, so the loss depends on the policy's log-prob gap).

**Variants.** SFT: sfdpo padded (``SFTCollator``; output layer on response positions in chunks of
``losses.auto_chunk_size``), sfdpo packed (``PackedSFTCollator``, rows of ``--pack-row-tokens``: padding only at
the end of a row), the same with torch's fused ``linear_cross_entropy``, the plain HF path ``model(input_ids,
attention_mask, labels=...).loss`` (full logits), TRL's ``SFTTrainer.compute_loss`` + backward on the same ids
(trainer built on a one-row dataset and a toy tokenizer; TRL's own fused LM head), Liger
(``apply_liger_kernel_to_qwen2``, fused linear CE; it patches Qwen2 for good, so it runs last). DPO: sfdpo padded
and packed (``batch_sequence_logps`` + ``losses.dpo_loss``), the plain HF path with full logits
(``log_softmax(model(x).logits).gather``), TRL's ``DPOTrainer.compute_loss`` + backward (its collator's keys).

**Report.** tokens/s of non-padding tokens; MFU = FLOP/s / the GPU's dense bf16 peak (table below) with FLOPs per
token = 6·N (non-embedding) + 6·V·H (output layer) + 12·L·H·s (attention, s = that sequence's length); peak
memory = ``torch.cuda.max_memory_allocated`` over the timed steps (weights and AdamW state included); ratios to
the plain HF path and, for DPO, to TRL. Targets: ≥ 1.3x HF on smoltalk at ≤ 0.6x its memory, ≥ 1.0x on fixed
blocks, MFU ≥ 40%, DPO ≥ 1.5x TRL. Last, sampling throughput with K = 8 samples per prompt.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# after the path insert; these modules import neither datasets nor trl
from sfdpo_helpers.collators import IGNORE, PackedPairCollator, PackedSFTCollator, PairCollator, SFTCollator  # noqa: E402
from sfdpo_helpers.losses import batch_sequence_logps, dpo_loss, fused_backend, sft_loss_sum  # noqa: E402

QWEN25_05B = dict(vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                  num_attention_heads=14, num_key_value_heads=2, max_position_embeddings=32768,
                  rope_theta=1_000_000.0, rms_norm_eps=1e-6, tie_word_embeddings=True)  # fmt: skip
TINY = dict(QWEN25_05B, vocab_size=8192, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2)  # fmt: skip
# dense bf16 tensor-core peak, FLOP/s; the first name contained in the device name wins
PEAK_BF16 = [("H100 PCIe", 756e12), ("H100", 989e12), ("H200", 989e12), ("H800", 989e12), ("B200", 2250e12),
             ("A100", 312e12), ("L40S", 362e12), ("L4", 121e12), ("A10", 125e12), ("T4", 65e12)]  # fmt: skip
SMOLTALK = dict(prompt=(255, 1.0, 8), response=(420, 0.7, 16))  # cap (the 95th percentile), σ, minimum


def build(config: dict, device, attn: str):
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    return Qwen2ForCausalLM(Qwen2Config(**config, attn_implementation=attn)).to(device)


def peak_flops() -> float | None:
    if not torch.cuda.is_available():
        return None
    name = torch.cuda.get_device_name()
    return next((v for k, v in PEAK_BF16 if k in name), None)


def batch_flops(cfg, n_params: int, lengths: list[int]) -> float:
    """Σ_i n_i·(6·N + 6·V·H) + Σ_i 12·L·H·n_i² over the sequences of a batch (n_i tokens each)."""
    per_token = 6 * n_params + 6 * cfg.vocab_size * cfg.hidden_size
    return sum(n * per_token + 12 * cfg.num_hidden_layers * cfg.hidden_size * n * n for n in lengths)


def smoltalk_lengths(n: int, g: torch.Generator, scale: float = 1.0) -> list[tuple[int, int]]:
    """(prompt, response) lengths: log-normal, 95th percentile = cap·scale, clipped (see the docstring)."""
    out = []
    for cap, sigma, low in SMOLTALK.values():
        cap = max(low + 1, round(cap * scale))
        median = cap / math.exp(1.645 * sigma)
        z = torch.randn(n, generator=g)
        out.append((median * torch.exp(sigma * z)).round().clamp(min(low, cap), cap).long().tolist())
    return list(zip(*out))


def example(prompt: list[int], response: list[int]) -> dict:
    return {"input_ids": prompt + response, "labels": [IGNORE] * len(prompt) + response}


def make_batches(args, vocab: int, workload: str, task: str) -> list[list[dict]]:
    """``args.warmup + args.steps`` batches of examples (SFT) or pairs (DPO), the same for every variant."""
    g = torch.Generator().manual_seed(0 if task == "sft" else 1)
    rows = args.batch if task == "sft" else max(1, args.batch // 2)
    ids = lambda n: torch.randint(0, vocab, (n,), generator=g).tolist()  # noqa: E731
    batches = []
    for _ in range(args.warmup + args.steps):
        if workload == "fixed":
            half = args.seq // 2
            lengths = [(half, args.seq - half, args.seq - half)] * rows
        else:
            drawn = smoltalk_lengths(2 * rows, g, args.scale)
            lengths = [(drawn[i][0], drawn[i][1], drawn[rows + i][1]) for i in range(rows)]
        if task == "sft":
            batches.append([example(ids(p), ids(r)) for p, r, _ in lengths])
        else:
            pairs = []
            for i, (p, r1, r2) in enumerate(lengths):
                prompt = ids(p)
                pair = {"chosen": example(prompt, ids(r1)), "rejected": example(prompt, ids(r2)), "index": i}
                pairs.append({**pair, "ref_chosen": 0.0, "ref_rejected": 0.0})
            batches.append(pairs)
    return batches


def seq_lengths(batch: list[dict]) -> list[int]:
    if "chosen" in batch[0]:
        return [len(p[k]["input_ids"]) for k in ("chosen", "rejected") for p in batch]
    return [len(e["input_ids"]) for e in batch]


# --- variants: (collate(examples) -> batch, step(model, batch) -> loss) --------------------------------


def _padded_pairs(pairs: list[dict]) -> dict:
    batch = PairCollator(0)(pairs)
    batch["ref_chosen"] = torch.tensor([p["ref_chosen"] for p in pairs])
    batch["ref_rejected"] = torch.tensor([p["ref_rejected"] for p in pairs])
    return batch


def _sfdpo_sft(fused: str):
    def step(model, batch):
        loss, n = sft_loss_sum(model, batch, fused=fused)
        return loss / n

    return step


def _sfdpo_dpo(model, batch):
    logps = batch_sequence_logps(model, batch)
    n = batch["pair_index"].shape[0]
    return dpo_loss(logps[:n], logps[n:], batch["ref_chosen"], batch["ref_rejected"])[0].mean()


def _naive_dpo(model, batch):
    """Full logits: ``log_softmax(model(x).logits[:, :-1]).gather(labels[:, 1:])`` summed per row."""
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], use_cache=False).logits
    targets = batch["labels"][:, 1:]
    logp = torch.log_softmax(logits[:, :-1].float(), dim=-1)
    total = (logp.gather(-1, targets.clamp(min=0)[..., None]).squeeze(-1) * (targets != IGNORE)).sum(-1)
    n = batch["ref_chosen"].shape[0]
    return dpo_loss(total[:n], total[n:], batch["ref_chosen"], batch["ref_rejected"])[0].mean()


def core_variants(task: str, args) -> dict:
    pad, rows = SFTCollator(0), args.pack_row_tokens or None
    if task == "DPO":
        return {
            "sfdpo padded": (_padded_pairs, _sfdpo_dpo),
            "sfdpo packed": (PackedPairCollator(rows), _sfdpo_dpo),
            "HF plain": (_padded_pairs, _naive_dpo),
        }
    variants = {
        "sfdpo padded": (pad, _sfdpo_sft("none")),
        "sfdpo packed": (PackedSFTCollator(rows), _sfdpo_sft("none")),
    }
    try:
        fused_backend("torch", "cpu")
        variants["sfdpo packed + torch fused CE"] = (PackedSFTCollator(rows), _sfdpo_sft("torch"))
    except ValueError:
        print("sfdpo packed + torch fused CE: this torch has no linear_cross_entropy, skipped")
    variants["HF plain"] = (pad, lambda model, batch: model(**batch, use_cache=False).loss)
    return variants


def toy_tokenizer():
    """A 5-word tokenizer: TRL's trainers want one; the measured token ids never pass through it."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({"<pad>": 0, "<eos>": 1, "a": 2, "b": 3, "c": 4}, unk_token="<pad>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>")


def trl_variant(task: str, model, args):
    """TRL's trainer built on ``model`` (one-row dataset, toy tokenizer); the step is its ``compute_loss`` on our
    token ids (SFT: input_ids / attention_mask / labels; DPO: its collator's keys, reference precomputed). Raises
    ImportError when TRL or ``datasets`` is missing. TRL patches ``model.forward``: undo with :func:`untrl`."""
    import datasets
    from trl import DPOConfig, DPOTrainer, SFTConfig, SFTTrainer

    datasets.disable_progress_bars()
    os.environ.setdefault("TQDM_DISABLE", "1")  # TRL's reference pass over its one-row dataset
    Dataset = datasets.Dataset  # noqa: N806
    checkpointing = "activation_checkpointing" if "activation_checkpointing" in SFTConfig.__dataclass_fields__ else (
        "gradient_checkpointing")  # fmt: skip
    common = {"output_dir": args.tmp, "report_to": [], "bf16": False, "use_cpu": args.device.type == "cpu",
              checkpointing: args.gradient_checkpointing, "per_device_train_batch_size": 1, "disable_tqdm": True,
              "save_strategy": "no", "logging_strategy": "no", "dataloader_num_workers": 0}  # fmt: skip
    if task == "SFT":
        rows = Dataset.from_list([{"prompt": "a", "completion": " b c"}])
        trainer = SFTTrainer(
            model=model, args=SFTConfig(**common), train_dataset=rows, processing_class=toy_tokenizer()
        )
        return "TRL SFTTrainer", (SFTCollator(0), lambda m, b: trainer.compute_loss(m, dict(b)))
    rows = Dataset.from_list([{"prompt": "a", "chosen": " b", "rejected": " c"}])
    config = DPOConfig(**common, beta=0.1, loss_type=["sigmoid"], precompute_ref_log_probs=True, max_length=None)
    trainer = DPOTrainer(model=model, args=config, train_dataset=rows, processing_class=toy_tokenizer())

    def collate(pairs):
        batch = _padded_pairs(pairs)
        keys = {"input_ids": "input_ids", "attention_mask": "attention_mask"}
        keys.update(ref_chosen_logps="ref_chosen", ref_rejected_logps="ref_rejected")
        return {k: batch[v] for k, v in keys.items()} | {"completion_mask": (batch["labels"] != IGNORE).long()}

    return "TRL DPOTrainer", (collate, lambda m, b: trainer.compute_loss(m, dict(b)))


def untrl(model) -> None:
    model.__dict__.pop("forward", None)  # TRL's fused LM head is an instance attribute over the class forward


def liger_variant(model, args):
    """Liger's kernels (RoPE, RMSNorm, SwiGLU, fused linear cross-entropy) patched into Qwen2; None if unusable."""
    try:
        from liger_kernel.transformers import apply_liger_kernel_to_qwen2
    except ImportError as err:
        print(f"Liger: not importable, skipped ({type(err).__name__}: {err})")
        return None
    if args.device.type != "cuda":
        print("Liger: importable but its Triton kernels need CUDA, skipped")
        return None
    apply_liger_kernel_to_qwen2(
        rope=True, rms_norm=True, swiglu=True, cross_entropy=False, fused_linear_cross_entropy=True, model=model
    )
    return SFTCollator(0), lambda m, b: m(**b, use_cache=False).loss


# --- measuring -------------------------------------------------------------------------------------------


def sync(args):
    if args.device.type == "cuda":
        torch.cuda.synchronize()


def measure(model, args, collate, step, batches, lr: float) -> dict:
    """Warm-up steps, then ``args.steps`` timed steps (forward, backward, AdamW) from the initial weights."""
    model.load_state_dict(args.initial)
    inputs = [{k: v.to(args.device) for k, v in collate(b).items()} for b in batches]
    cuda = args.device.type == "cuda"
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr, fused=cuda)

    def one(batch):
        with torch.autocast(args.device.type, dtype=torch.bfloat16, enabled=args.bf16):
            loss = step(model, batch)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return float(loss.detach())

    first = [one(b) for b in inputs[: args.warmup]][0]
    sync(args)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    for b in inputs[args.warmup :]:
        one(b)
    sync(args)
    seconds = time.perf_counter() - start
    timed = [seq_lengths(b) for b in batches[args.warmup :]]
    flops = sum(batch_flops(model.config, args.n_params, lengths) for lengths in timed)
    peak = torch.cuda.max_memory_allocated() if cuda else None
    return {"tok_s": sum(map(sum, timed)) / seconds, "flop_s": flops / seconds, "peak": peak, "loss": first}


def show(key: tuple, r: dict, args) -> None:
    task, workload, name = key
    mfu = f"{r['flop_s'] / args.peak_flops:.1%}" if args.peak_flops else "n/a"
    mem = f"{r['peak'] / 2**30:.1f} GiB" if r["peak"] is not None else "n/a (CPU)"
    print(
        f"{task} {workload:<8} {name:<30} {r['tok_s']:>10,.0f} tok/s  MFU {mfu:>6}  peak {mem:>9}  "
        f"first-step loss {r['loss']:.4f}",
        flush=True,
    )


def run_variant(task: str, name: str, variant, model, args, results: dict) -> None:
    collate, step = variant
    for workload in ("fixed", "smoltalk"):
        key = (task, workload, name)
        batches = make_batches(args, model.config.vocab_size, workload, task.lower())
        results[key] = measure(model, args, collate, step, batches, 1e-5 if task == "SFT" else 1e-6)
        show(key, results[key], args)
        gc.collect()  # the optimizer state of this variant goes before the next one is measured
        if args.device.type == "cuda":
            torch.cuda.empty_cache()


def report_ratios(results: dict) -> None:
    """Every variant against the plain HF path of its task and workload; sfdpo's DPO against TRL's."""
    for (task, workload, name), r in results.items():
        for base_name in ("HF plain", "TRL DPOTrainer" if task == "DPO" and name.startswith("sfdpo") else None):
            base = results.get((task, workload, base_name))
            if base_name is None or name == base_name:
                continue
            if base is None:
                print(f"ratio {task} {workload} {name} / {base_name}: n/a ({base_name} skipped)")
                continue
            mem = f"{r['peak'] / base['peak']:.2f}x" if r["peak"] and base["peak"] else "n/a (CPU)"
            print(
                f"ratio {task} {workload} {name} / {base_name}: speed {r['tok_s'] / base['tok_s']:.2f}x  memory {mem}"
            )


@torch.no_grad()
def sampling_check(model, args) -> None:
    prompts = torch.randint(0, model.config.vocab_size, (args.prompts, 64), device=args.device)
    model.eval()
    kwargs = dict(do_sample=True, temperature=1.0, num_return_sequences=8, top_k=0, pad_token_id=0, use_cache=True,
                  max_new_tokens=args.new_tokens, min_new_tokens=args.new_tokens)  # fmt: skip
    for _ in range(2):  # the first call warms up
        if args.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        sync(args)
        start = time.perf_counter()
        with torch.autocast(args.device.type, dtype=torch.bfloat16, enabled=args.bf16):
            model.generate(input_ids=prompts, attention_mask=torch.ones_like(prompts), **kwargs)
        sync(args)
    seconds = time.perf_counter() - start
    mem = f"{torch.cuda.max_memory_allocated() / 2**30:.1f} GiB" if args.device.type == "cuda" else "n/a (CPU)"
    print(
        f"Sampling K=8, {args.prompts} prompts, {args.new_tokens} new tokens: "
        f"{args.prompts * 8 * args.new_tokens / seconds:,.0f} new tokens/s  peak memory {mem}"
    )
    model.train()


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cpu", action="store_true", help="smoke mode: tiny model and sizes on the CPU")
    ap.add_argument("--batch", type=int, default=8, help="sequences per SFT step (DPO: batch // 2 pairs)")
    ap.add_argument("--seq", type=int, default=1024, help="sequence length of the fixed workload")
    ap.add_argument("--steps", type=int, default=10, help="timed steps per variant and workload")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--prompts", type=int, default=32, help="sampling: prompts (K = 8 samples each)")
    ap.add_argument("--new-tokens", type=int, default=256)
    ap.add_argument("--attn", default="sdpa", choices=["sdpa", "flash_attention_2", "eager"])
    ap.add_argument("--pack-row-tokens", type=int, default=None,
                    help="packed variants: rows of at most this many tokens (0: one row); default --seq with "
                    "sdpa (its packed attention is a dense masked T x T matrix), 0 with flash_attention_2")  # fmt: skip
    ap.add_argument("--compile", action="store_true", help="torch.compile the transformer body")
    ap.add_argument("--gradient-checkpointing", action="store_true")
    args = ap.parse_args()
    args.scale = 1.0
    if args.cpu:
        args.batch, args.seq, args.steps, args.warmup, args.prompts, args.new_tokens = 2, 64, 2, 1, 2, 8
        args.scale = 1 / 16  # smoltalk caps 16 / 26 tokens
    args.warmup = max(1, args.warmup)
    if args.pack_row_tokens is None:
        args.pack_row_tokens = 0 if args.attn == "flash_attention_2" else args.seq
    args.device = torch.device("cuda" if torch.cuda.is_available() and not args.cpu else "cpu")
    args.bf16 = args.device.type == "cuda"
    args.peak_flops = peak_flops() if args.device.type == "cuda" else None
    return args


def prepare_model(args):
    model = build(TINY if args.cpu else QWEN25_05B, args.device, args.attn).train()
    if args.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if args.compile:
        model.model.compile()
    args.initial = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
    args.n_params = sum(
        p.numel() for n, p in model.named_parameters() if "embed_tokens" not in n and "lm_head" not in n
    )
    name = torch.cuda.get_device_name() if args.device.type == "cuda" else "CPU"
    peak = f"{args.peak_flops / 1e12:.0f} TFLOP/s bf16 peak" if args.peak_flops else "no peak FLOP/s known"
    print(
        f"device {name} ({peak}); model {sum(p.numel() for p in model.parameters()) / 1e6:.0f}M parameters "
        f"({args.n_params / 1e6:.0f}M non-embedding); attention {args.attn}; compile {args.compile}; "
        f"gradient checkpointing {args.gradient_checkpointing}; {'bf16 autocast' if args.bf16 else 'fp32'}; "
        f"batch {args.batch}, fixed {args.seq} tokens, {args.steps} timed steps after {args.warmup} warm-up, "
        f"packed rows of {args.pack_row_tokens or 'all'} tokens",
        flush=True,
    )
    return model


def main():
    import tempfile

    args = parse_args()
    model = prepare_model(args)
    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        args.tmp = tmp
        for task in ("SFT", "DPO"):
            for name, variant in core_variants(task, args).items():
                run_variant(task, name, variant, model, args, results)
            try:
                name, variant = trl_variant(task, model, args)
            except ImportError as err:
                print(f"TRL: not importable, skipped ({type(err).__name__}: {err})")
                continue
            except Exception as err:  # another TRL version may want other arguments: say so, measure the rest
                print(f"TRL: trainer could not be built, skipped ({type(err).__name__}: {err})")
                untrl(model)
                continue
            run_variant(task, name, variant, model, args, results)
            untrl(model)
    sampling_check(model, args)
    liger = liger_variant(model, args)  # last: Liger patches Qwen2 classes for good
    if liger is not None:
        run_variant("SFT", "Liger fused linear CE", liger, model, args, results)
        print("Liger DPO: not measured (its fused cross-entropy gives a token-mean loss, not sequence log-probs)")
    report_ratios(results)


if __name__ == "__main__":
    main()
