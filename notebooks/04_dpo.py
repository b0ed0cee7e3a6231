# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/sfdpo/sfdpo/blob/main/notebooks/04_dpo.ipynb)
#
# # 04 · Direct preference optimisation (DPO), DPO-Positive and KL
#
# DPO (Rafailov et al. 2023) trains directly on preference pairs $(x, y^+, y^-)$, with a frozen copy of the
# starting model as reference $\pi_\text{ref}$. With summed log-probabilities of the response tokens,
#
# $$\Delta = \big(\log\pi_\theta(y^+|x) - \log\pi_\theta(y^-|x)\big) - \big(\log\pi_\text{ref}(y^+|x) - \log\pi_\text{ref}(y^-|x)\big),
# \qquad \mathcal{L}_\text{DPO} = -\log\sigma(\beta\,\Delta).$$
#
# The implicit rewards $r^\pm = \beta(\log\pi_\theta(y^\pm|x) - \log\pi_\text{ref}(y^\pm|x))$ are logged; their
# difference is the **margin**, and **accuracy** is how often $r^+ > r^-$.
#
# **DPO-Positive.** Plain DPO only cares about the *difference*: it is happy to make the chosen answer *less*
# likely as long as the rejected one falls faster. The study adds
# $\lambda_P \max(0, \log\pi_\text{ref}(y^+|x) - \log\pi_\theta(y^+|x))$ to the loss (additive form); the Smaug
# paper puts the same penalty *inside* the sigmoid (`dpop_in_sigmoid=True`), where it saturates together
# with the DPO term.
#
# **KL.** The study also adds
# $\lambda_{KL}\cdot\tfrac12\big[(\log\pi_\text{ref}(y^+) - \log\pi_\theta(y^+)) + (\log\pi_\text{ref}(y^-) - \log\pi_\theta(y^-))\big]$
# on the two dataset responses. It is called a KL term, but it is **not** an estimate of
# $\mathrm{KL}(\pi_\text{ref}\,\|\,\pi_\theta)$: that would need responses *sampled from* $\pi_\text{ref}$, and these
# were written by other models. It can be negative, and minimising it simply *raises* $\log\pi_\theta(y^+)$ and
# $\log\pi_\theta(y^-)$: on the rejected side it works against DPO. Exercise `kl_on` lets you watch that.
#
# > **The study's GPU run** (`run="study"`): from the SFT model, UltraFeedback binarized `train_prefs`, full
# > fine-tuning, β = 0.1, learning rates swept from 5e-7 to 5e-6, batch 8, bf16. With LoRA (the offline and
# > colab profiles) the reference is simply the same network with its adapters switched off.

# %%
# Colab: install the kit once per runtime (settings.setup mounts Google Drive); where it is installed, nothing happens.
if not __import__("importlib.util").util.find_spec("sfdpo_helpers"): __import__("subprocess").run([__import__("sys").executable, "-m", "pip", "install", "-q", "sfdpo[api] @ git+https://github.com/sfdpo/sfdpo"], check=True)  # noqa: E701  # fmt: skip

# %%
import inspect
import math

import matplotlib.pyplot as plt
import pandas as pd
import torch
import torch.nn.functional as F
from IPython.display import Code, display

from sfdpo_helpers import (
    changes,
    collators,
    data,
    dpo,
    exercises,
    explorer,
    losses,
    models,
    monitor,
    pipeline,
    plots,
    settings,
    stages,
    training,
    winrate,
)

# %% tags=["parameters"]
run = "auto"  # run settings: "auto" (colab on Colab, else offline), "offline", "colab", "study", a YAML file or a dict
beta = 0.1  # β: how far the policy may move from the reference (the study: 0.1)
dpop_weight = 1.0  # λ_P of the DPO-Positive run trained beside plain DPO (0: skip that run)
dpop_in_sigmoid = False  # Smaug's form instead of the study's additive one
dpop_share = 0.5  # share of the DPO pairs the DPO-Positive run trains on (its curves are the point)
kl_weight = 0.0  # λ_KL of both runs
reference = "precomputed"  # "precomputed" (one pass before training, cached) or "model" (scored every batch)
run_name = "dpo"  # the model is saved as out_dir/models/<run_name> (the main job's --grid sets it)
exercise = ""  # "": the main run; an exercise's name (see "Try this"): a sandbox that never overwrites the run

