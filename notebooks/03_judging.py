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
#   evasion, a quote, JSON or lowercase nobody asked for, or an answer cut mid-sentence by the generation budget
#   (the judge is told the budget the answers were generated under). Since $0.6 > 0.25 + 0.15$, any right answer
#   beats any wrong one. Section 2b computes one answer's reward by hand; 2c lets you try to fool it.
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

from sfdpo_helpers import changes, data, exercises, explorer, judges, models, pipeline, plots, settings, story, winrate

# %% tags=["parameters"]
run = "auto"  # run settings: "auto" (colab on Colab, else offline), "offline", "colab", "study", a YAML file or a dict
instruct_model = ""  # an instruct baseline too (the study: Qwen/Qwen2.5-0.5B-Instruct); "": none
n_self_judge = 16  # prompts also scored by the SFT model as judge, for the agreement rate (0: skip)
wrong_answer = ""  # section 2c: your wrong answer to section 2b's prompt ("": none)
my_labels = ""  # section 3b: your right/wrong labels of its answers, one letter each: r or w ("": none yet)
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
    n_tokens = len(models.load_tokenizer(cfg.base_model)(answer, add_special_tokens=False)["input_ids"])
    cut = gold.cut_at_budget(answer, n_tokens, cfg.max_new_tokens)  # ran into the cap and stops mid-sentence
    penalties = gold.form_penalties(row, answer, cut)
    form = max(0.0, 1.0 - sum(penalties.values()))
    by_hand = 0.6 * task + 0.25 * instructions + 0.15 * form
    print("PROMPT:", row["prompt"], "\nANSWER:", answer, "\nREFERENCE:", row["reference"])
    print(f"task = {task} ({read})")
    print(
        f"instructions = {sum(followed)}/{len(followed)} = {instructions:.3f} {dict(zip(row['instruction_id_list'], followed))}"
    )
    print(f"form = 1 − {sum(penalties.values()):g} = {form:.2f} {penalties or '(no penalty)'} "
          f"({n_tokens} tokens, budget {cfg.max_new_tokens})")  # fmt: skip
    print(
        f"r = 0.6·{task} + 0.25·{instructions:.3f} + 0.15·{form:.2f} = {by_hand:.4f}; the judge: {scores['sft'][0]:.4f}"
    )
    assert abs(by_hand - scores["sft"][0]) < 1e-9

# %% [markdown]
# What this reward cannot see: whether an explanation is *good* beyond naming its key facts, style and tone,
# numbers written as words, and anything a reference does not list; a topic answer is "right" when it uses
# the topic's words, which is why hand labels agree with it least on open tasks (`docs/measurements.md`). A win
# under it means "the model learned this reward", which is what DPO's controlled experiments measure too; on the
# real path a reward model (the study's Nemotron-70B) takes its place.
#
# ## 2c. Try to fool it: a wrong answer that scores high
# Set `wrong_answer` (parameters cell) to a *wrong* answer to section 2b's prompt, written to follow every one of
# its instructions, and run the notebook again (exercise `wrong_answer`). The cell shows what each rule read. The
# weights say how high a wrong answer can get before you try: the task weight is lost, the rest is not.

# %%
best_wrong = None
if hasattr(judge, "breakdown"):
    best_wrong = gold.WEIGHTS["instructions"] + gold.WEIGHTS["form"]  # task = 0: what is left
    print(f"The most any wrong answer can score: 0.25·1 + 0.15·1 = {best_wrong:.2f} (a right one starts at 0.60)")
    if wrong_answer:
        mine = judge.breakdown(row["prompt"], wrong_answer)
        print("PROMPT:", row["prompt"], "\nYOUR ANSWER:", wrong_answer)
        for label, passed in mine.as_dict()["checks"]:
            print(f"  {'✓' if passed else '✗'} {label}")
        stopped_by = "the task rule (the gate)" if not mine.task else "nothing: the reward reads it as RIGHT"
        print(f"score {mine.score:.3f} (task {mine.task}, instructions {mine.instructions:.3f}, form {mine.form:.2f}); "
              f"what stopped it: {stopped_by}")  # fmt: skip
        pipeline.record(cfg, "03", wrong_answer={"answer": wrong_answer, "score": mine.score, "task": mine.task,
                                                 "read": mine.task_note, "best_wrong": best_wrong})  # fmt: skip

# %% [markdown]
# ## 3. Side by side: every answer, with the judge's reasons
# The first prompt is shown as plain output (it stays in the saved notebook); run the cell to browse all
# prompts, filtered by outcome or category. The same answers and scores go to a CSV table of the run.

