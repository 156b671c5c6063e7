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


def test_health_reports_the_scheduler_in_optimizations_too(local_server):
    health = local_server.client.get("/health").json()
    assert health["scheduler"] == health["optimizations"]["scheduler"] == "PNDMScheduler"
    assert health["optimizations"]["attention"] == "sdpa"  # the other entries stay
