# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/sfdpo/sfdpo/blob/main/notebooks/07_self_improvement.ipynb)
#
# # 07 · Self-improvement: the model's best and worst answers as a new preference pair
#
# For each new prompt from notebook 06 the RS-DPO3 model writes **8 answers** at three temperatures (2 at
# $T=0.2$, 3 at $T=0.7$, 3 at $T=1.2$). The judge scores them; the **best** becomes *chosen* and a **random
# one of the 3 worst** becomes *rejected* (seeded). Prompts whose answers all score the same carry no
# preference and are dropped (and counted). Then DPO again, starting from RS-DPO3 (the study: 3 epochs), and
# the study's Table 3: RS-DPO3 vs DPO, self-improved vs DPO, self-improved vs RS-DPO3.
#
# Two cautions the study names and this notebook lets you test:
# * **Best-of-n** already beats a single answer without any training (the study: win rate 0.72 → 0.83
#   against the SFT model with best-of-5 at $T=1$). Self-improvement tries to distil that gain into the
#   weights.
# * **Reward hacking:** a model trained to please judge A may only be learning judge A's quirks. The
#   cross-judge table evaluates with a second judge (offline: IFEval's instruction checks alone).

# %%
# Colab: install the kit once per runtime (settings.setup mounts Google Drive); where it is installed, nothing happens.
if not __import__("importlib.util").util.find_spec("sfdpo_helpers"): __import__("subprocess").run([__import__("sys").executable, "-m", "pip", "install", "-q", "sfdpo[api] @ git+https://github.com/sfdpo/sfdpo"], check=True)  # noqa: E701  # fmt: skip

# %%
import random

import pandas as pd
from IPython.display import Markdown, display

from sfdpo_helpers import (
    answers,
    changes,
    data,
    exercises,
    explorer,
    formats,
    judges,
    models,
    pairs,
    pipeline,
    plots,
    results,
    sampling,
    settings,
    stages,
    winrate,
)

# %% tags=["parameters"]
run = "auto"  # run settings: "auto" (colab on Colab, else offline), "offline", "colab", "study", a YAML file or a dict
rounds = 1  # sample -> select -> DPO, repeated from the newest model
beta = 0.1
best_of = [5, 6]  # best-of-n at temperature 1.0: n answers to the first 6 prompts, one CPU batch (n 0: skip)
cross_judge = True  # evaluate also with a second judge (gold or self: the IFEval checks; else the self-judge)
khaki_prompts = 8  # the original RS-DPO rule on the first prompts' 8 answers (0: skip)
khaki_tau = 0.05  # gold reward: one instruction of three is 0.083 apart, and σ(0.083/0.05) is 0.84, near η
khaki_eta = 0.85
round_dpop_weight = 0.0  # λ_P: DPO-Positive in the self-improvement rounds (0: plain DPO, the study's)
schedule = [(0.2, 2), (0.7, 3), (1.2, 3)]  # (temperature, answers): the study's 8 answers per prompt
rejected_rule = "random_bottom3"  # the study's rejected answer; "worst": the lowest-scored one
exercise = ""  # "": the main run; an exercise's name (see "Try this"): a sandbox that never overwrites the run

# %% [markdown]
# ## 1. One prompt's 8 answers, scored, and the pair they make
# The temperature schedule is the `schedule` parameter: a list of (temperature, how many answers), drawn in the
# same generation batches. The 8 answers of every new prompt are drawn and scored here (round 1 below reuses
# both); the first prompt's are shown. With a judge whose scores are coarse (the verifiable judge scores the
# share of instructions followed) many answers tie: the best and the bottom 3 are then picked at random among
# the tied answers (seeded), so that ties do not always crown the first, coolest sample.
#
# Offline the judge is the demo world's gold reward (notebook 03): the best answer is the one that is *right* on
# its task first, then follows the most instructions, then has the cleanest form (a quote nobody asked for, a
# repetition loop or an evasion costs form points). So a pair contrasts a right answer with a wrong one
# wherever the 8 samples hold both; the table shows each answer's components.

# %%
cfg = settings.setup(run, globals(), exercise, notebook="07")
pipeline.ensure_data(cfg)
paths = {name: pipeline.require_model(cfg, name) for name in ("sft", "dpo", "rsdpo3")}
new_rows = data.read_jsonl(pipeline.require_file(cfg, "curriculum_prompts.jsonl"))
eval_rows = data.subset(data.read_jsonl(cfg.data_dir / "eval_prompts.jsonl"), cfg.n_eval_prompts, cfg.seed)
eval_prompts = [r["prompt"] for r in eval_rows]
sft_policy, sft_tokenizer = pipeline.frozen_model(paths["sft"])  # the self-judge, one copy for every judge
train_judge = pipeline.judge(cfg, new_rows, self_judge=paths["sft"])
eval_judge = pipeline.judge(cfg, eval_rows, self_judge=paths["sft"])

