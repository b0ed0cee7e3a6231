"""The losses of the course, each a small function whose docstring is the formula the notebook shows.

Notation: for a prompt x and a response y = (y_1 .. y_T),
``log π(y|x) = Σ_t log π(y_t | x, y_<t)`` is the *summed* log-probability of the response tokens
(prompt and padding excluded). π is the policy being trained, π_ref the frozen reference,
y⁺ the chosen and y⁻ the rejected response, σ the logistic function.

Memory: a full ``logits`` tensor is batch × length × vocabulary floats (8 × 1024 × 151,936 fp32 is
5 GB for Qwen2.5). :func:`token_logps` never builds it: it runs the transformer body once, keeps
the hidden states only where a label exists, and applies the output layer in chunks, each chunk
recomputed in the backward pass (activation checkpointing) so at most one chunk of logits lives
at a time.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from .collators import IGNORE


def _unwrap(model):
    """The plain ``*ForCausalLM`` inside DDP / PEFT wrappers (LoRA layers stay active inside it)."""
    model = getattr(model, "module", model)
    if hasattr(model, "get_base_model"):
        model = model.get_base_model()
    return model


def _chunk_logps(hidden: torch.Tensor, weight: torch.Tensor, bias, targets: torch.Tensor) -> torch.Tensor:
    logits = F.linear(hidden, weight, bias)
    logits = logits.to(torch.promote_types(logits.dtype, torch.float32))  # bf16 -> fp32, fp64 stays fp64
    return logits.gather(-1, targets[:, None]).squeeze(-1) - torch.logsumexp(logits, dim=-1)


def auto_chunk_size(vocab_size: int, budget_floats: int = 2**25) -> int:
    """Positions per output-layer chunk so one chunk of fp32 logits is about 128 MB (~220 at 151,936)."""
    return max(16, budget_floats // vocab_size)


def token_logps(model, input_ids, attention_mask, labels, chunk_size: int | None = None):
    """Log-probabilities of the labelled tokens: ``log π(y_t | x, y_<t)`` for every t with a label.

    Returns ``(logps, row)``: two 1-D tensors over the labelled positions of the whole batch,
    ``row[i]`` being the batch row of position i. Equal to
    ``log_softmax(model(input_ids).logits[:, :-1]).gather(labels[:, 1:])`` on labelled positions.
    """
    inner = _unwrap(model)
    body = getattr(inner, inner.base_model_prefix)
    head = inner.get_output_embeddings()
    chunk_size = chunk_size or auto_chunk_size(head.weight.shape[0])
    hidden = body(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
    targets = labels[:, 1:]
    keep = targets != IGNORE
    hidden = hidden[:, :-1][keep]
    targets = targets[keep]
    row = keep.nonzero()[:, 0]
    pieces = []
    for start in range(0, hidden.shape[0], chunk_size):
        h, t = hidden[start : start + chunk_size], targets[start : start + chunk_size]
        if torch.is_grad_enabled() and h.requires_grad:
            pieces.append(checkpoint(_chunk_logps, h, head.weight, head.bias, t, use_reentrant=False))
        else:
            pieces.append(_chunk_logps(h, head.weight, head.bias, t))
    logps = torch.cat(pieces) if pieces else hidden.new_zeros(0, dtype=torch.promote_types(hidden.dtype, torch.float32))
    return logps, row


def sequence_logps(model, input_ids, attention_mask, labels, average: bool = False, chunk_size: int | None = None):
    """Per-row ``log π(y|x) = Σ_t log π(y_t|x, y_<t)`` over response tokens (or the mean if ``average``)."""
    logps, row = token_logps(model, input_ids, attention_mask, labels, chunk_size)
    n_rows = input_ids.shape[0]
    total = torch.zeros(n_rows, dtype=logps.dtype, device=logps.device).index_add(0, row, logps)
    if not average:
        return total
    counts = torch.zeros(n_rows, dtype=logps.dtype, device=logps.device).index_add(0, row, torch.ones_like(logps))
    return total / counts.clamp(min=1)


def sft_loss_sum(model, batch, chunk_size: int | None = None) -> tuple[torch.Tensor, int]:
    """Summed negative log-likelihood of the response tokens, and how many tokens it covers.

    The training loop divides the sum by the number of response tokens of the *whole accumulated
    batch*: ``L = -(1/N) Σ_{all micro-batches} Σ_t log π(y_t|x, y_<t)``, so the gradient of N tokens
    split over k micro-batches equals the gradient of one big batch.
    """
    logps, _ = token_logps(model, batch["input_ids"], batch["attention_mask"], batch["labels"], chunk_size)
    return -logps.sum(), logps.numel()


def dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta: float = 0.1):
    """Direct Preference Optimization (Rafailov et al. 2023, arXiv:2305.18290).

    ``Δ = (log π(y⁺) − log π(y⁻)) − (log π_ref(y⁺) − log π_ref(y⁻))``,
    ``L_DPO = −log σ(β·Δ)`` per pair, and the implicit rewards
    ``r⁺ = β(log π(y⁺) − log π_ref(y⁺))``, ``r⁻ = β(log π(y⁻) − log π_ref(y⁻))``.

    Inputs are 1-D tensors of summed sequence log-probs. Returns (losses, r⁺, r⁻), all per pair;
    the rewards are detached (they are metrics).
    """
    delta = (policy_chosen - policy_rejected) - (ref_chosen - ref_rejected)
    losses = -F.logsigmoid(beta * delta)
    chosen_rewards = beta * (policy_chosen - ref_chosen).detach()
    rejected_rewards = beta * (policy_rejected - ref_rejected).detach()
    return losses, chosen_rewards, rejected_rewards


def dpo_positive_penalty(policy_chosen, ref_chosen):
    """The DPO-Positive penalty ``max(0, log π_ref(y⁺) − log π(y⁺))`` per pair (Pal et al. 2024, Smaug,
    arXiv:2402.13228): positive only when the policy made the *chosen* response less likely than
    the reference did, which plain DPO allows as long as the rejected one drops faster."""
    return torch.clamp(ref_chosen - policy_chosen, min=0)


def kl_penalty(policy_chosen, policy_rejected, ref_chosen, ref_rejected):
    """The study's KL term ``½[(log π_ref(y⁺) − log π(y⁺)) + (log π_ref(y⁻) − log π(y⁻))]`` per pair.

    A one-sample, sequence-level estimate of KL(π_ref‖π) on the two dataset responses: unlike the
    true KL it can be negative (whenever the policy raises the likelihood of both responses).
    """
    return 0.5 * ((ref_chosen - policy_chosen) + (ref_rejected - policy_rejected))


def dpo_family_loss(
    policy_chosen,
    policy_rejected,
    ref_chosen,
    ref_rejected,
    beta: float = 0.1,
    dpop_weight: float = 0.0,
    kl_weight: float = 0.0,
    dpop_in_sigmoid: bool = False,
) -> dict:
    """The study's objective, per pair:

    ``L = −log σ(β·Δ) + λ_P · max(0, log π_ref(y⁺) − log π(y⁺)) + λ_KL · KL``    (study's DPO-P, additive)

    or, with ``dpop_in_sigmoid=True``, the Smaug paper's form
    ``L = −log σ(β·[Δ − λ_P · max(0, log π_ref(y⁺) − log π(y⁺))]) + λ_KL · KL``.

    Returns a dict of per-pair tensors: ``loss`` (what to average and back-propagate), ``dpo``,
    ``dpop``, ``kl``, ``rewards_chosen``, ``rewards_rejected``.
    """
    penalty = dpo_positive_penalty(policy_chosen, ref_chosen)
    kl = kl_penalty(policy_chosen, policy_rejected, ref_chosen, ref_rejected)
    if dpop_in_sigmoid:
        dpo, r_c, r_r = dpo_loss(policy_chosen - dpop_weight * penalty, policy_rejected, ref_chosen, ref_rejected, beta)
        r_c = beta * (policy_chosen - ref_chosen).detach()
        loss = dpo + kl_weight * kl
    else:
        dpo, r_c, r_r = dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta)
        loss = dpo + dpop_weight * penalty + kl_weight * kl
    return {
        "loss": loss,
        "dpo": dpo.detach(),
        "dpop": penalty.detach(),
        "kl": kl.detach(),
        "rewards_chosen": r_c,
        "rewards_rejected": r_r,
    }
