"""The DPO maths: each loss equals an independent hand computation, its gradient equals finite
differences, the numbers equal TRL's DPOTrainer on the same token ids, LoRA's reference is the base
model, the reference cache is read back, and a few DPO steps on the mini fixture learn the preference."""

import copy
import json
import math

import pytest
import torch

from sfdpo_helpers import dpo as dpo_module
from sfdpo_helpers.collators import IGNORE, PairCollator, prompt_text, tokenize_pairs
from sfdpo_helpers.dpo import (
    DPOSettings,
    dpo_batch_terms,
    metric_sums,
    pair_logps,
    precompute_reference,
    reference_context,
    train_dpo,
)
from sfdpo_helpers.losses import dpo_family_loss, dpo_loss, dpo_positive_penalty, kl_penalty, sequence_logps
from sfdpo_helpers.training import TrainSettings, add_lora

LOG2 = math.log(2.0)


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread: these tensors are small, and on a shared 2-core machine two threads that
    wait for each other made the forward/backward passes ~4x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# --- the formulas, written out with plain floats --------------------------------------------------


def neg_log_sigmoid(x: float) -> float:
    """−log σ(x), computed without overflow on either side."""
    return math.log1p(math.exp(-x)) if x >= 0 else -x + math.log1p(math.exp(x))


def hand_pair(pc, pr, rc, rr, beta, dpop_weight=0.0, kl_weight=0.0, in_sigmoid=False):
    """One pair of the study's objective, term by term."""
    delta = (pc - pr) - (rc - rr)
    penalty = max(0.0, rc - pc)
    kl = 0.5 * ((rc - pc) + (rr - pr))
    dpo = neg_log_sigmoid(beta * (delta - dpop_weight * penalty)) if in_sigmoid else neg_log_sigmoid(beta * delta)
    loss = dpo + kl_weight * kl + (0.0 if in_sigmoid else dpop_weight * penalty)
    return {
        "loss": loss,
        "dpo": dpo,
        "dpop": penalty,
        "kl": kl,
        "rewards_chosen": beta * (pc - rc),
        "rewards_rejected": beta * (pr - rr),
    }


def random_logps(n=64, seed=0):
    """Summed log-probs of plausible size (−150 .. −1), some pairs with policy above the reference."""
    g = torch.Generator().manual_seed(seed)
    ref_c = -(1 + 149 * torch.rand(n, generator=g, dtype=torch.float64))
    ref_r = -(1 + 149 * torch.rand(n, generator=g, dtype=torch.float64))
    pol_c = ref_c + 20 * torch.randn(n, generator=g, dtype=torch.float64)
    pol_r = ref_r + 20 * torch.randn(n, generator=g, dtype=torch.float64)
    return pol_c, pol_r, ref_c, ref_r


def close(a, b, tol=1e-9):
    return abs(a - b) <= tol * max(1.0, abs(b))


# --- the losses equal the hand computation --------------------------------------------------------


@pytest.mark.parametrize("beta", [0.1, 0.5])
def test_dpo_loss_and_rewards_equal_the_formula(beta):
    pc, pr, rc, rr = random_logps()
    losses, r_c, r_r = dpo_loss(pc, pr, rc, rr, beta)
    for i in range(len(pc)):
        want = hand_pair(pc[i].item(), pr[i].item(), rc[i].item(), rr[i].item(), beta)
        assert close(losses[i].item(), want["dpo"])
        assert close(r_c[i].item(), want["rewards_chosen"])
        assert close(r_r[i].item(), want["rewards_rejected"])


def test_dpo_positive_penalty_equals_the_formula():
    pc, _, rc, _ = random_logps(seed=1)
    penalty = dpo_positive_penalty(pc, rc)
    assert (penalty == 0).any() and (penalty > 0).any()  # the random draw covers both sides of the hinge
    for i in range(len(pc)):
        assert close(penalty[i].item(), max(0.0, rc[i].item() - pc[i].item()))


