# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/sfdpo/sfdpo/blob/main/notebooks/03_judging.ipynb)
#
# # 03 · Judges and win rate: is the SFT model better?
#
# Loss tells us how well a model imitates its data, not whether its answers are better. The study judged
# models the way people compare them: **per prompt**. Both models answer the same prompt, a judge scores
# both answers, and the model with the higher score **wins that prompt**. Scores are compared only within
# a prompt (a reward of $3.1$ on an easy prompt and $1.2$ on a hard one say nothing about each other).
#
# $$\text{win rate}(A \text{ vs } B) = \frac{1}{n}\sum_{i=1}^{n} \Big[\mathbb{1}(s_A^i > s_B^i) + \tfrac12\,\mathbb{1}(s_A^i = s_B^i)\Big]$$
#
# **Ties count ½.** With a verifiable judge many prompts tie (both answers follow all or none of the
# instructions), which pulls every rate towards ½; so the tables also show the *decisive* share (prompts
# that were not ties), the win share among decisive prompts and a sign test. The 95% confidence interval
# is a bootstrap over prompts: with a hundred prompts a win rate of 0.55 is not distinguishable from a coin
# flip (section 2 prints the smallest effect this run's prompts can detect), and the study reported no
# intervals at all.
#
# Judges (`sfdpo_helpers/judges/`, all with `score(prompts, responses) -> floats`), chosen once per run
# (the run setting `judge`):
# * `gold` (offline default): the demo world's **known reward**, as the DPO paper's sentiment classifier is
#   in its controlled experiment. Every demo prompt carries a reference (the number, name, label, key facts,
#   phrase or topic words of a right answer), and
#   $$r(x, y) = 0.6\,\text{task} + 0.25\,\text{instructions} + 0.15\,\text{form}$$
#   with *task* 1 when the answer states the right answer where it states it (0 otherwise), *instructions* the
#   share of the prompt's IFEval instructions followed, *form* 1 minus penalties for a repetition loop, an
#   evasion, or a quote, JSON or lowercase nobody asked for. Since $0.6 > 0.25 + 0.15$, any right answer beats any
#   wrong one. Section 2b computes one answer's reward by hand.
# * `verifiable`: the share of the prompt's IFEval-style instructions the answer follows (lowercase, word
#   limits, bullets, JSON, P.S., ...), checked by code; it cannot tell a right answer from a wrong one;
# * `reward`: a Hugging Face reward model (`reward_model`; the colab profile uses a 0.6B one that fits a T4)
# * `api`: an OpenAI-compatible endpoint such as NVIDIA's hosted Nemotron-70B reward (the study's judge)
#   the key comes from an environment variable or Colab's Secrets, never from a parameter;
# * `self`: the policy model itself as LLM-as-judge (the study's open question: can a model judge itself?).

# %%
# Colab: install the kit once per runtime (settings.setup mounts Google Drive); where it is installed, nothing happens.
if not __import__("importlib.util").util.find_spec("sfdpo_helpers"): __import__("subprocess").run([__import__("sys").executable, "-m", "pip", "install", "-q", "sfdpo[api] @ git+https://github.com/sfdpo/sfdpo"], check=True)  # noqa: E701  # fmt: skip

# %%
import random

import pandas as pd
from IPython.display import Markdown, display

from sfdpo_helpers import changes, data, exercises, explorer, judges, pipeline, plots, settings, winrate

# %% tags=["parameters"]
run = "auto"  # run settings: "auto" (colab on Colab, else offline), "offline", "colab", "study", a YAML file or a dict
instruct_model = ""  # an instruct baseline too (the study: Qwen/Qwen2.5-0.5B-Instruct); "": none
n_self_judge = 16  # prompts also scored by the SFT model as judge, for the agreement rate (0: skip)
exercise = ""  # "": the main run; an exercise's name (see "Try this"): a sandbox that never overwrites the run

# %% [markdown]
# ## 1. Answers of every model on the same held-out prompts
# Greedy decoding, the model's own chat template, left padding, on the best device of the machine. Answers
# are cached in `out_dir/responses/`, so later notebooks and the results summary reuse them.

# %%
cfg = settings.setup(run, globals(), exercise, notebook="03")
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
first = results[0]
mde = winrate.minimum_detectable_effect(first.n, first.ties / first.n)
print(f"With {first.n} prompts and {first.ties / first.n:.0%} ties, a win rate is told apart from ½ only outside "
      f"½ ± {mde:.3f} (α = 0.05, power 0.8).")  # fmt: skip
as_record = {"win_rate": first.rate, "ci_low": first.ci_low, "ci_high": first.ci_high, "n": first.n}
pipeline.record(
    cfg, "03", judge=cfg.judge, judge_version=getattr(judge, "version", ""), sft_vs_base=as_record, ties=first.ties
)
# the paired measure: the mean score difference over the same prompts (and, with the gold reward, task accuracy)
paired = changes.paired(judge, prompts, generated, scores, ("sft", "base"), cfg.seed)
print(paired.sentence())
pipeline.record(cfg, "03", sft_minus_base=paired.as_row())
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
# ## 2b. One answer's gold reward, by hand
# The first held-out prompt and the SFT model's answer: each component computed from its rule, then summed with
# the weights, then checked against the judge. (Only with the gold reward; other judges give a score, no parts.)

