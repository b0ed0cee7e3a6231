"""The main job: run the numbered notebooks in order with papermill, offline by default.

``python -m sfdpo_helpers.main`` executes ``notebooks/0*_*.ipynb`` with the run settings of a profile
(``--run offline``: embedded SmolLM2, shipped demo data; ``colab``; ``study``; or a YAML file of your
own) and writes executed notebooks to ``<out_dir>/executed/``, data, checkpoints and models under
``<out_dir>``, figures to ``figures/``, then the results summary ``<out_dir>/results.md``. It ends by
printing where those are and the study's headline comparisons (final vs base, DPO vs SFT, Tables 2 and 3).

``-p NAME VALUE`` changes a run setting (``-p base_model tiny``, ``-p dpo.lr 1e-6``) or a notebook
parameter (``-p beta 0.5``: every notebook that has it; on an ``out_dir`` with a finished run add
``-p resume False``, since a checkpoint resumes only its own run); ``--only 01 02`` runs a subset; ``--grid``
runs the chosen notebooks once per combination, e.g. the β × learning-rate sweep of DPO::

    python -m sfdpo_helpers.main --only 04 --grid beta=0.1,0.5 --grid dpo.lr=1e-4,4e-4
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import itertools
import json
import logging
import re
import sys
import time
from pathlib import Path

from . import settings

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
# The console shows each notebook's progress lines; everything else a notebook prints stays in its executed copy.
_PROGRESS = re.compile(
    r"^\s*(step \d+/\d+ |step=\d+ |\d+ examples, \d+ steps|Resumed from|.*: \d+/\d+ prompts sampled"
    r"|--- |round \d+:|run: |\S+ vs \S+: \d\.\d+ \[|weakest categories:)"
)


def notebook_paths(only: list[str] | None = None) -> list[Path]:
    if not NOTEBOOKS.is_dir():
        raise SystemExit(f"{NOTEBOOKS} not found: run the main job from a checkout of the kit (pip install -e .)")
    paths = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    return [p for p in paths if not only or p.name[:2] in only]


def _value(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _parameters(path: Path) -> dict:
    import papermill as pm

    return pm.inspect_notebook(str(path))


def split_overrides(cfg: settings.RunSettings, overrides: dict) -> tuple[settings.RunSettings, dict]:
    """Run settings (``name`` or ``stage.name``) go into the settings; the rest are notebook parameters."""
    run = dataclasses.asdict(cfg)
    story = {}
    for name, value in overrides.items():
        head, _, tail = name.partition(".")
        if head not in run:
            story[name] = value
        elif tail:
            run[head] = {**run[head], tail: value}
        else:
            run[head] = value
    return settings.load(run), story


def _progress_line(record: logging.LogRecord) -> bool:
    """Keep a notebook's progress lines (a record may hold several lines of output), nothing else."""
    kept = [line.strip() for line in str(record.msg).splitlines() if _PROGRESS.match(line)]
    record.msg, record.args = "\n  | ".join(kept), ()
    return bool(kept)


