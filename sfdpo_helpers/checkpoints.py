"""Atomic files and resumable training checkpoints.

Every write goes to a temporary name, is fsynced, then renamed into place: a process killed in
the middle of a save leaves the previous checkpoint (or shard) untouched and loadable.

A checkpoint folder ``step-000120/`` holds

* ``trainable.safetensors``: the trainable weights (all weights for full fine-tuning, the LoRA
  adapter for LoRA),
* ``optimizer.pt`` and ``scheduler.pt``: their ``state_dict`` (loaded with ``weights_only=True``),
* ``rng-<rank>.pt``: torch's CPU (and CUDA) RNG state of each process,
* ``state.json``: the step counter and anything the loop wants back (e.g. logged metrics).

``latest`` (a one-line text file) names the newest complete checkpoint.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import torch

from .files import _fsync_dir, atomic_write_text


def trainable_state(model) -> dict[str, torch.Tensor]:
    """Parameters that require grad (names as in ``named_parameters``; tied weights once)."""
    return {n: p.detach().cpu().contiguous() for n, p in model.named_parameters() if p.requires_grad}


def save_checkpoint(
    run_dir: str | Path,
    step: int,
    model,
    optimizer,
    scheduler,
    state: dict,
    rank: int = 0,
    world_size: int = 1,
    keep: int = 2,
) -> Path:
    """Write ``run_dir/step-XXXXXX`` atomically and point ``latest`` at it; keep the newest ``keep``.

    In a multi-process run every rank calls this: rank 0 writes the shared files, each rank its RNG
    state; the caller puts a barrier after it.
    """
    from safetensors.torch import save_file

    run_dir = Path(run_dir)
    final = run_dir / f"step-{step:06d}"
    staging = run_dir / f".staging-step-{step:06d}"
    staging.mkdir(parents=True, exist_ok=True)
    rng = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state()
    torch.save(rng, staging / f".rng-{rank}.tmp")
    os.replace(staging / f".rng-{rank}.tmp", staging / f"rng-{rank}.pt")
    if rank != 0:
        return final
    save_file(trainable_state(model), staging / "trainable.safetensors")
    torch.save(optimizer.state_dict(), staging / "optimizer.pt")
    torch.save(scheduler.state_dict(), staging / "scheduler.pt")
    (staging / "state.json").write_text(json.dumps({"step": step, "world_size": world_size, **state}))
    if world_size > 1:  # wait (bounded) for the other ranks' RNG files
        import time

        deadline = time.time() + 120
        while len(list(staging.glob("rng-*.pt"))) < world_size and time.time() < deadline:
            time.sleep(0.05)
    for f in staging.iterdir():
        with open(f, "rb") as fh:
            os.fsync(fh.fileno())
    if final.exists():
        shutil.rmtree(final)
    os.replace(staging, final)
    _fsync_dir(run_dir)
    atomic_write_text(run_dir / "latest", final.name + "\n")
    for old in sorted(run_dir.glob("step-*"))[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    """The newest complete checkpoint of a run, or None. Half-written staging folders are ignored."""
    run_dir = Path(run_dir)
    pointer = run_dir / "latest"
    if not pointer.exists():
        return None
    ckpt = run_dir / pointer.read_text().strip()
    needed = ("trainable.safetensors", "optimizer.pt", "scheduler.pt", "state.json")
    missing = [n for n in needed if not (ckpt / n).exists()]
    if missing:
        raise FileNotFoundError(f"checkpoint {ckpt} is incomplete: missing {', '.join(missing)}")
    return ckpt


def load_checkpoint(ckpt: str | Path, model, optimizer, scheduler, rank: int = 0) -> dict:
    """Restore weights, optimizer, scheduler and this rank's RNG; return ``state.json``."""
    from safetensors.torch import load_file

    ckpt = Path(ckpt)
    if not ckpt.is_dir():
        raise FileNotFoundError(f"checkpoint folder {ckpt} does not exist")
    weights = load_file(ckpt / "trainable.safetensors")
    params = dict(model.named_parameters())
    unknown = sorted(set(weights) - set(params))
    if unknown:
        raise ValueError(f"checkpoint {ckpt} has weights this model lacks: {unknown[:3]}")
    with torch.no_grad():
        for name, value in weights.items():
            params[name].copy_(value)
    optimizer.load_state_dict(torch.load(ckpt / "optimizer.pt", weights_only=True))
    scheduler.load_state_dict(torch.load(ckpt / "scheduler.pt", weights_only=True))
    rng_file = ckpt / f"rng-{rank}.pt"
    if rng_file.exists():
        rng = torch.load(rng_file, weights_only=True)
        torch.set_rng_state(rng["cpu"])
        if "cuda" in rng and torch.cuda.is_available():
            torch.cuda.set_rng_state(rng["cuda"])
    return json.loads((ckpt / "state.json").read_text())
