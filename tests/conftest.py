"""Shared fixtures: tiny real diffusers models on disk, and engines served over a real port."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # nothing in the suite may reach the Hub
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest

from aura_reflect.testing import save_tiny_pipeline

from .helpers import EngineServer, settings_from_env


@pytest.fixture(scope="session")
def tiny_sd(tmp_path_factory) -> str:
    return str(save_tiny_pipeline(tmp_path_factory.mktemp("models") / "tiny-sd", "sd"))


@pytest.fixture(scope="session")
def tiny_sdxl(tmp_path_factory) -> str:
    return str(save_tiny_pipeline(tmp_path_factory.mktemp("models") / "tiny-sdxl", "sdxl"))


@pytest.fixture(scope="session")
def sd_server(tiny_sd):
    """An engine on the tiny SD 1.x model, configured through the environment as users do."""
    settings = settings_from_env(SD_MODEL_ID=tiny_sd, SD_STEPS="2", ALLOW_ORIGINS=" http://allowed.test , http://b.test")
    with EngineServer(settings) as server:
        yield server


@pytest.fixture(scope="session")
def sdxl_server(tiny_sdxl):
    settings = settings_from_env(SD_MODEL_ID=tiny_sdxl, SD_STEPS="1")
    with EngineServer(settings) as server:
        yield server
