"""The embedded default model: shipped in the package, served when SD_MODEL_ID is unset."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from aura_reflect.engine.families import ASPECT_RATIOS, TIERS, parse_ratio, resolve_size
from aura_reflect.engine.loader import EMBEDDED_MODEL

from .helpers import EngineServer, decode_png, png_b64, settings_from_env


pytestmark = pytest.mark.skipif(not (EMBEDDED_MODEL / "model_index.json").is_file(), reason="embedded model not built")


@pytest.fixture(scope="module")
def embedded_server(monkeypatch_module):
    monkeypatch_module.delenv("SD_MODEL_ID", raising=False)
    with EngineServer(settings_from_env()) as server:
        yield server


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_shipped_folder_is_a_small_safetensors_diffusers_model():
    assert json.loads((EMBEDDED_MODEL / "aura.json").read_text())["version"] == 2
    from diffusers import StableDiffusionPipeline

    files = [p for p in EMBEDDED_MODEL.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) <= 40 * 2**20  # issue #13: at most 40 MB
    suffixes = {p.suffix for p in files}
    assert ".safetensors" in suffixes and not suffixes & {".bin", ".ckpt", ".pt", ".pth"}
    for component in ("unet", "vae", "text_encoder", "tokenizer", "scheduler"):
        assert (EMBEDDED_MODEL / component).is_dir()
    pipe = StableDiffusionPipeline.from_pretrained(EMBEDDED_MODEL, use_safetensors=True)
    assert type(pipe.unet).__name__ == "UNet2DConditionModel"
    assert type(pipe.vae).__name__ == "AutoencoderKL"
    assert type(pipe.text_encoder).__name__ == "CLIPTextModel"


def test_the_loader_serves_it_at_128_px_native_with_an_8x_vae():
    from aura_reflect.engine.loader import load_model

    model = load_model(settings_from_env(AURA_WARMUP="false"))
    assert model.vae_scale_factor == 8
    assert model.render_size("1:1", resolve_size("sd", "1:1", "standard")) == (128, 128)
    for ratio in ASPECT_RATIOS:
        width, height = model.render_size(ratio, resolve_size("sd", ratio, "high"))
        assert min(width, height) == 128 and width % 8 == 0 and height % 8 == 0
        assert math.isclose(width / height, parse_ratio(ratio), rel_tol=0.02)
    assert model.profile.latent_rgb is not None  # fitted to this VAE by train.py


def test_health_names_the_embedded_model(embedded_server):
    health = embedded_server.client.get("/health").json()
    assert health["model"] == "aura-tiny (embedded)"
    assert health["family"] == "sd" and health["device"] == "cpu"
    assert health["optimizations"]["upscale"] == "lanczos from native size"
    assert health["optimizations"]["colour_guidance"] is True  # its card's colour-keeping guidance


def test_every_ratio_and_tier_comes_out_at_the_table_size(embedded_server):
    for tier in TIERS:
        for ratio in ASPECT_RATIOS:
            response = embedded_server.client.post(
                "/generate", json={"prompt": "warm sunset over the sea", "aspectRatio": ratio, "temperature": 1,
                                   "resolution": tier, "numImages": 1, "config": {"steps": 4}},
            )
            assert response.status_code == 200, response.text
            image = decode_png(response.json()["images"][0])
            assert image.size == resolve_size("sd", ratio, tier)
            assert math.isclose(image.width / image.height, parse_ratio(ratio), rel_tol=0.03)


def hue_shares(data: str):
    from training.eval import color_shares

    image = np.asarray(decode_png(data).resize((64, 64)), dtype=np.float32) / 255
    return color_shares(image)


@pytest.mark.parametrize("prompt, colour", [("a blue ocean", "blue"), ("red circle on white background", "red"),
                                            ("yellow and purple stripes", "yellow")])
def test_images_follow_the_colour_in_the_prompt(embedded_server, prompt, colour):
    response = embedded_server.client.post(
        "/generate", json={"prompt": prompt, "aspectRatio": "1:1", "temperature": 1, "numImages": 2, "seed": 3}
    )
    shares = [hue_shares(data).get(colour, 0.0) for data in response.json()["images"]]
    assert min(shares) >= 0.10, shares


def test_unknown_words_are_ignored_gracefully(embedded_server):
    response = embedded_server.client.post(
        "/generate", json={"prompt": "zyxwv blue ocean quokka ☂", "aspectRatio": "16:9", "temperature": 1, "numImages": 1}
    )
    assert response.status_code == 200
    assert hue_shares(response.json()["images"][0]).get("blue", 0) >= 0.10


def test_refine_keeps_the_composition_of_the_input(embedded_server):
    import random

    from PIL import Image

    from training import world

    # A moodboard-like input: red and white stripes, upscaled as a user's selection would be.
    scene = world.Scene("stripes", world.Paint("red"), world.Paint("white"), named=("red", "white"))
    pixels = world.render(scene, 128, 128, seed=random.Random(3).randrange(2**31))
    original = Image.fromarray((pixels * 255).astype("uint8")).resize((256, 256), Image.Resampling.NEAREST)
    response = embedded_server.client.post(
        "/refine", json={"refinePrompt": "pink and white stripes", "images": [png_b64(original)], "seed": 1,
                         "config": {"strength": 0.3}},
    )
    assert response.status_code == 200, response.text
    refined = np.asarray(decode_png(response.json()["images"][0]), dtype=np.float32)
    assert refined.shape == (256, 256, 3)
    source = np.asarray(original, dtype=np.float32)
    # The refined image keeps the input's layout (luminance correlates strongly) ...
    r = np.corrcoef(source.mean(-1).ravel(), refined.mean(-1).ravel())[0, 1]
    assert r > 0.6, r
    # ... yet it is a new image, not the input sent back.
    assert np.abs(refined - source).mean() > 3


def mood_check(data: str, **expected) -> dict[str, int]:
    """The mood checks (training/looks.py: hue families, light, saturation, temperature) on one served image."""
    from training.looks import Looks, checks

    image = np.asarray(decode_png(data).resize((128, 128)), dtype=np.float32) / 255
    looks = Looks(tuple(expected.get("hues", ())), expected.get("light"), expected.get("saturation"),
                  expected.get("temperature"))
    return checks(looks, image, None)


@pytest.mark.parametrize("prompt, expected", [
    ("atardecer cálido en la playa", {"temperature": "warm"}),
    ("bosque verde y niebla por la mañana", {"hues": ["green"]}),
    # v4 under colour-keeping guidance kept a dark night's own faint blue too faint (blue share 0.12 on average
    # over seeds 11–18, 0.10 needed); v6, tuned on the world that spares neutrals, paints 0.38 (every seed ≥ 0.10).
    ("noche azul oscura en la ciudad", {"hues": ["blue"], "light": "dark"}),
    ("a cozy autumn cabin in warm orange tones", {"hues": ["orange"], "temperature": "warm"}),
    # Under plain guidance this one came out too saturated (mean 0.54; the world's own renders 0.18); with
    # colour-keeping guidance it is muted at these seeds. Its grey share over seeds 11–18: v4 0.11 (navy), v6 0.37.
    ("melancholic grey winter, muted", {"saturation": "muted"}),
    # Plain guidance painted greys blue ("grey street": 0.10 grey share over 8 seeds, colour-keeping 0.35).
    ("grey street", {"hues": ["grey"]}),
    ("calle gris", {"hues": ["grey"]}),
    ("turquoise sea, tropical summer mood", {"hues": ["turquoise"]}),
    ("un atardecer rosa sobre el mar, dreamy", {"hues": ["pink"]}),  # mixed languages
])
def test_moods_in_english_and_spanish_come_out_as_asked(embedded_server, prompt, expected):
    response = embedded_server.client.post(
        "/generate", json={"prompt": prompt, "aspectRatio": "1:1", "temperature": 1, "numImages": 2, "seed": 11}
    )
    assert response.status_code == 200, response.text
    results = [mood_check(data, **expected) for data in response.json()["images"]]
    assert all(all(result.values()) for result in results), (prompt, results)


def test_filler_words_leave_the_palette_alone(embedded_server):
    """Words outside the vocabulary change little: the same seed paints the same palette."""
    def image(prompt: str) -> np.ndarray:
        response = embedded_server.client.post(
            "/generate", json={"prompt": prompt, "aspectRatio": "1:1", "temperature": 1, "numImages": 1, "seed": 5}
        )
        return np.asarray(decode_png(response.json()["images"][0]).resize((32, 32)), dtype=np.float32)

    plain, padded = image("red sunset"), image("honestly a really red sunset vibe")
    assert mood_check(png_b64_array(padded), hues=["red"])["hue"] == 1
    assert np.abs(plain.mean((0, 1)) - padded.mean((0, 1))).max() < 40  # mean colour within 40/255 per channel


def png_b64_array(pixels: np.ndarray) -> str:
    from PIL import Image

    return png_b64(Image.fromarray(pixels.astype("uint8")))
