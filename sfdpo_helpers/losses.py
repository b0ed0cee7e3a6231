"""The losses of the course, each a small function whose docstring is the formula the notebook shows.

Notation: for a prompt x and a response y = (y_1 .. y_T),
``log π(y|x) = Σ_t log π(y_t | x, y_<t)`` is the *summed* log-probability of the response tokens
(prompt and padding excluded). π is the policy being trained, π_ref the frozen reference,
y⁺ the chosen and y⁻ the rejected response, σ the logistic function.

How the log-probabilities are computed (:func:`token_logps`, :func:`batch_sequence_logps`, :func:`sft_loss_sum`):

* **Through the model's own forward.** ``model(input_ids, ..., logits_to_keep=<empty>, output_hidden_states=True,
  use_cache=False).hidden_states[-1]`` is the final-normed hidden state (B, T, H) and the model computes no logits.
  Going through ``model(...)`` (not the transformer body directly) keeps DDP's gradient synchronisation and
  FSDP's parameter gathering, which hook the wrapper's ``forward``. The output layer's weight is then read from
  the unwrapped model (:func:`_unwrap`), outside that forward: right for DDP and PEFT; under FSDP it needs the
  root unit's parameters (embeddings, output layer) left unsharded after forward (not tested here).
* **Output layer only where a label exists**, in chunks: a full ``logits`` tensor is batch × length × vocabulary
  floats (8 × 1024 × 151,936 fp32 is 5 GB for Qwen2.5). The output layer runs on the N labelled positions only,
  ``chunk_size`` positions at a time (:func:`auto_chunk_size`: small on a CPU, thousands on a GPU); with several
  chunks each is recomputed in the backward pass (activation checkpointing), so one chunk of logits lives at a time.
* **Packed batches** (``collators.pack``: one row or a few, ``position_ids`` restarting at 0 per example, no
  attention mask, ``sequence_index`` naming each position's example) give the same per-sequence values as padded
  ones, in the order of the packed examples.
* **Fused linear cross-entropy** (SFT only, optional): Liger's or Apple's cut-cross-entropy kernel on CUDA, or
  torch's ``linear_cross_entropy`` where it exists; imported only when used.
"""

from __future__ import annotations

import importlib.util

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from .collators import IGNORE


def _unwrap(model):
    """The plain ``*ForCausalLM`` inside wrappers: ``torch.compile`` (``_orig_mod``), DDP / FSDP1 / DataParallel
    (``.module``), then PEFT (``get_base_model``; LoRA layers stay active inside it)."""
    for _ in range(8):
        inner = getattr(model, "_orig_mod", None)
        inner = getattr(model, "module", None) if inner is None else inner
        if not isinstance(inner, torch.nn.Module):
            break
        model = inner
    if hasattr(model, "get_base_model"):
        model = model.get_base_model()
    return model


def final_hidden_states(model, input_ids, attention_mask=None, position_ids=None) -> torch.Tensor:
    """Final-normed hidden states (B, T, H) from ``model(...)`` itself, without computing any logits.

    ``logits_to_keep`` = an empty index tensor makes the output layer run on zero positions; the last entry of
    ``hidden_states`` equals the body's ``last_hidden_state``. ``use_cache=False`` matters for packed rows:
    transformers builds the block-diagonal mask from ``position_ids`` only when there is no mask and no cache.
    """
    keep = torch.zeros(0, dtype=torch.long, device=input_ids.device)
    out = model(
        input_ids=input_ids,
        attention_mask=attention_mask,
        position_ids=position_ids,
        logits_to_keep=keep,
        output_hidden_states=True,
        use_cache=False,
    )
    return out.hidden_states[-1]


