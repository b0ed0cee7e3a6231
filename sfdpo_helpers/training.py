"""One visible training loop, shared by SFT and DPO, on Hugging Face accelerate used one way.

Each optimizer step takes one *global batch* of ``batch_size`` examples, split into micro-batches of
``micro_batch_size`` that are spread over the processes and accumulated. The loss of a micro-batch is a
*sum* (of token NLLs for SFT, of pair losses for DPO) divided by the count of the whole global batch,
so the update is the same whatever the micro-batch size, the accumulation steps or the number of
processes.

accelerate does the distributed work: ``prepare`` wraps the model and optimizer (DDP, or FSDP with an
FSDP config of ``accelerate launch``), gradients are synchronised once per step (``no_sync`` on the
other micro-batches), ``autocast``/``backward``/``clip_grad_norm_`` handle bf16 and fp16 loss scaling,
and ``save_state``/``load_state`` checkpoint everything (see :mod:`checkpoints`).

The data order depends only on (seed, epoch), and checkpoints hold weights, optimizer, scheduler and
RNG: a run killed at any point resumes from its last checkpoint to bitwise the same weights.
"""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from . import checkpoints
from .checkpoints import run_identity, start_weights_sample  # noqa: F401  (what identifies a run)
from .collators import length_grouped_batches
from .files import atomic_write_text


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


@dataclass
class TrainSettings:
    """The knobs of one run (filled from the run settings and a notebook's parameters)."""

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
    eval_at_start: bool = False  # also evaluate before the first step (the curves' step-0 point)
    seed: int = 0
    mixed_precision: str = "auto"  # "auto", "no", "bf16" or "fp16"
    chunk_size: int | None = None  # positions per output-layer chunk (None: sized to the device)
    gradient_checkpointing: bool = False  # recompute activations in backward: less memory, ~30% more time
    compile: bool = False  # torch.compile the transformer body (GPU; the first steps are slow)
    packing: bool = False  # micro-batches without padding: sequences concatenated, positions restarting

    def __post_init__(self):
        for name in ("batch_size", "micro_batch_size"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.lr <= 0 or self.epochs <= 0:
            raise ValueError(f"lr and epochs must be positive, got lr={self.lr}, epochs={self.epochs}")
        if self.max_steps is not None and self.max_steps <= 0:
            raise ValueError(f"max_steps must be positive or None, got {self.max_steps}")


def make_accelerator(settings: TrainSettings):
    """The run's Accelerator: its precision (bf16 / fp16 / fp32) is also the reference model's and eval's."""
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState

    from .models import mixed_precision

    precision = mixed_precision(settings.mixed_precision)
    state = AcceleratorState._shared_state
    if state and state.get("_mixed_precision") != precision and state.get("num_processes", 1) == 1:
        # accelerate keeps one state per process; a notebook kernel that changes precision between runs
        # (one process, nothing distributed to keep in step) gets a fresh one instead of an error
        AcceleratorState._reset_state()
    acc = Accelerator(mixed_precision=precision, cpu=not torch.cuda.is_available())
    checkpoints.attach(acc)
    return acc


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
    if settings.gradient_checkpointing and not getattr(inner, "is_activation_checkpointing", False):
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
        "or chunk_size; or turn on gradient checkpointing (run setting gradient_checkpointing: true)."
    )


def my_micro_batches(acc, examples, collate, global_batch: list[int], micro_batch_size: int) -> list[tuple]:
    """This process's micro-batches of a global batch, as ``(batch, weight)``.

    Micro-batches go round-robin to the processes. Every process must run the same number of
    backward passes (each synchronises gradients once), so a process that is one short repeats its
    first micro-batch with weight 0: its gradient counts for nothing.
    """
    micro = [global_batch[i : i + micro_batch_size] for i in range(0, len(global_batch), micro_batch_size)]
    mine = micro[acc.process_index :: acc.num_processes]
    rounds = math.ceil(len(micro) / acc.num_processes)
    batches = [(collate([examples[i] for i in m]), 1.0) for m in mine]
    return batches + [(batches[0][0] if batches else collate([examples[micro[0][0]]]), 0.0)] * (rounds - len(mine))