# %% [markdown]
# ## 1. One pair, by hand
# Before training the policy *is* the reference, so $\Delta = 0$ and every pair's loss is
# $-\log\sigma(0) = \log 2$. Computing it with the same helpers the training loop uses checks the whole
# path: tokenization, the masked labels, the summed log-probabilities and the loss.

# %%
cfg = settings.setup(run, globals(), exercise, notebook="04")
pipeline.ensure_data(cfg)
start = pipeline.require_model(cfg, "sft")
tokenizer = models.load_tokenizer(start)
policy = training.add_lora(models.load_model(start), r=cfg.lora_r, seed=cfg.seed)
all_pairs = data.read_jsonl(cfg.data_dir / "pairs_train.jsonl")
held_out, train_pairs = all_pairs[: cfg.n_eval_examples], all_pairs[cfg.n_eval_examples :][: cfg.dpo.max_examples]
print(f"{len(train_pairs)} training pairs, {len(held_out)} held-out pairs")
pair = train_pairs[0]
print("PROMPT:", pair["prompt"][:200], "\nCHOSEN:", pair["chosen"][:200], "\nREJECTED:", pair["rejected"][:200])

examples, _ = collators.tokenize_pairs([pair], tokenizer, cfg.prompt_budget, cfg.response_budget)
batch = {
    k: v.to(next(policy.parameters()).device)
    for k, v in collators.PairCollator(tokenizer.pad_token_id)(examples).items()
}
with torch.no_grad():
    policy_chosen, policy_rejected = dpo.pair_logps(policy, batch)
    with dpo.reference_context(policy):  # LoRA: adapters off; full fine-tuning: the untouched weights
        ref_chosen, ref_rejected = dpo.pair_logps(policy, batch)
loss, reward_chosen, reward_rejected = losses.dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta)
print(
    f"log π(y+|x) = {policy_chosen.item():.3f}   log π(y-|x) = {policy_rejected.item():.3f}   (summed over reply tokens)"
)
print(f"Δ = {((policy_chosen - policy_rejected) - (ref_chosen - ref_rejected)).item():.6f}")
print(f"loss = {loss.item():.6f}   log 2 = {math.log(2):.6f}")
assert abs(loss.item() - math.log(2)) < 1e-4

# %% [markdown]
# ### The summed log-probability, by hand
# `dpo.pair_logps` runs chosen and rejected through the model in one batch and sums the log-probabilities of the
# labelled (reply) tokens, `losses.sequence_logps`. By hand: the log-softmax of the logits, shifted by one (the
# logits at position $t$ predict token $t+1$), the entry of each label picked with `gather`, summed over reply
# tokens only.

