TITLE = "02 · Supervised fine-tuning (SFT)"
INTRO = r"""
SFT teaches the model to answer like the assistant in the data. For a prompt $x$ and reply
$y = (y_1, \dots, y_T)$ the loss is the negative log-likelihood of the **reply tokens only**,
averaged over every reply token of the (accumulated) batch:

$$\mathcal{L}_{\text{SFT}} = -\frac{1}{N}\sum_{(x,y)\in\text{batch}}\ \sum_{t=1}^{T} \log \pi_\theta(y_t \mid x, y_{<t}),
\qquad N = \text{number of reply tokens in the batch}.$$

Details that matter (each is tested in `tests/`):
* prompt and padding positions get label `-100` so they do not count;
* the end-of-turn token `<|im_end|>` **is** a label, although SmolLM2 also uses it as padding: masks
  are built from positions, never from token ids, or the model never learns to stop;
* with gradient accumulation the sum is divided by $N$ of the *whole* accumulated batch, not averaged
  per micro-batch, so the update equals one big batch;
* training batches are right-padded; generation (later) is left-padded;
* the learning rate warms up linearly (10% of steps) then follows a cosine to zero.
"""
IMPORTS = """
import json
from pathlib import Path

import torch

from sfdpo_helpers import data, evaluation, models, plots, sampling, sft, training
from sfdpo_helpers.params import check_parameters, defaults_of
"""
PARAMETERS = """
model = "embedded"          # "embedded" (SmolLM2-135M-Instruct), "tiny" (tests) or "Qwen/Qwen2.5-0.5B"
max_train_rows = 160        # None: all prepared rows
max_eval_rows = 16
epochs = 1.0
lr = 1e-3                   # LoRA learning rate (measured: 3e-4 barely moved the eval loss in 20 steps);
                            # the study (full fine-tuning) used 5e-6
batch_size = 8
micro_batch_size = 4
lora_r = 16                 # 0: full fine-tuning (the GPU default)
max_steps = None
eval_every = 5
save_every = 5
max_prompt_tokens = 300
max_response_tokens = 450
mixed_precision = "auto"    # bf16 on recent GPUs, fp16 on older ones, fp32 on CPU
resume = True               # continue from the last checkpoint of this run if there is one
n_monitor_prompts = 12      # win-rate monitoring during training (0: off): fixed prompts, greedy answers
monitor_max_new_tokens = 64
judge = "verifiable"        # monitoring judge: "verifiable" (offline) or "reward" (a reward model, see notebook 03)
seed = 0
out_dir = "../runs/main"
figures_dir = "../figures"
"""
CHECK = """
params = check_parameters(globals(), _before, _defaults,
                          positive=["monitor_max_new_tokens", "max_train_rows", "max_eval_rows", "epochs", "lr", "batch_size",
                                    "micro_batch_size", "max_steps", "max_prompt_tokens", "max_response_tokens"],
                          non_negative=["lora_r", "eval_every", "save_every", "n_monitor_prompts"],
                          choices={"mixed_precision": {"auto", "no", "bf16", "fp16"},
                                   "judge": {"verifiable", "reward", "self"}})
data_dir = Path(out_dir) / "data"
torch.manual_seed(seed)
print(params)
"""
CELLS = [
    (
        "md",
        """
> **The study's GPU run:** `model="Qwen/Qwen2.5-0.5B"`, `lora_r=0` (full fine-tuning), `lr=5e-6`,
> `epochs=3`, `batch_size=8`, warm-up 10%, cosine schedule, `mixed_precision="bf16"`, all of smoltalk.
> The CPU demo instead trains LoRA adapters on a few hundred rows so that it finishes in minutes.

## 1. Model, data, and what one example looks like
""",
    ),
    (
        "code",
        """
tokenizer = models.load_tokenizer(model)
policy = training.add_lora(models.load_model(model), r=lora_r)
train_rows = data.read_jsonl(data_dir / "sft_train.jsonl")[:max_train_rows]
eval_rows = data.read_jsonl(data_dir / "sft_eval.jsonl")[:max_eval_rows]
from sfdpo_helpers.collators import tokenize_example
example = tokenize_example(tokenizer, train_rows[0]["prompt"], train_rows[0]["response"])
print("trained on:", repr(tokenizer.decode([t for t in example["labels"] if t != -100])))
print(f"{len(train_rows)} train rows, {len(eval_rows)} eval rows")
""",
    ),
    (
        "md",
        """
## 2. Train, watching the win rate too
The study's Figure 2: eval loss kept improving while the win rate against the starting model fell.
Every `eval_every` steps the loop answers a fixed set of held-out prompts greedily and the judge compares
the answers with the starting model's (ties ½). The loop (`sfdpo_helpers/training.py`) is short enough to read: collate micro-batches, sum the loss,
divide by the reply tokens of the whole batch, backward, clip, step, checkpoint. Interrupt it at any
time: running the cell again resumes from the last checkpoint.
""",
    ),
    (
        "code",
        """
monitor = evaluation.start_model_monitor(policy, tokenizer, data_dir / "eval_prompts.jsonl", n_monitor_prompts, judge,
                                         monitor_max_new_tokens, seed=seed + 1)
settings = training.TrainSettings(lr=lr, epochs=epochs, batch_size=batch_size, micro_batch_size=micro_batch_size,
                                  max_steps=max_steps, eval_every=eval_every, save_every=save_every, seed=seed,
                                  mixed_precision=mixed_precision)
history, reports = sft.train_sft(policy, tokenizer, train_rows, eval_rows, settings, Path(out_dir) / "checkpoints" / "sft",
                                 max_prompt_tokens, max_response_tokens, monitor_fn=monitor, resume=resume)
for report in reports:
    print(report)
""",
    ),
    (
        "code",
        """
plots.curves(history, ["loss", "eval_loss", "win_rate"], Path(figures_dir) / "02_sft_curves.png",
             title=f"SFT of {model}", labels={"loss": "train loss", "eval_loss": "eval loss", "win_rate": "win rate vs start model"});
""",
    ),
    (
        "md",
        """
## 3. Save and look at an answer
The model is saved as a plain checkpoint (LoRA adapters merged) that notebook 03 and 04 load.
""",
    ),
    (
        "code",
        """
policy = training.save_model(policy, tokenizer, Path(out_dir) / "models" / "sft")
answers = sampling.generate(policy, tokenizer, [r["prompt"] for r in eval_rows[:2]], max_new_tokens=64, temperature=0.0)
for row, answer in zip(eval_rows[:2], answers):
    print("PROMPT:", row["prompt"][:300], "\\nANSWER:", answer[0], "\\n")
""",
    ),
]
