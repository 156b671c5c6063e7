"""The worker under pressure: bounded queue, out-of-memory, unexpected errors, loading and load failure."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest
import torch

from aura_reflect.engine.loader import load_model

from .helpers import EngineServer, settings_from_env

BODY = {"prompt": "calm ocean at dawn", "aspectRatio": "1:1", "temperature": 1, "numImages": 1}


class UNetHook:
    """A forward pre-hook on the real UNet: a fault injected where a real one would happen."""

    def __init__(self, server, action):
        def hook(module, args):
            action()  # returns nothing, so the UNet's inputs are untouched

        self.handle = server.worker.model.text2img.unet.register_forward_pre_hook(hook)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.remove()


def wait_until(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.01)


@pytest.fixture
def queued_server(tiny_sd):
    settings = settings_from_env(SD_MODEL_ID=tiny_sd, SD_STEPS="2", AURA_MAX_QUEUE="1")
    with EngineServer(settings) as server:
        yield server


def test_full_queue_refuses_with_retry_after_and_loses_nothing_accepted(queued_server):
    server = queued_server
    gate = threading.Event()
    with UNetHook(server, lambda: gate.wait(30)), ThreadPoolExecutor(2) as pool:
        running = pool.submit(server.client.post, "/generate", json={**BODY, "seed": 1})
        wait_until(lambda: server.worker.running is not None)
        queued = pool.submit(server.client.post, "/generate", json={**BODY, "seed": 2})
        wait_until(lambda: server.worker.depth == 1)
        health = server.client.get("/health").json()
        assert health["queue"] == {"depth": 1, "max": 1, "running": 1}

        refused = server.client.post("/generate", json={**BODY, "seed": 3})
        assert refused.status_code == 503
        assert int(refused.headers["Retry-After"]) >= 1
        assert refused.json()["error"]["type"] == "overloaded"
        assert "limit 1" in refused.json()["error"]["message"]

        gate.set()
        assert running.result().status_code == 200
        assert queued.result().status_code == 200
        assert queued.result().json()["seeds"] == [2]
    assert server.worker.depth == 0


def test_out_of_memory_is_a_503_and_the_next_request_succeeds(sd_server):
    def oom():
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    with UNetHook(sd_server, oom):
        response = sd_server.client.post("/generate", json=BODY)
    assert response.status_code == 503
    assert response.json()["error"]["type"] == "out_of_memory"
    assert "standard resolution or fewer images" in response.json()["error"]["message"]
    assert "Retry-After" in response.headers
    assert sd_server.client.post("/generate", json=BODY).status_code == 200


def test_unexpected_error_is_a_short_500_without_traceback(sd_server, caplog):
    def boom():
        raise ValueError("secret internal detail")

    with UNetHook(sd_server, boom):
        response = sd_server.client.post("/generate", json=BODY)
    assert response.status_code == 500
    text = response.text
    assert "Traceback" not in text and "secret internal detail" not in text
    assert response.json()["error"]["type"] == "internal_error"
    assert any(r.exc_info and "secret internal detail" in str(r.exc_info[1]) for r in caplog.records)
    assert sd_server.client.post("/generate", json=BODY).status_code == 200


def test_health_is_503_loading_until_the_model_is_ready(tiny_sd):
    release = threading.Event()

    def held_back_loader(settings, model_id=None):
        release.wait(30)
        return load_model(settings, model_id)

    settings = settings_from_env(SD_MODEL_ID=tiny_sd, SD_STEPS="1")
    with EngineServer(settings, wait_ready=False, loader=held_back_loader) as server:
        health = server.client.get("/health")
        assert health.status_code == 503 and health.json()["status"] == "loading"
        early = server.client.post("/generate", json=BODY)
        assert early.status_code == 503 and "loading" in early.json()["error"]["message"]
        assert "Retry-After" in early.headers
        release.set()
        assert server.worker.wait_ready(30)
        health = server.client.get("/health")
        assert health.status_code == 200
        body = health.json()
        assert body["status"] == "ok" and body["device"] == "cpu" and body["family"] == "sd"
        assert body["dtype"] == "float32" and body["scheduler"] == "PNDMScheduler"
        assert body["optimizations"]["attention"] == "sdpa"


def test_a_model_that_fails_to_load_keeps_the_process_up_and_says_why(tmp_path):
    settings = settings_from_env(SD_MODEL_ID=str(tmp_path / "missing-model"))
    with EngineServer(settings, wait_ready=False) as server:
        wait_until(lambda: server.worker.state == "error")
        health = server.client.get("/health")
        assert health.status_code == 503
        assert health.json()["status"] == "error"
        assert "does not exist" in health.json()["error"]
        response = server.client.post("/generate", json=BODY)
        assert response.status_code == 503
        assert "does not exist" in response.json()["error"]["message"]


def test_body_over_the_limit_is_413_before_parsing(tiny_sd):
    settings = settings_from_env(SD_MODEL_ID=tiny_sd, AURA_MAX_BODY_MB="0.01")
    with EngineServer(settings) as server:
        big = {"refinePrompt": "x", "images": ["A" * 20000]}
        response = server.client.post("/refine", json=big)
        assert response.status_code == 413
        assert response.json()["error"]["field"] == "body"
        # Chunked upload without a Content-Length is counted too.
        def chunks():
            for _ in range(20):
                yield b"A" * 1000
        response = server.client.post("/refine", content=chunks(), headers={"content-type": "application/json"})
        assert response.status_code == 413


def test_cors_allows_listed_origins_only(sd_server):
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    allowed = sd_server.client.options("/generate", headers={"Origin": "http://allowed.test", **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "http://allowed.test"
    assert "access-control-allow-credentials" not in allowed.headers
    second = sd_server.client.options("/generate", headers={"Origin": "http://b.test", **preflight})
    assert second.headers["access-control-allow-origin"] == "http://b.test"

    refused = sd_server.client.options("/generate", headers={"Origin": "http://evil.test", **preflight})
    assert "access-control-allow-origin" not in refused.headers
    simple = sd_server.client.get("/health", headers={"Origin": "http://evil.test"})
    assert "access-control-allow-origin" not in simple.headers
    simple_ok = sd_server.client.get("/health", headers={"Origin": "http://allowed.test"})
    assert simple_ok.headers["access-control-allow-origin"] == "http://allowed.test"


def test_refusals_carry_cors_headers_for_allowed_origins(sd_server):
    response = sd_server.client.post(
        "/generate", json={**BODY, "temperature": 9}, headers={"Origin": "http://allowed.test"}
    )
    assert response.status_code == 422
    assert response.headers["access-control-allow-origin"] == "http://allowed.test"


def test_no_cors_headers_without_allow_origins(sdxl_server):
    preflight = {"Origin": "http://allowed.test", "Access-Control-Request-Method": "POST"}
    response = sdxl_server.client.options("/generate", headers=preflight)
    assert "access-control-allow-origin" not in response.headers
    assert httpx.codes.is_error(response.status_code)


def test_progress_and_cancel_by_request_id(queued_server):
    server = queued_server
    gate = threading.Event()
    with UNetHook(server, lambda: gate.wait(0.05)), ThreadPoolExecutor(2) as pool:
        body = {**BODY, "requestId": "job-running-1", "config": {"steps": 40}}
        running = pool.submit(server.client.post, "/generate", json=body)
        wait_until(lambda: (server.client.get("/jobs/job-running-1").json().get("step") or 0) >= 2)
        progress = server.client.get("/jobs/job-running-1").json()
        assert progress["state"] == "running" and progress["total"] == 40 and 2 <= progress["step"] < 40

        queued = pool.submit(server.client.post, "/generate", json={**BODY, "requestId": "job-queued-1"})
        wait_until(lambda: server.worker.depth == 1)
        assert server.client.get("/jobs/job-queued-1").json() == {
            "id": "job-queued-1", "state": "queued", "step": 0, "total": 2, "position": 1,
            "previews": None, "previewStep": None}
        duplicate = server.client.post("/generate", json={**BODY, "requestId": "job-queued-1"})
        assert duplicate.status_code == 422 and duplicate.json()["error"]["field"] == "requestId"

        assert server.client.delete("/jobs/job-queued-1").status_code == 202
        assert queued.result().status_code == 499
        assert server.client.delete("/jobs/job-running-1").status_code == 202
        cancelled = running.result()
        assert cancelled.status_code == 499 and cancelled.json()["error"]["type"] == "cancelled"
    assert server.client.get("/jobs/job-running-1").status_code == 404
    assert server.client.delete("/jobs/nope-nope-nope").status_code == 404
    bad_id = server.client.post("/generate", json={**BODY, "requestId": "../../etc"})
    assert bad_id.status_code == 422 and bad_id.json()["error"]["field"] == "requestId"
    assert server.client.post("/generate", json=BODY).status_code == 200


@pytest.fixture
def deadline_server(tiny_sd):
    settings = settings_from_env(SD_MODEL_ID=tiny_sd, SD_STEPS="2", AURA_MAX_QUEUE="2", AURA_REQUEST_TIMEOUT_S="1.5")
    with EngineServer(settings) as server:
        yield server


def test_deadline_drops_queued_work_and_stops_running_work(deadline_server):
    server = deadline_server
    calls = []
    gate = threading.Event()

    def slow():
        calls.append(time.monotonic())
        gate.wait(0.4)  # each denoising step takes 0.4 s: a 40-step job cannot finish in 1.5 s

    with UNetHook(server, slow), ThreadPoolExecutor(2) as pool:
        running = pool.submit(server.client.post, "/generate", json={**BODY, "config": {"steps": 40}})
        wait_until(lambda: server.worker.running is not None)
        queued = pool.submit(server.client.post, "/generate", json={**BODY, "seed": 5})
        for future in (running, queued):
            response = future.result()
            assert response.status_code == 504, response.text
            assert "AURA_REQUEST_TIMEOUT_S" in response.json()["error"]["message"]
        wait_until(lambda: server.worker.running is None, timeout=5)
        steps_run = len(calls)
        time.sleep(0.6)
        assert len(calls) == steps_run < 10  # stopped, and the queued job never ran
    assert server.worker.depth == 0
    assert server.client.post("/generate", json=BODY).status_code == 200


def test_a_client_that_disconnects_has_its_work_stopped(queued_server):
    server = queued_server
    calls = []

    def slow():
        calls.append(time.monotonic())
        time.sleep(0.1)

    with UNetHook(server, slow):
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(f"{server.url}/generate", json={**BODY, "config": {"steps": 100}}, timeout=1.0)
        wait_until(lambda: server.worker.running is None, timeout=5)
        steps_run = len(calls)
        time.sleep(0.5)
        assert len(calls) == steps_run < 40
    assert server.client.post("/generate", json=BODY).status_code == 200


def test_rate_limit_per_client_with_retry_after(tiny_sd):
    settings = settings_from_env(SD_MODEL_ID=tiny_sd, SD_STEPS="1", AURA_RATE_LIMIT="1", AURA_RATE_BURST="2")
    with EngineServer(settings) as server:
        forged = {"X-Forwarded-For": "10.9.8.7"}  # ignored without AURA_TRUST_PROXY
        assert server.client.post("/generate", json=BODY).status_code == 200
        assert server.client.post("/generate", json=BODY, headers=forged).status_code == 200
        limited = server.client.post("/generate", json=BODY, headers=forged)
        assert limited.status_code == 429 and limited.json()["error"]["type"] == "rate_limited"
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
        # Progress polling and health are not rate limited.
        assert server.client.get("/health").status_code == 200
        assert server.client.get("/jobs/some-job-id").status_code == 404


def test_rate_limit_reads_the_proxy_address_only_when_trusted(tiny_sd):
    settings = settings_from_env(SD_MODEL_ID=tiny_sd, SD_STEPS="1", AURA_RATE_LIMIT="1", AURA_RATE_BURST="1",
                                 AURA_TRUST_PROXY="true")
    with EngineServer(settings) as server:
        for client in ("203.0.113.1", "203.0.113.2"):
            # The client may prepend anything; the proxy's own entry (the last) identifies it.
            headers = {"X-Forwarded-For": f"1.1.1.1, {client}"}
            assert server.client.post("/generate", json=BODY, headers=headers).status_code == 200
        again = server.client.post("/generate", json=BODY, headers={"X-Forwarded-For": "9.9.9.9, 203.0.113.1"})
        assert again.status_code == 429


class DecoderHook:
    """A forward hook on the real VAE decoder that replaces its first ``times`` outputs with NaN."""

    def __init__(self, server, times: int):
        self.calls = 0

        def hook(module, args, output):
            self.calls += 1
            return output * float("nan") if self.calls <= times else output

        self.handle = server.worker.model.text2img.vae.decoder.register_forward_hook(hook)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.remove()


def test_a_nan_decode_is_decoded_again_in_fp32_never_returned_black(sd_server):
    from .helpers import decode_png

    before = sd_server.worker.model.optimizations.get("fp32_redecodes", 0)
    clean = sd_server.client.post("/generate", json={**BODY, "seed": 9}).json()["images"][0]
    with DecoderHook(sd_server, times=1) as hook:
        response = sd_server.client.post("/generate", json={**BODY, "seed": 9})
    assert response.status_code == 200, response.text
    assert hook.calls == 2  # the pipeline's decode, then the engine's fp32 re-decode
    image = np.asarray(decode_png(response.json()["images"][0]), dtype=np.int16)
    assert image.max() > 0
    assert np.abs(image - np.asarray(decode_png(clean), dtype=np.int16)).max() <= 1
    assert sd_server.client.get("/health").json()["optimizations"]["fp32_redecodes"] == before + 1


def test_nan_that_survives_the_fp32_decode_is_a_500_invalid_output(sd_server):
    with DecoderHook(sd_server, times=2):
        response = sd_server.client.post("/generate", json=BODY)
    assert response.status_code == 500
    assert response.json()["error"]["type"] == "invalid_output"


def test_nan_latents_are_a_500_invalid_output_and_the_next_request_succeeds(sd_server):
    def nan_noise(module, args, output):
        (output[0] if isinstance(output, tuple) else output.sample).fill_(float("nan"))
        return output

    handle = sd_server.worker.model.text2img.unet.register_forward_hook(nan_noise)
    try:
        response = sd_server.client.post("/generate", json=BODY)
    finally:
        handle.remove()
    assert response.status_code == 500
    assert response.json()["error"]["type"] == "invalid_output"
    assert "NaN latents" in response.json()["error"]["message"]
    assert sd_server.client.post("/generate", json=BODY).status_code == 200


def test_a_stuck_step_makes_health_unhealthy_until_it_moves(tiny_sd):
    settings = settings_from_env(SD_MODEL_ID=tiny_sd, SD_STEPS="2", AURA_WATCHDOG_S="0.5")
    with EngineServer(settings) as server:
        gate = threading.Event()
        with UNetHook(server, lambda: gate.wait(30)), ThreadPoolExecutor(1) as pool:
            pending = pool.submit(server.client.post, "/generate", json=BODY)
            wait_until(lambda: server.worker.running is not None)
            time.sleep(0.8)
            health = server.client.get("/health")
            assert health.status_code == 503
            assert health.json()["status"] == "stuck"
            assert "AURA_WATCHDOG_S" in health.json()["error"]
            gate.set()
            assert pending.result().status_code == 200
        assert server.client.get("/health").status_code == 200


def test_an_sdxl_vae_decodes_in_fp16_until_it_overflows_then_upcasts_for_good(tiny_sdxl):
    """diffusers would upcast SDXL's VAE around every decode (force_upcast); the engine decodes in
    fp16 and turns the upcast on only after a decode overflows (that one is decoded again in fp32)."""
    import torch

    settings = settings_from_env(SD_MODEL_ID=tiny_sdxl, SD_STEPS="1", SD_PRECISION="fp16", AURA_WARMUP="false")
    with EngineServer(settings) as server:
        vae = server.worker.model.text2img.vae
        assert server.client.get("/health").json()["optimizations"]["vae_upcast"] == "after an fp16 overflow"
        dtypes = []
        handle = vae.decoder.register_forward_pre_hook(lambda module, args: dtypes.append(args[0].dtype))
        try:
            assert server.client.post("/generate", json={**BODY, "numImages": 1}).status_code == 200
            assert dtypes == [torch.float16]  # no upcast
            with DecoderHook(server, times=1):  # an overflow
                assert server.client.post("/generate", json={**BODY, "numImages": 1}).status_code == 200
            health = server.client.get("/health").json()["optimizations"]
            assert health["vae_upcast"] is True and health["fp32_redecodes"] == 1
            dtypes.clear()
            assert server.client.post("/generate", json={**BODY, "numImages": 1}).status_code == 200
            assert dtypes == [torch.float32] and vae.dtype == torch.float16  # diffusers' upcast, and back
        finally:
            handle.remove()


def test_work_stopped_by_a_shutdown_is_a_503_to_retry_not_a_cancel(tiny_sd):
    """After the grace period, running work is stopped: its client must read "retry", not "cancelled"."""
    settings = settings_from_env(SD_MODEL_ID=tiny_sd, SD_STEPS="2", AURA_MAX_QUEUE="1")
    with EngineServer(settings) as server, UNetHook(server, lambda: time.sleep(0.05)), ThreadPoolExecutor(1) as pool:
        running = pool.submit(server.client.post, "/generate", json={**BODY, "config": {"steps": 100}})
        wait_until(lambda: server.worker.running is not None)
        server.worker.stop()
        response = running.result()
        assert response.status_code == 503, response.text
        assert response.headers["Retry-After"] == "5"
        assert "shutting down" in response.json()["error"]["message"]


def test_work_its_client_cancelled_stays_cancelled_when_the_engine_stops_meanwhile(tiny_sd):
    """A cancel that the worker has not acted on yet when the engine stops is still the client's cancel:
    a 503 would make a retrying client run the work again."""
    settings = settings_from_env(SD_MODEL_ID=tiny_sd, SD_STEPS="2", AURA_MAX_QUEUE="1")
    gate = threading.Event()
    with EngineServer(settings) as server, UNetHook(server, lambda: gate.wait(10)), ThreadPoolExecutor(2) as pool:
        running = pool.submit(server.client.post, "/generate",
                              json={**BODY, "requestId": "cancelled-then-stopped", "config": {"steps": 100}})
        wait_until(lambda: server.worker.running is not None)
        assert server.client.delete("/jobs/cancelled-then-stopped").status_code == 202
        stopping = pool.submit(server.worker.stop)  # waits for the worker, held in the UNet hook
        time.sleep(0.2)
        gate.set()
        stopping.result(timeout=30)
        response = running.result()
        assert response.status_code == 499 and response.json()["error"]["type"] == "cancelled", response.text
