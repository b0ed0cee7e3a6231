"""The results summary of a run: every model against the base and against each other.

:func:`summarise` looks at ``out_dir/models/*`` (plus the base model), answers the same held-out
prompts with each (cached answers from the notebooks are reused), judges them, and writes

* ``out_dir/results.md`` and ``results.csv``: win rate of every model vs the base and vs every other
  model (n, ties, 95% CI), and each model's IFEval-style accuracies;
* the study's Table 2 (``results_table2.csv``: RS-DPO vs DPO at each judged fraction of an epoch, read
  from notebook 05's training histories) and Table 3 (``results_table3.csv``: RS-DPO3 vs DPO, the last
  self-improved model vs DPO and vs RS-DPO3, on the summary's prompts);
* ``figures/win_rate_overview.png``: win rate of every model vs the base.

``python -m sfdpo_helpers.results runs/main`` runs it alone; the main job runs it at the end.
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import pandas as pd

from . import data, evaluation, judges, plots, winrate

ORDER = ["sft", "dpo", "rsdpo1", "rsdpo2", "rsdpo3", "selfimprove1", "selfimprove2", "selfimprove3"]


def model_paths(out_dir: Path, base_model: str = "embedded") -> dict[str, str]:
    """``{"base": base_model, "sft": ".../models/sft", ...}`` in pipeline order."""
    found = {p.name: str(p) for p in sorted((out_dir / "models").glob("*")) if (p / "config.json").exists()}
    ordered = [n for n in ORDER if n in found] + sorted(
        n for n in found if n not in ORDER and not n.startswith("sweep")
    )
    return {"base": base_model, **{n: found[n] for n in ordered}}


def table2(histories: dict[str, list[dict]]) -> pd.DataFrame:
    """The study's Table 2: each RS-DPO run's win rate vs DPO (95% CI) at every judged step, by epoch
    (rows: runs; columns: epochs). ``histories`` are training histories as :func:`dpo.train_dpo` returns them."""
    runs = {}
    for name, history in histories.items():
        epoch_at = {r["step"]: r["epoch"] for r in history if "epoch" in r}
        runs[name] = {
            f"epoch {epoch_at[r['step']]:.2f}": f"{r['win_rate']:.3f} [{r['win_rate_ci_low']:.3f}, {r['win_rate_ci_high']:.3f}]"
            for r in history
            if "win_rate" in r and r["step"] in epoch_at
        }
    return pd.DataFrame(runs).T


def table3_pairs(names: list[str]) -> list[tuple[str, str]]:
    """The study's Table 3 comparisons among the models present."""
    last = [n for n in names if n.startswith("selfimprove")][-1:]
    wanted = [("rsdpo3", "dpo")] + [(n, "dpo") for n in last] + [(n, "rsdpo3") for n in last]
    return [(a, b) for a, b in wanted if a in names and b in names]


def summarise(
    out_dir: str | Path,
    figures_dir: str | Path,
    base_model: str = "embedded",
    n_eval_prompts: int = 64,
    max_new_tokens: int = 96,
    batch_size: int = 32,
    seed: int = 0,
) -> pd.DataFrame:
    """Write ``results.md``/``results.csv`` and the overview figure; return the win-rate table."""
    out_dir, figures_dir = Path(out_dir), Path(figures_dir)
    rows = data.subset(data.read_jsonl(out_dir / "data" / "eval_prompts.jsonl"), n_eval_prompts, seed)
    prompts = [r["prompt"] for r in rows]
    judge = evaluation.make_judge("verifiable", rows)
    paths = model_paths(out_dir, base_model)
    answers = {
        n: evaluation.answers_of(p, prompts, out_dir / "responses", max_new_tokens, batch_size, seed)
        for n, p in paths.items()
    }
    scores = {n: judge.score(prompts, a) for n, a in answers.items()}
    names = list(paths)
    vs_base = evaluation.compare(scores, [(n, "base") for n in names[1:]], seed=seed)
    vs_each = evaluation.compare(scores, [(a, b) for a, b in itertools.combinations(names[1:], 2)][::-1], seed=seed)
    table = pd.DataFrame([r.as_row() for r in vs_base + vs_each])
    table3 = evaluation.compare(scores, table3_pairs(names), seed=seed)
    table2_runs = table2(
        {p.parent.name: json.loads(p.read_text()) for p in sorted(out_dir.glob("checkpoints/rsdpo*/history.json"))}
    )
    accuracy = pd.DataFrame(
        {n: {k: v for k, v in judges.evaluate(rows, a).items() if isinstance(v, float)} for n, a in answers.items()}
    ).T
    out_dir.mkdir(parents=True, exist_ok=True)
    table.to_csv(out_dir / "results.csv", index=False)
    accuracy.to_csv(out_dir / "results_ifeval_accuracy.csv")
    table2_runs.to_csv(out_dir / "results_table2.csv")
    pd.DataFrame([r.as_row() for r in table3]).to_csv(out_dir / "results_table3.csv", index=False)
    text = [
        "# Results",
        "",
        f"Held-out demo prompts: n = {len(prompts)} (seed {seed}), greedy answers of at most "
        f"{max_new_tokens} new tokens, verifiable (IFEval-style) judge; a win counts 1, a tie ½, a loss 0; "
        "95% bootstrap CI over prompts.",
        "",
        "## Every model vs the base model",
        "",
        winrate.to_markdown(vs_base),
        "",
        "## Models vs each other",
        "",
        winrate.to_markdown(vs_each) if vs_each else "(one model only)",
        "",
        "## IFEval-style accuracy on the same prompts",
        "",
        accuracy.round(3).to_markdown(),
        "",
        "## Table 2: RS-DPO vs DPO during training (notebook 05's monitor prompts)",
        "",
        table2_runs.to_markdown() if len(table2_runs) else "(no RS-DPO runs)",
        "",
        "## Table 3 (on the prompts above)",
        "",
        winrate.to_markdown(table3) if table3 else "(models missing)",
        "",
    ]
    from .files import atomic_write_text

    atomic_write_text(out_dir / "results.md", "\n".join(text))
    if vs_base:
        plots.win_rate_bars(
            [{"name": r.model, "rate": r.rate, "ci_low": r.ci_low, "ci_high": r.ci_high} for r in vs_base],
            figures_dir / "win_rate_overview.png",
            f"win rate vs the base model (n={len(prompts)})",
        )
    return table


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir", nargs="?", default="runs/main")
    ap.add_argument("--figures", default="figures")
    ap.add_argument("--base-model", default="embedded")
    ap.add_argument("--n-eval-prompts", type=int, default=64)
    ap.add_argument("--max-new-tokens", type=int, default=96)
    args = ap.parse_args(argv)
    summarise(args.out_dir, args.figures, args.base_model, args.n_eval_prompts, args.max_new_tokens)
    print((Path(args.out_dir) / "results.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
