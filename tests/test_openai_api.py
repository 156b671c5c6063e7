"""The OpenAI-compatible images API, driven by the official `openai` package."""

from __future__ import annotations

import base64
import io

import openai
import pytest
from PIL import Image

from .helpers import EngineServer, gradient_image, settings_from_env


@pytest.fixture(scope="module")
def keyed_server(tiny_sd):
    with EngineServer(settings_from_env(SD_MODEL_ID=tiny_sd, SD_STEPS="1", AURA_API_KEY="sk-test")) as server:
        yield server


def client_for(server, key="sk-test"):
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0)


def decode(b64: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(b64)))


def test_generations_with_the_openai_client(keyed_server):
    result = client_for(keyed_server).images.generate(
        prompt="a red circle", n=2, size="1024x576", response_format="b64_json", model="anything"
    )
    assert result.created > 0 and len(result.data) == 2
    assert decode(result.data[0].b64_json).size == (1024, 576)  # 16:9, high tier of SD 1.x
    assert result.data[0].revised_prompt == "a red circle"
    small = client_for(keyed_server).images.generate(prompt="x", size="512x512")
    assert decode(small.data[0].b64_json).size == (512, 512)


def test_edits_with_the_openai_client(keyed_server):
    buffer = io.BytesIO()
    gradient_image(128, 96).save(buffer, format="PNG")
    buffer.seek(0)
    result = client_for(keyed_server).images.edit(
        image=("input.png", buffer, "image/png"), prompt="darker", n=2, response_format="b64_json"
    )
    assert len(result.data) == 2
    assert decode(result.data[0].b64_json).size == (128, 96)


def test_openai_errors_have_openai_fields(keyed_server):
    with pytest.raises(openai.AuthenticationError):
        client_for(keyed_server, key="wrong").images.generate(prompt="x")
    with pytest.raises(openai.UnprocessableEntityError) as raised:
        client_for(keyed_server).images.generate(prompt="x", size="12x12")
    body = raised.value.body
    body = body.get("error", body)
    assert body["param"] == "size" and "64–4096" in body["message"]
