TITLE = "03 · Judges and win rate: is the SFT model better?"
INTRO = r"""
Loss tells us how well a model imitates its data, not whether its answers are better. The study
judged models the way people compare them: **per prompt**. Both models answer the same prompt, a judge
scores both answers, and the model with the higher score **wins that prompt**. Scores are compared
only within a prompt (a reward of 3.1 on an easy prompt and 1.2 on a hard one say nothing about each
other).

$$\text{win rate}(A \text{ vs } B) = \frac{1}{n}\sum_{i=1}^{n} \Big[\mathbb{1}(s_A^i > s_B^i) + \tfrac12\,\mathbb{1}(s_A^i = s_B^i)\Big]$$

**Ties count ½** (with a verifiable judge many prompts tie: both answers follow all or none of the
instructions). The 95% confidence interval is a bootstrap over prompts: with 100 prompts a win rate of
0.55 is not distinguishable from a coin flip, and the study reported no intervals at all.

Judges (`sfdpo_helpers/judges.py`, all with `score(prompts, responses) -> floats`):
* `verifiable` (offline default): the share of the prompt's IFEval-style instructions the answer follows
  (lowercase, word limits, bullets, JSON, P.S., ...), checked by code;
* `reward`: a Hugging Face reward model (the study used Llama-3.1-Nemotron-70B-Reward; on Colab a small
  one such as `Skywork/Skywork-Reward-V2-Qwen3-0.6B`);
* `api`: an OpenAI-compatible endpoint (NVIDIA's hosted Nemotron reward), key read from an environment
  variable only;
* `self`: the policy model itself as LLM-as-judge (the study's open question: can a model judge itself?).
"""
IMPORTS = """
from pathlib import Path

import pandas as pd
from IPython.display import Markdown, display

from sfdpo_helpers import data, evaluation, judges, models, plots, winrate
from sfdpo_helpers.params import check_parameters, defaults_of
"""
PARAMETERS = """
base_model = "embedded"     # the starting point ("tiny" in tests; the study: Qwen/Qwen2.5-0.5B)
sft_model = ""              # empty: notebook 02's model (out_dir/models/sft)
instruct_model = ""         # the instruct baseline (the study: Qwen/Qwen2.5-0.5B-Instruct); empty: skip
judge = "verifiable"        # "verifiable", "reward", "api" or "self"
reward_model = ""           # for the "reward" judge: a Hugging Face reward model id
api_base_url = "https://integrate.api.nvidia.com/v1"
api_model = "nvidia/llama-3.1-nemotron-70b-reward"
api_key_env = "NVIDIA_API_KEY"   # the key itself is never a parameter
n_eval_prompts = 64
max_new_tokens = 96
batch_size = 32
n_examples = 3              # prompts shown side by side
n_self_judge = 16           # prompts also scored by the SFT model as judge, for the agreement rate (0: skip)
seed = 0
out_dir = "../runs/main"
figures_dir = "../figures"
"""
CHECK = """
params = check_parameters(globals(), _before, _defaults, positive=["n_eval_prompts", "max_new_tokens", "batch_size"],
                          non_negative=["n_examples", "n_self_judge"], choices={"judge": {"verifiable", "reward", "api", "self"}})
data_dir, cache_dir = Path(out_dir) / "data", Path(out_dir) / "responses"
print({k: v for k, v in params.items() if "key" not in k})
"""
CELLS = [
    (
        "md",
        """
> **The study's GPU run:** base Qwen2.5-0.5B, the SFT model, and Qwen2.5-0.5B-Instruct, each answering
> UltraFeedback test prompts, judged by `nvidia/Llama-3.1-Nemotron-70B-Reward` (`judge="api"` or
> `judge="reward"` on a large GPU).

## 1. Answers of every model on the same held-out prompts
Greedy decoding, the model's own chat template, left padding. Answers are cached in
`out_dir/responses/`, so later notebooks reuse them.
""",
    ),
    (
        "code",
        """
rows = data.subset(data.read_jsonl(data_dir / "eval_prompts.jsonl"), n_eval_prompts, seed)
prompts = [r["prompt"] for r in rows]
categories = [r.get("category", "all") for r in rows]
contenders = {"base": base_model, "sft": sft_model or str(Path(out_dir) / "models" / "sft")}
if instruct_model:
    contenders["instruct"] = instruct_model
answers = {}
for name, path in contenders.items():
    tokenizer = models.load_tokenizer(path)
    model = models.load_model(path)
    answers[name] = evaluation.responses_for(model, tokenizer, prompts, cache_dir, path, max_new_tokens,
                                             batch_size=batch_size, seed=seed)
    if name == "sft":
        sft_policy, sft_tokenizer = model, tokenizer
    print(f"{name}: {len(answers[name])} answers")
""",
    ),
    ("md", "## 2. Scores and win rates"),
    (
        "code",
        """
the_judge = evaluation.make_judge(judge, rows, reward_model, api_base_url, api_model, api_key_env, cache_dir,
                                  policy=sft_policy, tokenizer=sft_tokenizer)
scores = {name: the_judge.score(prompts, a) for name, a in answers.items()}
pairs = [("sft", "base")] + ([("instruct", "base"), ("sft", "instruct")] if "instruct" in answers else [])
results = evaluation.compare(scores, pairs, categories, seed=seed)
table = pd.DataFrame([r.as_row() for r in results])
table.to_csv(Path(figures_dir) / "03_win_rates.csv", index=False)
(Path(figures_dir) / "03_win_rates.md").write_text(winrate.to_markdown(results))
display(Markdown(f"Judge: `{judge}`, ties count ½, 95% bootstrap CI over prompts"))
display(Markdown((Path(figures_dir) / "03_win_rates.md").read_text()))
plots.win_rate_bars([{"name": f"{r.model} vs {r.baseline}", "rate": r.rate, "ci_low": r.ci_low, "ci_high": r.ci_high}
                     for r in results], Path(figures_dir) / "03_win_rates.png", f"win rate ({judge} judge)");
""",
    ),
    ("md", "Per category (small counts: wide intervals):"),
    (
        "code",
        """
by_cat = pd.DataFrame([{**sub.as_row(), "category": cat} for cat, sub in results[0].by_category.items()])
by_cat[["category", "win_rate", "ci_low", "ci_high", "wins", "ties", "losses", "n"]]
""",
    ),
    ("md", "## 3. Side by side"),
    (
        "code",
        """
pd.set_option("display.max_colwidth", 400)
pd.DataFrame([{"prompt": prompts[i], **{f"{n} ({scores[n][i]:.2f})": answers[n][i] for n in answers}}
              for i in range(min(n_examples, len(prompts)))])
""",
    ),
    (
        "md",
        """
## 4. Instruction-following accuracy (IFEval's four numbers)
Prompt-level: all of a prompt's instructions followed; instruction-level: each instruction on its own.
Loose accuracy also accepts the answer with its first/last line or markdown asterisks removed.
""",
    ),
    (
        "code",
        """
if all(r.get("instruction_id_list") for r in rows):
    ifeval = pd.DataFrame({name: {k: v for k, v in judges.evaluate(rows, a).items() if isinstance(v, float)}
                           for name, a in answers.items()}).T
    ifeval.to_csv(Path(figures_dir) / "03_ifeval_accuracy.csv")
    display(ifeval.round(3))
""",
    ),
    (
        "md",
        """
## 5. Can a model judge itself?
The SFT model rates each answer from 1 to 10 (expected rating from its next-token probabilities).
Agreement with the main judge: how often both prefer the same answer of a (sft, base) pair (½ when only one
calls a tie). 0.5 is chance.
""",
    ),
    (
        "code",
        """
if n_self_judge and judge != "self":
    n = min(n_self_judge, len(prompts))
    self_judge = judges.SelfJudge(sft_policy, sft_tokenizer, batch_size=batch_size)
    self_scores = self_judge.score(prompts[:n] * 2, answers["sft"][:n] + answers["base"][:n])
    main_scores = scores["sft"][:n] + scores["base"][:n]
    agreement = judges.agreement_rate(self_scores, main_scores, [(i, i + n) for i in range(n)])
    print(f"self-judge vs {judge} judge agreement on {n} (sft, base) pairs: {agreement:.3f}")
""",
    ),
]
