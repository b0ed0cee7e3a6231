"""Whole training runs from the run settings, and the loops of the later notebooks.

A notebook shows one run of its method by hand; when it needs several (three RS-DPO mixtures, rounds
of self-improvement), it calls these functions, which do exactly what the notebook showed once:
load the start model, add LoRA (``lora_r`` of the run), train with the stage's learning rate and
epochs, save the model as ``models/<name>``.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from . import dpo, models, pairs, pipeline, sampling, training
from .files import atomic_write_text
from .monitor import win_rate_monitor
from .settings import RunSettings
from .winrate import win_rate

RS_DPO_NAMES = {1.0: "rsdpo1", 0.2: "rsdpo2", 0.1: "rsdpo3"}


def dpo_run(
    cfg: RunSettings,
    start: str,
    train_pairs: list[dict],
    name: str,
    stage: str = "dpo",
    objective: dpo.DPOSettings | None = None,
    monitor: Callable | None = None,
    eval_pairs: list[dict] | None = None,
    eval_every: int = 0,
    loaded: tuple | None = None,
    save: bool = True,
) -> list[dict]:
    """Train DPO from ``start`` on ``train_pairs`` and save ``models/<name>``; return the history.

    ``monitor(policy, tokenizer) -> monitor_fn`` builds a win-rate monitor once the policy is loaded;
    ``loaded = (model, tokenizer)`` reuses a model already in memory; ``save=False`` keeps only the history
    (a run shown for its curves, not used later).
    """
    model, tokenizer = loaded or (models.load_model(start), models.load_tokenizer(start))
    policy = training.add_lora(model, r=cfg.lora_r, seed=cfg.seed)
    settings = cfg.train_settings(stage, eval_every=eval_every)
    history, report = dpo.train_dpo(
        policy, tokenizer, train_pairs, settings, cfg.out / "checkpoints" / name, objective,
        eval_pairs_rows=eval_pairs, max_prompt_tokens=cfg.prompt_budget, max_response_tokens=cfg.response_budget,
        ref_cache_dir=cfg.data_dir, monitor_fn=monitor(policy, tokenizer) if monitor else None, resume=cfg.resume,
    )  # fmt: skip
    if report.skipped:
        print(report)
    if save:
        training.save_model(policy, tokenizer, cfg.model_path(name))
    return history


def rs_dpo_mixtures(
    cfg: RunSettings, sft_path: str, dataset_pairs: list[dict], rs_pairs: list[dict], fractions: list[float],
    judge, prompts: list[str], opponent_answers: list[str], beta: float = 0.1, judged_points: int = 3,
) -> dict[str, list[dict]]:  # fmt: skip
    """RS-DPO1/2/3: one DPO run per fraction of self-sampled rejections, each judged against the opponent's
    answers ``judged_points`` times per epoch (the study: at 1/3, 2/3 and 1 epoch). The last point judges the
    saved model's cached answers, which the results summary and notebook 07 reuse."""
    histories, opponent_scores = {}, judge.score(prompts, opponent_answers)
    for fraction in fractions:
        name = RS_DPO_NAMES.get(fraction, f"rsdpo_{fraction:g}")
        mixed = pairs.mix_pairs(rs_pairs, dataset_pairs, fraction, cfg.seed)[: cfg.rs_dpo.max_examples]
        total = training.plan_steps(len(mixed), cfg.train_settings("rs_dpo"))[1]
        every = max(1, total // judged_points) if judged_points > 1 else 0

        monitor = None
        if every:  # intermediate points; the last one is judged below, on the saved model's cached answers

            def monitor(policy, tokenizer, total=total):
                args = (cfg.max_new_tokens, cfg.gen_batch_size, total, cfg.mixed_precision)
                return win_rate_monitor(tokenizer, prompts, judge, opponent_answers, *args)

        print(f"--- {name}: {fraction:.0%} rejection-sampled pairs, {len(mixed)} pairs")
        history = dpo_run(cfg, sft_path, mixed, name, "rs_dpo", dpo.DPOSettings(beta=beta), monitor, None, every)
        histories[name] = history + [_judged_at_the_end(cfg, name, history, judge, prompts, opponent_scores)]
        atomic_write_text(cfg.out / "checkpoints" / name / "history.json", json.dumps(histories[name], indent=1))
    return histories


def _judged_at_the_end(cfg: RunSettings, name: str, history: list[dict], judge, prompts, opponent_scores) -> dict:
    """The win rate of a saved model's (cached) answers against the opponent's scores, as a history row."""
    final = pipeline.model_answers(cfg, cfg.model_path(name), prompts)
    result = win_rate(judge.score(prompts, final), opponent_scores)
    last = max((r for r in history if "epoch" in r), key=lambda r: r["step"])
    return {"step": last["step"], "epoch": last["epoch"], "win_rate": result.rate,
            "win_rate_ci_low": result.ci_low, "win_rate_ci_high": result.ci_high}  # fmt: skip


def eight_samples(
    cfg: RunSettings, model, tokenizer, prompts: list[str], name: str, seed: int, schedule=sampling.STUDY_SCHEDULE
) -> list[list[dict]]:
    """Samples per prompt as the ``schedule`` of ``(temperature, samples)`` says (the study's: 2 at T=0.2, 3 at
    T=0.7, 3 at T=1.2, drawn in the same batches), in resumable shards in :func:`pipeline.sample_shards`'
    folder, named by everything that decides them (the model's weights, the schedule, the token budget, the
    seed, the precision): a shard holds the prompts whose samples fill one generation batch."""
    temperatures = sampling.schedule_temperatures(schedule)
    shard = max(1, cfg.gen_batch_size // len(temperatures))
    rows = pipeline.sample_shards(
        cfg, name, model, tokenizer, prompts, shard, seed, k=len(temperatures), temperature=temperatures,
        max_new_tokens=cfg.max_new_tokens, batch_size=cfg.gen_batch_size, precision=cfg.mixed_precision,
    )  # fmt: skip
    return sampling.with_temperatures(temperatures, [row["responses"] for row in rows])


def score_samples(judge, prompts: list[str], samples: list[list[str]]) -> list[list[float]]:
    """The judge's scores of each prompt's samples (one call per prompt: scores compare within a prompt)."""
    return [judge.score([p] * len(texts), texts) for p, texts in zip(prompts, samples)]


def self_improvement_samples(
    cfg: RunSettings, model, tokenizer, prompts: list[str], round_: int, schedule=sampling.STUDY_SCHEDULE
):
    """Round ``round_``'s samples per prompt from ``model``, 8 with the study's ``schedule`` (cached: notebook 07
    shows them, the round reuses them)."""
    return eight_samples(cfg, model, tokenizer, prompts, f"selfimprove{round_}", cfg.seed + round_, schedule)


def self_improvement_round(
    cfg: RunSettings, start: str, rows: list[dict], judge, round_: int, beta: float = 0.1,
    rewards: list[list[float]] | None = None, dpop_weight: float = 0.0, rejected_rule: str = "random_bottom3",
    schedule=sampling.STUDY_SCHEDULE,
):  # fmt: skip
    """Sample answers per prompt from ``start`` (8 with the study's ``schedule``), judge them, pair the best with
    a random one of the bottom 3 (``rejected_rule="worst"``: with the worst; ties broken at random), and train
    DPO from ``start`` (model ``selfimprove<round>``; DPO-Positive with ``dpop_weight`` > 0).
    Returns (path or None, pairs, dropped, history).

    ``rewards``: the judge's scores of this round's samples when the caller has them (notebook 07 scores round
    1's samples before the round, to show them)."""
    pairs.rejected_rule_function(rejected_rule)  # an unknown rule fails before any sampling
    model, tokenizer = models.load_model(start), models.load_tokenizer(start)
    prompts = [r["prompt"] for r in rows]
    samples = self_improvement_samples(cfg, model, tokenizer, prompts, round_, schedule)
    responses = [[s["response"] for s in per_prompt] for per_prompt in samples]
    if rewards is None:
        rewards = score_samples(judge, prompts, responses)
    elif [len(r) for r in rewards] != [len(rs) for rs in responses]:
        raise ValueError(
            f"rewards per prompt {[len(r) for r in rewards]} do not match samples per prompt "
            f"{[len(rs) for rs in responses]}"
        )
    new_pairs, dropped = pairs.self_improvement_pairs(prompts, responses, rewards, cfg.seed + round_, rejected_rule)
    print(f"round {round_}: {len(new_pairs)} pairs from {len(prompts)} prompts; dropped: {dict(dropped) or 'none'}")
    if not new_pairs:
        return None, new_pairs, dropped, []
    name = f"selfimprove{round_}"
    history = dpo_run(
        cfg,
        start,
        new_pairs,
        name,
        "self_improve",
        dpo.DPOSettings(beta=beta, dpop_weight=dpop_weight),
        loaded=(model, tokenizer),
    )
    return cfg.model_path(name), new_pairs, dropped, history
