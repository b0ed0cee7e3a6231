TITLE = "01 · Data preparation: smoltalk for SFT, UltraFeedback for DPO"
INTRO = """
The study fine-tunes Qwen2.5-0.5B on **smoltalk** (supervised fine-tuning, SFT) and then aligns it
on **UltraFeedback (binarized)** preference pairs (DPO). This notebook turns both into clean rows:

1. keep only the **first user turn and the first assistant reply** of every conversation;
2. measure prompt and response lengths in **tokens** (the study's Table 1: 50/90/95/99th percentiles);
3. **truncate** at the 95th percentile (study: 255 prompt tokens, 420 response tokens) and **drop
   responses shorter than 75 characters** (too short to teach anything);
4. write train/eval files that the next notebooks read.

Offline (the default) the same functions run on the demo data shipped in `sfdpo_helpers/demo_data`,
which has the hub datasets' column formats. Every malformed row is counted and reported, never
dropped silently.
"""
IMPORTS = """
from pathlib import Path

import pandas as pd
from IPython.display import Markdown, display

from sfdpo_helpers import data, models, plots
from sfdpo_helpers.params import check_parameters, defaults_of
"""
PARAMETERS = """
source = "demo"            # "demo" (shipped, offline), "hub" (smoltalk + UltraFeedback) or a JSONL path
model = "embedded"         # whose tokenizer measures lengths: "embedded", "tiny" or e.g. "Qwen/Qwen2.5-0.5B"
max_sft_rows = None        # None: all rows
max_pairs = None
max_eval_prompts = None
max_prompt_tokens = 255    # the study's 95th percentiles
max_response_tokens = 420
min_response_chars = 75
eval_fraction = 0.05
seed = 0
out_dir = "../runs/main"
figures_dir = "../figures"
"""
CHECK = """
params = check_parameters(globals(), _before, _defaults,
                          positive=["max_sft_rows", "max_pairs", "max_eval_prompts", "max_prompt_tokens",
                                    "max_response_tokens"],
                          non_negative=["min_response_chars", "eval_fraction"])
data_dir = Path(out_dir) / "data"
data_dir.mkdir(parents=True, exist_ok=True)
print(params)
"""
CELLS = [
    (
        "md",
        """
> **The study's GPU run** used `source="hub"`, `model="Qwen/Qwen2.5-0.5B"`, smoltalk's full training
> split, and the same cut-offs (255 / 420 tokens, 75 characters).

## 1. First turn only
A smoltalk row is a list of messages. We keep the first `user` message and the first `assistant`
reply after it (a leading `system` message is skipped). Rows whose turns do not alternate, or whose
content is empty or not text, are skipped and counted.
""",
    ),
    (
        "code",
        """
# NBVAL_CHECK_OUTPUT
sft_rows, report = data.load_sft(source, limit=max_sft_rows)
print(report)
sft_rows[0]
""",
    ),
    (
        "md",
        """
## 2. How long are prompts and responses? (Table 1)
Lengths are counted with the model's own tokenizer, without the chat template.
""",
    ),
    (
        "code",
        """
tokenizer = models.load_tokenizer(model)
table = pd.DataFrame(data.percentile_table(sft_rows, tokenizer)).T
table.columns = [f"p{p}" for p in table.columns]
table.to_csv(Path(figures_dir) / "01_length_percentiles.csv")
display(Markdown(table.to_markdown()))
lengths = {name: data.token_lengths(sft_rows, tokenizer, name) for name in ("prompt", "response")}
plots.length_histograms(lengths, {"prompt": max_prompt_tokens, "response": max_response_tokens},
                        Path(figures_dir) / "01_length_histograms.png");
""",
    ),
    (
        "md",
        """
## 3. Truncate and filter
Truncation cuts the token sequence and decodes it back to text, so the next notebooks see rows that
fit the budget. The counts say exactly what each step did.
""",
    ),
    (
        "code",
        """
prepared, counts = data.prepare_sft(sft_rows, tokenizer, max_prompt_tokens, max_response_tokens, min_response_chars)
for step, n in counts.items():
    print(f"{step:40s} {n}")
sft_train, sft_eval = data.train_eval_split(prepared, eval_fraction, seed)
data.write_jsonl(sft_train, data_dir / "sft_train.jsonl")
data.write_jsonl(sft_eval, data_dir / "sft_eval.jsonl")
print(f"SFT: {len(sft_train)} train rows, {len(sft_eval)} eval rows -> {data_dir}")
""",
    ),
    (
        "md",
        """
## 4. Preference pairs and held-out prompts
UltraFeedback binarized stores each pair as two conversations (`chosen`, `rejected`) that share the
prompt. We keep the prompt and the two replies as text; pairs with an empty side or identical sides
are counted and skipped. The held-out prompts feed the win-rate evaluations of notebooks 03–07.
""",
    ),
    (
        "code",
        """
pairs, pair_report = data.load_pairs(source, limit=max_pairs)
print(pair_report)
data.write_jsonl(pairs, data_dir / "pairs_train.jsonl")
eval_prompts = data.load_eval_prompts(source, limit=max_eval_prompts)
data.write_jsonl(eval_prompts, data_dir / "eval_prompts.jsonl")
print(f"{len(pairs)} preference pairs, {len(eval_prompts)} held-out prompts")
pd.Series([r.get("category", "n/a") for r in eval_prompts]).value_counts()
""",
    ),
]