def auto_chunk_size(
    vocab_size: int,
    device=None,
    n_positions: int | None = None,
    *,
    cpu_budget_floats: int = 2**25,
    gpu_fraction: float = 0.125,
    bytes_per_logit: int = 12,
    min_positions: int = 256,
) -> int:
    """Positions per output-layer chunk, for the device the hidden states are on.

    * CPU (or ``device=None``): ``max(16, cpu_budget_floats // V)``: one chunk of fp32 logits is about 128 MB
      (2^25 floats × 4 B), 220 positions at V = 151,936. Small chunks cost nothing on a CPU.
    * CUDA: a memory budget ``B = gpu_fraction · free`` with ``free = mem_get_info()[0] + (reserved − allocated)``
      (what the driver has left plus what torch's caching allocator holds unused), divided by what one position
      costs in the output layer's forward + backward, ``bytes_per_logit · V``: fp32 logits (4 B), their gradient
      (4 B) and the softmax temporary of logsumexp's backward (4 B) = 12 B, i.e. 1.82 MB per position at
      V = 151,936. ``chunk = B // (12·V)``, clamped to [``min_positions``, ``n_positions``]. With 60 GB free
      (an H100 after the weights and AdamW state of Qwen2.5-0.5B): 7.5 GB / 1.82 MB ≈ 4,100 positions, one chunk
      for 8 × 1024 tokens with half response; a GPU wants few, large matmuls.

    ``n_positions`` (how many labelled positions there are) caps the result, so ``chunk >= n_positions`` means a
    single chunk (then :func:`token_logps` does not checkpoint it: recomputing it would save no memory).
    """
    device = torch.device(device) if device is not None else torch.device("cpu")
    if device.type != "cuda":
        size = max(16, cpu_budget_floats // vocab_size)
    else:
        free = torch.cuda.mem_get_info(device)[0]
        free += torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)
        size = max(min_positions, int(gpu_fraction * free) // (bytes_per_logit * vocab_size))
    if n_positions is not None:
        size = min(size, max(1, n_positions))
    return size


def _chunk_logps(hidden: torch.Tensor, weight: torch.Tensor, bias, targets: torch.Tensor) -> torch.Tensor:
    """``log softmax(h Wᵀ + b)[t]`` for one chunk: hidden (n, H), weight (V, H), targets (n,) → (n,)."""
    logits = F.linear(hidden, weight, bias)
    logits = logits.to(torch.promote_types(logits.dtype, torch.float32))  # bf16 -> fp32, fp64 stays fp64
    return logits.gather(-1, targets[:, None]).squeeze(-1) - torch.logsumexp(logits, dim=-1)


def _head_logps(hidden: torch.Tensor, targets: torch.Tensor, head, chunk_size: int | None) -> torch.Tensor:
    """The output layer on labelled positions only: hidden (N, H), targets (N,) → log-probs (N,), in chunks of
    ``chunk_size`` positions (default :func:`auto_chunk_size`), each checkpointed when there are several."""
    n = hidden.shape[0]
    chunk_size = chunk_size or auto_chunk_size(head.weight.shape[0], hidden.device, n)
    recompute = torch.is_grad_enabled() and hidden.requires_grad and n > chunk_size
    pieces = []
    for start in range(0, n, chunk_size):
        h, t = hidden[start : start + chunk_size], targets[start : start + chunk_size]
        if recompute:
            pieces.append(checkpoint(_chunk_logps, h, head.weight, head.bias, t, use_reentrant=False))
        else:
            pieces.append(_chunk_logps(h, head.weight, head.bias, t))
    if not pieces:
        return hidden.new_zeros(0, dtype=torch.promote_types(hidden.dtype, torch.float32)) + hidden.sum() * 0
    return torch.cat(pieces)


def _labelled(model, input_ids, attention_mask, labels, position_ids=None, sequence_index=None):
    """Hidden states where a label exists and what they predict.

    Position t predicts label t+1: ``hidden[:, :-1]`` against ``labels[:, 1:]``. Returns ``(hidden (N, H),
    targets (N,), row (N,), n_rows)``: ``row`` is the batch row of each labelled position, or its example when
    the batch is packed (``sequence_index`` (B, T); ``collators.pack`` guarantees that no label sits on the first
    token of an example, so t and t+1 always belong to the same example).
    """
    hidden = final_hidden_states(model, input_ids, attention_mask, position_ids)
    targets = labels[:, 1:]
    keep = targets != IGNORE
    if sequence_index is None:
        row, n_rows = keep.nonzero()[:, 0], input_ids.shape[0]
    else:
        row, n_rows = sequence_index[:, 1:][keep], int(sequence_index.max()) + 1
    return hidden[:, :-1][keep], targets[keep], row, n_rows


def token_logps(
    model, input_ids, attention_mask, labels, chunk_size: int | None = None, position_ids=None, sequence_index=None
):
    """Log-probabilities of the labelled tokens: ``log π(y_t | x, y_<t)`` for every t with a label.

    Returns ``(logps, row)``: two 1-D tensors over the labelled positions of the whole batch, ``row[i]`` being
    the batch row (or, packed, the example index) of position i. Equal to
    ``log_softmax(model(input_ids).logits[:, :-1]).gather(labels[:, 1:])`` on labelled positions.
    ``attention_mask`` may be None (packed rows: pass ``position_ids`` and ``sequence_index``).
    """
    hidden, targets, row, _ = _labelled(model, input_ids, attention_mask, labels, position_ids, sequence_index)
    return _head_logps(hidden, targets, _unwrap(model).get_output_embeddings(), chunk_size), row


def _per_sequence(logps: torch.Tensor, row: torch.Tensor, n_rows: int, average: bool) -> torch.Tensor:
    """``Σ_t logp_t`` per sequence (n_rows,), or the mean over its labelled tokens if ``average``."""
    total = torch.zeros(n_rows, dtype=logps.dtype, device=logps.device).index_add(0, row, logps)
    if not average:
        return total
    counts = torch.zeros(n_rows, dtype=logps.dtype, device=logps.device).index_add(0, row, torch.ones_like(logps))
    return total / counts.clamp(min=1)


def sequence_logps(
    model,
    input_ids,
    attention_mask,
    labels,
    average: bool = False,
    chunk_size: int | None = None,
    position_ids=None,
    sequence_index=None,
):
    """Per-row ``log π(y|x) = Σ_t log π(y_t|x, y_<t)`` over response tokens (or the mean if ``average``).

    Shape (B,) for a padded batch; (number of examples,) for a packed one (``sequence_index`` given).
    """
    hidden, targets, row, n_rows = _labelled(model, input_ids, attention_mask, labels, position_ids, sequence_index)
    logps = _head_logps(hidden, targets, _unwrap(model).get_output_embeddings(), chunk_size)
    return _per_sequence(logps, row, n_rows, average)


def batch_sequence_logps(model, batch: dict, chunk_size: int | None = None, average: bool = False) -> torch.Tensor:
    """:func:`sequence_logps` of a collated batch, padded (``attention_mask``) or packed (``position_ids``,
    ``sequence_index``, no mask): ``log π(y|x)`` per sequence, in the collator's order (for pair batches: the n
    chosen sequences, then the n rejected ones)."""
    return sequence_logps(
        model,
        batch["input_ids"],
        batch.get("attention_mask"),
        batch["labels"],
        average,
        chunk_size,
        batch.get("position_ids"),
        batch.get("sequence_index"),
    )


def fused_backend(choice: str | None, device) -> str | None:
    """Which fused linear cross-entropy :func:`sft_loss_sum` uses: ``"liger"``, ``"cce"``, ``"torch"`` or None.

    ``"auto"``: Liger's kernel, else Apple's cut-cross-entropy, when importable and the tensors are on CUDA;
    otherwise None (the chunked head). ``None``/``"none"``: None. A named backend: it, or ValueError when it
    cannot run here (not importable, or a Triton kernel without CUDA). Nothing is imported here.
    """
    if choice in (None, "none"):
        return None
    cuda = torch.device(device).type == "cuda"
    usable = {
        "liger": cuda and importlib.util.find_spec("liger_kernel") is not None,
        "cce": cuda and importlib.util.find_spec("cut_cross_entropy") is not None,
        "torch": hasattr(F, "linear_cross_entropy") and hasattr(torch.nn, "LinearCrossEntropyOptions"),
    }
    if choice == "auto":
        return next((name for name in ("liger", "cce") if usable[name]), None)
    if choice not in usable:
        raise ValueError(f"fused must be 'auto', 'none', 'liger', 'cce' or 'torch', got {choice!r}")
    if not usable[choice]:
        raise ValueError(f"fused linear cross-entropy {choice!r} cannot run here (not importable, or needs CUDA)")
    return choice


def fused_nll_sum(backend: str, hidden: torch.Tensor, weight: torch.Tensor, bias, targets: torch.Tensor):
    """``−Σ_i log softmax(h_i Wᵀ + b)[t_i]`` with a fused kernel that never holds all logits: hidden (N, H),
    weight (V, H), targets (N,) → a scalar. Under autocast the inputs are cast to the autocast dtype (the
    kernels are not autocast-aware); each library is imported here, on first use."""
    kind = hidden.device.type
    dtype = torch.get_autocast_dtype(kind) if torch.is_autocast_enabled(kind) else hidden.dtype
    h, w = hidden.to(dtype), weight.to(dtype)
    b = None if bias is None else bias.to(dtype)
    if backend == "liger":
        from liger_kernel.transformers.functional import liger_fused_linear_cross_entropy

        out = liger_fused_linear_cross_entropy(h, w, targets, bias=b, reduction="sum")
        return out[0] if isinstance(out, tuple) else out
    if backend == "cce":
        from cut_cross_entropy import linear_cross_entropy

        if b is not None:
            raise ValueError("cut_cross_entropy: an output layer with a bias is not supported here")
        return linear_cross_entropy(h, w, targets, reduction="sum")
    options = torch.nn.LinearCrossEntropyOptions()
    return F.linear_cross_entropy(h, w, targets, linear_bias=b, reduction="sum", options=options)


def sft_loss_sum(model, batch, chunk_size: int | None = None, fused: str | None = "auto") -> tuple[torch.Tensor, int]:
    """Summed negative log-likelihood of the response tokens, and how many tokens it covers.

    ``L_sum = −Σ_t log π(y_t|x, y_<t)`` over the labelled positions of a padded or packed batch. The training
    loop divides the sum by the number of response tokens of the *whole accumulated batch*:
    ``L = -(1/N) Σ_{all micro-batches} Σ_t log π(y_t|x, y_<t)``, so the gradient of N tokens split over k
    micro-batches equals the gradient of one big batch.

    The output layer: the chunked head of :func:`token_logps`, or with ``fused`` a fused linear cross-entropy
    (:func:`fused_backend`; ``"auto"`` picks Liger / cut-cross-entropy on CUDA when importable and no
    ``chunk_size`` was asked for). Same value either way.
    """
    hidden, targets, _, _ = _labelled(
        model,
        batch["input_ids"],
        batch.get("attention_mask"),
        batch["labels"],
        batch.get("position_ids"),
        batch.get("sequence_index"),
    )
    head = _unwrap(model).get_output_embeddings()
    backend = fused_backend(fused if chunk_size is None or fused != "auto" else None, hidden.device)
    if backend is not None and targets.numel() > 0:
        return fused_nll_sum(backend, hidden, head.weight, head.bias, targets), targets.numel()
    return -_head_logps(hidden, targets, head, chunk_size).sum(), targets.numel()


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