def accumulate(acc, model, batches: list[tuple], loss_sum: Callable, units: float) -> dict[str, float]:
    """Forward and backward every micro-batch; gradients are synchronised on the last one only.

    The loss of a micro-batch is ``sum / units``, with ``units`` counted over the whole global batch and
    all processes; DDP averages gradients over the processes, so each process scales by their number.
    """
    sums: dict[str, float] = {}
    for i, (batch, weight) in enumerate(batches):
        sync = i == len(batches) - 1
        with contextlib.nullcontext() if sync else acc.no_sync(model), acc.autocast():
            loss, metrics = loss_sum(model, {k: v.to(acc.device) for k, v in batch.items()})
        acc.backward(loss * (weight * acc.num_processes / units))
        for k, v in {"loss": loss.detach(), **metrics}.items():
            sums[k] = sums.get(k, 0.0) + weight * float(v)
    return sums


def optimizer_step(acc, model, opt, batches: list[tuple], loss_sum: Callable, count: Callable, settings) -> dict:
    """One optimizer step on a global batch: accumulate, clip, step. Returns the step's mean metrics.

    A non-finite loss still steps here; :func:`train` checks the row and stops before saving anything.
    """
    units = acc.reduce(torch.tensor(float(sum(w * count(b) for b, w in batches)), device=acc.device), "sum").item()
    try:
        sums = accumulate(acc, model, batches, loss_sum, units)
    except torch.cuda.OutOfMemoryError:
        raise RuntimeError(_oom_message(settings)) from None
    keys = sorted(sums)
    totals = acc.reduce(torch.tensor([sums[k] for k in keys], device=acc.device), "sum").tolist()
    row = {k: v / units for k, v in zip(keys, totals)}
    if settings.max_grad_norm and math.isfinite(row["loss"]):
        row["grad_norm"] = float(acc.clip_grad_norm_(model.parameters(), settings.max_grad_norm))
    if math.isfinite(row["loss"]):
        opt.step()
    opt.zero_grad(set_to_none=True)
    return row


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
    accelerator=None,
    objective: dict | None = None,
) -> list[dict]:
    """Train ``model`` in place and return the history (one dict per step, plus eval rows).

    * ``loss_sum(model, batch) -> (summed loss tensor, {metric: summed value})`` for one micro-batch;
    * ``count(batch) -> int`` the units the sums run over (response tokens or pairs);
    * ``eval_fn(model) -> dict`` and ``monitor_fn(model, step) -> dict`` (win-rate monitoring) run every
      ``eval_every`` steps and at the end (with ``eval_at_start`` also at step 0), under the training precision;
    * ``objective``: what ``loss_sum`` optimises beyond the settings (DPO's β, weights): resuming checks it."""
    if not examples:
        raise ValueError("no training examples (check the skip report of the data step)")
    acc = accelerator or make_accelerator(settings)
    state = {"settings": asdict(settings), "run": run_identity(model, examples, objective, acc.mixed_precision)}
    speed_and_memory_options(model, settings)
    per_epoch, total = plan_steps(len(examples), settings)
    opt, scheduler, warmup = _optimizer(model, settings, total, fused=acc.device.type == "cuda")
    wrapped, opt = acc.prepare(model, opt)
    acc.register_for_checkpointing(scheduler)
    step, history = _restore(acc, Path(run_dir), state, resume, total)
    _announce(acc, len(examples), per_epoch, total, warmup, settings)
    log = _Progress(acc, total, step, progress)
    if step == 0 and settings.eval_at_start:
        history += _evaluate(acc, model, 0, eval_fn, monitor_fn)
    while step < total:
        epoch, index = divmod(step, per_epoch)
        global_batch = length_grouped_batches(lengths, settings.batch_size, settings.seed, epoch)[index]
        batches = my_micro_batches(acc, examples, collate, global_batch, settings.micro_batch_size)
        row = {"step": step + 1, "epoch": (step + 1) / per_epoch, "lr": scheduler.get_last_lr()[0]}
        row.update(optimizer_step(acc, wrapped, opt, batches, loss_sum, count, settings))
        _check_finite(row, global_batch, run_dir, acc.mixed_precision)
        scheduler.step()
        step += 1
        history.append(row)
        log.update(row)
        if settings.eval_every and step % settings.eval_every == 0 and step < total:
            history += _evaluate(acc, model, step, eval_fn, monitor_fn)
        if settings.save_every and step % settings.save_every == 0 and step < total:
            checkpoints.save(acc, run_dir, step, {"history": history, **state})
    log.close()
    if not any(r["step"] == total and "loss" not in r for r in history):  # final eval, once
        history += _evaluate(acc, model, total, eval_fn, monitor_fn)
    checkpoints.save(acc, run_dir, total, {"history": history, **state})
    if acc.is_main_process:
        atomic_write_text(Path(run_dir) / "history.json", json.dumps(history, indent=1))
    return history