start_tokenizer, start_model = models.load_tokenizer(paths["rsdpo3"]), models.load_model(paths["rsdpo3"])
temperatures = sampling.schedule_temperatures(schedule)
print(f"temperatures of the {len(temperatures)} answers per prompt: {temperatures}")
new_prompts = [r["prompt"] for r in new_rows]
all_eight = stages.self_improvement_samples(cfg, start_model, start_tokenizer, new_prompts, 1, schedule=schedule)
shown = [(r["prompt"], [s["response"] for s in eight]) for r, eight in zip(new_rows, all_eight)]
# scored once: section 2 and round 1 reuse these scores
scored = stages.score_samples(train_judge, [p for p, _ in shown], [texts_p for _, texts_p in shown])
(first, texts), rewards, eight = shown[0], scored[0], all_eight[0]
ties = pairs.tie_counts(scored)
print(f"ties among the {len(scored)} prompts' answers: {ties}")
picked = pairs.select_best_and_bottom3(texts, rewards, random.Random(cfg.seed))
roles = {picked[0]: "chosen (best)", picked[1]: "rejected (random of the bottom 3)"} if picked else {}
print("PROMPT:", first)
pd.set_option("display.max_colwidth", None)  # whole answers: a comma or a wrong number decides a score
task_marks = train_judge.task_scores([first] * len(texts), texts) if hasattr(train_judge, "task_scores") else None
pd.DataFrame(
    {
        "T": [s["temperature"] for s in eight],
        "score": rewards,
        **({"task (right?)": task_marks} if task_marks else {}),
        "pick": [roles.get(i, "") for i in range(len(texts))],
        "answer": texts,
    }
)

# %% [markdown]
# ## 2. The same answers, the original RS-DPO rule (Khaki et al. 2024)
# The study keeps one pair per prompt (best vs a random one of the bottom 3). RS-DPO as Khaki et al. published
# it keeps *every* ordered pair whose reward gap is large enough, $\sigma\big((r_j - r_l)/\tau\big) > \eta$:
# more pairs from the same samples (the larger $\eta$, the further apart the two rewards of a pair). No new
# samples and no new scores: the first prompts' 8 answers, scored in section 1.

# %%
if khaki_prompts:
    per_prompt = []
    for (prompt, texts_k), rewards_k in zip(shown[:khaki_prompts], scored):
        kept = pairs.reward_gap_pairs(prompt, texts_k, rewards_k, khaki_tau, khaki_eta)
        study = pairs.select_best_and_bottom3(texts_k, rewards_k, random.Random(cfg.seed)) is not None
        per_prompt.append(
            {
                "prompt": prompt[:60],
                "rewards, best first": [round(r, 2) for r in sorted(rewards_k, reverse=True)],
                "Khaki pairs": len(kept),
                "study pairs": int(study),
            }
        )
    table = pd.DataFrame(per_prompt)
    print(
        f"Khaki's rule (tau={khaki_tau}, eta={khaki_eta}): {table['Khaki pairs'].sum()} pairs from {len(table)} "
        f"prompts x {len(temperatures)} answers (at most {len(table) * len(temperatures) * (len(temperatures) - 1) // 2}: "
        f"one direction per pair); the study's rule: {table['study pairs'].sum()}"
    )
    display(table)
    pipeline.record(cfg, "07", khaki_eta=khaki_eta, khaki_pairs=int(table["Khaki pairs"].sum()))

# %% [markdown]
# ## 3. Every new prompt, then DPO from RS-DPO3 (one round or several)

# %%
current, history, pairs_per_round, rejected_is_lowest, stopped_early = paths["rsdpo3"], [], [], 0, False
for round_ in range(1, rounds + 1):
    path, new_pairs, dropped, round_history = stages.self_improvement_round(
        cfg,
        current,
        new_rows,
        train_judge,
        round_,
        beta,
        rewards=scored if round_ == 1 else None,
        dpop_weight=round_dpop_weight,
        rejected_rule=rejected_rule,
        schedule=schedule,
    )
    pairs_per_round.append(len(new_pairs))
    if round_ == 1:
        round1_pairs = new_pairs
        lowest = {p: min(r) for p, r in zip(new_prompts, scored)}
        rejected_is_lowest = sum(p["reward_rejected"] == lowest[p["prompt"]] for p in new_pairs)
    if path is None:
        print("no preference left to learn from: stopping")
        stopped_early = True
        break
    current, history, paths[f"selfimprove{round_}"] = path, round_history, path
