"""Direct preference optimisation: the pieces the DPO notebook wires into :func:`training.train`.

The reference model π_ref is the starting policy, frozen. Three ways to get its log-probs:

* ``reference="precomputed"`` (default): one pass over the pairs before training, stored per pair next to
  the data (``ref_logps-<fingerprint of π_ref>.json``) and reused across epochs, runs and sweeps;
* ``reference="model"``: score every batch with a frozen copy (with LoRA: the same network with
  its adapters switched off, so no copy at all).

Chosen and rejected responses of a micro-batch go through the policy in **one** forward pass.
Logged metrics use TRL's names: ``rewards/chosen``, ``rewards/rejected``, ``rewards/accuracies``,
``rewards/margins``, ``logps/chosen``, ``logps/rejected``, plus the study's terms ``dpo``,
``dpop`` and ``kl`` separately.
"""

from __future__ import annotations

import contextlib
import copy
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from .collators import PackedPairCollator, PairCollator, tokenize_pairs
from .files import atomic_write_text, fingerprint
from .losses import batch_sequence_logps, dpo_family_loss
from .training import TrainSettings, make_accelerator, start_weights_sample, train


@dataclass
class DPOSettings:
    """The objective's knobs (the study: β = 0.1; DPO-P and KL weights 0 unless stated)."""

    beta: float = 0.1
    dpop_weight: float = 0.0
    kl_weight: float = 0.0
    dpop_in_sigmoid: bool = False

    def __post_init__(self):
        if self.beta <= 0:
            raise ValueError(f"beta must be positive, got {self.beta}")
        if self.dpop_weight < 0 or self.kl_weight < 0:
            raise ValueError("dpop_weight and kl_weight must be >= 0")


def pair_logps(model, batch, chunk_size: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(log π(y⁺|x), log π(y⁻|x)) for a pair batch: chosen and rejected rows go through one forward pass."""
    logps = batch_sequence_logps(model, batch, chunk_size=chunk_size)
    half = logps.shape[0] // 2
    return logps[:half], logps[half:]


def reference_context(model):
    """π_ref for a LoRA model is the same network with adapters off; otherwise nothing to switch."""
    return model.disable_adapter() if hasattr(model, "disable_adapter") else contextlib.nullcontext()


def _reference_key(model, precision: str) -> str:
    """π_ref's identity: a sample of every weight tensor (LoRA adapters left out: they are off for π_ref, and
    their random start differs between runs) and the precision (bf16 and fp32 references differ). The pairs'
    tokens key each value (:func:`_pair_key`); batching and chunking change a value by rounding only."""
    return fingerprint(precision, *start_weights_sample(model))


def _pair_key(example: dict) -> str:
    """A pair's identity: the token ids and labels of its chosen and rejected sequences."""
    return fingerprint(*(example[side][k] for side in ("chosen", "rejected") for k in ("input_ids", "labels")))


@torch.no_grad()
def precompute_reference(
    model,
    examples: list[dict],
    pad_token_id: int,
    batch_size: int = 8,
    cache_dir: str | Path | None = None,
    chunk_size: int | None = None,
    progress: bool = True,
    accelerator=None,
) -> list[dict]:
    """Add ``ref_chosen`` / ``ref_rejected`` (summed log-probs under π_ref) to every pair.

    The pass runs under the training ``accelerator``'s autocast, so π_ref has the precision the policy
    will have (a bf16 policy against an fp32 reference would start with a non-zero margin). With
    ``cache_dir`` the values are stored per pair in ``ref_logps-<fingerprint>.json`` (one file per reference
    model and precision) and only the pairs not yet there are scored: DPO-Positive on a share of DPO's pairs,
    or an RS-DPO mixture that keeps dataset pairs, costs no reference pass for those.
    """
    from tqdm import tqdm  # text bars: a saved notebook keeps their final state (widget bars keep their first)

    precision = accelerator.mixed_precision if accelerator is not None else "no"
    cache = Path(cache_dir) / f"ref_logps-{_reference_key(model, precision)}.json" if cache_dir else None
    known = json.loads(cache.read_text()) if cache is not None and cache.exists() else {}
    keys = [_pair_key(e) for e in examples]
    todo = list({k: i for i, k in enumerate(keys) if k not in known}.values())  # each missing pair once
    if todo:
        collate, device, was_training = PairCollator(pad_token_id), next(model.parameters()).device, model.training
        model.eval()
        autocast = accelerator.autocast() if accelerator is not None else contextlib.nullcontext()
        with reference_context(model), autocast:
            for start in tqdm(range(0, len(todo), batch_size), desc="reference log-probs", disable=not progress):
                part = todo[start : start + batch_size]
                batch = {k: v.to(device) for k, v in collate([examples[i] for i in part]).items()}
                chosen, rejected = pair_logps(model, batch, chunk_size)
                known.update({keys[i]: [c, r] for i, c, r in zip(part, chosen.tolist(), rejected.tolist())})
        model.train(was_training)
        if cache is not None:
            atomic_write_text(cache, json.dumps(known))
    return [{**e, "ref_chosen": known[k][0], "ref_rejected": known[k][1]} for e, k in zip(examples, keys)]


