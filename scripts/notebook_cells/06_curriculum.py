TITLE = "06 · Curriculum: where does the aligned model lose?"
INTRO = r"""
An average win rate hides *where* a model got worse. The study sorted its evaluation prompts into
about ten categories (math/logical reasoning, general knowledge, scientific/technical explanation,
creative generation, professional writing, instructional procedures, multilingual, open-ended
discussion, imitation writing, classification), measured per category how often the DPO model **lost**
to the SFT model (its Figure 11), and then made new prompts for the two weakest categories to train on
(notebook 07).

$$\text{loss rate}_c = 1 - \text{win rate}_c(\text{DPO vs SFT}) \quad\text{(ties count ½)}$$

With a handful of prompts per category the intervals are wide: treat the ranking as a hint, and look at
the counts before trusting it.
"""
IMPORTS = """
from pathlib import Path

import pandas as pd
from IPython.display import Markdown, display

from sfdpo_helpers import curriculum, data, evaluation, plots
from sfdpo_helpers.params import check_parameters, defaults_of
"""
PARAMETERS = """
sft_model = ""              # empty: out_dir/models/sft
dpo_model = ""              # empty: out_dir/models/dpo
judge = "verifiable"
n_eval_prompts = 64
max_new_tokens = 96
gen_batch_size = 32
n_weakest = 2
min_prompts_per_category = 3
n_new_per_category = 8      # new prompts made for each weak category
prompt_pool = "demo"        # "demo": the demo world's reserve pool; or a JSONL with prompt/category columns
seed = 0
out_dir = "../runs/main"
figures_dir = "../figures"
"""
CHECK = """
params = check_parameters(globals(), _before, _defaults,
                          positive=["n_eval_prompts", "max_new_tokens", "gen_batch_size", "n_weakest", "n_new_per_category"],
                          non_negative=["min_prompts_per_category"],
                          choices={"judge": {"verifiable", "reward", "api", "self"}})
data_dir, cache_dir = Path(out_dir) / "data", Path(out_dir) / "responses"
sft_path = sft_model or str(Path(out_dir) / "models" / "sft")
dpo_path = dpo_model or str(Path(out_dir) / "models" / "dpo")
print(params)
"""
CELLS = [
    (
        "md",
        """
> **The study:** an LLM sorted the UltraFeedback test prompts into the ten categories and other LLMs
> wrote new prompts. Offline, the demo prompts carry their category, unlabeled prompts go through a
> keyword classifier (`curriculum.keyword_category`), and new prompts come from the demo world's
> reserve pool (made by the same template generator, never seen in training or evaluation).

## 1. Categories
""",
    ),
    (
        "code",
        """
rows = data.subset(data.read_jsonl(data_dir / "eval_prompts.jsonl"), n_eval_prompts, seed)
prompts = [r["prompt"] for r in rows]
categories, guessed = curriculum.categorise(rows)
agree = sum(curriculum.keyword_category(r["prompt"]) == r["category"] for r in rows if r.get("category"))
print(f"{len(rows)} prompts, {guessed} categorised by the keyword classifier; on labelled prompts it agrees "
      f"with the label {agree}/{sum(bool(r.get('category')) for r in rows)} times")
pd.Series(categories).value_counts()
""",
    ),
    ("md", "## 2. Loss rate of DPO against SFT, per category (the study's Figure 11)"),
    (
        "code",
        """
the_judge = evaluation.make_judge(judge, rows)
scores = {name: the_judge.score(prompts, evaluation.answers_of(path, prompts, cache_dir, max_new_tokens, gen_batch_size, seed))
          for name, path in {"sft": sft_path, "dpo": dpo_path}.items()}
table = pd.DataFrame(curriculum.loss_rates(scores["dpo"], scores["sft"], categories, seed))
table.to_csv(Path(figures_dir) / "06_category_loss_rates.csv", index=False)
(Path(figures_dir) / "06_category_loss_rates.md").write_text(table.round(3).to_markdown(index=False))
display(Markdown(table.round(3).to_markdown(index=False)))
plots.win_rate_bars([{"name": r["category"], "rate": r["loss_rate"], "ci_low": r["ci_low"], "ci_high": r["ci_high"]}
                     for r in table.to_dict("records")], Path(figures_dir) / "06_category_loss_rates.png",
                    "loss rate of DPO vs SFT by category");
weak = curriculum.weakest(table.to_dict("records"), n_weakest, min_prompts_per_category)
print("weakest categories:", weak)
""",
    ),
    (
        "md",
        """
## 3. New prompts for the weakest categories
De-duplicated against every evaluation and training prompt, so notebook 07 never trains on a prompt it
is judged on.
""",
    ),
    (
        "code",
        """
pool = data.read_jsonl(data.DEMO_DIR / "prompt_pool.jsonl" if prompt_pool == "demo" else prompt_pool)
exclude = [r["prompt"] for r in data.read_jsonl(data_dir / "eval_prompts.jsonl")]
exclude += [r["prompt"] for r in data.read_jsonl(data_dir / "pairs_train.jsonl")]
exclude += [r["prompt"] for r in data.read_jsonl(data_dir / "sft_train.jsonl")]
new_prompts = curriculum.pool_prompts(pool, weak, n_new_per_category, exclude, seed)
data.write_jsonl(new_prompts, data_dir / "curriculum_prompts.jsonl")
print(f"{len(new_prompts)} new prompts -> {data_dir / 'curriculum_prompts.jsonl'}")
pd.DataFrame(new_prompts)[["category", "prompt"]].head(6)
""",
    ),
]
