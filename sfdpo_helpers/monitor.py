"""Win-rate monitoring during training: loss alone hid overfitting in the study (its Figure 2).

Every ``eval_every`` steps the training loop calls ``monitor(model, step)``: the model answers a fixed
set of held-out prompts greedily, the judge scores the answers against a fixed baseline's answers on
the same prompts, and the win rate (ties ½) with its 95% CI goes into the training history.
"""

from __future__ import annotations

from . import sampling
from .winrate import win_rate


def win_rate_monitor(
    tokenizer, prompts: list[str], judge, baseline_answers: list[str], max_new_tokens: int = 64, batch_size: int = 32,
    until_step: int | None = None, precision: str = "auto",
):  # fmt: skip
    """``monitor(model, step) -> {"win_rate", "win_rate_ci_low", "win_rate_ci_high"}`` against fixed answers.
    From ``until_step`` on it returns ``{}`` (the caller judges that point another way, e.g. from the saved
    model's cached answers, so the final answers are not generated twice). ``precision``: the run's
    ``mixed_precision`` (the loop's autocast wraps the call too)."""
    baseline_scores = judge.score(prompts, baseline_answers)

    def monitor(model, step):
        if until_step is not None and step >= until_step:
            return {}
        answers = sampling.generate(
            model, tokenizer, prompts, k=1, temperature=0.0, max_new_tokens=max_new_tokens, batch_size=batch_size,
            precision=precision,
        )  # fmt: skip
        result = win_rate(judge.score(prompts, [a[0] for a in answers]), baseline_scores, n_resamples=500)
        return {"win_rate": result.rate, "win_rate_ci_low": result.ci_low, "win_rate_ci_high": result.ci_high}

    return monitor


def vs_start_model(
    model, tokenizer, prompts: list[str], judge, max_new_tokens: int = 64, batch_size: int = 32, precision: str = "auto"
):
    """A monitor against the model *as it is now* (call it before training starts): its greedy answers
    on ``prompts`` are the fixed baseline. Returns None when ``prompts`` is empty (monitoring off)."""
    if not prompts:
        return None
    start = sampling.generate(
        model, tokenizer, prompts, k=1, temperature=0.0, max_new_tokens=max_new_tokens, batch_size=batch_size,
        precision=precision,
    )  # fmt: skip
    baseline = [a[0] for a in start]
    return win_rate_monitor(tokenizer, prompts, judge, baseline, max_new_tokens, batch_size, precision=precision)
