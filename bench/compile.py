"""torch.compile's choices, measured: time to ready (cold, then restarted on the cache) and speed.

    python bench/compile.py                                   # the embedded model on this machine
    SD_MODEL_ID=/path/to/model SD_DEVICE=cuda python bench/compile.py --modes default reduce-overhead

For each choice (regional or whole-UNet compilation × dynamic shapes auto / off × mode), a fresh
process loads the model with TORCH_COMPILE=1 and an empty AURA_COMPILE_CACHE (cold: every served
shape compiled before ready), then a second fresh process loads it again on that cache (a restart).
Each process then times ``--runs`` generations at 1:1 with the model's defaults; one more process
times the same eagerly. Prints per choice: load to ready, cold and warm, the compile cache's hits
and misses, and seconds per generation with its ratio to eager.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile

# Runs in each child process: load as the engine does, then time generations.
CHILD = r"""
import json, statistics, sys, time
from aura_reflect.core.config import load_settings
from aura_reflect.engine import pipeline
from aura_reflect.engine.families import resolve_size
from aura_reflect.engine.loader import load_model

runs = int(sys.argv[1])
started = time.perf_counter()
model = load_model(load_settings())
ready = time.perf_counter() - started
output = resolve_size(model.family, "1:1", "standard")
width, height = model.render_size("1:1", output)
request = pipeline.GenerationRequest("a purple night sky over dark mountains", width, height, model.default_steps,
                                     model.default_guidance, seeds=[0, 1])
pipeline.generate(model, request)
times = []
for i in range(runs):
    request.seeds = [2 * i, 2 * i + 1]
    t0 = time.perf_counter()
    pipeline.generate(model, request)
    times.append(time.perf_counter() - t0)
print(json.dumps({"ready": ready, "per_call": statistics.median(times), "optimizations": model.optimizations}))
"""


def child(env: dict, runs: int) -> dict:
    result = subprocess.run([sys.executable, "-c", CHILD, str(runs)], env={**os.environ, **env},
                            capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        raise SystemExit(result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--modes", nargs="+", default=["default"])
    parser.add_argument("--regional", nargs="+", default=["1", "0"])
    parser.add_argument("--dynamic", nargs="+", default=["auto", "off"])
    args = parser.parse_args()

    eager = child({"TORCH_COMPILE": "0"}, args.runs)
    print(f"eager: ready in {eager['ready']:.1f} s, {eager['per_call']:.3f} s per call of 2 images")
    print(f"{'mode':16s} {'regional':>8s} {'dynamic':>7s} {'shapes':>6s} {'cold s':>7s} {'restart s':>9s} "
          f"{'hits/miss':>9s} {'s/call':>7s} {'vs eager':>8s}")
    for mode, regional, dynamic in itertools.product(args.modes, args.regional, args.dynamic):
        with tempfile.TemporaryDirectory() as cache:
            env = {"TORCH_COMPILE": "1", "TORCH_COMPILE_MODE": mode, "TORCH_COMPILE_REGIONAL": regional,
                   "TORCH_COMPILE_DYNAMIC": dynamic, "AURA_COMPILE_CACHE": cache}
            cold, warm = child(env, args.runs), child(env, args.runs)
        o = warm["optimizations"]
        if not o.get("compile"):
            print(f"{mode:16s} {regional:>8s} {dynamic:>7s}  compile failed: {o.get('compile_error')}")
            continue
        print(f"{mode:16s} {regional:>8s} {dynamic:>7s} {o['compile_shapes']:6d} {cold['ready']:7.1f} "
              f"{warm['ready']:9.1f} {o['compile_cache_hits']:>4d}/{o['compile_cache_misses']:<4d} "
              f"{warm['per_call']:7.3f} {eager['per_call'] / warm['per_call']:7.2f}×", flush=True)


if __name__ == "__main__":
    main()
