"""Settings come from the environment, once, and bad values name their variable."""

from __future__ import annotations

import pytest

from aura_reflect.core.config import ConfigError

from .helpers import settings_from_env


def test_allow_origins_tolerates_whitespace_and_empty_entries():
    settings = settings_from_env(ALLOW_ORIGINS=" http://a.test ,http://b.test:8000 , ,")
    assert settings.allow_origins == ["http://a.test", "http://b.test:8000"]


@pytest.mark.parametrize(
    "env, words",
    [
        ({"SD_PRECISION": "fp8"}, "SD_PRECISION='fp8'"),
        ({"SD_DEVICE": "tpu"}, "SD_DEVICE='tpu'"),
        ({"SD_STEPS": "0"}, "SD_STEPS='0'"),
        ({"SD_NUM_IMAGES": "12"}, "SD_NUM_IMAGES='12'"),
        ({"SD_GUIDANCE": "abc"}, "SD_GUIDANCE='abc'"),
        ({"SD_SCHEDULER": "magic"}, "unknown scheduler 'magic'"),
        ({"PORT": "99999"}, "PORT='99999'"),
        ({"AURA_MAX_QUEUE": "-1"}, "AURA_MAX_QUEUE"),
        ({"TORCH_COMPILE": "maybe"}, "TORCH_COMPILE='maybe'"),
        ({"AURA_MIN_REPLICAS": "0"}, "AURA_MIN_REPLICAS='0'"),
        ({"AURA_TARGET_ONGOING_REQUESTS": "0"}, "AURA_TARGET_ONGOING_REQUESTS='0'"),
        ({"AURA_HEALTH_CHECK_S": "0"}, "AURA_HEALTH_CHECK_S='0'"),
        ({"AURA_UPSCALE_DELAY_S": "-1"}, "AURA_UPSCALE_DELAY_S='-1'"),
        ({"AURA_DOWNSCALE_DELAY_S": "soon"}, "AURA_DOWNSCALE_DELAY_S='soon'"),
        ({"AURA_AUTOSCALE_LOOK_BACK_S": "0"}, "AURA_AUTOSCALE_LOOK_BACK_S='0'"),
        ({"AURA_MIN_REPLICAS": "3", "AURA_MAX_REPLICAS": "2"}, "AURA_MAX_REPLICAS (2) is below AURA_MIN_REPLICAS (3)"),
    ],
)
def test_bad_values_name_the_variable(env, words):
    with pytest.raises(ConfigError) as raised:
        settings_from_env(**env)
    assert words in str(raised.value)


def test_wildcard_origin_with_credentials_is_refused():
    with pytest.raises(ConfigError, match="ALLOW_ORIGINS"):
        settings_from_env(ALLOW_ORIGINS="*", AURA_CORS_CREDENTIALS="true")
    assert settings_from_env(ALLOW_ORIGINS="*").allow_origins == ["*"]


def test_port_defaults(monkeypatch):
    monkeypatch.delenv("PORT", raising=False)
    monkeypatch.delenv("SPACE_ID", raising=False)
    assert settings_from_env().effective_port == 8000
    assert settings_from_env(SPACE_ID="someone/aura").effective_port == 7860
    assert settings_from_env(SPACE_ID="someone/aura", PORT="9000").effective_port == 9000


def test_scheduler_names_are_case_insensitive():
    assert settings_from_env(SD_SCHEDULER="Euler_A").scheduler == "euler_a"


def test_replica_range_defaults_to_a_fixed_count():
    assert settings_from_env().replica_range == (1, 1)
    assert settings_from_env(AURA_MIN_REPLICAS="2").replica_range == (2, 2)
    assert settings_from_env(AURA_MIN_REPLICAS="1", AURA_MAX_REPLICAS="4").replica_range == (1, 4)