def test_kl_penalty_equals_the_formula():
    pc, pr, rc, rr = random_logps(seed=2)
    kl = kl_penalty(pc, pr, rc, rr)
    for i in range(len(pc)):
        assert close(kl[i].item(), 0.5 * ((rc[i].item() - pc[i].item()) + (rr[i].item() - pr[i].item())))


@pytest.mark.parametrize(
    "dpop_weight,kl_weight,in_sigmoid",
    [
        (0.0, 0.0, False),
        (5.0, 0.0, False),
        (0.0, 0.3, False),
        (5.0, 0.3, False),  # the study's additive DPO-P
        (5.0, 0.0, True),
        (50.0, 0.3, True),  # Smaug's in-sigmoid DPO-P
    ],
)
def test_dpo_family_loss_equals_the_formula(dpop_weight, kl_weight, in_sigmoid):
    pc, pr, rc, rr = random_logps(seed=3)
    beta = 0.1
    terms = dpo_family_loss(pc, pr, rc, rr, beta, dpop_weight, kl_weight, in_sigmoid)
    for i in range(len(pc)):
        want = hand_pair(
            pc[i].item(), pr[i].item(), rc[i].item(), rr[i].item(), beta, dpop_weight, kl_weight, in_sigmoid
        )
        for key, value in want.items():
            assert close(terms[key][i].item(), value), (key, i)


def test_in_sigmoid_dpop_is_plain_dpo_when_policy_keeps_the_chosen_likelihood():
    # policy ≥ reference on every chosen response: the penalty is 0 and both DPO-P forms are DPO
    pc, pr, rc, rr = random_logps(seed=4)
    pc = torch.maximum(pc, rc)
    plain = dpo_family_loss(pc, pr, rc, rr, 0.1)["loss"]
    for in_sigmoid in (False, True):
        torch.testing.assert_close(dpo_family_loss(pc, pr, rc, rr, 0.1, 10.0, 0.0, in_sigmoid)["loss"], plain)


# --- hand-checked edge cases ----------------------------------------------------------------------


def test_zero_margin_costs_log_2():
    # Δ = 0 (e.g. the policy *is* the reference, first step of every run): −log σ(0) = log 2
    x = torch.tensor([-12.0, -3.5], dtype=torch.float64)
    y = torch.tensor([-40.0, -7.25], dtype=torch.float64)
    losses, r_c, r_r = dpo_loss(x, y, x, y, beta=0.1)
    torch.testing.assert_close(losses, torch.full_like(losses, LOG2))
    assert r_c.abs().max() == 0 and r_r.abs().max() == 0
    # Δ = 0 also when both log-ratios move by the same amount
    losses, _, _ = dpo_loss(x + 3, y + 3, x, y, beta=0.1)
    torch.testing.assert_close(losses, torch.full_like(losses, LOG2))


def test_hand_values():
    # Δ = (−10 − −20) − (−12 − −18) = 4; β = 0.5: −log σ(2) = log(1 + e^−2) = 0.126928...
    losses, r_c, r_r = dpo_loss(
        torch.tensor([-10.0]), torch.tensor([-20.0]), torch.tensor([-12.0]), torch.tensor([-18.0]), 0.5
    )
    assert losses.item() == pytest.approx(0.12692801104297263, rel=1e-6)
    assert r_c.item() == pytest.approx(1.0) and r_r.item() == pytest.approx(-1.0)


def test_dpop_penalty_is_zero_when_policy_at_or_above_reference_on_chosen():
    ref = torch.tensor([-30.0, -30.0, -30.0])
    assert dpo_positive_penalty(torch.tensor([-30.0, -10.0, -29.99]), ref).tolist() == [0.0, 0.0, 0.0]
    assert dpo_positive_penalty(torch.tensor([-35.0]), torch.tensor([-30.0])).item() == 5.0


def test_kl_estimate_is_negative_when_the_policy_raises_both_responses():
    kl = kl_penalty(torch.tensor([-8.0]), torch.tensor([-9.0]), torch.tensor([-10.0]), torch.tensor([-12.0]))
    assert kl.item() == pytest.approx(-2.5)  # ½[(−10 − −8) + (−12 − −9)]