# %%
answer_table = cfg.out / "tables" / "03_sft_vs_base.csv"
answer_rows = explorer.show_comparison(judge, prompts, categories, generated, scores, ("sft", "base"), answer_table)

# %% [markdown]
# ## 3b. Your labels against the reward's
# Is the reward right about *right*? Below are the SFT model's answers to two prompts of each category, with what
# a right answer says, and without the reward's marks. Label each one yourself, `r` (right on its task) or `w`
# (wrong), in `my_labels` (parameters cell; e.g. `"rwwr..."`), then run the notebook again (exercise
# `hand_labels`). Agreement alone flatters a judge when most answers are wrong (two raters who each say "wrong"
# with probability $0.9$, independently, agree by chance on $0.9^2 + 0.1^2 = 0.82$ of the answers), so the cell
# also computes **Cohen's κ**:
# $$\kappa = \frac{p_o - p_e}{1 - p_e}, \qquad p_e = p_\text{you}\,p_\text{reward} + (1-p_\text{you})(1-p_\text{reward})$$
# with $p_o$ the share labelled alike and $p$ each rater's share of "right": 1 is perfect, 0 is chance.

# %%
shown = [i for cat in dict.fromkeys(categories) for i in [j for j, c in enumerate(categories) if c == cat][:2]][:20]
labels = story.labels(my_labels)  # r/w letters, spaces and commas ignored
if len(labels) > len(shown):
    print(f"{len(labels) - len(shown)} labels beyond the {len(shown)} answers shown here are left out")
if not labels:
    from sfdpo_helpers.judges.gold import reference_in_words

    for k, i in enumerate(shown):
        print(f"[{k + 1}] PROMPT: {prompts[i]}\n    A RIGHT ANSWER: {reference_in_words(rows[i]['reference'])}"
              if hasattr(judge, "breakdown") else f"[{k + 1}] PROMPT: {prompts[i]}")  # fmt: skip
        print(f"    ANSWER: {generated['sft'][i]}\n")
    print(f'Label these {len(shown)} answers in my_labels (e.g. "{"w" * len(shown)}") and run the notebook again.')
elif hasattr(judge, "task_scores"):
    yours = labels[: len(shown)]
    reward = judge.task_scores(
        [prompts[i] for i in shown[: len(yours)]], [generated["sft"][i] for i in shown[: len(yours)]]
    )
    n = len(yours)
    p_o = sum(a == b for a, b in zip(yours, reward)) / n  # by hand first
    p_you, p_reward = sum(yours) / n, sum(reward) / n
    p_e = p_you * p_reward + (1 - p_you) * (1 - p_reward)
    kappa = 1.0 if p_e == 1 else (p_o - p_e) / (1 - p_e)
    assert abs(kappa - judges.cohen_kappa(yours, reward)) < 1e-12  # the helper agrees
    print(f"{n} answers: you and the reward agree on {p_o:.0%} (chance at your rates: {p_e:.0%}); κ = {kappa:.2f}")
    for k, (a, b) in enumerate(zip(yours, reward)):
        if a != b:
            i = shown[k]
            note = judge.breakdown(prompts[i], generated["sft"][i]).task_note
            print(f"  [{k + 1}] you: {'right' if a else 'wrong'}, the reward: {'right' if b else 'wrong'} ({note})")
    pipeline.record(cfg, "03", hand_labels={"n": n, "yours": yours, "reward": reward, "agreement": p_o,
                                            "chance": p_e, "kappa": kappa})  # fmt: skip
else:
    print(f"the {cfg.judge} judge has no task marks to compare your labels with (only the gold reward has)")

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
# - **Easy** (`self_judge_64`): set `n_self_judge = 64`. Is the self-judge's agreement with the run's judge
#   better than chance now that the interval is narrower?
# - **Easy** (`wrong_answer`): set `wrong_answer` to a *wrong* answer to section 2b's prompt that follows all of its
#   instructions, and try to make the gold reward score it $\ge 0.9$ (section 2c). Which rule stops you?
# - **Medium** (`hand_labels`): label section 3b's answers right or wrong yourself (`my_labels`), before you read
#   their marks in section 3. How often do you agree with the reward, and what is κ? Where do you disagree?
# - **Medium** (`self_judge_as_main`): set `run = {"judge": "self"}`: does SFT still beat the base when the model
#   itself judges?
# - **Question:** how many prompts tied in section 2? Read two tied prompts' answers in section 3: were they equally
#   good, or did the judge miss a difference?
#
# Times (the list the last cell prints): 2 CPU cores, offline profile. Not yet measured on a T4 (colab profile): expect
# about the time of the notebook itself there, since an exercise reruns it with one change.

# %%
exercises.check(cfg, "03", exercise)