# %%
with torch.no_grad():
    logits = policy(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.float()
    labels = batch["labels"][:, 1:]
    picked = F.log_softmax(logits[:, :-1], dim=-1).gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    by_hand = (picked * (labels != -100)).sum(-1)  # rows: the chosen answer, then the rejected one
print(f"by hand: log π(y+|x) = {by_hand[0].item():.3f}, log π(y-|x) = {by_hand[1].item():.3f}")
print(f"helper:  log π(y+|x) = {policy_chosen.item():.3f}, log π(y-|x) = {policy_rejected.item():.3f}")
assert torch.allclose(by_hand, torch.cat([policy_chosen, policy_rejected]).float(), rtol=1e-3, atol=1e-2)

# %% [markdown]
# ### The loss away from Δ = 0, and what β does
# Training moves Δ. With $\ell(\Delta) = -\log\sigma(\beta\Delta)$ the gradient is
# $\partial\ell/\partial\Delta = -\beta\,\sigma(-\beta\Delta)$: every pair pushes with weight $\sigma(-\beta\Delta)$,
# about ½ at the start, near 1 for a pair the policy gets badly wrong, near 0 once it is separated. A larger
# β saturates sooner: the pairs stop pushing after a smaller change of the log-probabilities. Below, Δ is set
# by moving this pair's chosen log-prob; the helper's loss and autograd's gradient are checked against the
# formulas at three β.

# %%
deltas = torch.linspace(-40, 40, 161)
fig, (ax_loss, ax_weight) = plt.subplots(1, 2, figsize=(10, 3.2))
for b in sorted({0.05, 0.1, 0.5, beta}):
    shift = deltas.clone().requires_grad_(True)  # Δ = shift, since the policy starts equal to the reference
    loss_b, _, _ = losses.dpo_loss(ref_chosen + shift, ref_rejected.expand_as(shift), ref_chosen, ref_rejected, b)
    (grad,) = torch.autograd.grad(loss_b.sum(), shift)  # dpo_loss returns one loss per pair
    assert torch.allclose(loss_b, -F.logsigmoid(b * deltas), atol=1e-4), "loss != -log σ(βΔ)"
    assert torch.allclose(-grad / b, torch.sigmoid(-b * deltas), atol=1e-4), "gradient weight != σ(-βΔ)"
    ax_loss.plot(deltas, loss_b.detach(), label=f"β = {b}")
    ax_weight.plot(deltas, torch.sigmoid(-b * deltas), label=f"β = {b}")
ax_loss.set(xlabel="Δ", ylabel="loss  −log σ(βΔ)")
ax_weight.set(xlabel="Δ", ylabel="gradient weight  σ(−βΔ)")
for ax in (ax_loss, ax_weight):
    ax.axvline(0, color="grey", lw=0.8)
    ax.legend()
plots.save(fig, cfg.figures / "04_loss_and_gradient_weight.png")
for b in (0.1, 0.5):
    print(f"β = {b}: at Δ = 10 the loss is {-F.logsigmoid(torch.tensor(b * 10.0)).item():.3f}, weight σ(−βΔ) = "
          f"{torch.sigmoid(torch.tensor(-b * 10.0)).item():.3f}")  # fmt: skip

# %% [markdown]
# The loss itself is a few lines (in Jupyter, `losses.dpo_family_loss??` shows the same):

# %%
display(Code(inspect.getsource(losses.dpo_family_loss), language="python"))

# %% [markdown]
# ## 2. Train
# Each step runs chosen and rejected responses of a micro-batch through the policy in one forward pass;
# the reference log-probs were computed once before training (and cached next to the data). The monitor
# compares the policy's greedy answers on held-out prompts with the SFT model's (ties ½).

# %%
rows = data.subset(data.read_jsonl(cfg.data_dir / "eval_prompts.jsonl"), cfg.n_monitor_prompts, cfg.seed + 1)
judge = pipeline.judge(cfg, rows, self_judge=start, budget=cfg.monitor_max_new_tokens)  # self: the SFT model, frozen
prompts = [r["prompt"] for r in rows]
monitor_fn = monitor.vs_start_model(
    policy, tokenizer, prompts, judge, cfg.monitor_max_new_tokens, cfg.gen_batch_size, cfg.mixed_precision
)
objective = dpo.DPOSettings(beta=beta, kl_weight=kl_weight)
history, report = dpo.train_dpo(
    policy,
    tokenizer,
    train_pairs,
    cfg.train_settings("dpo", eval_every=cfg.monitor_every),
    cfg.out / "checkpoints" / run_name,
    objective,
    reference=reference,
    eval_pairs_rows=held_out,
    max_prompt_tokens=cfg.prompt_budget,
    max_response_tokens=cfg.response_budget,
    ref_cache_dir=cfg.data_dir,
    monitor_fn=monitor_fn,
    resume=cfg.resume,
)
print(report)
# DPO's implicit-reward accuracy on pairs it never trained on, per kind of rejected answer (before training every
# margin is 0: the policy is the reference)
unseen = held_out + all_pairs[cfg.n_eval_examples + len(train_pairs) :][:64]
frozen_start = None if cfg.lora_r else models.load_model(start)  # full fine-tuning: π_ref is the SFT model
budgets = (cfg.prompt_budget, cfg.response_budget, cfg.micro_batch_size, frozen_start)
by_kind = dpo.reward_accuracy_by_kind(unseen, dpo.implicit_rewards(policy, tokenizer, unseen, beta, *budgets))
shown_pairs = train_pairs[:32]  # the pairs DPO trained on, for the explorer below
trained_rewards = dpo.implicit_rewards(policy, tokenizer, shown_pairs, beta, *budgets)
policy = training.save_model(policy, tokenizer, cfg.model_path(run_name))
steps = [r for r in history if "loss" in r]
final = {k: v for k, v in steps[-1].items() if "/" in k or k in ("loss", "kl", "dpop")}
found = pipeline.record(
    cfg, "04", beta=beta, kl_weight=kl_weight, first_loss=steps[0]["dpo"], final=final, run_name=run_name
)
print(f"This run (β = {beta}, λ_KL = {kl_weight}): after {steps[-1]['step']} steps margin {final['rewards/margins']:.3f}, "
      f"reward accuracy {final['rewards/accuracies']:.2f}, chosen reward {final['rewards/chosen']:.3f}, rejected "
      f"reward {final['rewards/rejected']:.3f} (the last training batch's)")  # fmt: skip
pipeline.record(cfg, "04", reward_accuracy_by_kind=by_kind)
print(f"Implicit-reward accuracy (r⁺ > r⁻) on {by_kind['all']['pairs']} pairs DPO never trained on, by rejected kind:")
display(pd.DataFrame(by_kind).T.sort_values("pairs", ascending=False).round(3))
# %% [markdown]
# The pairs DPO trained on, with their implicit rewards after training (before training both are 0: the policy
# is its reference). Which kinds of rejected answer did it learn to push below the chosen one?

# %%
has_reference = cfg.judge == "gold" and all(p.get("reference") for p in shown_pairs)
pair_judge = pipeline.judge(cfg, shown_pairs, budget=0) if has_reference else None  # written answers: no budget
pair_views = []
for p, rewards in zip(shown_pairs, trained_rewards):
    delta = None
    if pair_judge is not None:
        chosen_score, rejected_score = pair_judge.score([p["prompt"]] * 2, [p["chosen"], p["rejected"]])
        delta = chosen_score - rejected_score
    after = (
        None if rewards is None else {"chosen": rewards[0], "rejected": rewards[1], "margin": rewards[0] - rewards[1]}
    )
    pair_views.append({**p, "kind": p.get("rejected_kind"), "delta": delta,
                       "reward_before": {"chosen": 0.0, "rejected": 0.0, "margin": 0.0}, "reward_after": after})  # fmt: skip
pairs_explorer = explorer.show(pair_views, explorer.pairs_html, title="training pairs, implicit rewards after DPO")

# %% [markdown]
# ## 3. Loss and margins (the study's Figures 4 and 5)

# %%
title = f"DPO (β={beta}, lr={cfg.dpo.lr})"
plots.curves(history, ["loss", "rewards/margins", "win_rate"], cfg.figures / f"04_{run_name}_loss_margin.png", title)
plots.curves(history, ["rewards/chosen", "rewards/rejected", "kl"], cfg.figures / f"04_{run_name}_rewards.png")
# %% [markdown]
# ## 4. DPO-Positive: the same run with the chosen answer protected
# Watch the chosen reward: if it goes negative while the margin grows, plain DPO is pushing the rejected
# answer down faster than the chosen one, and the chosen answer becomes *less* likely than under the
# reference. DPO-Positive penalises exactly that. This run sees the first `dpop_share` of the pairs: its
# curves are the point.

# %%
if dpop_weight and run_name == "dpo":
    positive = dpo.DPOSettings(beta=beta, dpop_weight=dpop_weight, dpop_in_sigmoid=dpop_in_sigmoid, kl_weight=kl_weight)
    history_p = stages.dpo_run(
        cfg,
        start,
        train_pairs[: max(1, round(len(train_pairs) * dpop_share))],
        "dpo_positive",
        "dpo",
        positive,
        eval_pairs=held_out,
        eval_every=cfg.monitor_every,
        save=False,
    )  # shown for its curves, not used later
    runs = {"DPO": history, f"DPO-Positive (λ_P={dpop_weight})": history_p}
    plots.overlay(
        runs,
        "rewards/chosen",
        cfg.figures / "04_dpo_vs_dpop_chosen_reward.png",
        "chosen reward r+ = β·(log π − log π_ref)",
    )
    plots.overlay(runs, "rewards/margins", cfg.figures / "04_dpo_vs_dpop_margins.png", "reward margin r+ − r−")
    last_p = [r for r in history_p if "loss" in r][-1]
    pipeline.record(
        cfg,
        "04",
        dpop={"in_sigmoid": dpop_in_sigmoid, "rewards/chosen": last_p["rewards/chosen"], "dpop": last_p["dpop"]},
    )
    print(f"This run: chosen reward at the end: DPO {final['rewards/chosen']:.3f}, DPO-Positive "
          f"{last_p['rewards/chosen']:.3f} (on {dpop_share:.0%} of the pairs)")  # fmt: skip

# %% [markdown]
# ## 5. Did DPO beat its SFT start?
# The curves say what DPO optimised; this asks what a user would see. Both models answer the held-out
# prompts (greedy; answers cached for the later notebooks), the judge scores them per prompt.

# %%
if run_name == "dpo":
    rows = data.subset(data.read_jsonl(cfg.data_dir / "eval_prompts.jsonl"), cfg.n_eval_prompts, cfg.seed)
    prompts = [r["prompt"] for r in rows]
    judge = pipeline.judge(cfg, rows, self_judge=start)  # the self-judge: the SFT model, frozen
    answers = {name: pipeline.model_answers(cfg, path, prompts) for name, path in
               {"dpo": cfg.model_path("dpo"), "sft": start}.items()}  # fmt: skip
    scores = {name: judge.score(prompts, a) for name, a in answers.items()}
    result = winrate.win_rate(scores["dpo"], scores["sft"], model="dpo", baseline="sft", seed=cfg.seed)
    print(winrate.verdict(result))
    paired = changes.paired(judge, prompts, answers, scores, ("dpo", "sft"), cfg.seed)
    print(paired.sentence())
    pipeline.record(cfg, "04", dpo_vs_sft={"win_rate": result.rate, "ci_low": result.ci_low,
                                           "ci_high": result.ci_high, "n": result.n},
                    dpo_minus_sft=paired.as_row())  # fmt: skip

# %% [markdown]
# What DPO changed in the answers: per reward component and per instruction, how many answers gained or lost
# it, their lengths, and one answer whose verdict changed. Then every answer, side by side.

# %%
if run_name == "dpo":
    changed, summary, example = changes.what_changed(judge, rows, answers["sft"], answers["dpo"], ("sft", "dpo"))
    print(summary)
    display(changed)
    if example is not None:
        print("PROMPT:", prompts[example], "\nSFT:", answers["sft"][example], "\nDPO:", answers["dpo"][example])
    answer_table = cfg.out / "tables" / "04_dpo_vs_sft.csv"
    explorer.show_comparison(judge, prompts, [r.get("category", "") for r in rows], answers, scores,
                             ("dpo", "sft"), answer_table)  # fmt: skip

# %% [markdown]
# ## Try this
# Each exercise reruns this notebook with one change, in its own sandbox: set `exercise` in the parameters cell to
# the exercise's name, make the change, run all cells; the last cell checks the result against the main run's.
# Worked solutions: `notebooks/solutions/04_<name>.yaml` (`python -m sfdpo_helpers.exercises 04 <name>` runs one).
#
# - **Easy** (`beta_0.5`): set `beta = 0.5`. The loss starts at log 2 again; how do the margins and the win rate
#   move? (Section 1's plot says where the gradient weight has fallen at $\beta = 0.5$.)
# - **Medium** (`kl_on`): set `kl_weight = 1.0`. Which way does `logps/rejected` move, compared with the main run?
# - **Hard** (`dpop_in_sigmoid`): set `dpop_in_sigmoid = True` (Smaug's form) at the same `dpop_weight`: when does
#   the penalty stop acting, and why?
# - **Project** (20–35 min on 2 CPU cores: 4 trainings): sweep β × learning rate with the main job,
#   `python -m sfdpo_helpers.main --only 04 --grid beta=0.1,0.5 --grid dpo.lr=1e-4,4e-4` (models `sweep_*`,
#   figures in `figures/sweep_*.png`; the main run's `dpo` model is not touched). Which setting raises the margin
#   without lowering the win rate?
#
# Times (the list the last cell prints): 2 CPU cores, offline profile. Not yet measured on a T4 (colab profile): expect
# about the time of the notebook itself there, since an exercise reruns it with one change.

# %%
exercises.check(cfg, "04", exercise)
