"""Schemathesis against the engine's own OpenAPI schema, over a real port.

Every operation gets generated requests, valid and invalid; each response must not be a 5xx, must
carry a status code the schema documents, and must match the schema documented for that code.
The number of examples is bounded so that CI stays fast, and generated bodies are capped at a few
denoising steps and images (valid values, just cheap ones) so that one example cannot take minutes.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from .helpers import EngineServer, settings_from_env

MAX_EXAMPLES = 30


@pytest.fixture(scope="module")
def fuzz_server(tiny_sd):
    env = {"SD_MODEL_ID": tiny_sd, "SD_STEPS": "1", "AURA_RATE_LIMIT": "0"}
    with EngineServer(settings_from_env(**env)) as server:
        yield server


def _cheap(body):
    """Keep generated work small: valid bodies stay valid, they just ask for less."""
    if isinstance(body, dict):
        if isinstance(body.get("numImages"), int) and body["numImages"] > 2:
            body["numImages"] = 2
        if isinstance(body.get("n"), int) and body["n"] > 2:
            body["n"] = 2
        config = body.get("config")
        if isinstance(config, dict) and isinstance(config.get("steps"), int) and config["steps"] > 3:
            config["steps"] = 3
    return body


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_errors_and_responses_match_the_schema(fuzz_server, mode):
    # Operations are iterated here rather than with schemathesis' pytest fixture loader, whose
    # node-id rewriting does not work with pytest 9.
    api = schemathesis.openapi.from_url(f"{fuzz_server.url}/openapi.json")
    failures, tried = [], 0
    for result in api.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case):
            case.body = _cheap(case.body)
            case.call_and_validate(
                base_url=fuzz_server.url,
                checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
                timeout=120,
            )

        tried += 1
        try:
            check()
        except Unsatisfiable:  # negative mode: an operation without inputs has no invalid request
            continue
        except Exception as error:  # one operation's failure must not hide the others'
            failures.append(f"{operation.method.upper()} {operation.path}: {error}")
    assert tried >= 10, f"only {tried} operations in the schema"
    assert not failures, "\n\n".join(failures)
