"""The results summary of a run: every model against the base and against each other.

:func:`summarise` looks at ``out_dir/models/*`` (plus the base model), answers the same held-out
prompts with each (cached answers from the notebooks are reused), judges them with the run's judge,
and writes

* ``out_dir/results.md`` and ``results.csv``: win rate of every model vs the base and vs every other
  model (n, ties, 95% CI, decisive share, sign test), and, on IFEval-style prompts, each model's
  IFEval accuracies (``results_ifeval_accuracy.csv``) and unrequested formats
  (``results_unrequested_formats.csv``: the share of answers that open with a quote, are JSON or are all
  lowercase when the prompt does not ask for it, :mod:`.formats`);
* the study's Table 2 (``results_table2.csv``: RS-DPO vs DPO at each judged fraction of an epoch, read
  from notebook 05's training histories) and Table 3 (``results_table3.csv``: RS-DPO3 vs DPO, the last
  self-improved model vs DPO and vs RS-DPO3, on the summary's prompts);
* ``results_headline.csv``: the study's headline comparisons (final model vs base, DPO vs SFT, Table 2's
  RS-DPO vs DPO, Table 3), the table the main job prints last;
* ``figures/win_rate_overview.png``: win rate of every model vs the base.

``results.md`` opens with how it was made: the machine (GPU name or CPU model, cores, OS), the torch and
transformers versions, the resolved precision, the date and the run's profile, so that a copy of the page
describes itself. ``python -m sfdpo_helpers.results [--run PROFILE_OR_FILE] [--out DIR] [--publish DIR]``
runs it alone (``--publish docs/offline_run`` copies the page and the figures it names there); the main
job runs it at the end.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import itertools
import json
import os
import platform
import shutil
from pathlib import Path

import pandas as pd

from . import changes, data, explorer, formats, judges, models, pipeline, plots, published, settings, winrate
from .files import atomic_write_text

# Figures of a run that a published results page carries beside it (written to cfg.figures by the summary,
# notebook 04 and notebook 07).
PUBLISHED_FIGURES = [
    "win_rate_overview.png",
    "04_dpo_vs_dpop_chosen_reward.png",
    "07_answer_lengths.md",
    "07_what_limits_it.md",
]
HEADLINE_COLUMNS = ["comparison", "model", "vs", "win rate", "95% CI", "W / T / L", "n"]
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


def final_model(models: list[str]) -> str | None:
    """The end of the pipeline among ``models`` (pipeline order): the last self-improved model, else the last one."""
    improved = [n for n in models if n.startswith("selfimprove")]
    return (improved or models or [None])[-1]


def oriented(table: pd.DataFrame, model: str, baseline: str) -> dict | None:
    """``model`` vs ``baseline`` from a win-rate table (columns as :meth:`winrate.WinRate.as_row`), read from
    whichever side the table holds: a row of ``baseline`` vs ``model`` gives win rate 1 − r, the mirrored
    interval and wins and losses swapped. None when the table has neither."""
    if table.empty:
        return None
    same = table[(table.model == model) & (table.baseline == baseline)]
    if len(same):
        return same.iloc[0].to_dict()
    other = table[(table.model == baseline) & (table.baseline == model)]
    if not len(other):
        return None
    r = other.iloc[0].to_dict()
    return {**r, "model": model, "baseline": baseline, "win_rate": 1 - r["win_rate"], "ci_low": 1 - r["ci_high"],
            "ci_high": 1 - r["ci_low"], "wins": r["losses"], "losses": r["wins"]}  # fmt: skip


def headline_comparisons(table: pd.DataFrame, table3: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The study's headline comparisons, formatted as the summary's tables print them: the final model vs the
    base, DPO vs SFT, every RS-DPO model vs DPO (Table 2's end of training: the same saved models on the same
    prompts) and Table 3's rows. ``table`` is the summary's win-rate table (``results.csv``), ``table3`` its
    Table 3 (``results_table3.csv``). Returns the table and the comparisons this run lacks (e.g. no DPO model)."""
    trained = [] if table.empty else list(table[table.baseline == "base"].model)
    wanted = [("final vs base", final_model(trained), "base"), ("DPO vs SFT", "dpo", "sft")]
    wanted += [("Table 2", n, "dpo") for n in trained if n.startswith("rsdpo")]
    wanted += [("Table 3", a, b) for a, b in zip(table3.get("model", []), table3.get("baseline", []))]
    rows, missing = {}, []
    for label, model, baseline in wanted:
        if (model, baseline) in rows:
            rows[model, baseline]["comparison"] += f", {label}"
            continue
        r = None if model is None else oriented(table3, model, baseline) or oriented(table, model, baseline)
        if r is None:
            missing.append(f"{label} ({model} vs {baseline})")
            continue
        rows[model, baseline] = {
            "comparison": label,
            "model": model,
            "vs": baseline,
            "win rate": f"{r['win_rate']:.3f}",
            "95% CI": f"[{r['ci_low']:.3f}, {r['ci_high']:.3f}]",
            "W / T / L": f"{int(r['wins'])} / {int(r['ties'])} / {int(r['losses'])}",
            "n": str(int(r["n"])),
        }
    return pd.DataFrame(list(rows.values()), columns=HEADLINE_COLUMNS), missing


