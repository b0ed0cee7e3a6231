TITLE = "07 · Self-improvement: the model's best and worst answers as a new preference pair"
INTRO = r"""
For each new prompt from notebook 06 the RS-DPO3 model writes **8 answers** at three temperatures
(2 at $T=0.2$, 3 at $T=0.7$, 3 at $T=1.2$). The judge scores them; the **best** becomes *chosen* and a
**random one of the 3 worst** becomes *rejected* (seeded). Prompts whose answers all score the same
carry no preference and are dropped (and counted). Then DPO again, starting from RS-DPO3 (the study:
3 epochs), and the study's Table 3: RS-DPO3 vs DPO, self-improved vs DPO, self-improved vs RS-DPO3.

Two cautions the study names and this notebook lets you test:
* **Best-of-n** already beats a single answer without any training (the study: win rate 0.72 → 0.83
  against the SFT model with best-of-5 at $T=1$). Self-improvement tries to distil that gain into the
  weights.
* **Reward hacking:** a model trained to please judge A may only be learning judge A's quirks. The
  cross-judge table evaluates with a second judge (the model itself as judge, offline).
"""
IMPORTS = """
from pathlib import Path

import pandas as pd
import torch
from IPython.display import Markdown, display

from sfdpo_helpers import data, dpo, evaluation, judges, models, pairs, plots, results, sampling, training, winrate
from sfdpo_helpers.params import check_parameters, defaults_of
"""
PARAMETERS = """
start_model = ""            # empty: out_dir/models/rsdpo3 (notebook 05)
sft_model = ""              # empty: out_dir/models/sft
dpo_model = ""              # empty: out_dir/models/dpo
judge = "verifiable"        # trains and evaluates; "self": the SFT model as LLM-as-judge
rounds = 1                  # sample -> select -> DPO, repeated from the newest model
epochs = 3.0                # the study: 3 epochs on the self-generated pairs
beta = 0.1
lr = 2e-4
lora_r = 16
batch_size = 8
micro_batch_size = 4
max_steps = None
max_new_tokens = 96
gen_batch_size = 32
n_eval_prompts = 64
best_of_n = 5               # best-of-n sanity check at temperature 1.0 (0: skip)
best_of_prompts = 12
cross_judge = True          # evaluate also with the other judge (verifiable <-> self)
resume = True
seed = 0
out_dir = "../runs/main"
figures_dir = "../figures"
"""
CHECK = """
params = check_parameters(globals(), _before, _defaults,
                          positive=["rounds", "epochs", "beta", "lr", "batch_size", "micro_batch_size", "max_steps",
                                    "max_new_tokens", "gen_batch_size", "n_eval_prompts", "best_of_prompts"],
                          non_negative=["lora_r", "best_of_n"], choices={"judge": {"verifiable", "reward", "api", "self"}})
data_dir, cache_dir = Path(out_dir) / "data", Path(out_dir) / "responses"
paths = {"sft": sft_model or str(Path(out_dir) / "models" / "sft"),
         "dpo": dpo_model or str(Path(out_dir) / "models" / "dpo"),
         "rsdpo3": start_model or str(Path(out_dir) / "models" / "rsdpo3")}
torch.manual_seed(seed)
print(params)
"""
CELLS = [
    (
        "md",
        """
> **The study's GPU run:** new prompts for its two weakest categories, 8 samples each at the schedule
> above, Nemotron-70B-Reward as judge, 3 epochs of DPO from RS-DPO3, full fine-tuning.

## 1. Sample, judge, select, train (one round or several)
""",
    ),
    (
        "code",
        """
new_rows = data.read_jsonl(data_dir / "curriculum_prompts.jsonl")
eval_rows = data.subset(data.read_jsonl(data_dir / "eval_prompts.jsonl"), n_eval_prompts, seed)
eval_prompts = [r["prompt"] for r in eval_rows]
sft_tokenizer, sft_policy = models.load_tokenizer(paths["sft"]), models.load_model(paths["sft"])  # the self-judge
train_judge = evaluation.make_judge(judge, new_rows, policy=sft_policy, tokenizer=sft_tokenizer)
eval_judge = evaluation.make_judge(judge, eval_rows, policy=sft_policy, tokenizer=sft_tokenizer)
current, history = paths["rsdpo3"], []
for round_ in range(1, rounds + 1):
    tokenizer, policy = models.load_tokenizer(current), models.load_model(current)
    samples = sampling.generate_schedule(policy, tokenizer, [r["prompt"] for r in new_rows], sampling.STUDY_SCHEDULE,
                                         max_new_tokens, gen_batch_size, seed=seed + round_)
    responses = [[s["response"] for s in per_prompt] for per_prompt in samples]
    rewards = [train_judge.score([r["prompt"]] * len(rs), rs) for r, rs in zip(new_rows, responses)]
    new_pairs, dropped = pairs.self_improvement_pairs([r["prompt"] for r in new_rows], responses, rewards, seed + round_)
    print(f"round {round_}: {len(new_pairs)} pairs from {len(new_rows)} prompts; dropped: {dict(dropped) or 'none'}")
    if not new_pairs:
        print("no preference left to learn from: stopping")
        break
    policy = training.add_lora(policy, r=lora_r)
    settings = training.TrainSettings(lr=lr, epochs=epochs, batch_size=batch_size, micro_batch_size=micro_batch_size,
                                      max_steps=max_steps, save_every=5, seed=seed)
    history, _ = dpo.train_dpo(policy, tokenizer, new_pairs, settings, Path(out_dir) / "checkpoints" / f"selfimprove{round_}",
                               dpo.DPOSettings(beta=beta), ref_cache_dir=data_dir, resume=resume)
    current = str(Path(out_dir) / "models" / f"selfimprove{round_}")
    training.save_model(policy, tokenizer, current)
    paths[f"selfimprove{round_}"] = current
if history:
    plots.curves(history, ["loss", "rewards/margins"], Path(figures_dir) / "07_self_improvement_curves.png",
                 title="DPO on self-generated pairs (last round)");
""",
    ),
    ("md", "## 2. Table 3 (and the curve across rounds)"),
    (
        "code",
        """
answers = {name: evaluation.answers_of(path, eval_prompts, cache_dir, max_new_tokens, gen_batch_size, seed)
           for name, path in paths.items()}
scores = {name: eval_judge.score(eval_prompts, a) for name, a in answers.items()}
comparisons = results.table3_pairs(list(paths))
table3 = evaluation.compare(scores, comparisons, seed=seed)
(Path(figures_dir) / "07_table3.md").write_text(winrate.to_markdown(table3))
pd.DataFrame([r.as_row() for r in table3]).to_csv(Path(figures_dir) / "07_table3.csv", index=False)
display(Markdown(f"**Table 3** (judge: `{judge}`)\\n\\n" + winrate.to_markdown(table3)))
rounds_curve = evaluation.compare(scores, [(n, "dpo") for n in paths if n.startswith("selfimprove")], seed=seed)
if len(rounds_curve) > 1:
    plots.win_rate_bars([{"name": r.model, "rate": r.rate, "ci_low": r.ci_low, "ci_high": r.ci_high} for r in rounds_curve],
                        Path(figures_dir) / "07_rounds.png", "win rate vs DPO after each round");
""",
    ),
    (
        "md",
        """
## 3. Best-of-n sanity check
Single answers at $T=1$ vs the SFT model's greedy answers, then the judge's best of $n$ answers.
""",
    ),
    (
        "code",
        """
if best_of_n:
    few_rows = eval_rows[:best_of_prompts]
    few = [r["prompt"] for r in few_rows]
    tokenizer, model = models.load_tokenizer(current), models.load_model(current)
    drawn = sampling.generate(model, tokenizer, few, k=best_of_n, temperature=1.0, max_new_tokens=max_new_tokens,
                              batch_size=gen_batch_size, seed=seed)
    drawn_scores = [eval_judge.score([p] * len(d), d) for p, d in zip(few, drawn)]
    sft_scores = scores["sft"][:best_of_prompts]
    single = winrate.win_rate([s[0] for s in drawn_scores], sft_scores, model="1 sample, T=1", baseline="sft")
    best = winrate.win_rate([max(s) for s in drawn_scores], sft_scores, model=f"best of {best_of_n}, T=1", baseline="sft")
    display(Markdown(winrate.to_markdown([single, best])))
""",
    ),
    (
        "md",
        """
## 4. Cross-judge table: trained with one judge, evaluated with another
If the gain under the training judge vanishes under a second judge, the model learned the judge rather
than the task.
""",
    ),
    (
        "code",
        """
other_kind = "self" if judge != "self" else "verifiable"
if cross_judge and (other_kind == "self" or all(r.get("instruction_id_list") for r in eval_rows)):
    other = evaluation.make_judge(other_kind, eval_rows, policy=sft_policy, tokenizer=sft_tokenizer)
    other_scores = {n: other.score(eval_prompts, answers[n]) for n in {m for pair in comparisons for m in pair}}
    cross = pd.DataFrame([{"comparison": f"{a} vs {b}",
                           f"{judge} judge (trained with)": winrate.win_rate(scores[a], scores[b]).rate,
                           f"{other_kind} judge": winrate.win_rate(other_scores[a], other_scores[b]).rate}
                          for a, b in comparisons]).round(3)
    cross.to_csv(Path(figures_dir) / "07_cross_judge.csv", index=False)
    display(cross)
""",
    ),
]
