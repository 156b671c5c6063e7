"""What the original Aura Reflect frontend sends and reads: its modelPath, its localhost origins, its
/health fields. Real engines on real ports."""

from __future__ import annotations

import httpx
import pytest

from .helpers import EngineServer, settings_from_env

BODY = {"prompt": "quiet lake at dawn", "aspectRatio": "1:1", "temperature": 1, "numImages": 1}
PREFLIGHT = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
LOCAL_ORIGINS = ["http://localhost:3000", "http://127.0.0.1:5173", "https://localhost:8443", "http://localhost"]
FOREIGN_ORIGINS = ["http://evil.test", "http://localhost.evil.test:3000", "http://127.0.0.1.evil.test",
                   "http://192.168.1.20:3000", "file://", "null"]


@pytest.fixture(scope="module")
def local_server(tiny_sd):
    """Configured as a user runs it on a laptop: SD_MODEL_ID, no AURA_MODELS_DIR, no ALLOW_ORIGINS."""
    with EngineServer(settings_from_env(SD_MODEL_ID=tiny_sd, SD_STEPS="1")) as server:
        yield server


def test_model_path_naming_the_served_model_is_accepted(local_server, tiny_sd):
    # By SD_MODEL_ID as configured, by its folder (also written with a trailing slash), by its /health name.
    health_name = local_server.client.get("/health").json()["model"]
    for model_path in (tiny_sd, tiny_sd + "/", health_name):
        response = local_server.client.post("/generate", json={**BODY, "config": {"modelPath": model_path}})
        assert response.status_code == 200, (model_path, response.text)
        assert response.json()["model"] == "tiny-sd"
    refined = local_server.client.post(
        "/refine",
        json={"refinePrompt": "warmer", "images": response.json()["images"], "config": {"modelPath": tiny_sd}},
    )
    assert refined.status_code == 200, refined.text


@pytest.mark.parametrize("model_path", ["other-model", "/etc", "stable-diffusion-v1-5/stable-diffusion-v1-5",
                                        "tiny-sd-2", "../tiny-sd"])
def test_any_other_model_path_is_still_a_clear_422(local_server, model_path):
    response = local_server.client.post("/generate", json={**BODY, "config": {"modelPath": model_path}})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["field"] == "config.modelPath"
    assert "AURA_MODELS_DIR" in error["message"]


def test_loopback_engine_allows_local_pages_on_any_port_without_credentials(local_server):
    for origin in LOCAL_ORIGINS:
        preflight = local_server.client.options("/generate", headers={"Origin": origin, **PREFLIGHT})
        assert preflight.status_code == 200, (origin, preflight.text)
        assert preflight.headers["access-control-allow-origin"] == origin
        assert "access-control-allow-credentials" not in preflight.headers
        simple = local_server.client.get("/health", headers={"Origin": origin})
        assert simple.headers["access-control-allow-origin"] == origin
        assert "access-control-allow-credentials" not in simple.headers
    generated = local_server.client.post("/generate", json=BODY, headers={"Origin": "http://localhost:3000"})
    assert generated.status_code == 200
    assert generated.headers["access-control-allow-origin"] == "http://localhost:3000"


def test_loopback_engine_refuses_other_origins(local_server):
    for origin in FOREIGN_ORIGINS:
        preflight = local_server.client.options("/generate", headers={"Origin": origin, **PREFLIGHT})
        assert "access-control-allow-origin" not in preflight.headers, origin
        assert httpx.codes.is_error(preflight.status_code)
        simple = local_server.client.get("/health", headers={"Origin": origin})
        assert "access-control-allow-origin" not in simple.headers, origin


def test_local_pages_get_no_credentials_even_when_asked_for(tiny_sd):
    settings = settings_from_env(SD_MODEL_ID=tiny_sd, AURA_CORS_CREDENTIALS="true", AURA_WARMUP="false")
    with EngineServer(settings) as server:
        preflight = server.client.options("/generate", headers={"Origin": "http://localhost:3000", **PREFLIGHT})
        assert preflight.headers["access-control-allow-origin"] == "http://localhost:3000"
        assert "access-control-allow-credentials" not in preflight.headers


def test_engine_on_every_interface_allows_no_origin_unless_listed(tiny_sd):
    settings = settings_from_env(SD_MODEL_ID=tiny_sd, AURA_WARMUP="false")
    with EngineServer(settings, host="0.0.0.0") as server:
        for origin in LOCAL_ORIGINS[:2] + FOREIGN_ORIGINS[:1]:
            preflight = server.client.options("/generate", headers={"Origin": origin, **PREFLIGHT})
            assert "access-control-allow-origin" not in preflight.headers, origin
            simple = server.client.get("/health", headers={"Origin": origin})
            assert "access-control-allow-origin" not in simple.headers, origin
    listed = settings_from_env(SD_MODEL_ID=tiny_sd, AURA_WARMUP="false", ALLOW_ORIGINS="http://localhost:3000")
    with EngineServer(listed, host="0.0.0.0") as server:
        ok = server.client.options("/generate", headers={"Origin": "http://localhost:3000", **PREFLIGHT})
        assert ok.headers["access-control-allow-origin"] == "http://localhost:3000"
        other = server.client.options("/generate", headers={"Origin": "http://localhost:4000", **PREFLIGHT})
        assert "access-control-allow-origin" not in other.headers


def test_loopback_only_is_decided_from_the_bind_address():
    for host in ("127.0.0.1", "127.0.1.1", "::1", "[::1]", "localhost", "LOCALHOST"):
        assert settings_from_env(HOST=host).loopback_only, host
    for host in ("0.0.0.0", "::", "192.168.1.20", "example.com", ""):
        assert not settings_from_env(HOST=host).loopback_only, host


def test_health_reports_the_scheduler_in_optimizations_too(local_server):
    health = local_server.client.get("/health").json()
    assert health["scheduler"] == health["optimizations"]["scheduler"] == "PNDMScheduler"
    assert health["optimizations"]["attention"] == "sdpa"  # the other entries stay