def _optimizer(model, settings: TrainSettings, total: int, fused: bool):
    """AdamW over the trainable parameters and the LR schedule: linear warm-up, then cosine to zero."""
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=settings.lr, weight_decay=settings.weight_decay, fused=fused)
    warmup = int(settings.warmup_ratio * total)
    return opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda s: cosine_with_warmup(s, total, warmup)), warmup


def _restore(acc, run_dir: Path, state: dict, resume: bool, total: int) -> tuple[int, list]:
    """(step, history) of the last checkpoint, or (0, []) for a fresh run (old checkpoints removed). A checkpoint
    of another run (``state``: settings and :func:`run_identity`) is refused, never resumed."""
    ckpt = checkpoints.latest(run_dir) if resume else None
    if not resume and acc.is_main_process and run_dir.exists():
        shutil.rmtree(run_dir)  # a fresh run: old checkpoints must not be mixed in
    acc.wait_for_everyone()
    if ckpt is None:
        return 0, []
    saved = json.loads((ckpt / "state.json").read_text())
    if saved.get("settings") != state["settings"]:
        differs = f"other settings ({saved.get('settings')})"
    elif saved.get("run", state["run"]) != state["run"]:  # checkpoints older than this check carry no "run"
        differs = (
            "another run: other examples, start weights (a model trained in this kernel?), trained parameters "
            "(LoRA rank) or objective (β, ...)"
        )
    else:
        loaded = checkpoints.load(acc, ckpt)
        if acc.is_main_process:
            print(f"Resumed from {ckpt} at step {loaded['step']}/{total}")
        return loaded["step"], loaded["history"]
    raise ValueError(
        f"{ckpt} was written with {differs}. To train this run from scratch add resume: false to the run settings "
        "(a notebook's run = {'resume': False} for the default 'auto', {'profile': 'study', 'resume': False} for "
        "another profile; the main job's -p resume False) or use a new out_dir"
    )


def _announce(acc, n: int, per_epoch: int, total: int, warmup: int, settings: TrainSettings) -> None:
    if acc.is_main_process:
        accumulation = math.ceil(settings.batch_size / (acc.num_processes * settings.micro_batch_size))
        print(
            f"{n} examples, {per_epoch} steps/epoch, {total} steps, batch {settings.batch_size} = "
            f"{acc.num_processes} process(es) x micro-batch {settings.micro_batch_size} x accumulation "
            f"{accumulation}, warm-up {warmup} steps, precision {acc.mixed_precision}"
        )


FP16_ADVICE = (
    "The run is in fp16, whose largest number is 65,504: the Qwen2 family is known to overflow there (NaN loss, "
    "'!!!!' answers). Set mixed_precision: no in the run settings (fp32: slower, twice the activation memory), "
    "or mixed_precision: bf16 on a GPU that has it (compute capability 8.0 or more: A100, L4, H100; not a T4)."
)


def _check_finite(row: dict, global_batch: list[int], run_dir, precision: str = "no") -> None:
    """Stop on a NaN or infinite loss, before anything is saved; under fp16 the message names the way out."""
    if not math.isfinite(row["loss"]):
        advice = FP16_ADVICE if precision == "fp16" else "Lower the learning rate or check these rows."
        raise NonFiniteLossError(
            f"loss is {row['loss']} at step {row['step']} (example indices {global_batch[:8]}"
            f"{'...' if len(global_batch) > 8 else ''}); the last good checkpoint in {run_dir} is kept. {advice}"
        )


