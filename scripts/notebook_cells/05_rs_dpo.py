TITLE = "05 · Rejection-sampling DPO (RS-DPO): the model's own answers as *rejected*"
INTRO = r"""
UltraFeedback's rejected answers were written by *other* models. The study's RS-DPO instead samples
one answer per training prompt from **our SFT model** and uses it as the *rejected* response, with the
dataset's chosen answer as *chosen*: "be better than what you do now". It then trains three mixtures
from the SFT model with the same DPO settings:

| run | rejection-sampled pairs | dataset pairs |
|---|---|---|
| RS-DPO1 | 100% | 0% |
| RS-DPO2 | 20% | 80% |
| RS-DPO3 | 10% | 90% |

and compares each with the plain DPO model (notebook 04) by win rate at 1/3, 2/3 and 1 epoch (Table 2).

**The study's finding:** with 100% self-rejections the margins grow fast and large, yet the win rate
collapses. "Not like my own output" is too easy a signal: the model can separate the pairs by surface
features of its own style without learning what makes an answer better. A small dose (10%) helped.
Check it below: compare the margin curves with the win-rate table.

The original RS-DPO (Khaki et al. 2024, Algorithm 1) is different: it samples $k$ answers per prompt,
scores them with a reward model and keeps every ordered pair whose reward gap is large enough,
$\sigma\big((r_j - r_l)/\tau\big) > \eta$. Section 4 shows how many pairs that rule keeps.
"""
IMPORTS = """
import json
from pathlib import Path

import pandas as pd
import torch
from IPython.display import Markdown, display

from sfdpo_helpers import data, dpo, evaluation, models, pairs, plots, results, sampling, training, winrate
from sfdpo_helpers.params import check_parameters, defaults_of
"""
PARAMETERS = """
sft_model = ""              # empty: out_dir/models/sft (notebook 02)
dpo_model = ""              # empty: out_dir/models/dpo (notebook 04), the opponent of Table 2
judge = "verifiable"
fractions = [1.0, 0.2, 0.1] # RS-DPO1, RS-DPO2, RS-DPO3
n_eval_pairs = 16           # skipped at the start of pairs_train.jsonl, as in notebook 04
max_train_rows = 48         # training prompts (a multiple of 3 x batch_size gives exact 1/3 epochs)
sample_temperature = 0.7
beta = 0.1
lr = 2e-4
lora_r = 16
epochs = 1.0
batch_size = 8
micro_batch_size = 4
max_steps = None
n_eval_prompts = 32         # Table 2 prompts (judged 3 times per mixture)
max_new_tokens = 96
gen_batch_size = 32
khaki_prompts = 8           # the original RS-DPO rule on a few prompts (0: skip)
khaki_k = 4
khaki_tau = 0.1
khaki_eta = 0.85
resume = True
seed = 0
out_dir = "../runs/main"
figures_dir = "../figures"
"""
CHECK = """
params = check_parameters(globals(), _before, _defaults,
                          positive=["max_train_rows", "beta", "lr", "epochs", "batch_size", "micro_batch_size", "max_steps",
                                    "n_eval_prompts", "max_new_tokens", "gen_batch_size", "khaki_k", "khaki_tau"],
                          non_negative=["n_eval_pairs", "lora_r", "sample_temperature", "khaki_prompts"],
                          choices={"judge": {"verifiable", "reward", "api", "self"}})
if not fractions or any(not 0 <= f <= 1 for f in fractions):
    raise ValueError(f"fractions must be a non-empty list of numbers in [0, 1], got {fractions}")
data_dir, cache_dir = Path(out_dir) / "data", Path(out_dir) / "responses"
sft_path = sft_model or str(Path(out_dir) / "models" / "sft")
dpo_path = dpo_model or str(Path(out_dir) / "models" / "dpo")
torch.manual_seed(seed)
print(params)
"""
CELLS = [
    (
        "md",
        """
> **The study's GPU run:** Qwen2.5-0.5B SFT model, UltraFeedback prompts, full fine-tuning, the DPO
> settings of notebook 04; win rates judged by Nemotron-70B-Reward at 1/3, 2/3 and 1 epoch.

## 1. Sample one answer per training prompt from the SFT model
Sharded and resumable: interrupt and rerun, finished shards are kept.
""",
    ),
    (
        "code",
        """
dataset_pairs = data.read_jsonl(data_dir / "pairs_train.jsonl")[n_eval_pairs:][:max_train_rows]
tokenizer = models.load_tokenizer(sft_path)
sft_policy = models.load_model(sft_path)
samples = sampling.sample_to_shards(sft_policy, tokenizer, [p["prompt"] for p in dataset_pairs],
                                    Path(out_dir) / "samples" / "rs_dpo", shard_size=24, seed=seed,
                                    temperature=sample_temperature, max_new_tokens=max_new_tokens, batch_size=gen_batch_size)
rs_pairs, skipped = pairs.rs_dpo_pairs(dataset_pairs, [s["responses"][0] for s in samples])
print(f"{len(rs_pairs)} rejection-sampled pairs; skipped: {dict(skipped) or 'none'}")
print("CHOSEN (dataset):", rs_pairs[0]["chosen"][:300], "\\nREJECTED (SFT model):", rs_pairs[0]["rejected"][:300])
""",
    ),
    (
        "md",
        """
## 2. Train RS-DPO1/2/3 from the SFT model, judging every third of an epoch
The opponent is the DPO model of notebook 04; its answers on the held-out prompts are computed once.
""",
    ),
    (
        "code",
        """
rows = data.subset(data.read_jsonl(data_dir / "eval_prompts.jsonl"), n_eval_prompts, seed)
prompts = [r["prompt"] for r in rows]
the_judge = evaluation.make_judge(judge, rows)
dpo_answers = evaluation.answers_of(dpo_path, prompts, cache_dir, max_new_tokens, gen_batch_size, seed)
steps_per_epoch = -(-len(dataset_pairs) // batch_size)
histories, names = {}, {1.0: "rsdpo1", 0.2: "rsdpo2", 0.1: "rsdpo3"}
for fraction in fractions:
    name = names.get(fraction, f"rsdpo_{fraction:g}")
    mixed = pairs.mix_pairs(rs_pairs, dataset_pairs, fraction, seed)
    policy = training.add_lora(models.load_model(sft_path), r=lora_r)
    monitor = evaluation.win_rate_monitor(tokenizer, prompts, the_judge, dpo_answers, max_new_tokens, gen_batch_size)
    settings = training.TrainSettings(lr=lr, epochs=epochs, batch_size=batch_size, micro_batch_size=micro_batch_size,
                                      max_steps=max_steps, eval_every=max(1, steps_per_epoch // 3),
                                      save_every=max(1, steps_per_epoch // 3), seed=seed)
    print(f"--- {name}: {fraction:.0%} rejection-sampled pairs")
    histories[name], _ = dpo.train_dpo(policy, tokenizer, mixed, settings, Path(out_dir) / "checkpoints" / name,
                                       dpo.DPOSettings(beta=beta), ref_cache_dir=data_dir, monitor_fn=monitor,
                                       resume=resume)
    training.save_model(policy, tokenizer, Path(out_dir) / "models" / name)
""",
    ),
    (
        "md",
        """
## 3. Table 2: win rate against DPO at 1/3, 2/3 and 1 epoch
Ties count ½; brackets are 95% bootstrap intervals over the held-out prompts.
""",
    ),
    (
        "code",
        """
table2 = results.table2(histories)
table2["n"] = len(prompts)
table2.to_csv(Path(figures_dir) / "05_table2_rs_dpo.csv")
(Path(figures_dir) / "05_table2_rs_dpo.md").write_text(table2.to_markdown())
display(Markdown(f"**Table 2** (judge: `{judge}`), win rate vs DPO\\n\\n" + table2.to_markdown()))
""",
    ),
    (
        "code",
        """
dpo_history = json.loads((Path(out_dir) / "checkpoints" / "dpo" / "history.json").read_text())
runs = {"DPO": dpo_history, **histories}
plots.overlay(runs, "loss", Path(figures_dir) / "05_rs_dpo_loss.png", "DPO loss: plain DPO vs RS-DPO mixtures")
plots.overlay(runs, "rewards/margins", Path(figures_dir) / "05_rs_dpo_margins.png", "reward margin: plain DPO vs RS-DPO");
plots.overlay(histories, "win_rate", Path(figures_dir) / "05_rs_dpo_win_rate.png", "win rate vs DPO during training");
""",
    ),
    (
        "md",
        """
## 4. The original RS-DPO rule (Khaki et al. 2024)
$k$ samples per prompt, judged; keep the ordered pairs with $\\sigma((r_j - r_l)/\\tau) > \\eta$. With a
verifiable judge rewards are fractions of instructions followed, so $\\tau$ is small.
""",
    ),
    (
        "code",
        """
if khaki_prompts:
    few = rows[:khaki_prompts]
    k_samples = sampling.generate(sft_policy, tokenizer, [r["prompt"] for r in few], k=khaki_k, temperature=1.0,
                                  max_new_tokens=max_new_tokens, batch_size=gen_batch_size, seed=seed)
    kept = []
    for r, responses in zip(few, k_samples):
        rewards = the_judge.score([r["prompt"]] * len(responses), responses)
        kept += pairs.reward_gap_pairs(r["prompt"], responses, rewards, khaki_tau, khaki_eta)
    print(f"{len(kept)} pairs kept from {khaki_prompts} prompts x {khaki_k} samples "
          f"(at most {khaki_prompts * khaki_k * (khaki_k - 1)} ordered pairs)")
""",
    ),
]
