"""The benchmark scripts run (CI keeps them from rotting); their figures live in docs/benchmarks.md."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_benchmark_runs_on_cpu_with_tiny_configs():
    result = subprocess.run([sys.executable, "bench/gpu.py", "--tiny"], cwd=ROOT, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    for section in ("[sd15]", "[sdxl]", "[sdxl4]", "[batch]"):
        assert section in out
    assert "+ fused QKV projections" in out and "tiny preview VAE" in out
    assert "batch 8:" in out and "images/s" in out
