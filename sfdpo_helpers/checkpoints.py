"""Resumable training checkpoints: accelerate's ``save_state`` / ``load_state``, written atomically.

A checkpoint folder ``run_dir/step-000120/`` holds what ``Accelerator.save_state`` writes (the model's
trainable weights, the optimizer, the registered LR scheduler, the fp16 loss scaler, every process's
RNG states; sharded files under FSDP) plus ``state.json`` (step, history, settings). ``run_dir/latest``
names the newest complete checkpoint. A checkpoint is written into a ``.staging-*`` folder and renamed
into place only when every process has finished, so a kill at any moment leaves the previous
checkpoint loadable.

Only *trainable* weights are saved (the LoRA adapter alone with LoRA, everything for full
fine-tuning): :func:`attach` registers accelerate's save/load hooks that do this, and the load hook
refuses a checkpoint with weights the model does not have.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from .files import _fsync_dir, atomic_write_text, fingerprint

WEIGHTS = "model.safetensors"


def _trainable_names(model) -> set[str]:
    return {name for name, p in model.named_parameters() if p.requires_grad}


def attach(accelerator) -> None:
    """Save only trainable weights (accelerate's hooks); check names when loading them back."""
    from safetensors import safe_open
    from safetensors.torch import load_model

    def keep_trainable(models, weights, output_dir):
        for i, model in enumerate(models[: len(weights)]):
            names = _trainable_names(model)
            weights[i] = {k: v for k, v in weights[i].items() if k in names}

    def load_trainable(models, input_dir):
        for i, model in enumerate(models):
            path = Path(input_dir) / (WEIGHTS if i == 0 else f"model_{i}.safetensors")
            with safe_open(str(path), "pt") as f:
                unknown = sorted(set(f.keys()) - set(model.state_dict()))
            if unknown:
                raise ValueError(f"checkpoint {input_dir} has weights this model lacks: {unknown[:3]}")
            load_model(model, str(path), strict=False)
        models.clear()  # loaded here; accelerate must not load them again (strictly)

    accelerator.register_save_state_pre_hook(keep_trainable)
    accelerator.register_load_state_pre_hook(load_trainable)


def save(accelerator, run_dir: str | Path, step: int, state: dict, keep: int = 2) -> Path:
    """Write ``run_dir/step-XXXXXX`` (every process takes part), point ``latest`` at it, keep ``keep``."""
    run_dir = Path(run_dir)
    final, staging = run_dir / f"step-{step:06d}", run_dir / f".staging-step-{step:06d}"
    if accelerator.is_main_process and staging.exists():
        shutil.rmtree(staging)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(staging))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        (staging / "state.json").write_text(json.dumps({"step": step, **state}))
        for f in staging.rglob("*"):
            if f.is_file():
                with open(f, "rb") as handle:
                    os.fsync(handle.fileno())
        if final.exists():
            shutil.rmtree(final)
        os.replace(staging, final)
        _fsync_dir(run_dir)
        atomic_write_text(run_dir / "latest", final.name + "\n")
        for old in sorted(run_dir.glob("step-*"))[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()
    return final


def latest(run_dir: str | Path) -> Path | None:
    """The newest complete checkpoint of a run, or None. Half-written staging folders are ignored."""
    run_dir = Path(run_dir)
    pointer = run_dir / "latest"
    if not pointer.exists():
        return None
    ckpt = run_dir / pointer.read_text().strip()
    if not (ckpt / "state.json").exists():
        raise FileNotFoundError(f"checkpoint {ckpt} is incomplete: state.json is missing")
    if not any(ckpt.glob("model*.safetensors")) and not any(ckpt.glob("pytorch_model_fsdp*")):
        raise FileNotFoundError(f"checkpoint {ckpt} is incomplete: no model weights (model.safetensors)")
    return ckpt


def load(accelerator, ckpt: str | Path) -> dict:
    """Restore weights, optimizer, scheduler, scaler and RNG states; return ``state.json``."""
    ckpt = Path(ckpt)
    if not ckpt.is_dir():
        raise FileNotFoundError(f"checkpoint folder {ckpt} does not exist")
    accelerator.load_state(str(ckpt))
    return json.loads((ckpt / "state.json").read_text())


def start_weights_sample(model) -> list[bytes]:
    """A sample of the weights training starts from (:func:`models.parameters_sample`: values of every tensor;
    LoRA adapters left out: with them off the model is the start model and DPO's reference)."""
    from .models import parameters_sample

    return parameters_sample(model, lora=False)


def trainable_layout(model) -> list:
    """What is trained: the names and shapes of the trainable parameters (full fine-tuning or LoRA, its rank and
    its target modules) and a LoRA model's scaling (alpha / r). A checkpoint of another layout is another run."""
    layout = [[name, list(p.shape)] for name, p in model.named_parameters() if p.requires_grad]
    scaling = {name: m.scaling for name, m in model.named_modules() if isinstance(getattr(m, "scaling", None), dict)}
    return [layout, scaling]


def run_identity(model, examples: list, objective: dict | None = None, precision: str = "no") -> str:
    """What a checkpoint must match besides the settings: every field of every example except precomputed
    reference log-probs (``ref_*``: they follow from the start weights and the precision, both checked), the
    start weights, what is trained (:func:`trainable_layout`), the objective and the precision the run
    resolved (``auto`` differs between GPUs). Computed before any wrapping of the model and hashed example by
    example (a large dataset is not copied)."""
    examples_hash = hashlib.sha256()
    for e in examples:
        examples_hash.update(
            json.dumps({k: v for k, v in e.items() if not k.startswith("ref_")}, sort_keys=True).encode()
        )
    layout = trainable_layout(model)
    return fingerprint(examples_hash.hexdigest(), objective, precision, layout, *start_weights_sample(model))
