"""Time per image of the few-step and compiled paths, on tiny SD 1.x / SDXL pipelines, in one run.

    python bench/fast_paths.py                  # CPU: tiny seeded pipelines at the standard tier
    python bench/fast_paths.py --no-compile     # skip the torch.compile rows (compilation takes minutes)

Every row loads through the engine's loader with the environment a user would set (SD_LCM_LORA_ID,
SD_LIGHTNING_UNET, TORCH_COMPILE) and runs the engine's own ``pipeline.generate``. The tiny models
have random weights: their speed ratios, not their images, are what this measures. Speed does not
depend on weight values, so a row's ratio to the default row carries over to real models of the
same shape only as far as the UNet dominates the time (it does on GPUs at real sizes).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

from aura_reflect.core.config import load_settings  # noqa: E402
from aura_reflect.engine import pipeline  # noqa: E402
from aura_reflect.engine.families import resolve_size  # noqa: E402
from aura_reflect.engine.loader import load_model  # noqa: E402
from aura_reflect.testing import save_tiny_lightning_unet, save_tiny_lora, save_tiny_pipeline  # noqa: E402


def settings(**env: str):
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return load_settings()
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)


def time_per_image(model, family: str, steps: int, images: int, repeats: int) -> float:
    width, height = resolve_size(family, "1:1", "standard")
    request = pipeline.GenerationRequest(
        "rainy neon city at night", width, height, steps=steps, guidance_scale=model.default_guidance,
        seeds=list(range(images)),
    )
    pipeline.generate(model, request)  # warm: first-call allocations (and compilation) excluded
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        pipeline.generate(model, request)
        times.append((time.perf_counter() - started) / images)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-compile", action="store_true")
    args = parser.parse_args()
    torch.manual_seed(0)

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        sd = str(save_tiny_pipeline(root / "tiny-sd", "sd"))
        sdxl = str(save_tiny_pipeline(root / "tiny-sdxl", "sdxl"))
        lora = str(save_tiny_lora(root / "lcm-lora-sd", "sd"))
        lightning = str(save_tiny_lightning_unet(root / "tiny_sdxl_lightning_4step_unet.safetensors"))
        rows = [
            ("SD 1.x, default scheduler (PNDM), CFG", "sd", {"SD_MODEL_ID": sd}, 20),
            ("SD 1.x + LCM-LoRA, LCMScheduler, no CFG", "sd", {"SD_MODEL_ID": sd, "SD_LCM_LORA_ID": lora}, 4),
            ("SDXL, default scheduler (Euler), CFG", "sdxl", {"SD_MODEL_ID": sdxl}, 20),
            ("SDXL-Lightning UNet, Euler trailing, no CFG", "sdxl", {"SD_MODEL_ID": sdxl, "SD_LIGHTNING_UNET": lightning}, 4),
        ]
        variants = [("eager", {})] + ([] if args.no_compile else [("compiled", {"TORCH_COMPILE": "1"})])
        print(f"device: cpu, {torch.get_num_threads()} threads, torch {torch.__version__}; "
              f"{args.images} images per call, median of {args.repeats}, standard tier 1:1")
        baseline: dict[str, float] = {}
        print(f"{'path':48s} {'mode':9s} {'steps':>5s} {'s/image':>9s} {'vs default':>11s} {'vs eager':>9s}")
        for label, family, env, steps in rows:
            eager = None
            for mode, extra in variants:
                model = load_model(settings(AURA_WARMUP="0", **env, **extra))
                seconds = time_per_image(model, family, steps, args.images, args.repeats)
                baseline.setdefault(family, seconds)
                eager = eager or seconds
                print(f"{label:48s} {mode:9s} {steps:5d} {seconds:9.4f} {baseline[family] / seconds:10.2f}× "
                      f"{eager / seconds:8.2f}×", flush=True)
                del model
                torch._dynamo.reset()


if __name__ == "__main__":
    main()
