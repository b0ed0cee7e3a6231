# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/sfdpo/sfdpo/blob/main/notebooks/02_sft.ipynb)
#
# # 02 · Supervised fine-tuning (SFT)
#
# SFT teaches the model to answer like the assistant in the data. For a prompt $x$ and reply
# $y = (y_1, \dots, y_T)$ the loss is the negative log-likelihood of the **reply tokens only**, averaged
# over every reply token of the (accumulated) batch:
#
# $$\mathcal{L}_{\text{SFT}} = -\frac{1}{N}\sum_{(x,y)\in\text{batch}}\ \sum_{t=1}^{T} \log \pi_\theta(y_t \mid x, y_{<t}),
# \qquad N = \text{number of reply tokens in the batch}.$$
#
# Details that matter (each is tested in `tests/`):
# * prompt and padding positions get label `-100` so they do not count;
# * the end-of-turn token `<|im_end|>` **is** a label, although SmolLM2 also uses it as padding: masks are
#   built from positions, never from token ids, or the model never learns to stop;
# * with gradient accumulation the sum is divided by $N$ of the *whole* accumulated batch, not averaged per
#   micro-batch, so the update equals one big batch;
# * the learning rate warms up linearly (10% of steps) then follows a cosine to zero.
#
# > **The study's GPU run** (`run="study"`): Qwen2.5-0.5B, full fine-tuning, lr 5e-6, 3 epochs, batch 8,
# > bf16. The offline profile trains LoRA adapters of the embedded SmolLM2-135M on a few hundred rows.

# %%
# Colab: install the kit once per runtime (settings.setup mounts Google Drive); where it is installed, nothing happens.
if not __import__("importlib.util").util.find_spec("sfdpo_helpers"): __import__("subprocess").run([__import__("sys").executable, "-m", "pip", "install", "-q", "sfdpo[api] @ git+https://github.com/sfdpo/sfdpo"], check=True)  # noqa: E701  # fmt: skip

# %%
import pandas as pd
import torch
import torch.nn.functional as F

from sfdpo_helpers import (
    collators,
    data,
    exercises,
    losses,
    models,
    monitor,
    pipeline,
    plots,
    sampling,
    settings,
    sft,
    training,
)

# %% tags=["parameters"]
run = "auto"  # run settings: "auto" (colab on Colab, else offline), "offline", "colab", "study", a YAML file or a dict
exercise = ""  # "": the main run; an exercise's name (see "Try this"): a sandbox that never overwrites the run

# %% [markdown]
# ## 1. What one example looks like to the loss
# The prompt is rendered with the chat template, the reply follows, and only reply tokens (plus the
# end-of-turn token) carry labels. Here are the last prompt tokens and the reply tokens of one row:

# %%
cfg = settings.setup(run, globals(), exercise, notebook="02")
pipeline.ensure_data(cfg)
tokenizer = models.load_tokenizer(cfg.base_model)
train_rows = data.read_jsonl(cfg.data_dir / "sft_train.jsonl")[: cfg.sft.max_examples]
eval_rows = data.read_jsonl(cfg.data_dir / "sft_eval.jsonl")[: cfg.n_eval_examples]
example = collators.tokenize_example(tokenizer, train_rows[0]["prompt"], train_rows[0]["response"])
tokens = pd.DataFrame(
    {
        "token": [tokenizer.decode([t]) for t in example["input_ids"]],
        "label": ["masked (-100)" if label == -100 else "trained" for label in example["labels"]],
    }
)
start = example["prompt_len"]
pd.concat([tokens.iloc[start - 6 : start + 6], tokens.iloc[-3:]])  # the prompt/reply boundary, and the end

# %% [markdown]
# ### The loss of this one example, by hand
# The model's logits at position $t$ predict token $t+1$, so logits and labels are shifted by one; positions
# labelled `-100` are ignored. `F.cross_entropy` averages over the reply tokens: that is $\mathcal{L}_\text{SFT}$
# of a batch of one. The helper the training loop calls, `losses.sft_loss_sum`, returns the *sum* and the token
# count (the loop divides by the tokens of the whole accumulated batch): the two must agree.

# %%
model = models.load_model(cfg.base_model)
batch = collators.SFTCollator(tokenizer.pad_token_id)([example])
with torch.no_grad():
    logits = model(input_ids=batch["input_ids"]).logits.float()
    by_hand = F.cross_entropy(logits[0, :-1], batch["labels"][0, 1:], ignore_index=-100)
    loss_sum, n_tokens = losses.sft_loss_sum(model, batch)
print(
    f"by hand: F.cross_entropy over {int((batch['labels'][0, 1:] != -100).sum())} reply tokens = {by_hand.item():.5f}"
)
print(f"helper:  losses.sft_loss_sum / n = {loss_sum.item():.3f} / {n_tokens} = {loss_sum.item() / n_tokens:.5f}")
assert abs(by_hand.item() - loss_sum.item() / n_tokens) < 1e-3 * by_hand.item(), "the helper disagrees with the formula"

