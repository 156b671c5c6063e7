"""Channels-last against contiguous weights and activations: the plain pipeline call, A/B in one process.

    python bench/memory_format.py                       # the embedded model, 2 images, 1:1 standard
    SD_MODEL_ID=/tmp/v2-smoke python bench/memory_format.py --rounds 9

The model is loaded once through the engine's loader. Each round times one plain call in each
memory format (UNet and VAE switched with ``.to(memory_format=...)``), alternating which goes first,
so drift in the machine's speed falls on both; prints the median of each and the ratio, and the
largest pixel difference between the two formats' images from the same seed.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from aura_reflect.core.config import load_settings
from aura_reflect.engine.families import resolve_size
from aura_reflect.engine.loader import load_model

FORMATS = {"contiguous": torch.contiguous_format, "channels_last": torch.channels_last}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--prompt", default="a purple night sky over dark mountains")
    args = parser.parse_args()

    model = load_model(load_settings())
    pipe = model.text2img
    width, height = model.render_size("1:1", resolve_size(model.family, "1:1", "standard"))

    def call(name: str) -> tuple[float, np.ndarray]:
        for module in (pipe.unet, pipe.vae):
            module.to(memory_format=FORMATS[name])
        started = time.perf_counter()
        out = pipe(args.prompt, width=width, height=height, num_inference_steps=model.default_steps,
                   guidance_scale=model.default_guidance, num_images_per_prompt=args.images,
                   generator=torch.Generator("cpu").manual_seed(0), output_type="np").images
        return time.perf_counter() - started, out

    for name in FORMATS:  # warm-up, each format's kernels chosen once
        call(name)
    times: dict[str, list[float]] = {name: [] for name in FORMATS}
    images: dict[str, np.ndarray] = {}
    for round_ in range(args.rounds):
        order = list(FORMATS) if round_ % 2 == 0 else list(reversed(FORMATS))
        for name in order:
            seconds, images[name] = call(name)
            times[name].append(seconds)
    print(f"model: {model.name} on {model.device} ({str(model.dtype).removeprefix('torch.')}), "
          f"{torch.get_num_threads()} threads; {args.images} image(s) at {width}×{height}, "
          f"{model.default_steps} steps; median of {args.rounds} alternating rounds")
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, value in medians.items():
        print(f"  {name:14s} {value * 1000:8.1f} ms   (min {min(times[name]) * 1000:.1f})")
    print(f"  channels_last / contiguous: {medians['channels_last'] / medians['contiguous']:.3f}×")
    difference = np.abs(images["channels_last"] - images["contiguous"]).max() * 255
    print(f"  largest pixel difference between the formats: {difference:.2f} / 255")


if __name__ == "__main__":
    main()
