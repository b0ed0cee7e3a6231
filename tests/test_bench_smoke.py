"""bench/gpu_check.py runs end to end in its CPU smoke mode (the real measurement needs a GPU): every variant
line and ratio line is printed, the variants agree on the first step's loss, and the script runs on a machine
without ``datasets`` / ``trl``."""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "bench" / "gpu_check.py"
LINE = re.compile(r"^(SFT|DPO) (fixed|smoltalk)\s+(.+?)\s+([\d,]+) tok/s .* first-step loss (\S+)$", re.M)
HAS_TRL = all(importlib.util.find_spec(m) is not None for m in ("trl", "datasets"))


def run(argv: list[str]) -> str:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    res = subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    return res.stdout


def measured(out: str) -> dict:
    return {(task, load, name): float(loss) for task, load, name, _, loss in LINE.findall(out)}


def test_gpu_check_cpu_smoke_mode_prints_every_variant_and_ratio():
    out = run([sys.executable, str(SCRIPT), "--cpu"])
    lines = measured(out)
    sft = ["sfdpo padded", "sfdpo packed", "sfdpo packed + torch fused CE", "HF plain"]
    dpo = ["sfdpo padded", "sfdpo packed", "HF plain"]
    if HAS_TRL:
        sft, dpo = sft + ["TRL SFTTrainer"], dpo + ["TRL DPOTrainer"]
    for load in ("fixed", "smoltalk"):
        expected = {("SFT", load, v) for v in sft} | {("DPO", load, v) for v in dpo}
        assert expected <= lines.keys(), out
        for task in ("SFT", "DPO"):  # same weights, same ids: the first-step losses agree
            losses = [v for (t, w, _), v in lines.items() if (t, w) == (task, load)]
            assert max(losses) - min(losses) < 1e-3, (task, load, losses)
            for name in sft if task == "SFT" else dpo:
                if name != "HF plain":
                    assert f"ratio {task} {load} {name} / HF plain: speed " in out, out
        trl_ratio = f"ratio DPO {load} sfdpo packed / TRL DPOTrainer: "
        assert trl_ratio + ("speed " if HAS_TRL else "n/a") in out, out
    assert "Sampling K=8" in out and "Liger" in out


def test_gpu_check_runs_without_datasets_and_trl():
    blocked = (
        "import runpy, sys; sys.modules['datasets'] = None; sys.modules['trl'] = None; "
        f"sys.argv = [{str(SCRIPT)!r}, '--cpu']; runpy.run_path({str(SCRIPT)!r}, run_name='__main__'); "
        "assert 'datasets' not in [m.split('.')[0] for m, v in sys.modules.items() if v is not None]"
    )
    out = run([sys.executable, "-c", blocked])
    assert "TRL: not importable, skipped" in out
    assert "ratio DPO smoltalk sfdpo packed / TRL DPOTrainer: n/a (TRL DPOTrainer skipped)" in out
    assert ("SFT", "smoltalk", "sfdpo packed") in measured(out)


def test_cpu_precision_bench_prints_both_precisions_and_the_ratios():
    argv = ["--model", "tiny", "--repeats", "1", "--rows", "2", "--tokens", "16", "--prompts", "2", "--new-tokens", "3"]
    out = run([sys.executable, str(ROOT / "bench" / "cpu_precision.py"), *argv])
    for task in ("train", "decode"):
        assert re.search(rf"^{task}\s+no\s*:.*\n{task}\s+bf16:.*\n{task}\s+bf16 / fp32 speed: [\d.]+x$", out, re.M), out
