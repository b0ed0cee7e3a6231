"""The headline comparisons of several finished runs side by side, and each one's range: is a run normal?

    python scripts/headline_ranges.py runs/seed1 runs/seed2 runs/seed3 [--markdown]

Reads each run's ``results.csv`` (every model vs the base and vs each other: the win rates) and
``results_paired.csv`` (the paired reward difference, task accuracies, McNemar) as the results summary wrote them,
and prints one row per headline: each run's win rate and paired difference, then the range over the runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

HEADLINES = [("sft", "base"), ("dpo", "sft"), ("rsdpo1", "dpo"), ("rsdpo3", "dpo"), ("selfimprove1", "rsdpo3"),
             ("selfimprove1", "base")]  # fmt: skip


def headline_values(run: Path) -> dict[tuple[str, str], dict]:
    """(model, baseline) → win rate, paired mean difference and both task accuracies of one run."""
    wins = pd.read_csv(run / "results.csv")
    paired = pd.read_csv(run / "results_paired.csv")
    values = {}
    for model, vs in HEADLINES:
        w = wins[(wins["model"] == model) & (wins["baseline"] == vs)]
        flipped = wins[(wins["model"] == vs) & (wins["baseline"] == model)]  # the same comparison the other way
        win = float(w["win_rate"].iloc[0]) if not w.empty else float("nan")
        win = 1 - float(flipped["win_rate"].iloc[0]) if w.empty and not flipped.empty else win
        p = paired[(paired["model"] == model) & (paired["baseline"] == vs)]
        if win != win and p.empty:
            continue
        values[model, vs] = {
            "win": win,
            "diff": float(p["mean"].iloc[0]) if not p.empty else float("nan"),
            "acc": (float(p["accuracy_a"].iloc[0]), float(p["accuracy_b"].iloc[0])) if not p.empty else None,
        }
    return values


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path)
    args = ap.parse_args(argv)
    runs = {r: headline_values(r) for r in args.runs}
    print("| comparison | " + " | ".join(r.name for r in runs) + " | win-rate range | paired-difference range |")
    print("|---|" + "---|" * len(runs) + "---|---|")
    for key in HEADLINES:
        cells = [v.get(key) for v in runs.values()]
        shown = [" / ".join(f"{x:{f}}" for x, f in ((c["win"], ".3f"), (c["diff"], "+.3f")) if x == x) if c else ""
                 for c in cells]  # fmt: skip
        wins = [c["win"] for c in cells if c and c["win"] == c["win"]]
        diffs = [c["diff"] for c in cells if c and c["diff"] == c["diff"]]
        win_range = f"{min(wins):.3f} to {max(wins):.3f}" if wins else ""
        diff_range = f"{min(diffs):+.3f} to {max(diffs):+.3f}" if diffs else ""
        print(f"| {key[0]} vs {key[1]} | " + " | ".join(shown) + f" | {win_range} | {diff_range} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
