"""Fit the latent → RGB factors that the engine's live previews use for aura-tiny's own VAE.

    python -m training.latent_rgb                       # refit the shipped model's factors (aura.json)
    python -m training.latent_rgb --model path/to/model # any diffusers folder with a VAE

The engine previews a running job by a linear map of its latents (``engine/previews.py``); Stable
Diffusion's VAEs have published factors, a VAE of ours gets its own: least squares from the world's
pictures' latents (scaled, as the pipelines denoise them) to the pictures averaged down to the latent
grid. ``train.py`` fits them at the end of every run; this command refits a model already trained.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from aura_reflect.engine.previews import LatentRGB

from . import world

SHIPPED = Path(__file__).resolve().parents[1] / "src" / "aura_reflect" / "models" / "aura-tiny"


def fit_latent_rgb(latents: torch.Tensor, images: torch.Tensor) -> tuple[LatentRGB, float]:
    """Factors and bias minimising the squared error from ``latents`` [N, C, h, w] to ``images``
    [N, 3, H, W] in [-1, 1] averaged down to h × w; returns them and the mean absolute error in
    8-bit levels."""
    latents, images = latents.double(), images.double()
    target = F.adaptive_avg_pool2d(images, latents.shape[-2:])
    x = latents.permute(0, 2, 3, 1).reshape(-1, latents.shape[1])
    x = torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype)], dim=1)
    y = target.permute(0, 2, 3, 1).reshape(-1, 3)
    solution = torch.linalg.lstsq(x, y).solution
    error = float(((x @ solution - y).abs().mean()) * 127.5)
    rows = solution.tolist()
    factors = tuple(tuple(round(v, 5) for v in row) for row in rows[:-1])
    bias = tuple(round(v, 5) for v in rows[-1])
    return LatentRGB(factors, bias), error  # type: ignore[arg-type]


@torch.no_grad()
def fit_model(folder: Path, scenes: int = 512, seed: int = 0) -> tuple[LatentRGB, float]:
    """Fit the factors of the model in ``folder`` on ``scenes`` pictures of the world at its native square."""
    from diffusers import AutoencoderKL

    card = json.loads((folder / "aura.json").read_text(encoding="utf-8"))
    width, height = card["native_sizes"]["1:1"]
    vae = AutoencoderKL.from_pretrained(folder / "vae", torch_dtype=torch.float32).eval()
    rng = random.Random(seed)
    pictures = np.stack([
        world.render(world.sample_scene(rng), width, height, seed=rng.randrange(2**31)) for _ in range(scenes)
    ])
    images = torch.from_numpy(pictures).permute(0, 3, 1, 2).float() * 2 - 1
    latents = torch.cat([vae.encode(chunk).latent_dist.mean for chunk in images.split(128)])
    return fit_latent_rgb(latents * vae.config.scaling_factor, images)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=SHIPPED)
    parser.add_argument("--scenes", type=int, default=512)
    args = parser.parse_args()
    mapping, error = fit_model(args.model, args.scenes)
    card_path = args.model / "aura.json"
    card = json.loads(card_path.read_text(encoding="utf-8"))
    card["latent_rgb"] = {**mapping.as_card(), "mean_abs_error_8bit": round(error, 2)}
    card_path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    print(f"latent_rgb for {args.model}: mean absolute error {error:.2f} / 255 → {card_path}")


if __name__ == "__main__":
    main()