def _evaluate(acc, model, step: int, eval_fn, monitor_fn) -> list[dict]:
    """Eval loss / metrics and the win-rate monitor, under the training precision (policy and reference alike)."""
    row = {"step": step}
    model.eval()
    with acc.autocast():
        if eval_fn is not None:
            row.update(eval_fn(model))
        if monitor_fn is not None:
            row.update(monitor_fn(model, step))
    model.train()
    if len(row) == 1:
        return []
    if acc.is_main_process:
        print("  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
    return [row]


class _Progress:
    """A progress bar, plus a plain line every tenth of the run (papermill logs show no widgets)."""

    def __init__(self, acc, total: int, step: int, enabled: bool):
        from tqdm import tqdm  # text bars: a saved notebook keeps their final state (widget bars keep their first)

        self.on, self.total, self.started = enabled and acc.is_main_process, total, time.time()
        self.bar = tqdm(total=total, initial=step, desc="train", disable=not self.on)

    def update(self, row: dict) -> None:
        self.bar.update(1)
        self.bar.set_postfix(loss=f"{row['loss']:.4f}")
        if self.on and (row["step"] % max(1, self.total // 10) == 0 or row["step"] == self.total):
            print(
                f"step {row['step']}/{self.total}  loss {row['loss']:.4f}  {time.time() - self.started:.0f} s",
                flush=True,
            )

    def close(self) -> None:
        self.bar.close()


def saved_dtype(precision: str, device_type: str) -> torch.dtype:
    """The dtype a trained model is saved in: the training's half precision on a GPU (bf16 or fp16), else fp32.

    Why: a Colab run saves six models of Qwen2.5-0.5B on a 15 GB Drive; in fp32 they take 2 GB each, in fp16
    1 GB. Under autocast the matmuls of training and evaluation already ran on the weights rounded to that
    precision, so little is lost (the norm weights and the embedding rows are rounded too). On a CPU (the offline
    demo, small models on a local disk) the fp32 weights are kept, so the demo's later models stay as they were."""
    if device_type == "cuda" and precision in ("bf16", "fp16"):
        return torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.float32


def _trained_precision() -> str:
    """The precision of this process's last training run (accelerate keeps one state per process), else "no"."""
    from accelerate.state import AcceleratorState

    return (AcceleratorState._shared_state or {}).get("_mixed_precision") or "no"


def save_model(model, tokenizer, out_dir: str | Path, dtype: torch.dtype | None = None):
    """Save a plain (LoRA merged) model and its tokenizer with ``save_pretrained``; return the model.

    ``dtype`` (default :func:`saved_dtype` of the last training run's precision and the model's device) is the
    precision of the saved weights; :func:`sfdpo_helpers.models.load_model` loads them back into fp32 master
    weights. The returned model holds the saved (rounded) weights, so it is the model later notebooks load."""
    out_dir = Path(out_dir)
    if hasattr(model, "merge_and_unload"):
        model = model.merge_and_unload()
    dtype = dtype or saved_dtype(_trained_precision(), next(model.parameters()).device.type)
    if dtype != torch.float32:
        with torch.no_grad():  # round the parameters only: buffers (rotary frequencies) are recomputed on load
            for param in model.parameters():
                param.copy_(param.to(dtype))
    state, stored = {}, set()
    for name, tensor in model.state_dict().items():  # a half-size copy; tied weights (lm_head = embeddings) once
        if tensor.data_ptr() not in stored:
            stored.add(tensor.data_ptr())
            state[name] = tensor.to("cpu", dtype)
    model.save_pretrained(out_dir, state_dict=state)
    tokenizer.save_pretrained(out_dir)
    return model


def add_lora(model, r: int = 16, alpha: int = 32, dropout: float = 0.0, seed: int = 0):
    """Wrap ``model`` with LoRA adapters on every attention and MLP projection (``r=0``: no LoRA).

    With LoRA the frozen base *is* the reference model: ``with model.disable_adapter():`` gives π_ref
    at no extra memory. The adapters' random start (A at random, B = 0) is drawn from ``seed`` on a forked
    generator: the same for every run with that seed, whatever the kernel ran before (sampling reseeds the global
    generator, so an interrupted notebook that reads its samples back would otherwise start from other
    adapters), and the global generator is left as it was.
    """
    if r <= 0:
        return model
    from peft import LoraConfig, get_peft_model

    targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    config = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=targets, task_type="CAUSAL_LM")
    device = next(model.parameters()).device  # the adapters are drawn there: fork and seed that device only
    accelerator = torch.get_device_module(device.type) if device.type != "cpu" else None
    with warnings.catch_warnings(), torch.random.fork_rng([device] if accelerator else [], device_type=device.type):
        # peft reads transformers' deprecated is_gradient_checkpointing: not ours to fix
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        torch.default_generator.manual_seed(seed)  # the CPU generator, and the model's device's below
        if accelerator:
            accelerator.manual_seed(seed)
        return get_peft_model(model, config)