class PrecomputedPairCollator(PairCollator):
    """A PairCollator that also carries the precomputed reference log-probs."""

    def __call__(self, pairs):
        batch = super().__call__(pairs)
        batch["ref_chosen"] = torch.tensor([p["ref_chosen"] for p in pairs], dtype=torch.float32)
        batch["ref_rejected"] = torch.tensor([p["ref_rejected"] for p in pairs], dtype=torch.float32)
        return batch


def dpo_batch_terms(model, batch, objective: DPOSettings, reference_model=None, chunk_size: int | None = None) -> dict:
    """Per-pair loss terms and metrics for one batch (see :func:`losses.dpo_family_loss`)."""
    policy_chosen, policy_rejected = pair_logps(model, batch, chunk_size)
    if "ref_chosen" in batch:
        ref_chosen, ref_rejected = batch["ref_chosen"], batch["ref_rejected"]
    else:
        with torch.no_grad(), reference_context(reference_model):
            ref_chosen, ref_rejected = pair_logps(reference_model, batch, chunk_size)
    terms = dpo_family_loss(
        policy_chosen,
        policy_rejected,
        ref_chosen,
        ref_rejected,
        objective.beta,
        objective.dpop_weight,
        objective.kl_weight,
        objective.dpop_in_sigmoid,
    )
    terms["logps_chosen"], terms["logps_rejected"] = policy_chosen.detach(), policy_rejected.detach()
    return terms


def pair_count(batch) -> int:
    """Pairs in a batch: the DPO loss is averaged over these."""
    return batch["pair_index"].shape[0]


def metric_sums(terms: dict) -> dict:
    """TRL-named metrics, summed over the pairs of a batch (the loop divides by the pair count)."""
    r_c, r_r = terms["rewards_chosen"], terms["rewards_rejected"]
    return {
        "rewards/chosen": r_c.sum(),
        "rewards/rejected": r_r.sum(),
        "rewards/accuracies": (r_c > r_r).float().sum(),
        "rewards/margins": (r_c - r_r).sum(),
        "logps/chosen": terms["logps_chosen"].sum(),
        "logps/rejected": terms["logps_rejected"].sum(),
        "dpo": terms["dpo"].sum(),
        "dpop": terms["dpop"].sum(),
        "kl": terms["kl"].sum(),
    }


@torch.no_grad()
def eval_pairs(
    model,
    examples: list[dict],
    objective: DPOSettings,
    pad_token_id: int,
    batch_size: int = 8,
    reference_model=None,
    chunk_size: int | None = None,
) -> dict:
    """Mean DPO loss, reward accuracy and margin on held-out pairs."""
    collate = PrecomputedPairCollator(pad_token_id) if "ref_chosen" in examples[0] else PairCollator(pad_token_id)
    device = next(model.parameters()).device
    sums, n = {}, 0
    for start in range(0, len(examples), batch_size):
        batch = {k: v.to(device) for k, v in collate(examples[start : start + batch_size]).items()}
        terms = dpo_batch_terms(model, batch, objective, reference_model, chunk_size)
        for k, v in {"loss": terms["loss"].sum(), **metric_sums(terms)}.items():
            sums[k] = sums.get(k, 0.0) + float(v)
        n += batch["ref_chosen"].shape[0] if "ref_chosen" in batch else batch["input_ids"].shape[0] // 2
    return {f"eval_{k}": v / n for k, v in sums.items() if k in ("loss", "rewards/accuracies", "rewards/margins")}


@torch.no_grad()
def implicit_rewards(model, tokenizer, rows: list[dict], beta: float, max_prompt_tokens: int,
                     max_response_tokens: int, batch_size: int = 8,
                     reference_model=None) -> list[tuple | None]:  # fmt: skip
    """DPO's implicit rewards ``(r⁺, r⁻)`` of each preference row, r = β·(log π(y|x) − log π_ref(y|x)), with π_ref
    the model with its LoRA adapters off (or ``reference_model``, for full fine-tuning); None for a pair the
    tokenizer skips (over the budget)."""
    device = next(model.parameters()).device
    budgets = (max_prompt_tokens, max_response_tokens, "implicit rewards")
    tokenized = [tokenize_pairs([r], tokenizer, *budgets)[0] for r in rows]
    kept = [i for i, ex in enumerate(tokenized) if ex]
    collate, out = PairCollator(tokenizer.pad_token_id), [None] * len(rows)
    for start in range(0, len(kept), batch_size):
        part = kept[start : start + batch_size]
        batch = {k: v.to(device) for k, v in collate([tokenized[i][0] for i in part]).items()}
        chosen, rejected = pair_logps(model, batch)
        with reference_context(model if reference_model is None else None):
            ref_chosen, ref_rejected = pair_logps(reference_model or model, batch)
        for i, rc, rr in zip(
            part, (beta * (chosen - ref_chosen)).tolist(), (beta * (rejected - ref_rejected)).tolist()
        ):
            out[i] = (rc, rr)
    return out