if history:
    plots.curves(
        history,
        ["loss", "rewards/margins"],
        cfg.figures / "07_self_improvement_curves.png",
        "DPO on self-generated pairs (last round)",
    )

# %% [markdown]
# Round 1's samples of every new prompt, with the answer that became *chosen* and the one that became *rejected*
# (the pairs DPO just trained on), and how often the chosen answer was right on its task.

# %%
if pairs_per_round:
    picked_pair = {p["prompt"]: p for p in round1_pairs}
    sample_views = []
    for (prompt, texts_p), scores_p, eight_p in zip(shown, scored, all_eight):
        pair = picked_pair.get(prompt, {})
        role = {pair.get("chosen"): "chosen", pair.get("rejected"): "rejected"}
        parts = explorer.breakdowns(train_judge, [prompt] * len(texts_p), texts_p) or [None] * len(texts_p)
        sample_views.append({"prompt": prompt, "samples": [
            {"temperature": s["temperature"], "score": sc, "role": role.get(t, ""), "response": t, "breakdown": b}
            for s, sc, t, b in zip(eight_p, scores_p, texts_p, parts)]})  # fmt: skip
    if hasattr(train_judge, "task_scores") and round1_pairs:
        right = {side: sum(train_judge.task_scores([p["prompt"] for p in round1_pairs], [p[side] for p in round1_pairs]))
                 for side in ("chosen", "rejected")}  # fmt: skip
        print(f"This run: of round 1's {len(round1_pairs)} pairs, {right['chosen']} chosen and {right['rejected']} "
              f"rejected answers are right on their task (gold reward).")  # fmt: skip
        pipeline.record(cfg, "07", round1_right=right)
    explorer.show(
        sample_views, lambda v: explorer.samples_html(v["prompt"], v["samples"]), title="8 samples per prompt"
    )

# %% [markdown]
# ## 4. Table 3 (and the curve across rounds)

# %%
generated = {name: pipeline.model_answers(cfg, path, eval_prompts) for name, path in paths.items()}
scores = {name: eval_judge.score(eval_prompts, a) for name, a in generated.items()}
comparisons = results.table3_pairs(list(paths))
table3 = winrate.compare(scores, comparisons, seed=cfg.seed)
display(Markdown(f"**Table 3** (judge: `{cfg.judge}`)"))
display(
    plots.save_table(pd.DataFrame([r.as_row() for r in table3]), cfg.figures / "07_table3", winrate.to_markdown(table3))
)
as_record = {f"{r.model}_vs_{r.baseline}": {"win_rate": r.rate, "ci_low": r.ci_low, "ci_high": r.ci_high, "n": r.n}
             for r in table3}  # fmt: skip
last_round = max((n for n in paths if n.startswith("selfimprove")), key=lambda n: int(n[11:]), default=None)
pipeline.record(
    cfg,
    "07",
    rounds=rounds,
    pairs_per_round=pairs_per_round,
    stopped_early=stopped_early,
    ties=ties,
    rejected_rule=rejected_rule,
    rejected_is_lowest=rejected_is_lowest,
    selfimprove_vs_dpo=as_record.get(f"{last_round}_vs_dpo"),
    selfimprove_vs_rsdpo3=as_record.get(f"{last_round}_vs_rsdpo3"),
)
if last_round and all(r.get("instruction_id_list") for r in eval_rows):  # a habit the judge does not score
    quoted = {n: formats.unrequested_format_shares(eval_rows, generated[n])["quoted"] for n in ("rsdpo3", last_round)}
    pipeline.record(cfg, "07", unasked_quoted=quoted)
    print(f"This run: answers opening with a quote their prompt did not ask for: rsdpo3 {quoted['rsdpo3']:.0%}, "
          f"{last_round} {quoted[last_round]:.0%}.")  # fmt: skip
if last_round:  # what the last round changed against its start, in numbers and in the answers
    print(changes.paired(eval_judge, eval_prompts, generated, scores, (last_round, "rsdpo3"), cfg.seed).sentence())
    changed, summary, example = changes.what_changed(eval_judge, eval_rows, generated["rsdpo3"], generated[last_round],
                                                     ("rsdpo3", last_round))  # fmt: skip
    print(summary)
    display(changed)
    explorer.show_comparison(eval_judge, eval_prompts, [r.get("category", "") for r in eval_rows], generated, scores,
                             (last_round, "rsdpo3"), cfg.out / "tables" / f"07_{last_round}_vs_rsdpo3.csv")  # fmt: skip