# %%
if hasattr(judge, "breakdown"):
    from sfdpo_helpers.judges import check_instruction, gold

    row, answer = rows[0], generated["sft"][0]
    task, read = gold.task_score(row["prompt"], answer, row["reference"])  # the reference's rule
    followed = [
        check_instruction(i, k, row["prompt"], answer) for i, k in zip(row["instruction_id_list"], row["kwargs"])
    ]
    instructions = sum(followed) / len(followed) if followed else 1.0
    penalties = gold.form_penalties(row, answer)
    form = max(0.0, 1.0 - sum(penalties.values()))
    by_hand = 0.6 * task + 0.25 * instructions + 0.15 * form
    print("PROMPT:", row["prompt"], "\nANSWER:", answer, "\nREFERENCE:", row["reference"])
    print(f"task = {task} ({read})")
    print(
        f"instructions = {sum(followed)}/{len(followed)} = {instructions:.3f} {dict(zip(row['instruction_id_list'], followed))}"
    )
    print(f"form = 1 − {sum(penalties.values()):g} = {form:.2f} {penalties or '(no penalty)'}")
    print(
        f"r = 0.6·{task} + 0.25·{instructions:.3f} + 0.15·{form:.2f} = {by_hand:.4f}; the judge: {scores['sft'][0]:.4f}"
    )
    assert abs(by_hand - scores["sft"][0]) < 1e-9

# %% [markdown]
# What this reward cannot see: whether an explanation is *good* beyond naming its key facts, style and tone,
# numbers written as words, and anything a reference does not list; a topic answer is "right" when it uses
# the topic's words. A win under it means "the model learned this reward", which is what DPO's controlled
# experiments measure too; on the real path a reward model (the study's Nemotron-70B) takes its place.
#
# ## 3. Side by side: every answer, with the judge's reasons
# The first prompt is shown as plain output (it stays in the saved notebook); run the cell to browse all
# prompts, filtered by outcome or category. The same answers and scores go to a CSV table of the run.

# %%
answer_table = cfg.out / "tables" / "03_sft_vs_base.csv"
answer_rows = explorer.show_comparison(judge, prompts, categories, generated, scores, ("sft", "base"), answer_table)

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
# one calls a tie). What *chance* is depends on how often each judge calls ties: two judges that pick sides
# independently, each with its own frequencies of "sft", "base" and "tie", agree on
# $\sum_s p_1(s)\,p_2(s) + \tfrac12\,[p_1(\text{tie})(1-p_2(\text{tie})) + p_2(\text{tie})(1-p_1(\text{tie}))]$ of the pairs.
# The interval is a bootstrap over the pairs.


# %%
def side(a, b):
    return "tie" if abs(a - b) < 1e-9 else ("sft" if a > b else "base")


if n_self_judge and cfg.judge != "self":
    n = min(n_self_judge, len(prompts))
    self_judge = judges.SelfJudge(sft_policy, sft_tokenizer, batch_size=cfg.gen_batch_size)
    self_scores = self_judge.score(prompts[:n] * 2, generated["sft"][:n] + generated["base"][:n])
    main_scores = scores["sft"][:n] + scores["base"][:n]
    agreement = judges.agreement_rate(self_scores, main_scores, [(i, i + n) for i in range(n)])
    per_pair = [judges.agreement_rate(self_scores, main_scores, [(i, i + n)]) for i in range(n)]  # 1, ½ or 0
    rng = random.Random(cfg.seed)
    boot = sorted(sum(rng.choices(per_pair, k=n)) / n for _ in range(2000))
    low, high = boot[50], boot[1949]
    sides = [[side(s[i], s[i + n]) for i in range(n)] for s in (self_scores, main_scores)]
    p = [{k: v.count(k) / n for k in ("sft", "base", "tie")} for v in sides]
    chance = sum(p[0][k] * p[1][k] for k in p[0]) + 0.5 * (
        p[0]["tie"] * (1 - p[1]["tie"]) + p[1]["tie"] * (1 - p[0]["tie"])
    )
    assert abs(agreement - sum(per_pair) / n) < 1e-12
    print(f"self-judge vs {cfg.judge} judge agreement on {n} (sft, base) pairs: {agreement:.3f} [{low:.3f}, {high:.3f}]; "
          f"chance at these tie rates ({p[0]['tie']:.0%} and {p[1]['tie']:.0%}): {chance:.3f}")  # fmt: skip
    print("better than chance" if low > chance else "not distinguishable from chance at this n")
    pipeline.record(
        cfg, "03", self_judge={"n": n, "agreement": agreement, "ci_low": low, "ci_high": high, "chance": chance}
    )

# %% [markdown]
# ## Try this
# Each exercise reruns this notebook with one change, in its own sandbox: set `exercise` in the parameters cell to
# the exercise's name, make the change, run all cells; the last cell checks the result against the main run's.
# Worked solutions: `notebooks/solutions/03_<name>.yaml` (`python -m sfdpo_helpers.exercises 03 <name>` runs one).
#
# - **Easy** (`self_judge_64`): set `n_self_judge = 64`. Is the self-judge's agreement with the verifiable judge
#   better than chance now that the interval is narrower?
# - **Medium** (`self_judge_as_main`): set `run = {"judge": "self"}`: does SFT still beat the base when the model
#   itself judges?
# - **Question:** how many prompts tied in section 2? Read two tied prompts' answers in section 3: were they equally
#   good, or did the judge miss a difference?
# - **Question:** write a *wrong* answer to section 2b's prompt that the gold reward scores $\ge 0.9$ (try
#   `judge.breakdown(prompt, your_answer)`). Which rule stops you? Then label 20 answers of section 3 right or
#   wrong yourself, before reading their task marks, and count how often you agree with the reward.
#
# Times (the list the last cell prints): 2 CPU cores, offline profile. Not yet measured on a T4 (colab profile): expect
# about the time of the notebook itself there, since an exercise reruns it with one change.

# %%
exercises.check(cfg, "03", exercise)
