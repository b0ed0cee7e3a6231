"""IFEval's four accuracies of a checkpoint, in a notebook or from the command line.

``python -m sfdpo_helpers.evaluation MODEL PROMPTS.jsonl [--n N]`` prints a checkpoint's prompt- and
instruction-level, strict and loose accuracy on IFEval-schema prompts (e.g. the real IFEval prompts of
``../shared/data/ifeval/ifeval_dev.jsonl``), with answers cached in resumable shards, and beside them
``unrequested_formats``: the share of answers that open with a quote, are JSON or are all lowercase when the
prompt does not ask for it (:func:`formats.unrequested_format_shares`).
"""

from __future__ import annotations

import json

from .answers import model_answers
from .formats import unrequested_format_shares


def ifeval_report(
    model_path: str, rows: list[dict], cache_dir, max_new_tokens: int = 256, batch_size: int = 32,
    precision: str = "auto",
) -> dict:  # fmt: skip
    """IFEval's four accuracies of a model (greedy decoding, the model's own chat template, in ``precision``:
    "auto" as in training, "no" for fp32), as :func:`judges.evaluate` returns them, and under
    ``unrequested_formats`` the shares of :func:`formats.unrequested_format_shares` on the same answers."""
    from .judges import evaluate

    prompts = [r["prompt"] for r in rows]
    answers = model_answers(model_path, prompts, cache_dir, max_new_tokens, batch_size, precision=precision)
    return {**evaluate(rows, answers), "unrequested_formats": unrequested_format_shares(rows, answers)}


def main(argv: list[str] | None = None) -> int:
    """``python -m sfdpo_helpers.evaluation MODEL PROMPTS.jsonl``: IFEval's four accuracies of a checkpoint and
    its unrequested-format shares."""
    import argparse

    from . import data
    from .models import PRECISIONS, mixed_precision

    ap = argparse.ArgumentParser(
        description="IFEval-style accuracies of a model on a JSONL of IFEval-schema prompts "
        "(prompt, instruction_id_list, kwargs), e.g. ../shared/data/ifeval/ifeval_dev.jsonl"
    )
    ap.add_argument("model", help="a saved model folder, 'embedded', 'tiny' or a hub id")
    ap.add_argument("prompts", help="JSONL with prompt, instruction_id_list and kwargs columns")
    ap.add_argument("--n", type=int, default=None, help="score the first n prompts only (default: all)")
    ap.add_argument("--max-new-tokens", type=int, default=256)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--cache", default="runs/ifeval_answers", help="answers are cached here (resumable shards)")
    ap.add_argument("--precision", default="auto", choices=PRECISIONS, help="decoding precision (no: fp32)")
    args = ap.parse_args(argv)
    rows = data.read_jsonl(args.prompts)[: args.n]
    report = ifeval_report(args.model, rows, args.cache, args.max_new_tokens, args.batch_size, args.precision)
    summary = {k: v for k, v in report.items() if isinstance(v, (int, float))}
    summary["unrequested_formats"] = report["unrequested_formats"]
    settings = {"max_new_tokens": args.max_new_tokens, "precision": mixed_precision(args.precision)}
    print(json.dumps({"model": args.model, "prompts": args.prompts, **settings, **summary}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
