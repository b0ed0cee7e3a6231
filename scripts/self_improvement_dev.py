"""Self-improvement recipes tried on the demo's *dev* prompts (never on the reported eval prompts).

    python scripts/self_improvement_dev.py runs/main                          # the recipe the main job runs
    python scripts/self_improvement_dev.py runs/main --per-category 16 --epochs 1
    python scripts/self_improvement_dev.py runs/main --khaki-eta 0.99 --epochs 1
    python scripts/self_improvement_dev.py runs/main --dpop-weight 1          # DPO-Positive (notebook 04's term)

Reads a finished main job of the offline profile (its RS-DPO3 model and data; decoding as that profile sets
it) and does what notebooks 06 and 07 do, on the two categories notebook 06 picked: new prompts from the
reserve pool, the RS-DPO3 model's 8 samples per prompt, the verifiable judge, pairs (the study's best vs a
random one of the bottom 3, or Khaki et al.'s reward-gap rule), DPO from RS-DPO3. Then the new model against
RS-DPO3 on every dev prompt of those categories (greedy). Models go to ``<run>/models/dev_si_<tag>``, samples
to ``<run>/samples/``; rerunning a recipe reuses both. The README's self-improvement paragraph quotes its
output.
"""

from __future__ import annotations

import argparse
import time

from sfdpo_helpers import answers, data, dpo, models, pairs, pipeline, settings, stages, winrate

KHAKI_TAU = 0.1  # notebook 07's khaki_tau: rewards are fractions of instructions followed


def training_pairs(prompts: list[str], samples: list[list[str]], rewards, khaki_eta: float, seed: int) -> list[dict]:
    """The study's pair per prompt (best vs a random one of the bottom 3), or with ``khaki_eta`` every pair whose
    reward gap passes Khaki et al.'s rule (tau as in notebook 07)."""
    if not khaki_eta:
        return pairs.self_improvement_pairs(prompts, samples, rewards, seed)[0]
    return [
        pair
        for prompt, texts, scores in zip(prompts, samples, rewards)
        for pair in pairs.reward_gap_pairs(prompt, texts, scores, KHAKI_TAU, khaki_eta)
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", help="a finished main job's folder (runs/main)")
    parser.add_argument("--categories", nargs="+", help="default: the categories notebook 06 picked in this run")
    parser.add_argument("--per-category", type=int, default=8, help="new prompts per category (notebook 06: 8)")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--epochs", type=float, default=3.0)
    parser.add_argument("--khaki-eta", type=float, default=0.0, help="0: the study's rule; else tau 0.1 and this eta")
    parser.add_argument("--dpop-weight", type=float, default=0.0, help="lambda_P of DPO-Positive (0: plain DPO)")
    args = parser.parse_args(argv)

    cfg = settings.load({"out_dir": args.run, "self_improve": {"lr": args.lr, "epochs": args.epochs}})
    picked = data.read_jsonl(pipeline.require_file(cfg, "curriculum_prompts.jsonl"))
    categories = args.categories or sorted({r["category"] for r in picked})
    drawn_as = f"{'+'.join(categories)}_{args.per_category}pc"  # names the samples; with the recipe, the model
    tag = f"{drawn_as}_lr{args.lr:g}_ep{args.epochs:g}" + (f"_khaki{args.khaki_eta:g}" if args.khaki_eta else "")
    tag += f"_dpop{args.dpop_weight:g}" if args.dpop_weight else ""
    pool = data.read_jsonl(data.DEMO_DIR / "prompt_pool.jsonl")
    rows = pipeline.new_prompts(cfg, pool, categories, args.per_category)  # as notebook 06 draws them
    dev = [r for r in data.read_jsonl(data.DEMO_DIR / "dev_prompts.jsonl") if r.get("category") in categories]
    start = pipeline.require_model(cfg, "rsdpo3")

    clock = time.time()
    model, tokenizer = models.load_model(start), models.load_tokenizer(start)
    prompts = [r["prompt"] for r in rows]
    drawn = stages.eight_samples(cfg, model, tokenizer, prompts, cfg.out / "samples" / f"dev_{drawn_as}", cfg.seed + 1)
    samples = [[s["response"] for s in row] for row in drawn]
    judge = pipeline.judge(cfg, rows)
    rewards = stages.score_samples(judge, prompts, samples)
    train = training_pairs(prompts, samples, rewards, args.khaki_eta, cfg.seed + 1)
    print(f"{tag}: {len(train)} pairs from {len(prompts)} prompts of {categories} ({time.time() - clock:.0f} s)")
    if not train:
        raise SystemExit("no pair: every prompt's 8 answers tie")

    clock = time.time()
    stages.dpo_run(
        cfg,
        start,
        train,
        f"dev_si_{tag}",
        "self_improve",
        dpo.DPOSettings(beta=0.1, dpop_weight=args.dpop_weight),
        loaded=(model, tokenizer),
    )
    print(f"{tag}: trained in {time.time() - clock:.0f} s")

    dev_prompts = [r["prompt"] for r in dev]
    dev_judge = pipeline.judge(cfg, dev)
    texts = {
        f"dev_si_{tag}": pipeline.model_answers(cfg, cfg.model_path(f"dev_si_{tag}"), dev_prompts),
        "rsdpo3": pipeline.model_answers(cfg, start, dev_prompts),
    }
    new, old = (dev_judge.score(dev_prompts, answers_) for answers_ in texts.values())
    print(winrate.verdict(winrate.win_rate(new, old, model=f"dev_si_{tag}", baseline="rsdpo3", seed=cfg.seed)))
    for name, answers_ in texts.items():  # DPO on a few pairs can lengthen answers into the cap (notebook 07, §5)
        lengths = answers.token_lengths(tokenizer, answers_)
        print(f"{name}: {answers.length_summary(lengths, cfg.max_new_tokens)}")


if __name__ == "__main__":
    main()
