"""Colour-keeping guidance (engine/guidance.py): its formula, the UNet hook the pipelines run it through,
and the model-card setting that turns it on, on a real tiny Stable Diffusion pipeline."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import StableDiffusionPipeline

from aura_reflect.engine.guidance import LUMA, ColourGuidanceConfig, colour_guided
from aura_reflect.engine.loader import load_model
from aura_reflect.engine.pipeline import GenerationRequest, RefinementRequest, generate, refine
from aura_reflect.engine.previews import LatentRGB
from aura_reflect.errors import ModelLoadError

from .helpers import gradient_image, settings_from_env

# An invertible latent → RGB map: channels 0–2 carry R, G, B (slightly mixed), channel 3 none.
MAP = LatentRGB(factors=((0.9, 0.1, 0.0), (0.0, 0.8, 0.1), (0.1, 0.0, 0.9), (0.0, 0.0, 0.0)), bias=(0.0, 0.0, 0.0))
ALPHA, SIGMA = 0.6, 0.8


def picture_rgb(prediction: torch.Tensor, sample: torch.Tensor) -> torch.Tensor:
    """The mean RGB of the picture a v-prediction implies, per image."""
    latents = ALPHA * sample - SIGMA * prediction
    return latents.mean((2, 3)) @ torch.tensor(MAP.factors)


def predictions(seed: int = 0):
    """A sample and two v-predictions: the conditional one implies a mid-grey picture with structure, the
    unconditional one a warm picture."""
    g = torch.Generator().manual_seed(seed)
    sample = torch.randn(2, 4, 8, 8, generator=g)
    structure = torch.randn(2, 4, 8, 8, generator=g) * 0.3
    structure -= structure.mean((2, 3), keepdim=True)  # detail only: the picture's mean is the colour below
    # The latents of a mid-grey and a warm picture (the pseudo-inverse: torch.linalg.lstsq leaves the
    # unread fourth channel of an underdetermined system to chance on the CPU).
    to_latent = torch.linalg.pinv(torch.tensor(MAP.factors))
    grey_latent = torch.full((3,), 0.1) @ to_latent
    warm_latent = torch.tensor([0.5, 0.2, -0.2]) @ to_latent
    # picture = ALPHA · sample − SIGMA · v  ⇒  v = (ALPHA · sample − picture) / SIGMA
    cond = (ALPHA * sample - (grey_latent[None, :, None, None] + structure)) / SIGMA
    uncond = (ALPHA * sample - (warm_latent[None, :, None, None] + 0.5 * structure)) / SIGMA
    return sample, uncond, cond


def test_without_keeping_colour_it_is_plain_guidance():
    sample, uncond, cond = predictions()
    out = colour_guided(sample, uncond, cond, 5.0, ALPHA, SIGMA, "v_prediction", MAP, ColourGuidanceConfig(chroma=0.0))
    torch.testing.assert_close(out, uncond + 5.0 * (cond - uncond), atol=1e-5, rtol=1e-5)


def test_a_grey_caption_stays_grey_where_plain_guidance_turns_it_blue():
    sample, uncond, cond = predictions()
    plain = picture_rgb(uncond + 5.0 * (cond - uncond), sample)
    kept = picture_rgb(colour_guided(sample, uncond, cond, 5.0, ALPHA, SIGMA, "v_prediction", MAP, ColourGuidanceConfig()), sample)
    assert (plain[:, 2] - plain[:, 0] > 1.0).all(), plain  # away from the warm average: blue
    chroma = kept - (kept @ torch.tensor(LUMA))[:, None]
    assert chroma.abs().max() < 1e-3, kept  # the conditional picture's own (zero) colour strength
    # Brightness is guided as before, and the structure (everything but the mean) is untouched.
    torch.testing.assert_close(kept @ torch.tensor(LUMA), plain @ torch.tensor(LUMA), atol=1e-4, rtol=1e-4)
    out = colour_guided(sample, uncond, cond, 5.0, ALPHA, SIGMA, "v_prediction", MAP, ColourGuidanceConfig())
    difference = out - (uncond + 5.0 * (cond - uncond))
    torch.testing.assert_close(difference, difference.mean((2, 3), keepdim=True).expand_as(difference))


@pytest.mark.parametrize(
    "entry, message",
    [
        ({"chroma": 1.5}, r"colour_guidance.chroma must be a number in \[0, 1\], got 1.5"),
        ({"chroma": "all"}, r"colour_guidance.chroma must be a number in \[0, 1\], got 'all'"),
        (["chroma"], r"colour_guidance must be an object like \{\"chroma\": 1.0\}, got \['chroma'\]"),
        (True, r"colour_guidance must be an object like .*, got True"),
        ({"strength": 1}, r"unknown fields \['strength'\]"),
    ],
)
def test_a_card_setting_out_of_range_is_refused_by_name(tiny_sd, tmp_path, entry, message):
    folder = with_card(tiny_sd, tmp_path, entry)
    with pytest.raises(ModelLoadError, match=message):
        load_model(settings_from_env(SD_MODEL_ID=str(folder)))


def test_an_sdxl_card_asking_for_colour_guidance_is_refused(tiny_sdxl, tmp_path):
    folder = Path(shutil.copytree(tiny_sdxl, tmp_path / "sdxl"))
    (folder / "aura.json").write_text(json.dumps({"colour_guidance": {"chroma": 1.0}}))
    with pytest.raises(ModelLoadError, match="colour_guidance needs a Stable Diffusion 1.x/2.x model"):
        load_model(settings_from_env(SD_MODEL_ID=str(folder)))


def test_the_engine_reads_brightness_as_the_world_and_its_checks_do():
    from training import world

    assert LUMA == world.LUMA


def with_card(tiny_sd: str, tmp_path: Path, colour_guidance: dict | None) -> Path:
    folder = Path(shutil.copytree(tiny_sd, tmp_path / f"card-{len(list(tmp_path.iterdir()))}"))
    card = {"latent_rgb": MAP.as_card()}
    if colour_guidance is not None:
        card["colour_guidance"] = colour_guidance
    (folder / "aura.json").write_text(json.dumps(card))
    return folder


def test_the_pipelines_run_the_card_guidance_through_the_shared_unet(tiny_sd, tmp_path):
    """The hook's rewritten output, put through the pipeline's own guidance formula, is the colour-kept
    prediction; outside a pipeline call the UNet is plain; text-to-image and refine both use it."""
    settings = dict(SD_WARMUP="0", SD_SCHEDULER="euler")
    plain = load_model(settings_from_env(SD_MODEL_ID=str(with_card(tiny_sd, tmp_path, None)), **settings))
    kept = load_model(settings_from_env(SD_MODEL_ID=str(with_card(tiny_sd, tmp_path, {"chroma": 1.0})), **settings))
    assert kept.optimizations["colour_guidance"] is True and kept.optimizations["colour_guidance_chroma"] == 1.0
    assert plain.optimizations["colour_guidance"] is False
    assert isinstance(kept.text2img, StableDiffusionPipeline)
    assert kept.img2img.colour_guidance is kept.text2img.colour_guidance is not None

    unet, scheduler = kept.text2img.unet, kept.text2img.scheduler
    g = torch.Generator().manual_seed(3)
    sample = torch.randn(2, 4, 8, 8, generator=g).repeat(2, 1, 1, 1)
    text = torch.randn(4, 77, unet.config.cross_attention_dim, generator=g)
    t = torch.tensor(500)
    with torch.no_grad():
        raw = unet(sample, t, encoder_hidden_states=text, return_dict=False)[0]
        with kept.text2img.colour_guidance.during(kept.text2img, 4.0):
            hooked = unet(sample, t, encoder_hidden_states=text, return_dict=False)[0]
    uncond, cond = raw.chunk(2)
    alpha_bar = float(scheduler.alphas_cumprod[500])
    want = colour_guided(sample[2:], uncond, cond, 4.0, alpha_bar**0.5, (1 - alpha_bar) ** 0.5,
                         scheduler.config.prediction_type, MAP, ColourGuidanceConfig())
    h_uncond, h_cond = hooked.chunk(2)
    torch.testing.assert_close(h_cond, cond)
    torch.testing.assert_close(h_uncond + 4.0 * (h_cond - h_uncond), want, atol=1e-4, rtol=1e-4)

    def render(model, guidance):
        request = GenerationRequest(prompt="grey", width=64, height=64, steps=3, guidance_scale=guidance, seeds=[1])
        return np.asarray(generate(model, request).images[0], dtype=np.float32)

    # The tiny model's random text encoder barely separates its two predictions, so the pictures differ by
    # little, but they differ only if the hook ran (the same weights on the CPU are otherwise bit-identical).
    assert np.abs(render(kept, 20.0) - render(plain, 20.0)).max() > 0
    assert np.abs(render(kept, 1.0) - render(plain, 1.0)).max() < 1e-3  # no guidance: nothing to keep
    assert not unet._forward_hooks  # hooked for the length of a call only

    def refined(model):
        request = RefinementRequest(prompt="grey", images=[gradient_image(64, 64)], strength=0.6, steps=3,
                                    guidance_scale=20.0, seeds=[2])
        return np.asarray(refine(model, request).images[0], dtype=np.float32)

    assert np.abs(refined(kept) - refined(plain)).max() > 0