def test_rewards_are_detached_metrics():
    pc = torch.tensor([-5.0], requires_grad=True)
    terms = dpo_family_loss(pc, torch.tensor([-6.0]), torch.tensor([-5.5]), torch.tensor([-5.5]), 0.1, 1.0, 1.0, True)
    assert terms["loss"].requires_grad
    assert not any(terms[k].requires_grad for k in ("dpo", "dpop", "kl", "rewards_chosen", "rewards_rejected"))


# --- gradient: autograd equals finite differences -------------------------------------------------


def bigram_logps(table, sequences, prompt_len):
    """log π(y|x) of a bigram policy π(y_t | y_t−1) = softmax(table[y_t−1]), summed over the response."""
    logp = torch.log_softmax(table, dim=-1)
    return torch.stack([sum(logp[s[t - 1], s[t]] for t in range(prompt_len, len(s))) for s in sequences])


@pytest.mark.parametrize("dpop_weight,kl_weight,in_sigmoid", [(0.0, 0.0, False), (2.0, 0.5, False), (2.0, 0.5, True)])
def test_dpo_gradient_matches_finite_differences(dpop_weight, kl_weight, in_sigmoid):
    """d/dθ of the mean loss by autograd equals a central finite difference (float64), θ being the
    logit table of a 6-token bigram policy. (Not through sequence_logps: its output layer computes
    in float32 even for a float64 model, too coarse for finite differences; its gradient is checked
    against the full-logits computation in test_losses_sft.py.)"""
    g = torch.Generator().manual_seed(0)
    table = torch.randn(6, 6, generator=g, dtype=torch.float64, requires_grad=True)
    chosen = [[0, 1, 2, 3, 4], [0, 5, 5, 1]]
    rejected = [[0, 1, 4, 4], [0, 5, 2, 3, 3, 2]]
    ref_c = bigram_logps(torch.zeros(6, 6, dtype=torch.float64), chosen, 2) + torch.tensor(
        [0.7, -0.4], dtype=torch.float64
    )
    ref_r = bigram_logps(torch.zeros(6, 6, dtype=torch.float64), rejected, 2) + torch.tensor(
        [-0.3, 0.2], dtype=torch.float64
    )

    def loss(t):
        pc, pr = bigram_logps(t, chosen, 2), bigram_logps(t, rejected, 2)
        return dpo_family_loss(pc, pr, ref_c, ref_r, 0.5, dpop_weight, kl_weight, in_sigmoid)["loss"].mean()

    with torch.no_grad():  # the hinge of DPO-P is active on some pair, so its gradient is exercised
        assert dpop_weight == 0 or (dpo_positive_penalty(bigram_logps(table, chosen, 2), ref_c) > 0).any()
    (grad,) = torch.autograd.grad(loss(table), table)
    eps = 1e-6
    numeric = torch.zeros_like(table)
    with torch.no_grad():
        for i in range(6):
            for j in range(6):
                step = torch.zeros_like(table)
                step[i, j] = eps
                numeric[i, j] = (loss(table + step) - loss(table - step)) / (2 * eps)
    assert grad.abs().max() > 1e-3
    torch.testing.assert_close(grad, numeric, rtol=1e-6, atol=1e-9)


# --- parity with TRL's DPOTrainer -----------------------------------------------------------------

PARITY_ROWS = [
    {"prompt": "What is 2+2?", "chosen": "Four.", "rejected": "It is five, I think."},
    {"prompt": "Name a colour.", "chosen": "Blue is a colour.", "rejected": "No."},
    {"prompt": "Say hi in French.", "chosen": "Bonjour!", "rejected": "Hello there, friend."},
    {
        "prompt": "Why is the sea salty?",
        "chosen": "Rivers carry dissolved minerals into it.",
        "rejected": "Because of fish.",
    },
]


