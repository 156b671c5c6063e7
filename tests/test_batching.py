"""Micro-batching over real HTTP: concurrent compatible requests share one pipeline call, and each
caller gets exactly the images it would get alone with the same seeds."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from .helpers import EngineServer, decode_png, settings_from_env

PROMPTS = ["rainy afternoon in Tokyo", "warm pastel gradient", "a purple night sky over dark mountains", "calm sea"]


def metric(server, name: str) -> float:
    for family in text_string_to_metric_families(server.client.get("/metrics").text):
        for sample in family.samples:
            if sample.name == name and not sample.labels:
                return sample.value
    return 0.0


def body(i: int, **extra) -> dict:
    return {"prompt": PROMPTS[i], "aspectRatio": "1:1", "temperature": 1, "numImages": 1 + i % 2, "seed": 100 * i,
            **extra}


@pytest.fixture(scope="module")
def batching_server(tiny_sd):
    settings = settings_from_env(SD_MODEL_ID=tiny_sd, SD_STEPS="3", AURA_MAX_BATCH="8", AURA_BATCH_WAIT_MS="400",
                                 AURA_RATE_LIMIT="0")
    with EngineServer(settings) as server:
        yield server


def test_concurrent_requests_share_a_call_and_get_their_own_images(batching_server):
    server = batching_server
    calls, images = metric(server, "aura_batch_images_count"), metric(server, "aura_batch_images_sum")
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda i: server.client.post("/generate", json=body(i)), range(4)))
    assert all(r.status_code == 200 for r in together), [r.text for r in together]
    # 1 + 2 + 1 + 2 images, in fewer pipeline calls than requests.
    assert metric(server, "aura_batch_images_sum") - images == 6
    assert metric(server, "aura_batch_images_count") - calls < 4

    for i, response in enumerate(together):
        assert response.json()["seeds"] == [100 * i + k for k in range(1 + i % 2)]
        alone = server.client.post("/generate", json=body(i))  # sequential: runs by itself
        for a, b in zip(response.json()["images"], alone.json()["images"]):
            diff = np.abs(np.asarray(decode_png(a), dtype=np.int16) - np.asarray(decode_png(b), dtype=np.int16))
            assert diff.max() <= 1, f"request {i}: batched image differs from its solo run by {diff.max()}"


def test_incompatible_requests_are_not_batched_together(batching_server):
    server = batching_server
    calls = metric(server, "aura_batch_images_count")
    with ThreadPoolExecutor(2) as pool:
        square, wide = pool.map(
            lambda ratio: server.client.post("/generate", json=body(0, aspectRatio=ratio)), ["1:1", "16:9"]
        )
    assert square.status_code == wide.status_code == 200
    assert (square.json()["width"], wide.json()["width"]) != (square.json()["height"], wide.json()["height"])
    assert metric(server, "aura_batch_images_count") - calls == 2


def test_metrics_count_requests_latencies_and_queue(batching_server):
    server = batching_server
    server.client.post("/generate", json=body(0))
    server.client.post("/generate", json={"prompt": ""})  # a 422
    text = server.client.get("/metrics").text
    families = {family.name: family for family in text_string_to_metric_families(text)}
    requests = {(s.labels["endpoint"], s.labels["status"]): s.value
                for s in families["aura_http_requests"].samples if s.name.endswith("_total")}
    assert requests[("/generate", "200")] >= 1 and requests[("/generate", "422")] >= 1
    for name in ("aura_queue_wait_seconds", "aura_generation_seconds", "aura_encode_seconds",
                 "aura_http_request_seconds", "aura_batch_images"):
        assert any(s.name == f"{name}_count" and s.value >= 1 for s in families[name].samples), name
    assert metric(server, "aura_queue_depth") == 0
    assert metric(server, "aura_model_load_seconds") > 0
    images = [s.value for s in families["aura_images_generated"].samples
              if s.name.endswith("_total") and s.labels["endpoint"] == "generate"]
    assert images and images[0] >= 1


def test_requests_that_arrive_while_a_call_runs_share_the_next_one_and_a_lone_one_never_waits(tiny_sd):
    """The defaults, on any device: batches of up to 8 images, no wait for companions; those queued
    during a call are the next call's batch."""
    import threading
    import time

    settings = settings_from_env(SD_MODEL_ID=tiny_sd, SD_STEPS="3", AURA_RATE_LIMIT="0")
    assert settings.batch_wait_ms == 0 and settings.max_batch == 8
    with EngineServer(settings) as server, ThreadPoolExecutor(4) as pool:
        sizes: list[int] = []
        server.worker.on_batch = sizes.append
        gate = threading.Event()
        def hold(module, args):
            gate.wait(30)  # returns None: a pre-hook's return value would replace the UNet's inputs

        handle = server.worker.model.text2img.unet.register_forward_pre_hook(hold)
        try:
            first = pool.submit(server.client.post, "/generate", json=body(0))
            deadline = time.monotonic() + 30
            while server.worker.running is None and time.monotonic() < deadline:
                time.sleep(0.01)
            others = [pool.submit(server.client.post, "/generate", json=body(i)) for i in (2, 1, 3)]
            while server.worker.depth < 3 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert server.worker.depth == 3  # held behind the running call
        finally:
            gate.set()
            handle.remove()
        assert first.result().status_code == 200 and all(f.result().status_code == 200 for f in others)
        assert sizes == [1, 1 + 2 + 2]  # the first alone, at once; the three that waited, together
        lone = server.client.post("/generate", json=body(0))
        assert lone.status_code == 200 and sizes[-1] == 1
