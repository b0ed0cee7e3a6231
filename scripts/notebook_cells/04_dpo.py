TITLE = "04 · Direct preference optimisation (DPO), DPO-Positive and KL"
INTRO = r"""
DPO (Rafailov et al. 2023) trains directly on preference pairs $(x, y^+, y^-)$, with a frozen copy of
the starting model as reference $\pi_\text{ref}$. With summed log-probabilities of the response tokens,

$$\Delta = \big(\log\pi_\theta(y^+|x) - \log\pi_\theta(y^-|x)\big) - \big(\log\pi_\text{ref}(y^+|x) - \log\pi_\text{ref}(y^-|x)\big),
\qquad \mathcal{L}_\text{DPO} = -\log\sigma(\beta\,\Delta).$$

The implicit rewards $r^\pm = \beta(\log\pi_\theta(y^\pm|x) - \log\pi_\text{ref}(y^\pm|x))$ are logged;
their difference is the **margin**, and **accuracy** is how often $r^+ > r^-$.

**DPO-Positive.** Plain DPO only cares about the *difference*: it is happy to make the chosen answer
*less* likely as long as the rejected one falls faster. The study adds
$\lambda_P \max(0, \log\pi_\text{ref}(y^+|x) - \log\pi_\theta(y^+|x))$ to the loss (additive form);
the Smaug paper puts the same penalty *inside* the sigmoid,
$-\log\sigma\big(\beta[\Delta - \lambda_P \max(0, \log\pi_\text{ref}(y^+) - \log\pi_\theta(y^+))]\big)$
(`dpop_in_sigmoid=True`), where it saturates together with the DPO term.

**KL.** The study also adds
$\lambda_{KL}\cdot\tfrac12\big[(\log\pi_\text{ref}(y^+) - \log\pi_\theta(y^+)) + (\log\pi_\text{ref}(y^-) - \log\pi_\theta(y^-))\big]$,
a one-sample, sequence-level estimate of $\mathrm{KL}(\pi_\text{ref}\,\|\,\pi_\theta)$ on the two dataset
responses. Unlike a true KL it **can be negative** (whenever training raises the likelihood of both).
"""
IMPORTS = """
import json
from pathlib import Path

import papermill as pm
import torch

from sfdpo_helpers import data, dpo, evaluation, models, plots, training
from sfdpo_helpers.params import check_parameters, defaults_of
"""
PARAMETERS = """
start_model = ""            # empty: the SFT model of notebook 02 (out_dir/models/sft); or a folder / hub id / "tiny"
run_name = "dpo"            # the model is saved to out_dir/models/<run_name>
beta = 0.1
lr = 2e-4                   # LoRA learning rate; the study (full fine-tuning) used 5e-7 to 5e-6
dpop_weight = 0.0           # lambda_P of DPO-Positive
kl_weight = 0.0             # lambda_KL
dpop_in_sigmoid = False     # Smaug's form instead of the study's additive one
reference = "precomputed"   # "precomputed" (one pass, cached) or "model" (frozen copy / LoRA base)
max_train_rows = 96         # pairs used for training; None: all
n_eval_pairs = 16
epochs = 1.0
batch_size = 8
micro_batch_size = 4
lora_r = 16                 # 0: full fine-tuning (the GPU default)
max_steps = None
eval_every = 5
save_every = 5
max_prompt_tokens = 300
max_response_tokens = 450
mixed_precision = "auto"
resume = True
sweep_betas = [0.1, 0.5]    # the beta x lr sweep run by papermill at the end ([] to skip)
sweep_lrs = [1e-4, 4e-4]
sweep_max_steps = 2
n_monitor_prompts = 12      # win-rate monitoring during training (0: off): fixed prompts, greedy answers
monitor_max_new_tokens = 64
judge = "verifiable"        # monitoring judge: "verifiable" (offline) or "reward" (a reward model, see notebook 03)
seed = 0
out_dir = "../runs/main"
figures_dir = "../figures"
"""
CHECK = """
params = check_parameters(globals(), _before, _defaults,
                          positive=["beta", "lr", "monitor_max_new_tokens", "max_train_rows", "n_eval_pairs", "epochs", "batch_size",
                                    "micro_batch_size", "max_steps", "max_prompt_tokens", "max_response_tokens",
                                    "sweep_max_steps"],
                          non_negative=["dpop_weight", "kl_weight", "lora_r", "eval_every", "save_every", "n_monitor_prompts"],
                          choices={"reference": {"precomputed", "model"},
                                   "mixed_precision": {"auto", "no", "bf16", "fp16"},
                                   "judge": {"verifiable", "reward", "self"}})
data_dir = Path(out_dir) / "data"
start = start_model or str(Path(out_dir) / "models" / "sft")
torch.manual_seed(seed)
print(params)
"""
CELLS = [
    (
        "md",
        """
> **The study's GPU run:** start from the SFT model, UltraFeedback binarized (`train_prefs`),
> full fine-tuning (`lora_r=0`), `beta=0.1`, learning rates swept from 5e-7 to 5e-6, `batch_size=8`,
> bf16, DPO-P and KL weights as parameters. Offline, the demo trains LoRA adapters on the shipped pairs;
> with LoRA the reference is simply the same network with its adapters switched off.

## 1. Pairs and the reference
""",
    ),
    (
        "code",
        """
tokenizer = models.load_tokenizer(start)
policy = training.add_lora(models.load_model(start), r=lora_r)
pairs = data.read_jsonl(data_dir / "pairs_train.jsonl")
held_out, pairs = pairs[:n_eval_pairs], pairs[n_eval_pairs:][:max_train_rows]
print(f"{len(pairs)} training pairs, {len(held_out)} held-out pairs")
print("PROMPT:", pairs[0]["prompt"][:200], "\\nCHOSEN:", pairs[0]["chosen"][:200], "\\nREJECTED:", pairs[0]["rejected"][:200])
""",
    ),
    (
        "md",
        """
## 2. Train
Each step runs chosen and rejected responses of a micro-batch through the policy in one forward
pass; the reference log-probs were computed once before training (and cached next to the data).
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
objective = dpo.DPOSettings(beta=beta, dpop_weight=dpop_weight, kl_weight=kl_weight, dpop_in_sigmoid=dpop_in_sigmoid)
history, report = dpo.train_dpo(policy, tokenizer, pairs, settings, Path(out_dir) / "checkpoints" / run_name, objective,
                                reference=reference, eval_pairs_rows=held_out, max_prompt_tokens=max_prompt_tokens,
                                max_response_tokens=max_response_tokens, ref_cache_dir=data_dir, monitor_fn=monitor,
                                resume=resume)
print(report)
""",
    ),
    (
        "md",
        """
## 3. Loss and margins (the study's Figures 4 and 5)
Watch the chosen reward: if it goes negative while the margin grows, the model is learning to push
the rejected answer down faster than the chosen one. That is what DPO-Positive is for.
""",
    ),
    (
        "code",
        """
plots.curves(history, ["loss", "rewards/margins", "win_rate"], Path(figures_dir) / f"04_{run_name}_loss_margin.png",
             title=f"DPO (beta={beta}, lr={lr})");
plots.curves(history, ["rewards/chosen", "rewards/rejected", "kl", "dpop"], Path(figures_dir) / f"04_{run_name}_rewards.png");
policy = training.save_model(policy, tokenizer, Path(out_dir) / "models" / run_name)
""",
    ),
    (
        "md",
        """
## 4. A small β × learning-rate sweep
Papermill runs this same notebook once per setting (short runs, no nested sweep) and we overlay the
curves. Each run is an executed notebook in `out_dir/sweep/`, so it can be opened and checked.
""",
    ),
    (
        "code",
        """
sweep = {}
(Path(out_dir) / "sweep").mkdir(parents=True, exist_ok=True)
for b in sweep_betas:
    for l in sweep_lrs:
        name = f"sweep_beta{b}_lr{l}"
        pm.execute_notebook("04_dpo.ipynb", str(Path(out_dir) / "sweep" / f"{name}.ipynb"), progress_bar=False,
                            parameters=dict(params, run_name=name, beta=b, lr=l, max_steps=sweep_max_steps,
                                            sweep_betas=[], eval_every=0, save_every=0, n_monitor_prompts=0,
                                            resume=False, figures_dir=str(Path(figures_dir) / "sweep")))
        sweep[f"beta={b}, lr={l}"] = json.loads((Path(out_dir) / "checkpoints" / name / "history.json").read_text())
if sweep:
    plots.overlay(sweep, "rewards/margins", Path(figures_dir) / "04_sweep_margins.png", "reward margin by beta and lr")
    plots.overlay(sweep, "loss", Path(figures_dir) / "04_sweep_loss.png", "DPO loss by beta and lr");
""",
    ),
]
