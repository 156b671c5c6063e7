"""Colour-keeping guidance: classifier-free guidance that leaves a picture's colour to its caption.

Plain classifier-free guidance moves each prediction by ``g · (cond − uncond)``. Over the whole
picture, that step also moves its mean colour away from the unconditional picture's, the average of
everything the model has seen. For a small model trained on one warm world this paints the wrong
answer: a grey caption's step away from the warm average is blue ("grey street" is 50% grey at
guidance 1 and 6% at guidance 5), and a muted one's is a vivid one. Colour-keeping guidance splits
the predicted picture's mean colour (read through the model's latent → RGB factors) into brightness
and colour:

* brightness, and the hue (the direction of the colour around grey), are guided as usual;
* the colour's strength (its distance from grey) is the conditional prediction's own, blended with
  the guided one's by ``chroma``: 1 keeps the caption's, 0 is plain guidance;
* the rest of the prediction (the picture's structure and any latent direction the factors do not
  read) is guided as usual.

A grey caption's prediction is near grey, so it stays grey whatever direction guidance points in;
a muted one keeps its own strength; "red" against "orange" still differs in hue as much as guidance
makes it. The mechanism is a forward hook on the UNet (shared by the text-to-image and image-to-image
pipelines) that rewrites the unconditional half of its output, so that the pipeline's own
``uncond + g · (cond − uncond)`` comes out as the guidance above; the pipelines in
:func:`guided_pipeline_classes` hook their UNet, with the call's ``g``, for the length of each call. It is a model-card
setting (``aura.json``: ``"colour_guidance": {"chroma": 1.0}``), measured for aura-tiny by
``training/compare_guidance.py`` (reading colour over 2 × 2 or 4 × 4 cells instead of the whole picture
scored within the evaluation's noise of it, lower on hue).
"""

from __future__ import annotations

import math
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from functools import cache
from typing import Iterator

import torch

from .previews import LatentRGB

LUMA = (0.3, 0.59, 0.11)  # R, G, B in brightness: the weights of training/world.py (its grades, the checks)
PREDICTIONS = ("epsilon", "v_prediction")


@dataclass(frozen=True)
class ColourGuidanceConfig:
    chroma: float = 1.0  # colour strength: 1 the caption's own, 0 plain guidance

    @classmethod
    def from_card(cls, entry: dict) -> ColourGuidanceConfig:
        """From an ``aura.json`` entry; raises ``ValueError`` naming the field that is out of range."""
        if not isinstance(entry, dict):
            raise ValueError(f'colour_guidance must be an object like {{"chroma": 1.0}}, got {entry!r}')
        unknown = set(entry) - {"chroma"}
        if unknown:
            raise ValueError(f"colour_guidance has unknown fields {sorted(unknown)}; known: chroma")
        chroma = entry.get("chroma", 1.0)
        if isinstance(chroma, bool) or not isinstance(chroma, (int, float)) or not 0.0 <= chroma <= 1.0:
            raise ValueError(f"colour_guidance.chroma must be a number in [0, 1], got {chroma!r}")
        return cls(chroma=float(chroma))


def colour_guided(
    sample: torch.Tensor,
    uncond: torch.Tensor,
    cond: torch.Tensor,
    guidance: float,
    alpha: float,
    sigma: float,
    prediction: str,
    latent_rgb: LatentRGB,
    config: ColourGuidanceConfig,
) -> torch.Tensor:
    """The colour-keeping guided prediction for the latents ``sample`` at a step whose noise level is
    ``alpha``, ``sigma`` (the latents are ``alpha · picture + sigma · noise``); ``uncond`` and ``cond``
    are the model's two predictions, of kind ``prediction``."""
    dtype = cond.dtype
    sample, uncond, cond = sample.float(), uncond.float(), cond.float()
    guided = uncond + guidance * (cond - uncond)
    # The predicted picture (latents) for a prediction: linear in it, with slope `slope`.
    if prediction == "v_prediction":
        slope = -sigma
        picture = lambda p: alpha * sample - sigma * p  # noqa: E731
    else:
        slope = -sigma / max(alpha, 1e-4)
        picture = lambda p: (sample - sigma * p) / max(alpha, 1e-4)  # noqa: E731
    factors, bias, pinv, luma = _colour_maps(latent_rgb, cond.device)

    def mean_rgb(p: torch.Tensor) -> torch.Tensor:  # n × 3
        return picture(p).mean((2, 3)) @ factors + bias

    rgb_cond, rgb_uncond, rgb_guided = mean_rgb(cond), mean_rgb(uncond), mean_rgb(guided)
    brightness = lambda rgb: (rgb @ luma)[..., None]  # noqa: E731
    chroma_cond = rgb_cond - brightness(rgb_cond)
    chroma_guided = rgb_guided - brightness(rgb_guided)
    strength = config.chroma * chroma_cond.norm(dim=-1, keepdim=True) + (1 - config.chroma) * chroma_guided.norm(
        dim=-1, keepdim=True
    )
    hue = chroma_guided / chroma_guided.norm(dim=-1, keepdim=True).clamp_min(1e-6)
    target = brightness(rgb_cond) + (guidance - 1) * (brightness(rgb_cond) - brightness(rgb_uncond)) + strength * hue
    shift = ((target - rgb_guided) @ pinv)[..., None, None]  # of the predicted picture's mean
    return (guided + shift / slope).to(dtype)


