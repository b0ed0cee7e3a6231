# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/sfdpo/sfdpo/blob/main/notebooks/01_data_prep.ipynb)
#
# # 01 · Data preparation: smoltalk for SFT, UltraFeedback for DPO
#
# The study fine-tunes Qwen2.5-0.5B on **smoltalk** (supervised fine-tuning, SFT) and then aligns it on
# **UltraFeedback (binarized)** preference pairs (DPO). This notebook turns both into clean rows:
#
# 1. keep only the **first user turn and the first assistant reply** of every conversation;
# 2. measure prompt and response lengths in **tokens** (the study's Table 1: 50/90/95/99th percentiles)
# 3. **truncate** at the 95th percentile (the study: 255 prompt tokens, 420 response tokens, smoltalk's) and
#    **drop responses shorter than 75 characters** (too short to teach anything); the offline demo's data is
#    much shorter than smoltalk, so section 3b also cuts it at *its own* 95th percentile to show what truncation does
#    (the run itself trains on rows cut at the study's budgets, which leave the demo rows whole)
# 4. write train/eval files that the next notebooks read.
#
# The run settings (`run` below) decide where the rows come from: the offline profile reads the demo
# data shipped in `sfdpo_helpers/demo_data` (the hub datasets' column formats, IFEval-style instructions
# on every prompt), the `colab` and `study` profiles a seeded sample of the hub datasets. Every malformed
# row is counted and reported, never dropped silently.

# %%
# Colab: install the kit once per runtime (settings.setup mounts Google Drive); where it is installed, nothing happens.
if not __import__("importlib.util").util.find_spec("sfdpo_helpers"): __import__("subprocess").run([__import__("sys").executable, "-m", "pip", "install", "-q", "sfdpo[api] @ git+https://github.com/sfdpo/sfdpo"], check=True)  # noqa: E701  # fmt: skip

# %%
import pandas as pd
from IPython.display import display

from sfdpo_helpers import data, exercises, models, pipeline, plots, settings

# %% tags=["parameters"]
run = "auto"  # run settings: "auto" (colab on Colab, else offline), "offline", "colab", "study", a YAML file or a dict
exercise = ""  # "": the main run; an exercise's name (see "Try this"): a sandbox that never overwrites the run

# %% [markdown]
# ## 1. First turn only
# A smoltalk row is a list of messages. We keep the first `user` message and the first `assistant` reply
# after it. In several subsets (smol-rewrite, smol-summarize, apigen) the *task* is a leading `system` message
# and the user turn only its input (the e-mail to rewrite): such a system message is folded into the prompt
# ("system text, blank line, user text") and counted as "system message folded into the prompt"; only a
# default persona ("You are a helpful assistant.") is dropped. Rows whose turns do not alternate, or whose
# content is empty or not text, are skipped and counted.

# %%
cfg = settings.setup(run, globals(), exercise, notebook="01")
sft_rows, report = data.load_sft(
    cfg.source, limit=cfg.n_sft_rows, dataset=cfg.sft_dataset, config=cfg.sft_dataset_config, seed=cfg.seed
)
print(report)
sft_rows[0]

# %% [markdown]
# ## 2. How long are prompts and responses? (Table 1)
# Lengths are counted with the model's own tokenizer, without the chat template.

# %%
tokenizer = models.load_tokenizer(cfg.base_model)
table = pd.DataFrame(data.percentile_table(sft_rows, tokenizer)).T
table.columns = [f"p{p}" for p in table.columns]
display(plots.save_table(table, cfg.figures / "01_length_percentiles"))
lengths = {name: data.token_lengths(sft_rows, tokenizer, name) for name in ("prompt", "response")}
cutoffs = {"prompt": cfg.max_prompt_tokens, "response": cfg.max_response_tokens}
plots.length_histograms(lengths, cutoffs, cfg.figures / "01_length_histograms.png")
# %% [markdown]
# ## 3. Truncate and filter
# Truncation cuts the token sequence and decodes it back to text, so the next notebooks see rows that fit
# the budget. The counts say exactly what each step did.

# %%
prepared, counts = data.prepare_sft(
    sft_rows, tokenizer, cfg.max_prompt_tokens, cfg.max_response_tokens, cfg.min_response_chars
)
for step, n in counts.items():
    print(f"{step:40s} {n}")
sft_train, sft_eval = data.train_eval_split(prepared, 0.05, cfg.seed)
data.write_jsonl(sft_train, cfg.data_dir / "sft_train.jsonl")
data.write_jsonl(sft_eval, cfg.data_dir / "sft_eval.jsonl")
print(f"SFT: {len(sft_train)} train rows, {len(sft_eval)} eval rows -> {cfg.data_dir}")
kept_lengths = data.token_lengths(prepared, tokenizer, "response")
cut = next((r["response"] for r, n in zip(prepared, kept_lengths) if n >= cfg.max_response_tokens), None)
if cut:
    print(f"A reply cut at {cfg.max_response_tokens} tokens ends: ...{cut[-120:]!r}")