rounds_curve = winrate.compare(scores, [(n, "dpo") for n in paths if n.startswith("selfimprove")], seed=cfg.seed)
if len(rounds_curve) > 1:
    bars = [{"name": r.model, "rate": r.rate, "ci_low": r.ci_low, "ci_high": r.ci_high} for r in rounds_curve]
    plots.win_rate_bars(bars, cfg.figures / "07_rounds.png", "win rate vs DPO after each round")

# %% [markdown]
# ## 5. On the categories it targeted
# Self-improvement trained on new prompts of the weakest categories only, so that is where it should help:
# every held-out prompt of those categories, the last round against its start (RS-DPO3). Greedy answers do not
# depend on the other prompts of their batch (up to float rounding), so section 4's are reused.

# %%
if "selfimprove1" in paths:
    targeted = sorted({r["category"] for r in new_rows if r.get("category")})
    all_eval = data.read_jsonl(cfg.data_dir / "eval_prompts.jsonl")
    cat_rows = [r for r in all_eval if r.get("category") in targeted] or all_eval
    cat_prompts = [r["prompt"] for r in cat_rows]
    cat_judge = pipeline.judge(cfg, cat_rows, self_judge=paths["sft"])
    last = max((n for n in paths if n.startswith("selfimprove")), key=lambda n: int(n[len("selfimprove") :]))
    cat_scores, cat_answers = {}, {}
    for name in (last, "rsdpo3"):
        known = dict(zip(eval_prompts, generated[name]))  # section 4's answers; only the other prompts are new
        missing = [p for p in cat_prompts if p not in known]
        known.update(zip(missing, pipeline.model_answers(cfg, paths[name], missing)))
        cat_answers[name] = [known[p] for p in cat_prompts]
        cat_scores[name] = cat_judge.score(cat_prompts, cat_answers[name])
    print(f"categories {targeted}: {len(cat_prompts)} held-out prompts")
    print(
        winrate.verdict(
            winrate.win_rate(cat_scores[last], cat_scores["rsdpo3"], model=last, baseline="rsdpo3", seed=cfg.seed)
        )
    )

# %% [markdown]
# ### What limits it
# Best-of-8 can only reinforce what the start model already does now and then: an instruction that its 8
# samples on the new prompts (almost) never follow makes no pair that teaches it, and one that no new prompt
# carries is not trained at all. And DPO on a few pairs also moves what the judge never asked for, such as the
# length of the answers: an answer cut off at the token cap leaves a JSON object or a closing phrase unfinished.

# %%
if "selfimprove1" in paths:
    lengths = {n: answers.token_lengths(start_tokenizer, cat_answers[n]) for n in ("rsdpo3", last)}
    summary = {n: answers.length_summary(lengths[n], cfg.max_new_tokens) for n in lengths}
    display(Markdown(f"Answers to these held-out prompts (greedy, cap {cfg.max_new_tokens} new tokens):"))
    display(plots.save_table(pd.DataFrame(summary).T.round(2), cfg.figures / "07_answer_lengths"))
    if all(r.get("instruction_id_list") for r in cat_rows + new_rows):
        held = {n: judges.instruction_rates(cat_rows, [[a] for a in cat_answers[n]]) for n in ("rsdpo3", last)}
        drawn = judges.instruction_rates(new_rows, [texts_p for _, texts_p in shown])
        missing = {"prompts": 0, "followed": float("nan")}
        per_instruction = pd.DataFrame(
            [
                {
                    "instruction": iid,
                    "held-out prompts": held["rsdpo3"].get(iid, missing)["prompts"],
                    "rsdpo3 follows": held["rsdpo3"].get(iid, missing)["followed"],
                    f"{last} follows": held[last].get(iid, missing)["followed"],
                    "new prompts": drawn.get(iid, missing)["prompts"],
                    "rsdpo3's 8 samples follow": drawn.get(iid, missing)["followed"],
                }
                for iid in sorted({*held["rsdpo3"], *drawn})
            ]
        ).sort_values(["held-out prompts", "new prompts"], ascending=False, ignore_index=True)
        display(plots.save_table(per_instruction.round(2), cfg.figures / "07_what_limits_it"))
        lost, gained = judges.changed_instructions(cat_rows, cat_answers["rsdpo3"], cat_answers[last])
        cut = sum(answers.reached_cap(lengths[last][i], cfg.max_new_tokens) for i, _ in lost)
        print(
            f"{last} no longer follows {len(lost)} instructions that rsdpo3 followed ({cut} of them in answers cut "
            f"off at the cap) and newly follows {len(gained)}"
        )

