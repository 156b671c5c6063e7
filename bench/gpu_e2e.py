"""Issue #15's GPU table in one run: the compiled engine end to end over HTTP, against plain diffusers.

    python bench/gpu_e2e.py                      # on an NVIDIA GPU: SD 1.5 then SDXL (about 10 min, H100)
    python bench/gpu_e2e.py --families sd15      # one family
    python bench/gpu_e2e.py --tiny               # CPU: tiny models, compile off; checks the script runs (CI)

For each family, on the real architecture with random weights (bench/random_model.py, fp16; speed
does not depend on weight values), nothing downloaded:

1. *plain*: the diffusers pipeline loaded and called as any app does, eager, 1 image: median of 3.
2. *cold start*: `aura serve` with TORCH_COMPILE=1 on an empty AURA_COMPILE_CACHE: process start to a
   healthy /health, every shape compiled before ready (the engine's warm-up).
3. *end to end*: /generate over HTTP, 1 image, PNG out, median of 5, at each workload below.
4. *every ratio × tier*: the first request of each after ready, against the warm 1:1 request of
   the same tier (a shape compiled on a user's request would show as seconds, not a ratio near 1).
5. *batching*: 16 requests (``--requests``) from 8 concurrent clients, batching on (the engine's default).
6. *restart*: the same engine started again on the now warm cache with AURA_MAX_BATCH=1: time to
   healthy and the cache's hits and misses, then the same 8-client load with batching off.

Workloads and targets (issue #15): SD 1.5 512², 25 steps, CFG, ≤ 0.35 s and ≥ 3× plain; SDXL 1024²,
30 steps, CFG, ≤ 2.0 s; SDXL 1024², 4 steps, no CFG (the Lightning shape), ≤ 0.30 s; restart ≤ 60 s.
Each section prints as soon as it is measured, so a run cut short still leaves its figures.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import torch
from batching import measure
from engine_process import running_engine
from profile_step import median_seconds
from random_model import save_random_model

from aura_reflect.engine.families import ASPECT_RATIOS, TIERS, resolve_size


@dataclass(frozen=True)
class Workload:
    label: str
    ratio: str
    tier: str
    steps: int
    guidance: float
    target_s: float | None  # end to end, seconds
    target_vs_plain: float | None = None  # plain seconds / engine seconds, at least


WORKLOADS = {
    "sd15": [Workload("SD 1.5 512², 25 steps, CFG", "1:1", "standard", 25, 7.5, 0.35, 3.0)],
    "sdxl": [Workload("SDXL 1024², 30 steps, CFG", "1:1", "high", 30, 5.0, 2.0),
             Workload("SDXL 1024², 4 steps, no CFG", "1:1", "high", 4, 0.0, 0.30)],
}
FAMILY = {"sd15": "sd", "sdxl": "sdxl"}
RESTART_TARGET_S = 60.0


def plain_seconds(model: Path, family: str, work: Workload, tiny: bool, repeats: int = 3) -> float:
    """A plain diffusers call of the workload, as any diffusers app makes it (eager, fp16 on a GPU)."""
    from diffusers import DiffusionPipeline

    cuda = torch.cuda.is_available()
    pipe = DiffusionPipeline.from_pretrained(model, torch_dtype=torch.float16 if cuda else torch.float32,
                                             use_safetensors=True).to("cuda" if cuda else "cpu")
    pipe.set_progress_bar_config(disable=True)
    width, height = resolve_size(FAMILY[family], work.ratio, work.tier)
    steps = 2 if tiny else work.steps

    def call():
        pipe(prompt="a purple night sky over dark mountains", width=width, height=height, num_inference_steps=steps,
             guidance_scale=work.guidance, generator=torch.Generator("cpu").manual_seed(0))

    seconds = median_seconds(call, repeats, pipe.device)
    del pipe
    gc.collect()
    if cuda:
        torch.cuda.empty_cache()
    return seconds


def body(work: Workload, tiny: bool, ratio: str | None = None, tier: str | None = None, seed: int = 0) -> dict:
    return {"prompt": "a purple night sky over dark mountains", "aspectRatio": ratio or work.ratio, "temperature": 1,
            "resolution": tier or work.tier, "numImages": 1, "seed": seed,
            "config": {"steps": 2 if tiny else work.steps, "guidanceScale": work.guidance}}


def timed_post(client: httpx.Client, payload: dict) -> float:
    started = time.perf_counter()
    response = client.post("/generate", json=payload)
    seconds = time.perf_counter() - started
    response.raise_for_status()
    return seconds


def verdict(ok: bool | None) -> str:
    return "" if ok is None else ("  ✓ target met" if ok else "  ✗ target missed")


def report_fallbacks(opts: dict) -> None:
    """Say why an engine is not on its fast path: a failed compile serves eager, and an fp16 VAE
    that overflows decodes again in fp32 (random weights can do that), both slower."""
    if opts.get("compile_error"):
        print(f"  ! compile failed, the engine serves eager: {opts['compile_error']}", flush=True)
    if opts.get("fp32_redecodes") or opts.get("vae_upcast") is True:
        print(f"  ! the fp16 VAE overflowed: {opts.get('fp32_redecodes', 0)} images decoded again in fp32, "
              f"vae_upcast {opts.get('vae_upcast')}", flush=True)


def run_family(family: str, args, root: Path) -> None:
    model = root / family
    started = time.perf_counter()
    params = save_random_model(family, model, tiny=args.tiny)
    print(f"\n[{family}] random weights, {params / 1e6:.0f} M parameters, saved in "
          f"{time.perf_counter() - started:.0f} s", flush=True)

    plain = {}
    for work in WORKLOADS[family]:
        plain[work] = plain_seconds(model, family, work, args.tiny)
        print(f"  plain diffusers call, eager: {work.label}: {plain[work]:.3f} s", flush=True)

    cache = root / f"{family}-compile-cache"
    env = {"SD_MODEL_ID": str(model), "AURA_RATE_LIMIT": "0", "AURA_COMPILE_CACHE": str(cache),
           "TORCH_COMPILE": "0" if args.tiny else "1", "TORCH_COMPILE_MODE": args.compile_mode}
    if torch.cuda.is_available():
        env.update(SD_DEVICE="cuda", SD_PRECISION="fp16")
    with running_engine(env, timeout=args.start_timeout) as engine, \
            httpx.Client(base_url=engine.url, timeout=600) as client:
        opts = engine.health.get("optimizations", {})
        print(f"  cold start to ready: {engine.startup_seconds:.1f} s (compile {opts.get('compile')}, "
              f"{opts.get('compile_shapes', 0)} shapes in {opts.get('compile_seconds', 0)} s, "
              f"mode {opts.get('compile_mode')}, regional {opts.get('compile_regional')}, "
              f"dynamic {opts.get('compile_dynamic')}; {engine.health['device']}, {engine.health.get('dtype')})",
              flush=True)
        report_fallbacks(opts)
        for work in WORKLOADS[family]:
            timed_post(client, body(work, args.tiny))  # the first request after ready
            times = [timed_post(client, body(work, args.tiny, seed=i)) for i in range(args.repeats)]
            seconds = statistics.median(times)
            ratio = plain[work] / seconds
            ok = None if args.tiny or work.target_s is None else (
                seconds <= work.target_s and (work.target_vs_plain is None or ratio >= work.target_vs_plain))
            targets = f"target ≤ {work.target_s} s" + (f", ≥ {work.target_vs_plain}× plain" if work.target_vs_plain else "")
            print(f"  end to end over HTTP: {work.label}: median {seconds:.3f} s, {ratio:.2f}× plain "
                  f"({targets}){verdict(ok)}", flush=True)

        report_fallbacks(client.get("/health").json().get("optimizations", {}))

        work = WORKLOADS[family][0]
        print(f"  first request after ready at every ratio × tier ({work.label.split(',', 1)[1].strip()}):", flush=True)
        for tier in TIERS:
            warm = statistics.median(timed_post(client, body(work, args.tiny, "1:1", tier, i)) for i in range(3))
            firsts = {}
            for ratio in args.ratios:
                firsts[ratio] = timed_post(client, body(work, args.tiny, ratio, tier))
            worst = max(firsts, key=firsts.get)
            sizes = {r: resolve_size(FAMILY[family], r, tier) for r in firsts}
            print(f"    {tier:8s} warm 1:1 {warm:.3f} s; first requests: median {statistics.median(firsts.values()):.3f} s, "
                  f"slowest {worst} {sizes[worst][0]}×{sizes[worst][1]} {firsts[worst]:.3f} s "
                  f"({firsts[worst] / warm:.2f}× warm 1:1)", flush=True)

        bodies = [body(work, args.tiny, seed=i) for i in range(args.requests)]
        on_rate, on_p50, on_p95 = measure(engine.url, bodies, 8)
        print(f"  8 clients, {args.requests} requests, batching on:  {on_rate:.2f} images/s, p50 {on_p50:.3f} s, p95 {on_p95:.3f} s",
              flush=True)

    with running_engine({**env, "AURA_MAX_BATCH": "1"}, timeout=args.start_timeout) as engine:
        opts = engine.health.get("optimizations", {})
        report_fallbacks(opts)
        ok = None if args.tiny else engine.startup_seconds <= RESTART_TARGET_S
        print(f"  restart on the warm cache to ready: {engine.startup_seconds:.1f} s (cache hits "
              f"{opts.get('compile_cache_hits')}, misses {opts.get('compile_cache_misses')}; target ≤ "
              f"{RESTART_TARGET_S:.0f} s){verdict(ok)}", flush=True)
        off_rate, off_p50, off_p95 = measure(engine.url, bodies, 8)
        print(f"  8 clients, {args.requests} requests, batching off: {off_rate:.2f} images/s, p50 {off_p50:.3f} s, p95 {off_p95:.3f} s",
              flush=True)
        print(f"  batching on / off with 8 clients: {on_rate / off_rate:.2f}×", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--families", nargs="+", choices=sorted(WORKLOADS), default=["sd15", "sdxl"])
    parser.add_argument("--compile-mode", default="reduce-overhead", help="TORCH_COMPILE_MODE of the engine")
    parser.add_argument("--ratios", nargs="+", default=[r for r in ASPECT_RATIOS if r != "Auto"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--requests", type=int, default=16, help="of the 8-client batching load")
    parser.add_argument("--start-timeout", type=float, default=900, help="seconds a start may take (compiling)")
    parser.add_argument("--tiny", action="store_true", help="tiny models on the CPU, compile off (a check, not figures)")
    parser.add_argument("--workdir", type=Path, default=None, help="where models and caches go (default: a temp folder)")
    args = parser.parse_args()
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else f"CPU ({os.cpu_count()} cores)"
    print(f"{device}, torch {torch.__version__}; compile mode {args.compile_mode}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        root = args.workdir or Path(tmp)
        for family in args.families:
            run_family(family, args, root)


if __name__ == "__main__":
    main()