# %% [markdown]
# ## 2. Train, watching the win rate too
# The study's Figure 2: eval loss kept improving while the win rate against the starting model fell. Before the
# first step and every `monitor_every` steps the loop answers a fixed set of held-out prompts greedily and the
# judge compares the answers with the starting model's (ties ½; at step 0 the two are the same model, so ½).
# The loop (`sfdpo_helpers/training.py`, one screen) collates micro-batches, sums the loss, divides by the reply
# tokens of the whole batch, backward, clip, step, checkpoint. Interrupt it at any time: running the cell again
# resumes from the last checkpoint.

# %%
policy = training.add_lora(model, r=cfg.lora_r, seed=cfg.seed)
held_out = data.subset(data.read_jsonl(cfg.data_dir / "eval_prompts.jsonl"), cfg.n_monitor_prompts, cfg.seed + 1)
judge = pipeline.judge(cfg, held_out, self_judge=cfg.base_model, budget=cfg.monitor_max_new_tokens)  # self: the base
prompts = [r["prompt"] for r in held_out]
monitor_fn = monitor.vs_start_model(
    policy, tokenizer, prompts, judge, cfg.monitor_max_new_tokens, cfg.gen_batch_size, cfg.mixed_precision
)
settings_sft = cfg.train_settings("sft", eval_every=cfg.monitor_every, eval_at_start=True)
history, reports = sft.train_sft(
    policy,
    tokenizer,
    train_rows,
    eval_rows,
    settings_sft,
    cfg.out / "checkpoints" / "sft",
    cfg.prompt_budget,
    cfg.response_budget,
    monitor_fn=monitor_fn,
    resume=cfg.resume,
)
for report in reports:
    print(report)

# %%
labels = {"loss": "train loss", "eval_loss": "eval loss", "win_rate": "win rate vs start model"}
plots.curves(
    history, ["loss", "eval_loss", "win_rate"], cfg.figures / "02_sft_curves.png", f"SFT of {cfg.base_model}", labels
)
found = pipeline.record(
    cfg,
    "02",
    steps=max(r["step"] for r in history),
    epochs=cfg.sft.epochs,
    batch_size=cfg.batch_size,
    micro_batch_size=cfg.micro_batch_size,
    losses=[r["loss"] for r in history if "loss" in r],
    eval_loss={r["step"]: r["eval_loss"] for r in history if "eval_loss" in r},
    win_rate={r["step"]: r["win_rate"] for r in history if "win_rate" in r},
)
best = min(found["eval_loss"], key=found["eval_loss"].get) if found["eval_loss"] else None
print(
    f"This run: eval loss {found['eval_loss'].get(0, float('nan')):.3f} at step 0 -> "
    f"{found['eval_loss'].get(found['steps'], float('nan')):.3f} at step {found['steps']} (lowest at step {best}); "
    f"win rate vs the start model by step: {', '.join(f'{s}: {w:.2f}' for s, w in found['win_rate'].items())} "
    f"({len(prompts)} prompts)."
)
rates = list(found["win_rate"].values())
if not rates or max(rates) - min(rates) < 1e-9:
    shape = "stayed flat"
elif rates[-1] < max(rates):
    shape = f"peaked at {max(rates):.2f}, then fell to {rates[-1]:.2f}"
else:
    shape = f"ended at its highest, {rates[-1]:.2f}"
print(f"This run's win rate {shape}; the study's fell while its eval loss kept falling (loss alone hid the overfit).")

# %% [markdown]
# ## 3. Save and look at an answer
# The model is saved as a plain checkpoint (LoRA adapters merged) that notebooks 03 and 04 load.

# %%
policy = training.save_model(policy, tokenizer, cfg.model_path("sft"))
shown = [r["prompt"] for r in eval_rows[:2]]
answers = sampling.generate(policy, tokenizer, shown, max_new_tokens=64, temperature=0.0, precision=cfg.mixed_precision)
for row, answer in zip(eval_rows[:2], answers):
    print("PROMPT:", row["prompt"][:300], "\nANSWER:", answer[0], "\n")

# %% [markdown]
# ## Try this
# Each exercise reruns this notebook with one change, in its own sandbox: set `exercise` in the parameters cell to
# the exercise's name, make the change, run all cells; the last cell checks the result against the main run's.
# Worked solutions: `notebooks/solutions/02_<name>.yaml` (`python -m sfdpo_helpers.exercises 02 <name>` runs one).
#
# - **Easy** (`two_epochs`): train for 2 epochs (`run = {"sft": {"epochs": 2.0}}`). Does the eval loss keep
#   falling? And the win rate?
# - **Medium** (`micro_batch_1`): set `run = {"micro_batch_size": 1}`: the loss curve should not change. Why?
# - **Question:** mask the end-of-turn token too (in a copy of `collators.tokenize_example`): would the model
#   still learn to stop?
#
# Times (the list the last cell prints): 2 CPU cores, offline profile. Not yet measured on a T4 (colab profile): expect
# about the time of the notebook itself there, since an exercise reruns it with one change.

# %%
exercises.check(cfg, "02", exercise)