# %% [markdown]
# ## 6. Best-of-n check
# Single answers at $T=1$ vs the SFT model's greedy answers, then the judge's best of $n$ answers.

# %%
best_of_n, best_of_prompts = best_of
if best_of_n:
    few = eval_prompts[:best_of_prompts]
    tokenizer, model = models.load_tokenizer(current), models.load_model(current)
    drawn = sampling.generate(
        model,
        tokenizer,
        few,
        k=best_of_n,
        temperature=1.0,
        max_new_tokens=cfg.max_new_tokens,
        batch_size=cfg.gen_batch_size,
        seed=cfg.seed,
        precision=cfg.mixed_precision,
    )
    drawn_scores = [eval_judge.score([p] * len(d), d) for p, d in zip(few, drawn)]
    sft_scores = scores["sft"][:best_of_prompts]
    single = winrate.win_rate([s[0] for s in drawn_scores], sft_scores, model="1 sample, T=1", baseline="sft")
    best = winrate.win_rate(
        [max(s) for s in drawn_scores], sft_scores, model=f"best of {best_of_n}, T=1", baseline="sft"
    )
    display(Markdown(winrate.to_markdown([single, best])))
    print(f"This run: best of {best_of_n} moved the win rate against SFT from {single.rate:.3f} to {best.rate:.3f} "
          f"on {best_of_prompts} prompts (the study: 0.72 → 0.83 with best-of-5)."
          + (" Every drawn answer of a prompt scored the same here: nothing to pick." if best.rate == single.rate else ""))  # fmt: skip

# %% [markdown]
# ## 7. Cross-judge table: trained with one judge, evaluated with another
# If the gain under the training judge vanishes under a second judge, the model learned the judge rather
# than the task.

# %%
other_kind = "verifiable" if cfg.judge in ("gold", "self") else "self"  # gold: the IFEval checks alone
if cross_judge and (other_kind == "self" or all(r.get("instruction_id_list") for r in eval_rows)):
    other = judges.make_judge(other_kind, eval_rows, policy=sft_policy, tokenizer=sft_tokenizer)
    other_scores = {n: other.score(eval_prompts, generated[n]) for n in {m for pair in comparisons for m in pair}}

    def with_ci(r):
        return f"{r.rate:.3f} [{r.ci_low:.3f}, {r.ci_high:.3f}]"

    cross = pd.DataFrame(
        [
            {
                "comparison": f"{a} vs {b}",
                f"{cfg.judge} judge (trained with)": with_ci(winrate.win_rate(scores[a], scores[b], seed=cfg.seed)),
                f"{other_kind} judge": with_ci(winrate.win_rate(other_scores[a], other_scores[b], seed=cfg.seed)),
                "n": len(eval_prompts),
            }
            for a, b in comparisons
        ]
    )
    display(plots.save_table(cross, cfg.figures / "07_cross_judge"))

# %% [markdown]
# ## Try this
# Each exercise reruns this notebook with one change, in its own sandbox: set `exercise` in the parameters cell to
# the exercise's name, make the change, run all cells; the last cell checks the result against the main run's.
# Worked solutions: `notebooks/solutions/07_<name>.yaml` (`python -m sfdpo_helpers.exercises 07 <name>` runs one).
#
# - **Medium** (`two_rounds`): run two rounds (`rounds = 2`). Does the second round still find preferences?
# - **Medium** (`eta_0.6`): lower `khaki_eta` to `0.6`: how many more pairs, and how close are their two answers?
# - **Hard** (`worst_rejected`): replace "a random one of the bottom 3" by "the worst" (`rejected_rule = "worst"`)
#   and compare the win rates: which rejected answer teaches more?
# - **Question:** look at the 8 answers of section 1: do the high-temperature answers score lower? Change
#   `schedule` (e.g. `[(0.7, 8)]`) and predict the tie counts before you run it.
# - **Question:** in section 1's table, is the chosen answer always the one whose task component is 1? When none
#   of the 8 answers is right, what does the pair teach?
# - **Project:** if section 5 shows longer answers after the round, train it with the DPO-Positive term
#   (`round_dpop_weight = 1.0`): does the chosen answer's likelihood, held up, keep the length too?
#
# Times (the list the last cell prints): 2 CPU cores, offline profile. Not yet measured on a T4 (colab profile): expect
# about the time of the notebook itself there, since an exercise reruns it with one change.

# %%
exercises.check(cfg, "07", exercise)