def _log_notebook_output() -> None:
    """papermill logs the notebooks' output at INFO: show their progress lines, indented; the rest of what
    a notebook prints (tables, warnings, figures) is in its executed copy."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("  | %(message)s"))
    handler.addFilter(_progress_line)
    log = logging.getLogger("papermill")
    if not log.handlers:
        log.addHandler(handler)
    log.setLevel(logging.INFO)


def run_notebooks(
    cfg: settings.RunSettings,
    story: dict | None = None,
    only: list[str] | None = None,
    executed_dir: Path | None = None,
) -> list[tuple[str, float]]:
    """Execute the notebooks in order with ``run`` = these settings; stop at the first failure."""
    import papermill as pm

    _log_notebook_output()
    executed = Path(executed_dir or cfg.out / "executed")
    executed.mkdir(parents=True, exist_ok=True)
    paths = notebook_paths(only)
    accepted = {p: _parameters(p) for p in notebook_paths()}
    unknown = sorted(set(story or {}) - {k for a in accepted.values() for k in a})
    if unknown:
        raise settings.ParameterError(f"unknown parameter(s) {unknown}: neither a run setting nor a notebook parameter")
    timings = []
    for path in paths:
        params = {"run": dataclasses.asdict(cfg), **{k: v for k, v in (story or {}).items() if k in accepted[path]}}
        print(f"\n=== {path.name}  {({k: v for k, v in params.items() if k != 'run'}) or ''}", flush=True)
        start = time.time()
        pm.execute_notebook(
            str(path),
            str(executed / path.name),
            parameters=params,
            cwd=str(NOTEBOOKS),
            log_output=True,
            progress_bar=False,
            kernel_name="python3",
            extra_arguments=["--IPKernelApp.log_level=ERROR"],  # no kernel start-up warning per notebook
        )
        timings.append((path.name, time.time() - start))
        print(f"=== {path.name} done in {timings[-1][1]:.0f} s", flush=True)
    return timings


def run_grid(cfg: settings.RunSettings, story: dict, grid: dict[str, list], only: list[str]) -> list[tuple[str, float]]:
    """The chosen notebooks once per combination of ``grid``; each run saves its model as ``sweep_...``
    (notebooks with a ``run_name`` parameter) and its figures under ``figures/sweep/``; then the loss and
    margin curves of all combinations on one chart each."""
    from . import plots

    timings, histories = [], {}
    for values in itertools.product(*grid.values()):
        combo = dict(zip(grid, values))
        name = "sweep_" + "_".join(f"{k.split('.')[-1]}{v}" for k, v in combo.items())
        run_cfg, extra = split_overrides(cfg, combo)
        run_cfg = settings.load({**dataclasses.asdict(run_cfg), "figures_dir": str(cfg.figures / "sweep" / name)})
        named = {"run_name": name} if any("run_name" in _parameters(p) for p in notebook_paths(only)) else {}
        timings += run_notebooks(run_cfg, {**story, **extra, **named}, only, cfg.out / "executed" / name)
        history = cfg.out / "checkpoints" / name / "history.json"
        if history.exists():
            histories[", ".join(f"{k}={v}" for k, v in combo.items())] = json.loads(history.read_text())
    for key in ("loss", "rewards/margins"):
        if histories:
            plots.overlay(
                histories, key, cfg.figures / f"sweep_{key.split('/')[-1]}.png", f"{key} by {', '.join(grid)}"
            )
    return timings


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it lies under it (what a reader can paste)."""
    path = Path(path).resolve()
    return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)


def closing_report(
    timings: list[tuple[str, float]], total_s: float, out: Path, figures: Path, headline: str | None
) -> str:
    """The main job's last words: the time of each notebook, where the results, figures and executed notebooks
    are, and the headline table of the results summary (``headline``: None when no summary was made)."""
    lines = ["", "Main job finished:"]
    lines += [f"  {name:28s} {seconds:7.0f} s" for name, seconds in timings]
    lines += [
        f"  {'total':28s} {total_s:7.0f} s",
        "",
        f"  results             {_shown(out / 'results.md')} (+ results*.csv)",
        f"  figures             {_shown(figures)}/",
        f"  executed notebooks  {_shown(out / 'executed')}/",
        f"  models              {_shown(out / 'models')}/",
        "",
    ]
    if headline is None:
        return "\n".join(lines + ["No results summary in this run (--no-summary, --grid, or no trained model)."])
    return "\n".join(lines + ["Headline comparisons (win rate, ties ½, 95% bootstrap CI over the prompts):", headline])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", default="offline", help="run settings: offline, colab, study or a YAML file")
    ap.add_argument("--only", nargs="*", help="notebook numbers to run, e.g. 01 02")
    ap.add_argument("--no-summary", action="store_true", help="skip the results summary at the end")
    ap.add_argument(
        "-p",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="a run setting (name or stage.name) or a notebook parameter (Python literal or string)",
    )
    ap.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="NAME=V1,V2",
        help="run the notebooks once per value (several --grid: every combination)",
    )
    args = ap.parse_args(argv)
    cfg, story = split_overrides(settings.load(args.run), {k: _value(v) for k, v in args.p})
    grid = {k: [_value(v) for v in vs.split(",")] for k, _, vs in (g.partition("=") for g in args.grid)}
    start = time.time()
    timings = run_grid(cfg, story, grid, args.only) if grid else run_notebooks(cfg, story, args.only)
    headline = None
    if not args.no_summary and not grid and (cfg.out / "models").is_dir():
        from .results import headline_from_files, summarise

        print("\n=== results summary (every model vs the base and vs each other)", flush=True)
        summarise(cfg)
        headline = headline_from_files(cfg.out)
    print(closing_report(timings, time.time() - start, cfg.out, cfg.figures, headline))
    return 0


if __name__ == "__main__":
    sys.exit(main())