def test_loss_and_metrics_equal_trl_dpo_trainer(tokenizer, tmp_path):
    """Our loss and TRL-named metrics equal TRL 1.16's DPOTrainer (sigmoid loss, β = 0.1) on the same
    batch, with a reference that differs from the policy so Δ ≠ 0.

    Tokenization: TRL gets the *standard* (string) format with the prompt already rendered by our
    chat template (``prompt_text``) and the bare reply as completion; TRL appends the eos token,
    which for SmolLM2 is the end-of-turn ``<|im_end|>``. Its token ids and completion mask are then
    exactly ours (asserted below). (The conversational format would differ: TRL renders the full
    conversation and keeps the ``\\n`` after ``<|im_end|>`` in the completion, we stop at the
    end-of-turn.) Both sides are then scored on TRL's collated tensors.
    """
    pytest.importorskip("trl", reason="TRL parity needs the `trl` package (pip install sfdpo[test])")
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    from sfdpo_helpers.models import tiny_model

    policy = tiny_model(tokenizer, seed=0)
    reference = copy.deepcopy(policy)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in reference.parameters():
            p.add_(0.02 * torch.randn(p.shape, generator=g))
    reference.requires_grad_(False).eval()
    our_policy, our_reference = copy.deepcopy(policy), copy.deepcopy(reference)  # TRL patches forward()

    n = len(PARITY_ROWS)
    dataset = Dataset.from_list(
        [
            {"prompt": prompt_text(tokenizer, r["prompt"]), "chosen": r["chosen"], "rejected": r["rejected"]}
            for r in PARITY_ROWS
        ]
    )
    # TRL 1.16 defaults bf16=True (autocast, even on CPU; the reference pass then differs by ~1e-3 in
    # summed log-prob) and gradient checkpointing on: both off, so that TRL computes in fp32 like us.
    config = DPOConfig(
        output_dir=str(tmp_path / "trl"),
        beta=0.1,
        loss_type=["sigmoid"],
        per_device_train_batch_size=n,
        max_length=512,
        report_to=[],
        use_cpu=True,
        bf16=False,
        activation_checkpointing=False,
        precompute_ref_log_probs=False,
        save_strategy="no",
        logging_strategy="no",
        disable_tqdm=True,
    )
    trainer = DPOTrainer(
        model=policy, ref_model=reference, args=config, train_dataset=dataset, processing_class=tokenizer
    )
    inputs = trainer.data_collator([trainer.train_dataset[i] for i in range(n)])
    trl_loss = trainer.compute_loss(trainer.model, inputs).item()
    mode = "train" if trainer.model.training else "eval"
    trl = {k: v[-1] for k, v in trainer._metrics[mode].items()}

    # same token ids as our own tokenizer + collator
    labels = inputs["input_ids"].masked_fill(inputs["completion_mask"] == 0, IGNORE)
    examples, _ = tokenize_pairs(PARITY_ROWS, tokenizer)
    ours_batch = PairCollator(tokenizer.pad_token_id)(examples)
    assert torch.equal(ours_batch["input_ids"], inputs["input_ids"])
    assert torch.equal(ours_batch["attention_mask"], inputs["attention_mask"])
    assert torch.equal(ours_batch["labels"], labels)

    batch = {"input_ids": inputs["input_ids"], "attention_mask": inputs["attention_mask"], "labels": labels}
    terms = dpo_batch_terms(our_policy, batch, DPOSettings(beta=0.1), reference_model=our_reference)
    ours = {k: float(v) / n for k, v in metric_sums(terms).items()}
    assert abs(ours["rewards/margins"]) > 1e-3  # the reference really differs: Δ ≠ 0
    assert terms["loss"].mean().item() == pytest.approx(trl_loss, abs=1e-4)
    assert abs(trl_loss - LOG2) > 1e-4
    for key in (
        "rewards/chosen",
        "rewards/rejected",
        "rewards/margins",
        "rewards/accuracies",
        "logps/chosen",
        "logps/rejected",
    ):
        assert ours[key] == pytest.approx(trl[key], abs=1e-4), key


# --- LoRA: the reference is the base model --------------------------------------------------------


