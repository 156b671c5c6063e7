"""Live previews: a running job's latents made visible without the VAE.

A diffusion model's latents are close to a linear function of the picture's colours at the latent
grid's resolution, so one 4×3 matrix and a bias turn them into a small RGB image at the cost of a
matrix product (no decoder, nothing on the device). The factors come per VAE family (published
ones for Stable Diffusion's two VAEs, fitted by least squares on their latents) or from a model's
own ``aura.json`` card (``latent_rgb``, fitted to its VAE when it is trained: ``training/latent_rgb.py``).

Previews are made on demand, when someone asks ``GET /jobs/{id}``: the denoising loop only keeps a
reference to its latest latents (no copy, no device synchronisation), so a job nobody watches pays
nothing and a watched one pays one small copy per poll, on the HTTP thread.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from .families import Family


@dataclass(frozen=True)
class LatentRGB:
    """``rgb = latents · factors + bias`` per latent pixel, in [-1, 1] (the VAE's pixel range)."""

    factors: tuple[tuple[float, float, float], ...]  # one (r, g, b) row per latent channel
    bias: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @classmethod
    def from_card(cls, card: dict) -> LatentRGB:
        """From an ``aura.json`` entry ``{"factors": [[r, g, b], ...], "bias": [r, g, b]}``."""
        factors = tuple(tuple(float(v) for v in row) for row in card["factors"])
        bias = tuple(float(v) for v in card.get("bias", (0.0, 0.0, 0.0)))
        if not factors or any(len(row) != 3 for row in factors) or len(bias) != 3:
            raise ValueError("latent_rgb needs one [r, g, b] row per latent channel and a [r, g, b] bias")
        return cls(factors, bias)  # type: ignore[arg-type]

    def as_card(self) -> dict:
        return {"factors": [list(row) for row in self.factors], "bias": list(self.bias)}


# Published least-squares factors for the two Stable Diffusion VAEs, on scaled latents (what the
# pipelines denoise), as used by ComfyUI's latent previews. SD 2.x shares SD 1.x's VAE.
FAMILY_LATENT_RGB: dict[Family, LatentRGB] = {
    "sd": LatentRGB(
        factors=((0.3512, 0.2297, 0.3227), (0.3250, 0.4974, 0.2350), (-0.2829, 0.1762, 0.2721),
                 (-0.2120, -0.2616, -0.7177)),
    ),
    "sdxl": LatentRGB(
        factors=((0.3651, 0.4232, 0.4341), (-0.2533, -0.0042, 0.1068), (0.1076, 0.1111, -0.0362),
                 (-0.3165, -0.2492, -0.2188)),
        bias=(0.1084, -0.0175, -0.0011),
    ),
}


def preview_images(latents: torch.Tensor, mapping: LatentRGB) -> list[Image.Image]:
    """One small RGB image (the latent grid's size) per latent in ``latents`` [N, C, h, w]."""
    z = latents.detach().to("cpu", torch.float32)
    if z.shape[1] != len(mapping.factors):
        raise ValueError(f"`latents` have {z.shape[1]} channels; the preview factors expect {len(mapping.factors)}")
    factors = torch.tensor(mapping.factors, dtype=torch.float32)
    rgb = torch.einsum("nchw,ck->nhwk", z, factors) + torch.tensor(mapping.bias, dtype=torch.float32)
    pixels = ((rgb + 1.0) * 127.5).clamp(0, 255).round().to(torch.uint8).numpy()
    return [Image.fromarray(np.ascontiguousarray(image), "RGB") for image in pixels]

