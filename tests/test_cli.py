"""`aura serve` and `python app.py` as real processes, configured by the environment."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from .helpers import free_port

ROOT = Path(__file__).resolve().parents[1]
AURA = str(Path(sys.executable).with_name("aura"))


def wait_for_health(url: str, process: subprocess.Popen, timeout: float = 90) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"process exited with {process.returncode}: {process.stdout.read()}")
        try:
            response = httpx.get(f"{url}/health", timeout=2)
            if response.status_code == 200:
                return response
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("engine did not become healthy")


def run_engine(command: list[str], env: dict[str, str]):
    return subprocess.Popen(
        command, cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def test_aura_serve_on_port_from_flag(tiny_sd):
    port = free_port()
    process = run_engine([AURA, "serve", "--port", str(port)], {"SD_MODEL_ID": tiny_sd, "SD_STEPS": "1"})
    try:
        health = wait_for_health(f"http://127.0.0.1:{port}", process).json()
        assert health["model"] == "tiny-sd"
        response = httpx.post(
            f"http://127.0.0.1:{port}/generate",
            json={"prompt": "warm sunset", "aspectRatio": "1:1", "temperature": 1, "numImages": 1},
            timeout=60,
        )
        assert response.status_code == 200 and len(response.json()["images"]) == 1
    finally:
        process.terminate()
        assert process.wait(30) == 0


def test_app_py_binds_port_from_environment_like_a_space(tiny_sd):
    port = free_port()
    env = {"SD_MODEL_ID": tiny_sd, "PORT": str(port), "SPACE_ID": "someone/aura-engine"}
    process = run_engine([sys.executable, "app.py"], env)
    try:
        assert wait_for_health(f"http://127.0.0.1:{port}", process).json()["status"] == "ok"
    finally:
        process.terminate()
        process.wait(30)


def test_bad_configuration_exits_with_the_variable_named():
    result = subprocess.run(
        [AURA, "serve"], env={**os.environ, "SD_PRECISION": "fp8"}, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "SD_PRECISION='fp8'" in result.stderr
