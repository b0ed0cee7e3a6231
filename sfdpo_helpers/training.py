"""One visible training loop, shared by SFT and DPO.

Each optimizer step takes one *global batch* of ``batch_size`` examples, split into micro-batches
of ``micro_batch_size`` that are spread over the processes and accumulated. The loss of every
micro-batch is a *sum* (of token NLLs for SFT, of pair losses for DPO) divided by the count of the
whole global batch, and each process's gradients are summed over processes, so the update is the
same whatever the micro-batch size, the accumulation steps or the number of processes.

The data order depends only on (seed, epoch), and checkpoints hold weights, optimizer, scheduler
and RNG: a run killed at any point resumes from its last checkpoint to bitwise the same weights.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from .checkpoints import atomic_write_text, latest_checkpoint, load_checkpoint, save_checkpoint
from .collators import length_grouped_batches


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


@dataclass
class TrainSettings:
    """The knobs of a run (plain values, filled from a notebook's parameters cell)."""

    lr: float = 5e-6
    epochs: float = 3.0
    batch_size: int = 8  # examples (SFT rows or DPO pairs) per optimizer step, all processes together
    micro_batch_size: int = 8  # examples per forward pass on one process
    warmup_ratio: float = 0.1
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    max_steps: int | None = None  # stop early (overrides epochs)
    save_every: int = 0  # steps between checkpoints (0: only at the end)
    eval_every: int = 0  # steps between eval_fn / monitor_fn calls (0: only at the end)
    seed: int = 0
    mixed_precision: str = "auto"  # "auto", "no", "bf16" or "fp16"
    chunk_size: int | None = None  # positions per output-layer chunk (None: ~128 MB of logits per chunk)
    gradient_checkpointing: bool = False  # recompute activations in backward: less memory, ~30% more time
    compile: bool = False  # torch.compile the transformer body (GPU; the first steps are slow)

    def __post_init__(self):
        for name in ("batch_size", "micro_batch_size"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.lr <= 0 or self.epochs <= 0:
            raise ValueError(f"lr and epochs must be positive, got lr={self.lr}, epochs={self.epochs}")
        if self.max_steps is not None and self.max_steps <= 0:
            raise ValueError(f"max_steps must be positive or None, got {self.max_steps}")


def pick_mixed_precision(choice: str = "auto") -> str:
    """bf16 on GPUs that have it, fp16 (with loss scaling) on older GPUs, fp32 on CPU."""
    if choice != "auto":
        return choice
    if not torch.cuda.is_available():
        return "no"
    return "bf16" if torch.cuda.is_bf16_supported() else "fp16"


def cosine_with_warmup(step: int, total: int, warmup: int) -> float:
    """LR multiplier: linear warm-up to 1 over ``warmup`` steps, then cosine decay to 0 at ``total``."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def speed_and_memory_options(model, settings: TrainSettings) -> None:
    """Gradient checkpointing and ``torch.compile`` of the transformer body, as the settings ask."""
    from .losses import _unwrap

    inner = _unwrap(model)
    if settings.gradient_checkpointing and not inner.is_gradient_checkpointing:
        inner.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        if hasattr(model, "enable_input_require_grads"):  # LoRA: frozen embeddings still need grads to flow
            model.enable_input_require_grads()
    if settings.compile:
        getattr(inner, inner.base_model_prefix).compile()


def plan_steps(n_examples: int, settings: TrainSettings) -> tuple[int, int]:
    """(steps per epoch, total optimizer steps)."""
    per_epoch = math.ceil(n_examples / settings.batch_size)
    total = max(1, math.ceil(per_epoch * settings.epochs))
    return per_epoch, min(total, settings.max_steps or total)


def _oom_message(settings: TrainSettings) -> str:
    return (
        f"Out of GPU memory. Lower micro_batch_size (now {settings.micro_batch_size}; batch_size "
        f"{settings.batch_size} is kept by accumulating more), the maximum prompt/response lengths, "
        "or chunk_size; or turn on gradient checkpointing."
    )


def train(
    model,
    examples: list,
    collate: Callable,
    loss_sum: Callable,
    count: Callable,
    lengths: list[int],
    settings: TrainSettings,
    run_dir: str | Path,
    eval_fn: Callable | None = None,
    monitor_fn: Callable | None = None,
    resume: bool = True,
    progress: bool = True,
) -> list[dict]:
    """Train ``model`` in place and return the history (one dict per step, plus eval rows).

    * ``loss_sum(model, batch) -> (summed loss tensor, {metric: summed value})`` for one micro-batch;
    * ``count(batch) -> int`` the units the sums run over (response tokens or pairs);
    * ``eval_fn(model) -> dict`` and ``monitor_fn(model, step) -> dict`` run every ``eval_every``
      steps and at the end (``monitor_fn`` is where win-rate monitoring plugs in).
    """
    from accelerate import Accelerator
    from tqdm.auto import tqdm

    if not examples:
        raise ValueError("no training examples (check the skip report of the data step)")
    acc = Accelerator(mixed_precision=pick_mixed_precision(settings.mixed_precision), cpu=not torch.cuda.is_available())
    rank, world = acc.process_index, acc.num_processes
    model.to(acc.device)
    speed_and_memory_options(model, settings)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=settings.lr, weight_decay=settings.weight_decay)
    per_epoch, total = plan_steps(len(examples), settings)
    warmup = int(settings.warmup_ratio * total)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: cosine_with_warmup(s, total, warmup))
    optimizer = acc.prepare_optimizer(optimizer)  # fp16 loss scaling lives here

    run_dir = Path(run_dir)
    history, step = [], 0
    ckpt = latest_checkpoint(run_dir) if resume else None
    if not resume and acc.is_main_process and run_dir.exists():
        shutil.rmtree(run_dir)  # a fresh run: old checkpoints must not be mixed in
    acc.wait_for_everyone()
    if ckpt is not None:
        state = load_checkpoint(ckpt, model, optimizer.optimizer, scheduler, rank)
        if state.get("settings") != asdict(settings):
            raise ValueError(
                f"{ckpt} was written with other settings ({state.get('settings')}); "
                "pass resume=False (or a new out_dir) to start this run from scratch"
            )
        step, history = state["step"], state["history"]
        if acc.is_main_process:
            print(f"Resumed from {ckpt} at step {step}/{total}")
    if acc.is_main_process:
        print(
            f"{len(examples)} examples, {per_epoch} steps/epoch, {total} steps, batch {settings.batch_size} = "
            f"{world} process(es) x micro-batch {settings.micro_batch_size} x accumulation "
            f"{math.ceil(settings.batch_size / (world * settings.micro_batch_size))}, warm-up {warmup} steps"
        )

    def save(at_step):
        save_checkpoint(
            run_dir,
            at_step,
            model,
            optimizer.optimizer,
            scheduler,
            {"history": history, "settings": asdict(settings)},
            rank,
            world,
        )
        acc.wait_for_everyone()

    def evaluate(at_step):
        row = {"step": at_step}
        model.eval()
        if eval_fn is not None:
            row.update(eval_fn(model))
        if monitor_fn is not None:
            row.update(monitor_fn(model, at_step))
        model.train()
        if len(row) > 1:
            history.append(row)
            if acc.is_main_process:
                print("  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))

    started = time.time()
    bar = tqdm(total=total, initial=step, desc="train", disable=not (progress and acc.is_main_process))
    model.train()
    epoch_batches, batches_epoch = None, -1
    while step < total:
        epoch, index = divmod(step, per_epoch)
        if epoch != batches_epoch:
            epoch_batches, batches_epoch = (
                length_grouped_batches(lengths, settings.batch_size, settings.seed, epoch),
                epoch,
            )
        global_batch = epoch_batches[index]
        micro = [
            global_batch[i : i + settings.micro_batch_size]
            for i in range(0, len(global_batch), settings.micro_batch_size)
        ]
        mine = [collate([examples[i] for i in m]) for m in micro[rank::world]]
        units = acc.reduce(torch.tensor(float(sum(count(b) for b in mine)), device=acc.device), "sum").item()
        sums: dict[str, float] = {}
        try:
            for batch in mine:
                batch = {k: v.to(acc.device) for k, v in batch.items()}
                with acc.autocast():
                    loss, metrics = loss_sum(model, batch)
                acc.backward(loss / units)
                for k, v in {"loss": loss.detach(), **metrics}.items():
                    sums[k] = sums.get(k, 0.0) + float(v)
        except torch.cuda.OutOfMemoryError:
            raise RuntimeError(_oom_message(settings)) from None
        if world > 1:
            for p in params:
                if p.grad is None:
                    p.grad = torch.zeros_like(p)
                torch.distributed.all_reduce(p.grad)
        keys = sorted(sums)
        totals = acc.reduce(torch.tensor([sums[k] for k in keys], device=acc.device), "sum").tolist()
        row = {
            "step": step + 1,
            "epoch": (step + 1) / per_epoch,
            "lr": scheduler.get_last_lr()[0],
            **{k: v / units for k, v in zip(keys, totals)},
        }
        if not math.isfinite(row["loss"]):
            raise NonFiniteLossError(
                f"loss is {row['loss']} at step {step + 1} (epoch {epoch}, batch {index}, example indices "
                f"{global_batch[:8]}{'...' if len(global_batch) > 8 else ''}); the last good checkpoint in "
                f"{run_dir} is kept. Lower the learning rate or check these rows."
            )
        if settings.max_grad_norm:
            row["grad_norm"] = float(acc.clip_grad_norm_(params, settings.max_grad_norm))
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        history.append(row)
        bar.update(1)
        bar.set_postfix(loss=f"{row['loss']:.4f}")
        if acc.is_main_process and progress and (step % max(1, total // 10) == 0 or step == total):
            # a plain line too: papermill logs and CI show it where a progress widget is invisible
            print(f"step {step}/{total}  loss {row['loss']:.4f}  {time.time() - started:.0f} s", flush=True)
        if settings.eval_every and step % settings.eval_every == 0 and step < total:
            evaluate(step)
        if settings.save_every and step % settings.save_every == 0 and step < total:
            save(step)
    bar.close()
    if not any(r["step"] == total and "loss" not in r for r in history):  # final eval, once
        evaluate(total)
    save(total)
    if acc.is_main_process:
        atomic_write_text(run_dir / "history.json", json.dumps(history, indent=1))
    return history


def save_model(model, tokenizer, out_dir: str | Path):
    """Save a plain (LoRA merged) model and its tokenizer with ``save_pretrained``; return the model."""
    out_dir = Path(out_dir)
    if hasattr(model, "merge_and_unload"):
        model = model.merge_and_unload()
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return model


def add_lora(model, r: int = 16, alpha: int = 32, dropout: float = 0.0):
    """Wrap ``model`` with LoRA adapters on every attention and MLP projection (``r=0``: no LoRA).

    With LoRA the frozen base *is* the reference model: ``with model.disable_adapter():`` gives π_ref
    at no extra memory.
    """
    if r <= 0:
        return model
    from peft import LoraConfig, get_peft_model

    targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    return get_peft_model(
        model, LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=targets, task_type="CAUSAL_LM")
    )