def reward_accuracy_by_kind(rows: list[dict], rewards: list[tuple | None]) -> dict[str, dict]:
    """The share of pairs with r⁺ > r⁻ (:func:`implicit_rewards`), in all (``"all"``) and per ``rejected_kind`` (a
    row without one counts as ``"unknown"``); skipped pairs (None) are left out."""
    table: dict[str, list] = {}
    for row, reward in zip(rows, rewards):
        if reward is not None:
            for kind in ("all", row.get("rejected_kind") or "unknown"):
                table.setdefault(kind, []).append(reward[0] > reward[1])
    return {kind: {"pairs": len(w), "accuracy": sum(w) / len(w)} for kind, w in table.items()}


def implicit_reward_accuracy_by_kind(model, tokenizer, rows: list[dict], beta: float, max_prompt_tokens: int,
                                     max_response_tokens: int, batch_size: int = 8,
                                     reference_model=None) -> dict[str, dict]:  # fmt: skip
    """DPO's implicit-reward accuracy on preference ``rows`` (held out from training) per ``rejected_kind``: what
    DPO optimises, read per kind of rejected answer (:func:`implicit_rewards`, :func:`reward_accuracy_by_kind`)."""
    rewards = implicit_rewards(model, tokenizer, rows, beta, max_prompt_tokens, max_response_tokens, batch_size,
                               reference_model)  # fmt: skip
    return reward_accuracy_by_kind(rows, rewards)


def frozen_copy(model):
    """A frozen deep copy of ``model`` (π_ref when not using LoRA)."""
    ref = copy.deepcopy(model).eval()
    for p in ref.parameters():
        p.requires_grad_(False)
    return ref


def _reference(model, examples, held_out, pad, settings: TrainSettings, reference: str, cache_dir, acc, progress):
    """π_ref: precomputed log-probs on the pairs (returned with them), or a model scored every batch."""
    collate = PackedPairCollator(pad_token_id=pad) if settings.packing else None
    if reference == "model":
        ref_model = model if hasattr(model, "disable_adapter") else frozen_copy(model)  # same device as model
        return examples, held_out, collate or PairCollator(pad), ref_model
    args = (pad, settings.micro_batch_size, cache_dir, settings.chunk_size)
    examples = precompute_reference(model, examples, *args, progress, accelerator=acc)
    held_out = precompute_reference(model, held_out, *args, False, accelerator=acc) if held_out else []
    return examples, held_out, collate or PrecomputedPairCollator(pad), None


def train_dpo(
    model,
    tokenizer,
    pairs: list[dict],
    settings: TrainSettings,
    run_dir,
    objective: DPOSettings | None = None,
    reference: str = "precomputed",
    eval_pairs_rows: list[dict] | None = None,
    max_prompt_tokens: int = 320,
    max_response_tokens: int = 440,
    ref_cache_dir=None,
    monitor_fn=None,
    resume: bool = True,
    progress: bool = True,
    on_micro_batch=None,
):
    """Tokenize pairs, get π_ref's log-probs, train. Returns (history, skip report)."""
    if reference not in ("precomputed", "model"):
        raise ValueError(f"reference must be 'precomputed' or 'model', got {reference!r}")
    objective = objective or DPOSettings()
    acc = make_accelerator(settings)
    model.to(acc.device)
    examples, report = tokenize_pairs(pairs, tokenizer, max_prompt_tokens, max_response_tokens, "dpo pairs")
    budgets = (max_prompt_tokens, max_response_tokens, "dpo eval")
    held_out = tokenize_pairs(eval_pairs_rows, tokenizer, *budgets)[0] if eval_pairs_rows else []
    pad = tokenizer.pad_token_id
    examples, held_out, collate, ref_model = _reference(
        model, examples, held_out, pad, settings, reference, ref_cache_dir, acc, progress
    )

    def loss_sum(m, batch):
        if on_micro_batch is not None:
            on_micro_batch()
        terms = dpo_batch_terms(m, batch, objective, ref_model, settings.chunk_size)
        return terms["loss"].sum(), metric_sums(terms)

    def eval_fn(m):
        if not held_out:
            return {}
        return eval_pairs(m, held_out, objective, pad, settings.micro_batch_size, ref_model, settings.chunk_size)

    lengths = [len(e["chosen"]["input_ids"]) + len(e["rejected"]["input_ids"]) for e in examples]
    history = train(model, examples, collate, loss_sum, pair_count, lengths, settings, run_dir, eval_fn, monitor_fn,
                    resume, progress, acc, objective={**asdict(objective), "reference": reference})  # fmt: skip
    return history, report
