"""POST /generate over a real port on tiny SD 1.x and SDXL pipelines."""

from __future__ import annotations

import math

import numpy as np
import pytest

from aura_reflect.engine.families import ASPECT_RATIOS, TIERS, parse_ratio, resolve_size

from .helpers import decode_png


def post_generate(server, **body):
    body.setdefault("prompt", "a purple night sky over dark mountains")
    body.setdefault("aspectRatio", "1:1")
    body.setdefault("temperature", 1)
    return server.client.post("/generate", json=body)


@pytest.mark.parametrize("family", ["sd", "sdxl"])
def test_every_aspect_ratio_and_tier_has_the_right_size(family, request):
    server = request.getfixturevalue(f"{family}_server")
    for tier in TIERS:
        for ratio in ASPECT_RATIOS:
            response = post_generate(
                server, aspectRatio=ratio, resolution=tier, numImages=1, config={"steps": 1}
            )
            assert response.status_code == 200, response.text
            body = response.json()
            assert len(body["images"]) == 1
            image = decode_png(body["images"][0])
            assert image.size == resolve_size(family, ratio, tier)
            assert (body["width"], body["height"]) == image.size
            assert math.isclose(image.width / image.height, parse_ratio(ratio), rel_tol=0.03), (ratio, image.size)
            assert image.width % 8 == 0 and image.height % 8 == 0
            if family == "sdxl":
                assert image.width % 64 == 0 and image.height % 64 == 0


