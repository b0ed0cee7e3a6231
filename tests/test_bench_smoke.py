"""The GPU check script runs end to end in its CPU smoke mode (the real measurement needs a GPU)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_check_cpu_smoke_mode():
    res = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "gpu_check.py"), "--cpu"], capture_output=True, text=True, timeout=300
    )
    assert res.returncode == 0, res.stderr[-2000:]
    for what in ("SFT ", "DPO ", "Sampling K=8"):
        assert what in res.stdout, res.stdout
