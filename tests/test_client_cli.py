"""The Python client, its Auto fallback, and the `aura` CLI, over real HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from aura_reflect.client import (
    AutoClient,
    Cancelled,
    EngineClient,
    EngineUnavailable,
    InvalidRequest,
    Overloaded,
    ServerError,
    Unauthorized,
    parse_error,
)

from .helpers import EngineServer, free_port, gradient_image, settings_from_env

AURA = str(Path(sys.executable).with_name("aura"))


def test_client_generate_refine_health(sd_server):
    with EngineClient(sd_server.url) as client:
        result = client.generate("calm sea", aspect_ratio="16:9", num_images=2, seed=9, steps=1)
        assert [image.size for image in result.images] == [(640, 360)] * 2
        assert result.seeds == [9, 10] and result.model == "tiny-sd"
        refined = client.refine([result.images[0], gradient_image(64, 96)], "darker", strength=0.5)
        assert [image.size for image in refined.images] == [(640, 360), (64, 96)]
        assert client.health()["status"] == "ok"
        with pytest.raises(InvalidRequest) as raised:
            client.generate("x", aspect_ratio="7:3")
        assert raised.value.field == "aspectRatio" and raised.value.status == 422


def test_parse_error_maps_statuses():
    body = {"error": {"type": "overloaded", "message": "busy", "field": None}, "detail": "busy"}
    error = parse_error(503, body, "7")
    assert isinstance(error, Overloaded) and error.retry_after == 7 and error.message == "busy"
    assert isinstance(parse_error(422, {"error": {"message": "m", "field": "prompt"}}), InvalidRequest)
    assert parse_error(422, {"error": {"message": "m", "field": "prompt"}}).field == "prompt"
    assert isinstance(parse_error(401, {"detail": "no"}), Unauthorized)
    assert isinstance(parse_error(499, {}), Cancelled)
    assert isinstance(parse_error(500, {}), ServerError)
    assert isinstance(parse_error(429, {}, "x"), Overloaded)


def test_auto_client_falls_back_once_and_says_which_engine(sd_server, sdxl_server):
    down = EngineClient(f"http://127.0.0.1:{free_port()}", timeout=5)
    auto = AutoClient(down, EngineClient(sdxl_server.url))
    result = auto.generate("warm desert", num_images=1)
    assert result.engine == "cloud" and result.model == "tiny-sdxl"
    assert isinstance(auto.last_fallback, EngineUnavailable)

    healthy = AutoClient(EngineClient(sd_server.url), EngineClient(sdxl_server.url))
    assert healthy.generate("warm desert", num_images=1).engine == "local"
    # An invalid request is not retried elsewhere: it would fail there too.
    with pytest.raises(InvalidRequest):
        healthy.generate("warm desert", num_images=99)
    assert healthy.last_fallback is None


def run_cli(*args, env=None, timeout=180):
    return subprocess.run([AURA, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def test_cli_generate_refine_health_over_http(sd_server, tmp_path):
    out = tmp_path / "out"
    done = run_cli("generate", "purple night sky", "--aspect", "16:9", "--n", "2", "--seed", "5",
                   "--local", sd_server.url, "-o", str(out))
    assert done.returncode == 0, done.stderr
    files = sorted(out.glob("*.png"))
    assert [f.name for f in files] == ["aura-5.png", "aura-6.png"]
    with Image.open(files[0]) as image:
        assert image.size == (640, 360)
        assert image.text["prompt"] == "purple night sky" and image.text["seed"] == "5"
        assert image.text["model"] == "tiny-sd" and image.text["steps"] == "2"

    refined = run_cli("refine", str(files[0]), "--prompt", "more neon", "--local", sd_server.url, "-o", str(out))
    assert refined.returncode == 0, refined.stderr
    with Image.open(next(out.glob("aura-refined-*.png"))) as image:
        assert image.size == (640, 360) and image.text["refine_prompt"] == "more neon"

    health = run_cli("health", sd_server.url)
    assert health.returncode == 0 and '"status": "ok"' in health.stdout
    down = run_cli("health", f"http://127.0.0.1:{free_port()}")
    assert down.returncode == 1 and "EngineUnavailable" in down.stderr


def test_cli_generate_in_process_without_a_url(tiny_sd, tmp_path):
    done = run_cli("generate", "pink flowers", "--n", "1", "--seed", "1", "--steps", "1", "-o", str(tmp_path),
                   env={"SD_MODEL_ID": tiny_sd, "AURA_LOCAL_URL": ""})
    assert done.returncode == 0, done.stderr
    with Image.open(tmp_path / "aura-1.png") as image:
        assert image.size == (512, 512) and image.text["engine"] == "in-process"


def test_cli_engine_auto_needs_both_urls():
    done = run_cli("generate", "x", "--engine", "auto", "--local", "http://127.0.0.1:1")
    assert done.returncode == 2 and "--cloud" in done.stderr + done.stdout


def test_api_key_protects_generation_but_not_health(tiny_sd):
    settings = settings_from_env(SD_MODEL_ID=tiny_sd, SD_STEPS="1", AURA_API_KEY="k-one, k-two")
    with EngineServer(settings) as server:
        body = {"prompt": "x", "aspectRatio": "1:1", "temperature": 1, "numImages": 1}
        missing = server.client.post("/generate", json=body)
        assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
        wrong = server.client.post("/generate", json=body, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        ok = server.client.post("/generate", json=body, headers={"Authorization": "Bearer k-two"})
        assert ok.status_code == 200
        assert server.client.get("/health").status_code == 200
        with EngineClient(server.url, api_key="k-one") as client:
            assert len(client.generate("x", num_images=1).images) == 1
        with EngineClient(server.url) as client, pytest.raises(Unauthorized):
            client.generate("x")


def test_client_retries_refusals_after_retry_after_and_nothing_else(tiny_sd):
    """A 429 (a request every 3 s, burst 1) is sent again after its Retry-After; a 422 is not."""
    settings = settings_from_env(SD_MODEL_ID=tiny_sd, SD_STEPS="1", AURA_RATE_LIMIT="20", AURA_RATE_BURST="1")
    with EngineServer(settings) as server:
        refusals = []
        with EngineClient(server.url, retries=2, on_retry=refusals.append) as client:
            with pytest.raises(InvalidRequest):
                client.generate("x", aspect_ratio="7:3")  # spends this address's one token; not retried
            assert refusals == []
            with EngineClient(server.url) as once, pytest.raises(Overloaded) as raised:
                once.generate("x", num_images=1)  # no retries: the refusal is the answer
            assert raised.value.status == 429 and raised.value.retry_after >= 1
            started = time.monotonic()
            assert len(client.generate("x", aspect_ratio="1:1", num_images=1).images) == 1  # refused, then served
            [refusal] = refusals
            assert refusal.status == 429 and 1 <= refusal.retry_after <= 3
            assert time.monotonic() - started >= refusal.retry_after
    with pytest.raises(ValueError):
        EngineClient(server.url, retries=-1)