def test_contract_shape_and_defaults(sd_server):
    # Exactly what existing clients send: prompt, aspectRatio, temperature, resolution.
    response = sd_server.client.post(
        "/generate", json={"prompt": "rainy afternoon in Tokyo", "aspectRatio": "16:9", "temperature": 0.7, "resolution": "standard"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["images"]) == sd_server.settings.num_images == 2
    assert not body["images"][0].startswith("data:")
    assert {"seeds", "model", "width", "height", "steps", "timings"} <= set(body)
    assert body["model"] == "tiny-sd"
    assert body["steps"] == 2  # SD_STEPS from the environment
    assert body["seeds"][1] == body["seeds"][0] + 1


def test_seeds_reproduce_each_image(sd_server):
    first = post_generate(sd_server, seed=1234, numImages=3).json()
    assert first["seeds"] == [1234, 1235, 1236]
    # Image 2 alone, from its own seed, is the same image.
    alone = post_generate(sd_server, seed=1236, numImages=1).json()
    a = np.asarray(decode_png(first["images"][2]), dtype=np.int16)
    b = np.asarray(decode_png(alone["images"][0]), dtype=np.int16)
    assert np.abs(a - b).max() <= 1
    # Different seeds give different images.
    c = np.asarray(decode_png(first["images"][0]), dtype=np.int16)
    assert np.abs(a - c).mean() > 1


def test_prompt_and_temperature_change_the_result(sd_server):
    base = post_generate(sd_server, seed=7, numImages=1, prompt="red circle").json()
    other_prompt = post_generate(sd_server, seed=7, numImages=1, prompt="blue ocean").json()
    hot = post_generate(sd_server, seed=7, numImages=1, prompt="red circle", temperature=2).json()
    assert base["images"][0] != other_prompt["images"][0]
    assert base["guidanceScale"] == 7.5 and hot["guidanceScale"] == 3.75  # 7.5 × (1.5 − 0.5·2)
    assert base["images"][0] != hot["images"][0]
    override = post_generate(sd_server, numImages=1, temperature=2, config={"guidanceScale": 3}).json()
    assert override["guidanceScale"] == 3


def test_negative_prompt_and_num_images(sd_server):
    response = post_generate(sd_server, numImages=4, negativePrompt="blurry", seed=3)
    assert response.status_code == 200
    assert len(response.json()["images"]) == 4


@pytest.mark.parametrize(
    "body, field, words",
    [
        ({"prompt": ""}, "prompt", "at least 1"),
        ({"prompt": "   "}, "prompt", "blank"),
        ({"prompt": None}, "prompt", "string"),
        ({"aspectRatio": "7:3"}, "aspectRatio", "21:9"),
        ({"temperature": 2.5}, "temperature", "less than or equal to 2"),
        ({"temperature": -0.1}, "temperature", "greater than or equal to 0"),
        ({"resolution": "ultra"}, "resolution", "'high' or 'standard'"),
        ({"numImages": 9}, "numImages", "less than or equal to 8"),
        ({"numImages": 0}, "numImages", "greater than or equal to 1"),
        ({"seed": -1}, "seed", "greater than or equal to 0"),
        ({"config": {"steps": 0}}, "config.steps", "greater than or equal to 1"),
        ({"config": {"steps": 151}}, "config.steps", "less than or equal to 150"),
        ({"config": {"guidanceScale": 20.5}}, "config.guidanceScale", "less than or equal to 20"),
        ({"prompt": "x" * 2001}, "prompt", "at most 2000"),
        ({"prompt": "moody " * 20_000}, "prompt", "at most 2000"),  # 120k characters
        ({"prompt": "sunset\x00"}, "prompt", "U+0000"),
        ({"config": {"modelPath": "other"}}, "config.modelPath", "AURA_MODELS_DIR"),
    ],
)
def test_validation_errors_name_the_field_and_limit(sd_server, body, field, words):
    response = post_generate(sd_server, **body)
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["error"]["field"] == field
    assert words in error["error"]["message"], error
    assert error["detail"] == error["error"]["message"]


def test_non_finite_numbers_are_refused(sd_server):
    for raw in ('{"prompt": "x", "aspectRatio": "1:1", "temperature": NaN}',
                '{"prompt": "x", "aspectRatio": "1:1", "temperature": 1, "config": {"guidanceScale": Infinity}}'):
        response = sd_server.client.post("/generate", content=raw, headers={"content-type": "application/json"})
        assert response.status_code == 422, response.text
        assert response.json()["error"]["type"] == "invalid_request"


def test_malformed_json_is_a_422(sd_server):
    response = sd_server.client.post("/generate", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "body"


def test_openapi_has_typed_models(sd_server):
    schema = sd_server.client.get("/openapi.json").json()
    generate = schema["components"]["schemas"]["GenerateRequest"]["properties"]
    assert {"prompt", "aspectRatio", "temperature", "resolution", "config", "seed", "numImages"} <= set(generate)
    refine = schema["components"]["schemas"]["RefineRequest"]["properties"]
    assert {"refinePrompt", "images", "config"} <= set(refine)
    assert "ImagesResponse" in schema["components"]["schemas"]
    assert sd_server.client.get("/docs").status_code == 200


def test_model_path_switches_models_inside_the_models_folder(tiny_sd, tiny_sdxl, tmp_path):
    import shutil

    from .helpers import EngineServer, settings_from_env

    models = tmp_path / "models"
    shutil.copytree(tiny_sd, models / "sd-one")
    shutil.copytree(tiny_sdxl, models / "xl-two")
    settings = settings_from_env(SD_MODEL_ID=str(models / "sd-one"), SD_STEPS="1", AURA_MODELS_DIR=str(models))
    with EngineServer(settings) as server:
        switched = post_generate(server, numImages=1, config={"modelPath": "xl-two"})
        assert switched.status_code == 200, switched.text
        body = switched.json()
        # Sized by the family of the model it ran on (SDXL's standard square), not the one resident before.
        assert body["model"] == "xl-two" and (body["width"], body["height"]) == (768, 768)
        assert server.client.get("/health").json()["family"] == "sdxl"
        back = post_generate(server, numImages=1, config={"modelPath": str(models / "sd-one")})
        assert back.json()["model"] == "sd-one" and back.json()["width"] == 512
        missing = post_generate(server, numImages=1, config={"modelPath": "nope"})
        assert missing.status_code == 422 and missing.json()["error"]["field"] == "config.modelPath"
        escape = post_generate(server, numImages=1, config={"modelPath": "../models/sd-one"})
        assert escape.status_code == 422 and "'..'" in escape.json()["error"]["message"]

        listed = server.client.get("/models").json()
        assert listed == {"resident": "sd-one", "models": ["sd-one", "xl-two"]}
        loaded = server.client.post("/models/load", json={"modelPath": "xl-two"})
        assert loaded.status_code == 200 and loaded.json()["family"] == "sdxl"
        assert server.client.get("/health").json()["model"] == "xl-two"
        assert post_generate(server, numImages=1).json()["model"] == "xl-two"
        refused = server.client.post("/models/load", json={"modelPath": "/etc"})
        assert refused.status_code == 422 and refused.json()["error"]["field"] == "modelPath"


@pytest.mark.parametrize("output_format, pil_format", [("png", "PNG"), ("webp", "WEBP"), ("jpeg", "JPEG")])
def test_output_format(sd_server, output_format, pil_format):
    import base64
    import io

    from PIL import Image

    png = post_generate(sd_server, seed=77, numImages=1).json()
    response = post_generate(sd_server, seed=77, numImages=1, outputFormat=output_format)
    assert response.status_code == 200, response.text
    assert response.json()["format"] == output_format
    image = Image.open(io.BytesIO(base64.b64decode(response.json()["images"][0])))
    assert image.format == pil_format
    # The same picture: the tiny random model draws noise, which lossy codecs smooth, so compare
    # the pictures at 1/16 scale, where codec error averages out.
    def coarse(picture):
        return np.asarray(picture.convert("RGB").reduce(16), dtype=np.float32)

    assert np.abs(coarse(image) - coarse(decode_png(png["images"][0]))).mean() < 4


def test_unknown_output_format_is_a_422(sd_server):
    response = post_generate(sd_server, outputFormat="gif")
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "outputFormat"
