# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/sfdpo/sfdpo/blob/main/notebooks/06_curriculum.ipynb)
#
# # 06 · Curriculum: where does the aligned model lose?
#
# An average win rate hides *where* a model got worse. The study sorted its evaluation prompts into about ten
# categories (math/logical reasoning, general knowledge, scientific/technical explanation, creative
# generation, professional writing, instructional procedures, multilingual, open-ended discussion, imitation
# writing, classification), measured per category how often the DPO model **lost** to the SFT model (its
# Figure 11), and then made new prompts for the two weakest categories to train on (notebook 07).
#
# $$\text{loss rate}_c = 1 - \text{win rate}_c(\text{DPO vs SFT}) \quad\text{(ties count ½)}$$
#
# With a handful of prompts per category the intervals are wide: treat the ranking as a hint, and look at
# the counts before trusting it.
#
# > **The study:** an LLM sorted the UltraFeedback test prompts into the ten categories and other LLMs wrote
# > new prompts. Here the demo prompts carry their category, unlabeled prompts (the hub's) go through a
# > keyword classifier (`curriculum.keyword_category`; `curriculum.api_category` plugs in an LLM), and new
# > prompts come from a reserve pool never seen in training or evaluation.

# %%
# Colab: install the kit once per runtime (settings.setup mounts Google Drive); where it is installed, nothing happens.
if not __import__("importlib.util").util.find_spec("sfdpo_helpers"): __import__("subprocess").run([__import__("sys").executable, "-m", "pip", "install", "-q", "sfdpo[api] @ git+https://github.com/sfdpo/sfdpo"], check=True)  # noqa: E701  # fmt: skip

# %%
import pandas as pd
from IPython.display import display

from sfdpo_helpers import curriculum, data, exercises, explorer, pipeline, plots, settings

# %% tags=["parameters"]
run = "auto"  # run settings: "auto" (colab on Colab, else offline), "offline", "colab", "study", a YAML file or a dict
n_weakest = 2  # categories that get new prompts (the study: 2)
min_prompts_per_category = 3  # a category needs this many judged prompts to be ranked first
n_new_per_category = 8  # new prompts for each weak category
prompt_pool = "demo"  # "demo": the demo world's reserve pool; or a JSONL with prompt (and category) columns
exercise = ""  # "": the main run; an exercise's name (see "Try this"): a sandbox that never overwrites the run

# %% [markdown]
# ## 1. Categories

# %%
cfg = settings.setup(run, globals(), exercise, notebook="06")
pipeline.ensure_data(cfg)
sft_path, dpo_path = pipeline.require_model(cfg, "sft"), pipeline.require_model(cfg, "dpo")
rows = data.subset(data.read_jsonl(cfg.data_dir / "eval_prompts.jsonl"), cfg.n_eval_prompts, cfg.seed)
prompts = [r["prompt"] for r in rows]
categories, guessed = curriculum.categorise(rows)
labelled = [r for r in rows if r.get("category")]
agree = sum(curriculum.keyword_category(r["prompt"]) == r["category"] for r in labelled)
print(
    f"{len(rows)} prompts, {guessed} categorised by the keyword classifier; on labelled prompts it agrees "
    f"with the label {agree}/{len(labelled)} times"
)
pd.Series(categories).value_counts()

# %% [markdown]
# ## 2. Loss rate of DPO against SFT, per category (the study's Figure 11)
# Below the table, what the ranking can tell: ties at the cut, whether any interval lies above ½, and how far
# from ½ a picked category's loss rate must be for its n to see it.

# %%
judge = pipeline.judge(cfg, rows, self_judge=sft_path)
answers = {
    name: pipeline.model_answers(cfg, path, prompts) for name, path in {"sft": sft_path, "dpo": dpo_path}.items()
}
scores = {name: judge.score(prompts, a) for name, a in answers.items()}
records = curriculum.loss_rates(scores["dpo"], scores["sft"], categories, cfg.seed)  # worst first
table = pd.DataFrame(records)
display(plots.save_table(table.round(3), cfg.figures / "06_category_loss_rates"))
bars = [
    {"name": r["category"], "rate": r["loss_rate"], "ci_low": r["ci_low"], "ci_high": r["ci_high"]} for r in records
]
plots.win_rate_bars(
    bars, cfg.figures / "06_category_loss_rates.png", "loss rate of DPO vs SFT by category", ylabel="loss rate"
)
weak = curriculum.weakest(records, n_weakest, min_prompts_per_category)
print("weakest categories:", weak)
note = curriculum.ranking_note(records, weak, min_prompts_per_category)
print(note)

# %% [markdown]
# The prompts behind the ranking: where DPO lost to SFT in the weakest categories, both answers in full with the
# judge's reasons (the explorer's filters show the other outcomes and categories).

# %%
compared = explorer.comparison_rows(prompts, categories, answers["dpo"], answers["sft"], scores["dpo"], scores["sft"],
                                    explorer.breakdowns(judge, prompts, answers["dpo"]),
                                    explorer.breakdowns(judge, prompts, answers["sft"]))  # fmt: skip
losses = [compared[i] for category in weak for i in explorer.filter_rows(compared, "B wins", category)]
print(f"This run: DPO lost to SFT on {len(losses)} prompts of {', '.join(weak)}")
losses_explorer = explorer.show(losses or compared, lambda r: explorer.comparison_html(r, ("dpo", "sft")),
              title="DPO's losses in the weakest categories")  # fmt: skip

# %% [markdown]
# ## 3. New prompts for the weakest categories
# De-duplicated against every evaluation and training prompt, so notebook 07 never trains on a prompt it is
# judged on.

# %%
pool = data.read_jsonl(data.DEMO_DIR / "prompt_pool.jsonl" if prompt_pool == "demo" else prompt_pool)
new_prompts = pipeline.new_prompts(cfg, pool, weak, n_new_per_category)
data.write_jsonl(new_prompts, cfg.data_dir / "curriculum_prompts.jsonl")
print(f"{len(new_prompts)} new prompts -> {cfg.data_dir / 'curriculum_prompts.jsonl'}")
pd.set_option("display.max_colwidth", None)  # whole prompts
pd.DataFrame(new_prompts)[["category", "prompt"]].head(6)

# %%
found = pipeline.record(
    cfg,
    "06",
    n_weakest=n_weakest,
    min_prompts_per_category=min_prompts_per_category,
    weakest=weak,
    new_prompts=len(new_prompts),
    rates={r["category"]: round(r["loss_rate"], 3) for r in records},
    note=note,
)

# %% [markdown]
# ## Try this
# Each exercise reruns this notebook with one change, in its own sandbox: set `exercise` in the parameters cell to
# the exercise's name, make the change, run all cells; the last cell checks the result against the main run's.
# Worked solutions: `notebooks/solutions/06_<name>.yaml` (`python -m sfdpo_helpers.exercises 06 <name>` runs one).
#
# - **Easy** (`three_weakest`): with `n_weakest = 3`, does the third category have a loss rate whose interval
#   excludes ½?
# - **Medium** (`min_prompts_10`): with `min_prompts_per_category = 10`, which categories can still be picked, and
#   what does the note under the table say about them?
# - **Question:** the keyword classifier is crude. Compare its labels with the demo labels per category (a
#   confusion table): which rule would you improve first?
#
# Times (the list the last cell prints): 2 CPU cores, offline profile. Not yet measured on a T4 (colab profile): expect
# about the time of the notebook itself there, since an exercise reruns it with one change.

# %%
exercises.check(cfg, "06", exercise)
