# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/sfdpo/sfdpo/blob/main/notebooks/05_rs_dpo.ipynb)
#
# # 05 · Rejection-sampling DPO (RS-DPO): the model's own answers as *rejected*
#
# UltraFeedback's rejected answers were written by *other* models. The study's RS-DPO instead samples one
# answer per training prompt from **our SFT model** and uses it as the *rejected* response, with the
# dataset's chosen answer as *chosen*: "be better than what you do now". It then trains three mixtures from
# the SFT model with the same DPO settings:
#
# | run | rejection-sampled pairs | dataset pairs |
# |---|---|---|
# | RS-DPO1 | 100% | 0% |
# | RS-DPO2 | 20% | 80% |
# | RS-DPO3 | 10% | 90% |
#
# and compares each with the plain DPO model (notebook 04) by win rate at 1/3, 2/3 and 1 epoch (Table 2).
# The mixtures and judged points are run settings (`rs_dpo_fractions`, `judged_points`): the offline profile
# trains RS-DPO1 and RS-DPO3 and judges them once, at the end, to fit a laptop's half hour.
#
# **The study's finding:** with 100% self-rejections the margins grow fast and large, yet the win rate
# collapses. "Not like my own output" is too easy a signal: the model can separate the pairs by surface
# features of its own style without learning what makes an answer better. In the study a small dose (10%)
# helped; section 3 says what *this* run found.
#
# The original RS-DPO (Khaki et al. 2024, Algorithm 1) is different: it samples $k$ answers per prompt,
# scores them with a reward model and keeps every ordered pair whose reward gap is large enough,
# $\sigma\big((r_j - r_l)/\tau\big) > \eta$. Notebook 07 applies that rule to the 8 answers per prompt it draws
# for self-improvement, beside the study's one pair per prompt.

# %%
# Colab: install the kit once per runtime (settings.setup mounts Google Drive); where it is installed, nothing happens.
if not __import__("importlib.util").util.find_spec("sfdpo_helpers"): __import__("subprocess").run([__import__("sys").executable, "-m", "pip", "install", "-q", "sfdpo[api] @ git+https://github.com/sfdpo/sfdpo"], check=True)  # noqa: E701  # fmt: skip

# %%
import hashlib

from IPython.display import Markdown, display

from sfdpo_helpers import changes, data, exercises, explorer, pairs, pipeline, plots, results, settings, stages

# %% tags=["parameters"]
run = "auto"  # run settings: "auto" (colab on Colab, else offline), "offline", "colab", "study", a YAML file or a dict
sample_temperature = 0.7  # temperature of the SFT model's samples (the rejected answers)
beta = 0.1
exercise = ""  # "": the main run; an exercise's name (see "Try this"): a sandbox that never overwrites the run

# %% [markdown]
# ## 1. The SFT model's answers, and one RS-DPO pair by hand
# The SFT model answers every training prompt once. Sampling is sharded and resumable (interrupt and rerun:
# finished shards are kept). Its answer to the first prompt becomes the *rejected* side of that prompt's
# pair; the dataset's chosen answer stays *chosen*.

# %%
cfg = settings.setup(run, globals(), exercise, notebook="05")
pipeline.ensure_data(cfg)
sft_path, dpo_path = pipeline.require_model(cfg, "sft"), pipeline.require_model(cfg, "dpo")
dataset_pairs = data.read_jsonl(cfg.data_dir / "pairs_train.jsonl")[cfg.n_eval_examples :][: cfg.rs_dpo.max_examples]
sft_policy, tokenizer = pipeline.frozen_model(sft_path)  # sampled from, never trained (and the self-judge)
samples = pipeline.sample_shards(  # cached in out_dir/samples/rs_dpo-<key>: the key covers model, T, budget, seed
    cfg,
    "rs_dpo",
    sft_policy,
    tokenizer,
    [p["prompt"] for p in dataset_pairs],
    cfg.gen_batch_size,  # a shard is one generation batch
    cfg.seed,
    temperature=sample_temperature,
    max_new_tokens=cfg.max_new_tokens,
    batch_size=cfg.gen_batch_size,
    precision=cfg.mixed_precision,
)
for row, sample in zip(dataset_pairs, samples):  # the first prompt whose sample makes a pair (not empty)
    by_hand, _ = pairs.rs_dpo_pairs([row], [sample["responses"][0]])
    if by_hand:
        break
if by_hand:
    print("PROMPT:", row["prompt"][:300])
    print("\nCHOSEN (dataset):", by_hand[0]["chosen"][:300])
    print("\nREJECTED (our SFT model):", by_hand[0]["rejected"][:300])
else:
    print("every sample is empty (the model ended its answer at once): no RS-DPO pair to show")

# %% [markdown]
# ## 2. Every training prompt's pair, then RS-DPO1/2/3
# Every mixture trains from the SFT model and is judged against the DPO model's answers on held-out prompts.

# %%
rs_pairs, skipped = pairs.rs_dpo_pairs(dataset_pairs, [s["responses"][0] for s in samples])
print(f"{len(rs_pairs)} rejection-sampled pairs; skipped: {dict(skipped) or 'none'}")
# the SFT sample became "rejected" whether it was right or not: the gold reward says how often it was
with_reference = [p for p in rs_pairs if p.get("reference")]
if cfg.judge == "gold" and with_reference:
    pair_judge = pipeline.judge(cfg, with_reference)
    right = pair_judge.task_scores([p["prompt"] for p in with_reference], [p["rejected"] for p in with_reference])
    print(f"This run: {sum(right)} of {len(right)} SFT samples used as rejected are right on their task "
          f"(gold reward); RS-DPO teaches the model to move away from them all the same.")  # fmt: skip
    views = [{**p, "kind": "SFT sample", "delta": c - r} for p, c, r in zip(
        with_reference,
        pair_judge.score([p["prompt"] for p in with_reference], [p["chosen"] for p in with_reference]),
        pair_judge.score([p["prompt"] for p in with_reference], [p["rejected"] for p in with_reference]),
    )]  # fmt: skip
    explorer.show(views, explorer.pairs_html, title="RS-DPO pairs: the dataset's chosen answer vs the SFT sample")