@cache
def _colour_maps(latent_rgb: LatentRGB, device: torch.device):
    factors = torch.tensor(latent_rgb.factors, dtype=torch.float32, device=device)  # channels × 3
    bias = torch.tensor(latent_rgb.bias, dtype=torch.float32, device=device)
    luma = torch.tensor(LUMA, dtype=torch.float32, device=device)
    return factors, bias, torch.linalg.pinv(factors), luma


class ColourGuidance:
    """The guidance a pipeline of :func:`guided_pipeline_classes` runs: ``during(pipe, g)`` hooks the
    pipeline's UNet for one call (whatever module ``pipe.unet`` is then, compiled or not); outside a
    call, or where the pipeline does not guide (g ≤ 1, or a UNet conditioned on ``g`` itself), the
    UNet is left alone."""

    def __init__(self, latent_rgb: LatentRGB, config: ColourGuidanceConfig):
        self.latent_rgb = latent_rgb
        self.config = config

    def attach(self, *pipelines) -> ColourGuidance:
        """Give ``pipelines`` (of :func:`guided_pipeline_classes`) this guidance."""
        for pipe in pipelines:
            if not isinstance(pipe, _Guided):
                raise ValueError("colour guidance needs pipelines of guided_pipeline_classes()")
            prediction = pipe.scheduler.config.get("prediction_type", "epsilon")
            if prediction not in PREDICTIONS:
                raise ValueError(f"colour guidance needs a model predicting one of {PREDICTIONS}, got {prediction!r}")
            pipe.colour_guidance = self
        return self

    @contextmanager
    def during(self, pipe, guidance: float) -> Iterator[None]:
        if guidance <= 1 or pipe.unet.config.get("time_cond_proj_dim") is not None:  # no doubled batch to guide
            yield
            return
        alphas_cumprod = pipe.scheduler.alphas_cumprod
        prediction = pipe.scheduler.config.get("prediction_type", "epsilon")
        handle = pipe.unet.register_forward_hook(
            lambda module, args, kwargs, output: self._rewrite(args, kwargs, output, float(guidance), alphas_cumprod, prediction),
            with_kwargs=True,
        )
        try:
            yield
        finally:
            handle.remove()

    def _rewrite(self, args, kwargs, output, guidance: float, alphas_cumprod: torch.Tensor, prediction: str):
        sample = args[0] if args else kwargs["sample"]
        timestep = args[1] if len(args) > 1 else kwargs["timestep"]
        prediction_out = output[0] if isinstance(output, tuple) else output.sample
        uncond, cond = prediction_out.chunk(2)
        t = round(float(torch.as_tensor(timestep).flatten()[0]))
        alpha_bar = float(alphas_cumprod[t])
        want = colour_guided(
            sample.chunk(2)[1], uncond, cond, guidance, math.sqrt(alpha_bar), math.sqrt(1 - alpha_bar), prediction,
            self.latent_rgb, self.config,
        )
        rewritten = torch.cat([(guidance * cond - want) / (guidance - 1), cond])
        if isinstance(output, tuple):
            return (rewritten, *output[1:])
        output.sample = rewritten
        return output


class _Guided:
    """Mixin: tells the pipeline's colour guidance (if any) the call's guidance scale."""

    colour_guidance: ColourGuidance | None = None

    def __call__(self, *args, guidance_scale: float = 7.5, **kwargs):
        with self.colour_guidance.during(self, guidance_scale) if self.colour_guidance else nullcontext():
            return super().__call__(*args, guidance_scale=guidance_scale, **kwargs)


@cache
def guided_pipeline_classes():
    """Stable Diffusion's text-to-image and image-to-image pipelines, able to carry colour guidance."""
    from diffusers import StableDiffusionImg2ImgPipeline, StableDiffusionPipeline

    text2img = type("ColourGuidedStableDiffusionPipeline", (_Guided, StableDiffusionPipeline), {})
    img2img = type("ColourGuidedStableDiffusionImg2ImgPipeline", (_Guided, StableDiffusionImg2ImgPipeline), {})
    return text2img, img2img

