"""The results summary of a run: every model against the base and against each other.

:func:`summarise` looks at ``out_dir/models/*`` (plus the base model), answers the same held-out
prompts with each (cached answers from the notebooks are reused), judges them with the run's judge,
and writes

* ``out_dir/results.md`` and ``results.csv``: win rate of every model vs the base and vs every other
  model (n, ties, 95% CI, decisive share, sign test), and, on IFEval-style prompts, each model's
  IFEval accuracies;
* the study's Table 2 (``results_table2.csv``: RS-DPO vs DPO at each judged fraction of an epoch, read
  from notebook 05's training histories) and Table 3 (``results_table3.csv``: RS-DPO3 vs DPO, the last
  self-improved model vs DPO and vs RS-DPO3, on the summary's prompts);
* ``figures/win_rate_overview.png``: win rate of every model vs the base.

``python -m sfdpo_helpers.results [--run PROFILE_OR_FILE] [--out DIR]`` runs it alone; the main job
runs it at the end.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
from pathlib import Path

import pandas as pd

from . import data, judges, pipeline, plots, settings, winrate
from .files import atomic_write_text

ORDER = ["sft", "dpo", "dpo_positive", "rsdpo1", "rsdpo2", "rsdpo3", "selfimprove1", "selfimprove2", "selfimprove3"]


def model_paths(out_dir: Path, base_model: str = "embedded") -> dict[str, str]:
    """``{"base": base_model, "sft": ".../models/sft", ...}`` in pipeline order."""
    found = {p.name: str(p) for p in sorted((Path(out_dir) / "models").glob("*")) if (p / "config.json").exists()}
    rest = sorted(n for n in found if n not in ORDER and not n.startswith("sweep"))
    return {"base": base_model, **{n: found[n] for n in [n for n in ORDER if n in found] + rest}}


def table2(histories: dict[str, list[dict]]) -> pd.DataFrame:
    """The study's Table 2: each RS-DPO run's win rate vs DPO (95% CI) at every judged step, by epoch
    (rows: runs; columns: epochs). ``histories`` are training histories as :func:`dpo.train_dpo` returns them."""
    runs = {}
    for name, history in histories.items():
        epoch_at = {r["step"]: r["epoch"] for r in history if "epoch" in r}
        judged = [r for r in history if "win_rate" in r and r["step"] in epoch_at]
        runs[name] = {
            f"epoch {epoch_at[r['step']]:.2f}": f"{r['win_rate']:.3f} [{r['win_rate_ci_low']:.3f}, "
            f"{r['win_rate_ci_high']:.3f}]"
            for r in judged
        }
    return pd.DataFrame(runs).T


def table3_pairs(names: list[str]) -> list[tuple[str, str]]:
    """The study's Table 3 comparisons among the models present."""
    last = [n for n in names if n.startswith("selfimprove")][-1:]
    wanted = [("rsdpo3", "dpo")] + [(n, "dpo") for n in last] + [(n, "rsdpo3") for n in last]
    return [(a, b) for a, b in wanted if a in names and b in names]


def summarise(cfg: settings.RunSettings) -> pd.DataFrame:
    """Write ``results.md``/``results.csv``, Tables 2 and 3 and the overview figure; return the win-rate table."""
    out = cfg.out
    rows = data.subset(data.read_jsonl(out / "data" / "eval_prompts.jsonl"), cfg.n_eval_prompts, cfg.seed)
    prompts = [r["prompt"] for r in rows]
    paths = model_paths(out, cfg.base_model)
    answers = {n: pipeline.model_answers(cfg, p, prompts) for n, p in paths.items()}
    judge = pipeline.judge(cfg, rows, self_judge=paths.get("sft", paths["base"]))
    scores = {n: judge.score(prompts, a) for n, a in answers.items()}
    names = list(paths)
    vs_base = winrate.compare(scores, [(n, "base") for n in names[1:]], seed=cfg.seed)
    vs_each = winrate.compare(scores, list(itertools.combinations(names[1:], 2))[::-1], seed=cfg.seed)
    table3 = winrate.compare(scores, table3_pairs(names), seed=cfg.seed)
    histories = {p.parent.name: json.loads(p.read_text()) for p in sorted(out.glob("checkpoints/rsdpo*/history.json"))}
    table = pd.DataFrame([r.as_row() for r in vs_base + vs_each])
    table.to_csv(out / "results.csv", index=False)
    table2_runs = table2(histories)
    table2_runs.to_csv(out / "results_table2.csv")
    pd.DataFrame([r.as_row() for r in table3]).to_csv(out / "results_table3.csv", index=False)
    accuracy = _ifeval_accuracy(rows, answers)
    if accuracy is not None:
        accuracy.to_csv(out / "results_ifeval_accuracy.csv")
    atomic_write_text(out / "results.md", _report(cfg, len(prompts), vs_base, vs_each, accuracy, table2_runs, table3))
    if vs_base:
        bars = [{"name": r.model, "rate": r.rate, "ci_low": r.ci_low, "ci_high": r.ci_high} for r in vs_base]
        plots.win_rate_bars(
            bars, cfg.figures / "win_rate_overview.png", f"win rate vs the base model (n={len(prompts)})"
        )
    return table


def _ifeval_accuracy(rows: list[dict], answers: dict[str, list[str]]) -> pd.DataFrame | None:
    """IFEval's four accuracies of every model, when the prompts carry IFEval instructions."""
    if not all(r.get("instruction_id_list") for r in rows):
        return None
    return pd.DataFrame(
        {n: {k: v for k, v in judges.evaluate(rows, a).items() if isinstance(v, float)} for n, a in answers.items()}
    ).T


def _report(cfg, n: int, vs_base, vs_each, accuracy, table2_runs, table3) -> str:
    mde = winrate.minimum_detectable_effect(n, sum(r.ties for r in vs_base) / max(1, sum(r.n for r in vs_base)))
    text = [
        "# Results",
        "",
        f"Held-out prompts: n = {n} (seed {cfg.seed}), greedy answers of at most {cfg.max_new_tokens} new tokens, "
        f"judge `{cfg.judge}`; a win counts 1, a tie ½, a loss 0; 95% bootstrap CI over prompts; 'decisive' is the "
        f"share of prompts that were not ties and the sign test compares wins with losses. With n = {n} and the "
        f"observed share of ties, a win rate closer to ½ than ±{mde:.3f} goes undetected (α = 0.05, power 0.8).",
        "",
        "## Every model vs the base model",
        "",
        winrate.to_markdown(vs_base) if vs_base else "(no trained model)",
        "",
        "## Models vs each other",
        "",
        winrate.to_markdown(vs_each) if vs_each else "(one model only)",
        "",
    ]
    if accuracy is not None:
        text += ["## IFEval-style accuracy on the same prompts", "", accuracy.round(3).to_markdown(), ""]
    text += [
        "## Table 2: RS-DPO vs DPO during training (the held-out prompts above, judged during training)",
        "",
        table2_runs.to_markdown() if len(table2_runs) else "(no RS-DPO runs)",
        "",
        "## Table 3 (on the prompts above)",
        "",
        winrate.to_markdown(table3) if table3 else "(models missing)",
        "",
    ]
    return "\n".join(text)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", default="offline", help="the run's settings: a profile or a YAML file (default offline)")
    ap.add_argument("--out", default="", help="the run's output folder (default: the settings' out_dir)")
    args = ap.parse_args(argv)
    cfg = settings.load(args.run)
    if args.out:
        cfg = settings.load({**dataclasses.asdict(cfg), "out_dir": args.out})
    summarise(cfg)
    print((cfg.out / "results.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