# %% [markdown]
# ## 3b. Truncation at this data's own 95th percentile (shown, not trained on)
# The study's budgets come from smoltalk's lengths. The same rule applied to this run's rows: cut at their own
# 95th percentiles and count what it removes, beside what the study's budgets removed above.

# %%
own = {name: int(table.loc[name, "p95"]) for name in ("prompt", "response")}
_, own_counts = data.prepare_sft(sft_rows, tokenizer, own["prompt"], own["response"], cfg.min_response_chars)
side_by_side = pd.DataFrame({f"study's budgets ({cfg.max_prompt_tokens}/{cfg.max_response_tokens})": counts,
                             f"this data's p95 ({own['prompt']}/{own['response']})": own_counts}).fillna(0).astype(int)  # fmt: skip
display(side_by_side)
cut_own = next((r for r, n in zip(sft_rows, lengths["response"]) if n > own["response"]), None)
if cut_own is not None:
    shortened = data.prepare_sft([cut_own], tokenizer, own["prompt"], own["response"], 0)[0][0]["response"]
    print(
        f"A reply of {len(tokenizer(cut_own['response'])['input_ids'])} tokens cut at {own['response']}: "
        f"...{shortened[-100:]!r}\nwhat the cut removed: {cut_own['response'][len(shortened) :][:200]!r}"
    )
found = pipeline.record(cfg, "01", own_p95=own, own_truncated={k: v for k, v in own_counts.items() if "truncated" in k})

# %% [markdown]
# ## 4. Preference pairs and held-out prompts
# UltraFeedback binarized stores each pair as two conversations (`chosen`, `rejected`) that share the
# prompt. We keep the prompt and the two replies as text; pairs with an empty side or identical sides are
# counted and skipped. The held-out prompts (UltraFeedback's `test_prefs` online, the demo's evaluation
# prompts offline) feed the win-rate evaluations of notebooks 03–07 and are never trained on.

# %%
pairs, pair_report = data.load_pairs(cfg.source, limit=cfg.n_pairs, dataset=cfg.pairs_dataset, seed=cfg.seed)
print(pair_report)
data.write_jsonl(pairs, cfg.data_dir / "pairs_train.jsonl")
eval_prompts = data.load_eval_prompts(cfg.source, limit=cfg.n_eval_pool, dataset=cfg.pairs_dataset, seed=cfg.seed)
data.write_jsonl(eval_prompts, cfg.data_dir / "eval_prompts.jsonl")
print(f"{len(pairs)} preference pairs, {len(eval_prompts)} held-out prompts")
pd.Series([r.get("category", "n/a") for r in eval_prompts]).value_counts()

# %%
found = pipeline.record(
    cfg,
    "01",
    kept=counts["rows out"],
    min_response_chars=cfg.min_response_chars,
    dropped_short=counts.get(f"dropped: response < {cfg.min_response_chars} chars", 0),
    max_response_tokens=cfg.max_response_tokens,
    responses_truncated=counts.get(f"responses truncated to {cfg.max_response_tokens} tokens", 0),
    longest_response_tokens=int(max(kept_lengths, default=0)),
    pairs=len(pairs),
    eval_prompts=len(eval_prompts),
)

# %% [markdown]
# `pipeline.prepare_data(cfg)` does all of the above in one call; every later notebook calls
# `pipeline.ensure_data(cfg)`, which rebuilds these files when they are missing (a fresh Colab runtime).
#
# ## Try this
# Each exercise reruns this notebook with one change, in its own sandbox: set `exercise` in the parameters cell to
# the exercise's name, make the change, run all cells; the last cell checks the result against the main run's.
# Worked solutions: `notebooks/solutions/01_<name>.yaml` (`python -m sfdpo_helpers.exercises 01 <name>` runs one).
#
# - **Easy** (`min_chars_200`): `run = {"min_response_chars": 200}`: how many rows are dropped now?
# - **Medium** (`cut_32`): `run = {"max_response_tokens": 32}`: how many replies are cut, and where does a cut
#   reply end?
# - **Question:** compare the percentiles of the demo data with the study's Table 1 (prompt p95 = 255, response
#   p95 = 420 tokens on smoltalk). Which cut-off would you choose for the demo data, and why? Would you rather
#   drop a reply than cut more than a fifth of it?
#
# Times (the list the last cell prints): 2 CPU cores, offline profile. Not yet measured on a T4 (colab profile): expect
# about the time of the notebook itself there, since an exercise reruns it with one change.

# %%
exercises.check(cfg, "01", exercise)
