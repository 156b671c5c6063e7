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


def test_profile_steps_bare_loop_does_the_plain_calls_work():
    """bench/profile_step.py compares a plain diffusers call with its loop written out: the comparison
    means something only if the two make the same image from the same seed."""
    import numpy as np
    import torch

    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from profile_step import bare_loop
    finally:
        sys.path.remove(str(ROOT / "bench"))
    from aura_reflect.engine.loader import load_model

    from .helpers import settings_from_env

    pipe = load_model(settings_from_env(AURA_WARMUP="false")).text2img  # the embedded model
    plain = pipe(prompt=["a purple night sky"], width=64, height=64, num_inference_steps=4, guidance_scale=5.0,
                 generator=[torch.Generator("cpu").manual_seed(7)], output_type="np").images
    bare = bare_loop(pipe, "a purple night sky", 64, 64, 4, 5.0, 1, 7)
    assert plain.shape == bare.shape == (1, 64, 64, 3)
    assert np.abs(plain - bare).max() < 1e-4

    result = subprocess.run([sys.executable, "bench/profile_step.py", "--steps", "2", "--repeats", "1"], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    for part in ("plain diffusers call", "bare loop", "unet", "vae decode", "text encoder"):
        assert part in result.stdout


def test_the_gpu_end_to_end_table_runs_on_cpu_with_tiny_models():
    """bench/gpu_e2e.py is the one script a lent GPU runs for issue #15's table: keep it working."""
    result = subprocess.run([sys.executable, "bench/gpu_e2e.py", "--tiny", "--families", "sd15", "--ratios", "1:1", "4:5",
                             "--repeats", "1", "--requests", "4"], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    out = result.stdout
    for line in ("plain diffusers call, eager: SD 1.5 512²", "cold start to ready", "end to end over HTTP",
                 "first request after ready at every ratio × tier", "batching on:", "restart on the warm cache",
                 "batching off:", "batching on / off with 8 clients"):
        assert line in out, line


def test_the_training_step_benchmark_times_every_format():
    """bench/train_step.py times aura-tiny's training steps per numeric format (for the next run's choice)."""
    result = subprocess.run([sys.executable, "bench/train_step.py", "--repeats", "1"], cwd=ROOT, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line for line in result.stdout.splitlines() if "s/step" in line]
    assert len(rows) == 8  # two models × four formats
    assert all(float(row.split("s/step")[0].split()[-1]) > 0 for row in rows)
