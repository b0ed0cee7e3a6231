"""scripts/headline_ranges.py: each headline's value per run and its range, win rates oriented as named."""

import importlib.util
from pathlib import Path

import pandas as pd

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "headline_ranges.py"
spec = importlib.util.spec_from_file_location("headline_ranges", SCRIPT)
headline_ranges = importlib.util.module_from_spec(spec)
spec.loader.exec_module(headline_ranges)


def write_run(folder: Path, dpo_vs_sft: float, sft_vs_dpo_stored: bool, diff: float) -> Path:
    folder.mkdir()
    model, baseline, rate = ("sft", "dpo", 1 - dpo_vs_sft) if sft_vs_dpo_stored else ("dpo", "sft", dpo_vs_sft)
    pd.DataFrame([{"model": "sft", "baseline": "base", "win_rate": 0.6},
                  {"model": model, "baseline": baseline, "win_rate": rate}]).to_csv(folder / "results.csv")  # fmt: skip
    pd.DataFrame([{"model": "dpo", "baseline": "sft", "mean": diff, "accuracy_a": 0.5, "accuracy_b": 0.4}]).to_csv(
        folder / "results_paired.csv"
    )
    return folder


def test_values_per_run_and_the_range(tmp_path, capsys):
    a = write_run(tmp_path / "seed1", 0.55, False, 0.03)
    b = write_run(tmp_path / "seed2", 0.62, True, 0.07)  # stored as sft vs dpo: read as 1 − 0.38
    assert headline_ranges.headline_values(b)["dpo", "sft"]["win"] == 0.62
    assert headline_ranges.main([str(a), str(b)]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("| dpo vs sft"))
    assert row == "| dpo vs sft | 0.550 / +0.030 | 0.620 / +0.070 | 0.550 to 0.620 | +0.030 to +0.070 |"