def headline_markdown(headline: pd.DataFrame, missing: list[str]) -> str:
    """The headline table in Markdown, with the comparisons the run lacks named under it."""
    text = headline.to_markdown(index=False, disable_numparse=True) if len(headline) else "(no comparison)"
    return text + (f"\n\nNot in this run: {'; '.join(missing)}." if missing else "")


def headline_from_files(out: Path) -> str:
    """The headline table of the summary written in ``out`` (``results.csv``, ``results_table3.csv``)."""
    frames = []
    for name in ("results.csv", "results_table3.csv"):
        try:
            frames.append(pd.read_csv(out / name))
        except pd.errors.EmptyDataError:  # no comparison of that kind in this run
            frames.append(pd.DataFrame())
    return headline_markdown(*headline_comparisons(*frames))


def machine_description() -> dict[str, str]:
    """What the results depend on besides the settings: accelerator or CPU model, cores, OS, library versions."""
    import torch
    import transformers

    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [
            line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if torch.cuda.is_available():
        gpu = f"{torch.cuda.device_count()} × {torch.cuda.get_device_name(0)}"
    else:
        gpu = "none"
    return {
        "gpu": gpu,
        "cpu": f"{cpu}, {usable} usable cores of {os.cpu_count()}, torch threads {torch.get_num_threads()}",
        "os": platform.platform(),
        "versions": f"Python {platform.python_version()}, torch {torch.__version__}, "
        f"transformers {transformers.__version__}",
    }


def run_description(cfg: settings.RunSettings, machine: dict[str, str], when: datetime.datetime) -> list[str]:
    """The header lines of a results page: when, the profile and its changed settings, the machine and the
    resolved precision (:func:`models.mixed_precision` of the run's ``mixed_precision``)."""
    changed = {k: v for k, v in cfg.changed().items() if k not in ("out_dir", "figures_dir")}
    precision = models.mixed_precision(cfg.mixed_precision)
    return [
        f"- made: {when:%Y-%m-%d %H:%M} UTC by the results summary (`python -m sfdpo_helpers.results`, the end of "
        "the main job) from the run's models; answers the notebooks cached are reused, missing ones generated here",
        f"- settings: profile `{cfg.profile}`, changed: {changed or 'nothing'}",
        f"- precision: {precision} (`mixed_precision: {cfg.mixed_precision}` resolved on this machine)",
        f"- GPU: {machine['gpu']}; CPU: {machine['cpu']}",
        f"- OS: {machine['os']}; {machine['versions']}",
    ]


def publish(cfg: settings.RunSettings, dest: Path) -> list[str]:
    """Copy the run's ``results.md`` and :data:`PUBLISHED_FIGURES` to ``dest`` (e.g. ``docs/offline_run``), the
    page with links to the copies; return the figures the run lacks (not copied, listed on the page)."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    found = [n for n in PUBLISHED_FIGURES if (cfg.figures / n).exists()]
    missing = [n for n in PUBLISHED_FIGURES if n not in found]
    for name in found:
        shutil.copyfile(cfg.figures / name, dest / name)
    links = [f"- [{n}]({n})" for n in found] + [f"- {n}: not written by this run" for n in missing]
    notebooks = published.copy_executed_notebooks(cfg.out / "executed", dest / "notebooks")
    links += ["", "Executed notebooks of this run (outputs, figures, the explorers' first views):", ""]
    links += [f"- [{n}](notebooks/{n})" for n in notebooks] or ["- none: the run kept no executed notebooks"]
    page = (cfg.out / "results.md").read_text().rstrip("\n")
    made_by = f"Made by sfdpo {published.kit_version()}."
    atomic_write_text(dest / "results.md", "\n".join([page, "", made_by, "", "## Figures of this run", "", *links, ""]))
    return missing


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
    table3_rows = pd.DataFrame([r.as_row() for r in table3])
    table3_rows.to_csv(out / "results_table3.csv", index=False)
    headline = headline_comparisons(table, table3_rows)
    headline[0].to_csv(out / "results_headline.csv", index=False)
    compared = [(r["model"], r["vs"]) for _, r in headline[0].iterrows()]
    tasks = changes.task_scores(judge, prompts, answers)  # once per model, for every paired measure below
    paired = paired_differences(tasks, scores, compared, cfg.seed)
    paired.to_csv(out / "results_paired.csv", index=False)
    answer_tables = explorer.write_comparison_tables(judge, rows, answers, scores, compared, out / "tables")
    apart = changes.task_accuracy_apart(rows, tasks, compared)
    accuracy = _ifeval_accuracy(rows, answers)
    if accuracy is not None:
        accuracy.to_csv(out / "results_ifeval_accuracy.csv")
    unrequested = unrequested_format_table(rows, answers)
    if unrequested is not None:
        unrequested.to_csv(out / "results_unrequested_formats.csv")
    header = run_description(cfg, machine_description(), datetime.datetime.now(datetime.UTC))
    tables = (accuracy, unrequested, table2_runs, table3)
    report = _report(cfg, len(prompts), header, headline, vs_base, vs_each, *tables)
    report += "\n" + "\n".join(paired_markdown(paired, answer_tables, out) + changes.task_accuracy_markdown(apart))
    atomic_write_text(out / "results.md", report)
    if vs_base:
        bars = [{"name": r.model, "rate": r.rate, "ci_low": r.ci_low, "ci_high": r.ci_high} for r in vs_base]
        plots.win_rate_bars(
            bars, cfg.figures / "win_rate_overview.png", f"win rate vs the base model (n={len(prompts)})"
        )
    return table


def paired_differences(tasks, scores, compared, seed: int = 0) -> pd.DataFrame:
    """The paired measures of each compared ``(model, baseline)`` (:func:`winrate.paired_difference`): the mean score
    difference with its paired-bootstrap CI and, with task scores (:func:`changes.task_scores`), both task accuracies
    and McNemar's test."""
    found = [winrate.paired_difference(scores[a], scores[b], tasks.get(a), tasks.get(b), seed=seed, model=a,
                                       baseline=b) for a, b in compared]  # fmt: skip
    return pd.DataFrame([vars(r) for r in found])


def paired_markdown(paired: pd.DataFrame, answer_tables: dict, out: Path) -> list[str]:
    """The results page's section on the paired measures and the answers tables."""
    if paired.empty:
        return []
    lines = ["## Paired measures on the same prompts", "",
             "Mean score difference (model − baseline) with a 95% paired bootstrap CI over prompts; with the gold "
             "reward also each model's task accuracy (share of answers right on their task) and McNemar's exact "
             "test on the prompts where exactly one of the two is right.", ""]  # fmt: skip
    table = pd.DataFrame(
        {
            "model": paired["model"],
            "vs": paired["baseline"],
            "mean difference": paired["mean"].map("{:+.3f}".format),
            "95% CI": [f"[{lo:+.3f}, {hi:+.3f}]" for lo, hi in zip(paired["ci_low"], paired["ci_high"])],
            "task accuracy": [f"{a:.3f} vs {b:.3f}" for a, b in zip(paired["accuracy_a"], paired["accuracy_b"])],
            "only model / only vs right": [
                f"{a} / {b}" for a, b in zip(paired["only_a_right"], paired["only_b_right"])
            ],
            "McNemar p": paired["mcnemar_p"].map("{:.3g}".format),
            "n": paired["n"],
        }
    )
    lines += [table.to_markdown(index=False, disable_numparse=True), "", "Every answer of each comparison, with "
              "both scores and the judge's breakdown, one CSV each (`pandas.read_csv`):", ""]  # fmt: skip
    lines += [f"- {a} vs {b}: `{path.relative_to(out)}`" for (a, b), path in answer_tables.items()]
    return lines + [""]


def _ifeval_accuracy(rows: list[dict], answers: dict[str, list[str]]) -> pd.DataFrame | None:
    """IFEval's four accuracies of every model, when the prompts carry IFEval instructions."""
    if not all(r.get("instruction_id_list") for r in rows):
        return None
    return pd.DataFrame(
        {n: {k: v for k, v in judges.evaluate(rows, a).items() if isinstance(v, float)} for n, a in answers.items()}
    ).T


def unrequested_format_table(rows: list[dict], answers: dict[str, list[str]]) -> pd.DataFrame | None:
    """Every model's unrequested-format shares (:func:`formats.unrequested_format_shares`: columns ``quoted``,
    ``json``, ``lowercase``, ``any``) and their denominators (``unasked_<format>``: the prompts that do not ask
    for that format), one row per model, when the prompts carry IFEval instructions (else None)."""
    if not all(r.get("instruction_id_list") for r in rows):
        return None
    table = {}
    for name, model_answers in answers.items():
        shares = formats.unrequested_format_shares(rows, model_answers)
        denominators = {f"unasked_{k}": v for k, v in shares["unasked"].items()}
        table[name] = {**{k: shares[k] for k in shares["unasked"]}, **denominators}
    return pd.DataFrame.from_dict(table, orient="index")


def unrequested_format_markdown(table: pd.DataFrame) -> list[str]:
    """The results page's section on unrequested formats: what is counted, the shares, the denominators."""
    unasked = table.filter(like="unasked_").iloc[0]
    counts = ", ".join(f"{k.removeprefix('unasked_')} {v}" for k, v in unasked.items())
    shares = table[[c for c in table.columns if not c.startswith("unasked_")]]
    over = [f"{m} ({f} {shares.at[m, f]:.3f} vs base {shares.at['base', f]:.3f})"
            for m in shares.index if m != "base" for f in shares.columns
            if "base" in shares.index and shares.at[m, f] > shares.at["base", f] + 0.05]  # fmt: skip
    verdict = (f"Above the target: {'; '.join(over)}." if over else "Every model meets the target.") if (
        "base" in shares.index) else "No base model: the target is not checked."  # fmt: skip
    return [
        "## Unrequested formats on the same prompts",
        "",
        "Share of answers that open with a double quote (`quoted`), are a JSON object or array (`json`) or are "
        "all lowercase (`lowercase`) among the prompts whose instructions do not ask for that format; `any`: "
        "answers showing at least one of them among the prompts that ask for none. The target: no model more "
        f"than 0.05 above the base. Prompts not asking: {counts}. {verdict}",
        "",
        table[[c for c in table.columns if not c.startswith("unasked_")]].round(3).to_markdown(),
        "",
    ]


def _report(cfg, n: int, header, headline, vs_base, vs_each, accuracy, unrequested, table2_runs, table3) -> str:
    mde = winrate.minimum_detectable_effect(n, sum(r.ties for r in vs_base) / max(1, sum(r.n for r in vs_base)))
    text = [
        "# Results",
        "",
        *header,
        "",
        f"Held-out prompts: n = {n} (seed {cfg.seed}), greedy answers of at most {cfg.max_new_tokens} new tokens, "
        f"judge `{cfg.judge}`; a win counts 1, a tie ½, a loss 0; 95% bootstrap CI over prompts; 'decisive' is the "
        f"share of prompts that were not ties and the sign test compares wins with losses. With n = {n} and the "
        f"observed share of ties, a win rate closer to ½ than ±{mde:.3f} goes undetected (α = 0.05, power 0.8).",
        "",
        "## Headline comparisons",
        "",
        headline_markdown(*headline),
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
    if unrequested is not None:
        text += unrequested_format_markdown(unrequested)
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
    ap.add_argument("--publish", default="", metavar="DIR", help="copy the page and its figures to DIR as well")
    args = ap.parse_args(argv)
    cfg = settings.load(args.run)
    if args.out:
        cfg = settings.load({**dataclasses.asdict(cfg), "out_dir": args.out})
    summarise(cfg)
    print((cfg.out / "results.md").read_text())
    if args.publish:
        missing = publish(cfg, Path(args.publish))
        skipped = f"; {len(missing)} figure(s) not written by this run: {', '.join(missing)}" if missing else ""
        print(f"published {Path(args.publish) / 'results.md'} and its figures{skipped}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
