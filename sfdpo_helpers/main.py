"""The main job: run the numbered notebooks in order with papermill, offline by default.

``python -m sfdpo_helpers.main`` executes ``notebooks/0*_*.ipynb`` (those that exist) with their
default parameters (embedded SmolLM2, shipped demo data), writing the executed notebooks to
``runs/main/executed/``, data, checkpoints and models under ``runs/main/``, and figures to
``figures/``. ``-p NAME VALUE`` passes a parameter to every notebook that takes it, e.g.
``-p model tiny`` for a smoke run; ``--only 01 02`` runs a subset. At the end it writes the results
summary ``runs/main/results.md`` (+ CSV) with every model's win rate against the base model and
against each other, and their IFEval-style accuracies.
"""

from __future__ import annotations

import argparse
import ast
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


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


def last_notebook_defaults() -> dict:
    """The default parameters of the last notebook (``07``): the summary judges the models on the same
    prompts with the same settings, so it reuses the answers the notebooks cached."""
    import papermill as pm

    return {k: _value(v["default"]) for k, v in pm.inspect_notebook(str(notebook_paths()[-1])).items()}


def run_notebooks(
    out_dir: Path, overrides: dict, only: list[str] | None = None, figures_dir: Path = ROOT / "figures"
) -> list[tuple[str, float]]:
    """Execute the notebooks in order; stop at the first failure (papermill names the cell)."""
    import logging

    import papermill as pm

    # papermill's log_output goes through its logger at INFO: show the notebooks' printed progress
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("  | %(message)s"))
    handler.addFilter(
        lambda record: (
            not str(record.msg).startswith(
                ("Executing", "Ending Cell", "Input Notebook", "Output Notebook", "Working directory")
            )
        )
    )
    log = logging.getLogger("papermill")
    if not log.handlers:
        log.addHandler(handler)
    log.setLevel(logging.INFO)
    out_dir = out_dir.resolve()
    executed = out_dir / "executed"
    executed.mkdir(parents=True, exist_ok=True)
    timings = []
    for path in notebook_paths(only):
        accepted = pm.inspect_notebook(str(path))
        params = {"out_dir": str(out_dir), "figures_dir": str(Path(figures_dir).resolve())}
        params.update(overrides)
        params = {k: v for k, v in params.items() if k in accepted}
        print(f"\n=== {path.name}  {params}", flush=True)
        start = time.time()
        pm.execute_notebook(
            str(path),
            str(executed / path.name),
            parameters=params,
            cwd=str(NOTEBOOKS),
            log_output=True,
            progress_bar=True,
            kernel_name="python3",
        )
        timings.append((path.name, time.time() - start))
        print(f"=== {path.name} done in {timings[-1][1]:.0f} s", flush=True)
    return timings


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(ROOT / "runs" / "main"), help="output folder (default runs/main)")
    ap.add_argument("--only", nargs="*", help="notebook numbers to run, e.g. 01 02")
    ap.add_argument("--no-summary", action="store_true", help="skip the results summary at the end")
    ap.add_argument(
        "-p",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="parameter for every notebook that has it (Python literal or string)",
    )
    args = ap.parse_args(argv)
    overrides = {k: _value(v) for k, v in args.p}
    start = time.time()
    timings = run_notebooks(Path(args.out), overrides, args.only)
    if not args.no_summary and (Path(args.out) / "models").is_dir():
        from .results import summarise

        print("\n=== results summary (every model vs the base and vs each other)", flush=True)
        settings = {**last_notebook_defaults(), **overrides}
        summarise(
            args.out,
            overrides.get("figures_dir", ROOT / "figures"),
            overrides.get("base_model", "embedded"),
            settings["n_eval_prompts"],
            settings["max_new_tokens"],
            settings["gen_batch_size"],
        )
        print((Path(args.out) / "results.md").read_text())
    print("\nMain job finished:")
    for name, seconds in timings:
        print(f"  {name:28s} {seconds:7.0f} s")
    print(f"  {'total':28s} {time.time() - start:7.0f} s   (executed notebooks in {Path(args.out) / 'executed'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