def test_lora_reference_context_gives_the_base_model(tiny, tokenizer):
    pytest.importorskip("peft")
    rows = [
        {"prompt": "Name a colour.", "chosen": "Blue.", "rejected": "Seven."},
        {"prompt": "Say hi.", "chosen": "Hi!", "rejected": "Goodbye, see you never."},
    ]
    batch = PairCollator(tokenizer.pad_token_id)(tokenize_pairs(rows, tokenizer)[0])
    args = (batch["input_ids"], batch["attention_mask"], batch["labels"])
    with torch.no_grad():
        base = sequence_logps(copy.deepcopy(tiny), *args)
        model = add_lora(tiny, r=4)
        for name, p in model.named_parameters():
            if "lora_B" in name:  # LoRA starts as the identity (B = 0); make the adapters matter
                p.normal_(0.0, 0.5)
        adapted = sequence_logps(model, *args)
        with reference_context(model):
            reference = sequence_logps(model, *args)
        again = sequence_logps(model, *args)
    assert (adapted - base).abs().max() > 1e-2
    torch.testing.assert_close(reference, base, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(again, adapted)  # adapters are back on after the context


# --- the precomputed reference cache --------------------------------------------------------------


def test_precompute_reference_is_cached_and_equals_a_fresh_computation(
    tiny, tokenizer, mini_dir, tmp_path, monkeypatch
):
    from sfdpo_helpers.data import load_pairs

    pairs, _ = load_pairs(str(mini_dir))
    examples, _ = tokenize_pairs(pairs[:6], tokenizer)
    pad = tokenizer.pad_token_id
    first = precompute_reference(tiny, examples, pad, batch_size=4, cache_dir=tmp_path, progress=False)
    files = list(tmp_path.glob("ref_logps-*.json"))
    assert len(files) == 1 and len(json.loads(files[0].read_text())) == len(examples)

    def no_forward(*a, **k):
        raise AssertionError("the cached reference log-probs should have been read, not recomputed")

    monkeypatch.setattr(dpo_module, "pair_logps", no_forward)
    second = precompute_reference(tiny, examples, pad, batch_size=4, cache_dir=tmp_path, progress=False)
    monkeypatch.undo()
    assert [(e["ref_chosen"], e["ref_rejected"]) for e in second] == [
        (e["ref_chosen"], e["ref_rejected"]) for e in first
    ]

    with torch.no_grad():  # fresh, one pair at a time (other padding than the batches of 4)
        for e in first:
            c, r = pair_logps(tiny, PairCollator(pad)([e]))
            assert e["ref_chosen"] == pytest.approx(c.item(), abs=1e-4)
            assert e["ref_rejected"] == pytest.approx(r.item(), abs=1e-4)


def test_the_reference_cache_is_per_pair_and_shared_by_runs_from_the_same_start(
    tiny, tokenizer, mini_dir, tmp_path, monkeypatch
):
    """A second run from the same π_ref (a LoRA-wrapped copy with its own random adapters, as DPO-Positive after
    DPO) scores only the pairs the first did not, and reads the others back; another π_ref gets its own file."""
    from sfdpo_helpers.data import load_pairs

    pairs, _ = load_pairs(str(mini_dir))
    examples, _ = tokenize_pairs(pairs[:6], tokenizer)
    pad = tokenizer.pad_token_id
    first = precompute_reference(tiny, examples[:4], pad, batch_size=4, cache_dir=tmp_path, progress=False)

    scored = []
    real = dpo_module.pair_logps

    def counting(model, batch, chunk_size=None):
        scored.append(batch["pair_index"].tolist())
        return real(model, batch, chunk_size)

    monkeypatch.setattr(dpo_module, "pair_logps", counting)
    torch.manual_seed(1)
    lora = add_lora(copy.deepcopy(tiny), r=4)
    for module in lora.modules():  # adapters that change the policy (B starts at 0): π_ref must not see them
        if hasattr(module, "lora_B"):
            for b in module.lora_B.values():
                torch.nn.init.normal_(b.weight, std=0.5)
    second = precompute_reference(lora, examples[2:], pad, batch_size=4, cache_dir=tmp_path, progress=False)
    assert scored == [[4, 5]]  # pairs 2 and 3 came from the first run's cache
    assert [(e["ref_chosen"], e["ref_rejected"]) for e in second[:2]] == [
        (e["ref_chosen"], e["ref_rejected"]) for e in first[2:]
    ]
    with torch.no_grad():
        for e in second[2:]:
            c, r = real(tiny, PairCollator(pad)([e]))
            assert (e["ref_chosen"], e["ref_rejected"]) == pytest.approx((c.item(), r.item()), abs=1e-4)
    assert len(list(tmp_path.glob("ref_logps-*.json"))) == 1

    other = copy.deepcopy(tiny)
    with torch.no_grad():
        next(other.parameters()).mul_(1.5)
    scored.clear()
    precompute_reference(other, examples[:2], pad, batch_size=4, cache_dir=tmp_path, progress=False)
    assert scored == [[0, 1]] and len(list(tmp_path.glob("ref_logps-*.json"))) == 2


# --- a few steps of DPO learn the preference ------------------------------------------------------


def test_dpo_loop_on_mini_fixture_learns_the_preference(tiny, tokenizer, mini_dir, tmp_path):
    from sfdpo_helpers.data import load_pairs

    torch.manual_seed(0)
    pairs = load_pairs(str(mini_dir))[0][:8]
    settings = TrainSettings(
        lr=1e-3, epochs=100, batch_size=8, micro_batch_size=8, max_steps=4, warmup_ratio=0.0, seed=0
    )
    history, report = train_dpo(
        tiny,
        tokenizer,
        pairs,
        settings,
        tmp_path / "run",
        eval_pairs_rows=pairs,
        ref_cache_dir=tmp_path,
        progress=False,
    )
    steps = [r for r in history if "loss" in r]
    final = [r for r in history if "eval_loss" in r][-1]
    assert len(steps) == 4 and report.kept == len(pairs)
    assert steps[0]["loss"] == pytest.approx(LOG2, abs=1e-5)  # policy = reference at the first step
    assert steps[-1]["loss"] < steps[0]["loss"]
    assert final["eval_loss"] < LOG2
    assert final["eval_rewards/accuracies"] > 0.5
    assert final["eval_rewards/margins"] > 0


def test_implicit_reward_accuracy_by_kind_counts_pairs_whose_chosen_reward_is_higher():
    """Before training the policy is its reference (LoRA adapters at B = 0): every margin is 0, no pair is won;
    after nudging the adapters the accuracy is the share of pairs with r⁺ > r⁻, per rejected kind and in all."""
    from sfdpo_helpers import dpo, models, training

    tokenizer = models.load_tokenizer("tiny")
    policy = training.add_lora(models.load_model("tiny"), r=4, seed=0)
    rows = [
        {"prompt": "Say hi.", "chosen": "Hi there.", "rejected": "No.", "rejected_kind": "evasive"},
        {"prompt": "Count.", "chosen": "One two three.", "rejected": "Five.", "rejected_kind": "wrong answer"},
        {"prompt": "Name one.", "chosen": "Apple.", "rejected": "Apple apple apple.", "rejected_kind": "wrong answer"},
    ]
    before = dpo.implicit_reward_accuracy_by_kind(policy, tokenizer, rows, 0.1, 64, 64)
    assert before == {"all": {"pairs": 3, "accuracy": 0.0}, "evasive": {"pairs": 1, "accuracy": 0.0},
                      "wrong answer": {"pairs": 2, "accuracy": 0.0}}  # fmt: skip
    with torch.no_grad():
        for name, p in policy.named_parameters():
            if "lora_B" in name:
                p.add_(torch.randn_like(p) * 0.5)
    after = dpo.implicit_reward_accuracy_by_kind(policy, tokenizer, rows, 0.1, 64, 64, batch_size=2)
    assert after["all"]["pairs"] == 3 and after["all"]["accuracy"] in (0, 1 / 3, 2 / 3, 1)
    n_won = after["evasive"]["accuracy"] * 1 + after["wrong answer"]["accuracy"] * 2
    assert n_won == pytest.approx(after["all"]["accuracy"] * 3)