rows = data.subset(data.read_jsonl(cfg.data_dir / "eval_prompts.jsonl"), cfg.n_eval_prompts, cfg.seed)
prompts = [r["prompt"] for r in rows]
judge = pipeline.judge(cfg, rows, self_judge=sft_path)
dpo_answers = pipeline.model_answers(cfg, dpo_path, prompts)
histories = stages.rs_dpo_mixtures(
    cfg, sft_path, dataset_pairs, rs_pairs, cfg.rs_dpo_fractions, judge, prompts, dpo_answers, beta, cfg.judged_points
)

# %% [markdown]
# ## 3. Table 2: win rate against DPO during training
# Ties count ½; brackets are 95% bootstrap intervals over the held-out prompts.

# %%
table2 = results.table2(histories)
table2["n"] = len(prompts)
display(Markdown(f"**Table 2** (judge: `{cfg.judge}`), win rate vs DPO"))
display(plots.save_table(table2, cfg.figures / "05_table2_rs_dpo"))

# %%
dpo_history = pipeline.history(cfg, "dpo")
runs = {"DPO": dpo_history, **histories}
plots.overlay(runs, "loss", cfg.figures / "05_rs_dpo_loss.png", "DPO loss: plain DPO vs RS-DPO mixtures")
plots.overlay(runs, "rewards/margins", cfg.figures / "05_rs_dpo_margins.png", "reward margin: plain DPO vs RS-DPO")
plots.overlay(histories, "win_rate", cfg.figures / "05_rs_dpo_win_rate.png", "win rate vs DPO during training")
# %%
judged = {name: [r for r in h if "win_rate" in r][-1] for name, h in histories.items()}
margins = {name: [r for r in h if "loss" in r][-1]["rewards/margins"] for name, h in histories.items()}
vs_dpo = {n: {"win_rate": r["win_rate"], "ci_low": r["win_rate_ci_low"], "ci_high": r["win_rate_ci_high"],
              "n": len(prompts)} for n, r in judged.items()}  # fmt: skip
pipeline.record(
    cfg,
    "05",
    sample_temperature=sample_temperature,
    samples=[hashlib.sha256(s["responses"][0].encode()).hexdigest()[:12] for s in samples],  # the rejected side
    margins=margins,
    vs_dpo=vs_dpo,
)
dpo_margin = [r for r in dpo_history if "loss" in r][-1]["rewards/margins"]
for name, r in vs_dpo.items():
    verdict = "lost to" if r["ci_high"] < 0.5 else "beat" if r["ci_low"] > 0.5 else "did not differ from"
    print(f"This run: {name} {verdict} DPO, {r['win_rate']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}], final "
          f"margin {margins[name]:.2f} (DPO's {dpo_margin:.2f}).")  # fmt: skip
print("The study (not this run): RS-DPO1's margins grew fastest while its win rate collapsed; RS-DPO3 (10%) helped.")

# %% [markdown]
# What each mixture changed against DPO in the answers to the held-out prompts: the paired score difference,
# and per reward component and instruction how many answers gained or lost it.

# %%
for name in histories:
    mixed = pipeline.model_answers(cfg, cfg.model_path(name), prompts)  # cached when the model was judged
    both = {name: mixed, "dpo": dpo_answers}
    both_scores = {n: judge.score(prompts, a) for n, a in both.items()}
    print(changes.paired(judge, prompts, both, both_scores, (name, "dpo"), cfg.seed).sentence())
    changed, summary, _ = changes.what_changed(judge, rows, dpo_answers, mixed, ("dpo", name))
    print(summary)
    display(changed)

# %% [markdown]
# ## Try this
# Each exercise reruns this notebook with one change, in its own sandbox: set `exercise` in the parameters cell to
# the exercise's name, make the change, run all cells; the last cell checks the result against the main run's.
# Worked solutions: `notebooks/solutions/05_<name>.yaml` (`python -m sfdpo_helpers.exercises 05 <name>` runs one).
#
# - **Easy** (`greedy_rejected`): sample the rejected answers greedily (`sample_temperature = 0.0`): does RS-DPO1
#   separate its pairs even faster?
# - **Medium** (`rsdpo2`): train the study's third mixture, `run = {"rs_dpo_fractions": [0.2]}` (20%
#   self-sampled): where does it land between RS-DPO1 and RS-DPO3?
# - **Question:** compare the margin curves of RS-DPO1 and DPO with their win rates in Table 2. Which would you
#   trust to pick a model, and why?
# - **Project:** build RS-DPO pairs the original way (notebook 07, section 2, shows the rule on 8 answers per
#   prompt): sample 4 answers per *training* prompt, keep `pairs.reward_gap_pairs`, train them with
#   `stages.dpo_run` and judge the result against DPO.
#
# Times (the list the last cell prints): 2 CPU cores, offline profile. Not yet measured on a T4 (colab profile): expect
# about the time of the notebook itself there, since an exercise reruns it with one change.

# %%
exercises.check(cfg, "05", exercise)
