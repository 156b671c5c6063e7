"""Cost of a palette (engine/palette.py) per image, on this machine's CPU, one core.

    python bench/palette.py            # 512x512 and 1024x1024: noise, a gradient, the studio screenshot

Noise and smooth gradients are the worst case for the clustering (every sampled pixel a different
colour); generated pictures have fewer distinct colours. Prints the median and p95 of 50 runs.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np
from PIL import Image

from aura_reflect.engine.palette import dominant_colours

SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "screenshots" / "studio-results.png"


def images(side: int) -> dict[str, Image.Image]:
    x = np.linspace(0, 255, side)
    gradient = np.stack(np.broadcast_arrays(x[None, :], x[:, None], 255 - x[None, :]), axis=-1).astype(np.uint8)
    noise = np.random.default_rng(0).integers(0, 256, (side, side, 3), dtype=np.uint8)
    out = {"noise": Image.fromarray(noise), "gradient": Image.fromarray(gradient)}
    if SCREENSHOT.is_file():
        out["screenshot"] = Image.open(SCREENSHOT).convert("RGB").resize((side, side))
    return out


def main() -> None:
    for side in (512, 1024):
        for name, image in images(side).items():
            dominant_colours(image)
            times = []
            for _ in range(50):
                started = time.perf_counter()
                dominant_colours(image)
                times.append((time.perf_counter() - started) * 1000)
            p95 = sorted(times)[int(0.95 * len(times)) - 1]
            print(f"{side}x{side} {name:<10} median {statistics.median(times):5.2f} ms   p95 {p95:5.2f} ms")


if __name__ == "__main__":
    main()
