"""`aura serve` and `python app.py` as real processes, configured by the environment."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

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
        # On loopback (the default HOST), pages on this machine may call it from any port.
        local = httpx.get(f"http://127.0.0.1:{port}/health", headers={"Origin": "http://localhost:3000"})
        assert local.headers["access-control-allow-origin"] == "http://localhost:3000"
    finally:
        process.terminate()
        assert process.wait(30) == 0


def test_app_py_binds_port_from_environment_like_a_space(tiny_sd):
    port = free_port()
    env = {"SD_MODEL_ID": tiny_sd, "PORT": str(port), "SPACE_ID": "someone/aura-engine"}
    process = run_engine([sys.executable, "app.py"], env)
    try:
        assert wait_for_health(f"http://127.0.0.1:{port}", process).json()["status"] == "ok"
        # Bound to every interface: no origin is allowed unless ALLOW_ORIGINS lists it.
        local = httpx.get(f"http://127.0.0.1:{port}/health", headers={"Origin": "http://localhost:3000"})
        assert "access-control-allow-origin" not in local.headers
    finally:
        process.terminate()
        process.wait(30)


@pytest.mark.parametrize("command", [[AURA], [sys.executable, "-m", "aura_reflect"]], ids=["aura", "python-m"])
def test_bad_configuration_exits_with_the_variable_named(command):
    result = subprocess.run(
        [*command, "serve"], env={**os.environ, "SD_PRECISION": "fp8"}, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "SD_PRECISION='fp8'" in result.stderr


def test_sigterm_drains_accepted_work_refuses_new_work_and_exits_0(tiny_sd):
    """What a platform does on a redeploy: SIGTERM while a request runs and another is queued."""
    import signal
    from concurrent.futures import ThreadPoolExecutor

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # A grace period no slow CI machine can exceed: this test is about draining, not the deadline.
    process = run_engine([AURA, "serve", "--port", str(port)], {"SD_MODEL_ID": tiny_sd, "AURA_SHUTDOWN_GRACE_S": "300"})
    # A few seconds of work: running when SIGTERM arrives, done well within the 30 s grace period.
    slow = {"prompt": "warm sunset", "aspectRatio": "1:1", "temperature": 1, "numImages": 2,
            "config": {"steps": 60}, "requestId": "slow-one"}
    quick = {"prompt": "cool sea", "aspectRatio": "1:1", "temperature": 1, "numImages": 1, "config": {"steps": 2}}
    try:
        wait_for_health(url, process)
        with ThreadPoolExecutor(2) as pool:
            running = pool.submit(httpx.post, f"{url}/generate", json=slow, timeout=120)
            deadline = time.monotonic() + 30
            while httpx.get(f"{url}/jobs/slow-one").json().get("state") != "running":
                assert time.monotonic() < deadline
                time.sleep(0.05)
            queued = pool.submit(httpx.post, f"{url}/generate", json=quick, timeout=120)
            time.sleep(0.3)  # let it be accepted into the queue
            process.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            try:
                refused = httpx.post(f"{url}/generate", json=quick, timeout=10)
                assert refused.status_code == 503 and "shutting down" in refused.text
            except httpx.TransportError:
                pass  # the listener is already closed: refused just the same
            assert running.result().status_code == 200, running.result().text
            assert len(running.result().json()["images"]) == 2
            assert queued.result().status_code == 200
        assert process.wait(60) == 0
    finally:
        if process.poll() is None:
            process.kill()
