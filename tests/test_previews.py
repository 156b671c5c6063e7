"""Live previews: a running job's latents as small pictures, at GET /jobs/{id}."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

from aura_reflect.engine import pipeline
from aura_reflect.engine.loader import EMBEDDED_MODEL, load_model, read_profile
from aura_reflect.engine.previews import FAMILY_LATENT_RGB, LatentRGB, preview_images
from aura_reflect.errors import ModelLoadError
from aura_reflect.testing import save_tiny_pipeline

from .helpers import EngineServer, decode_png, settings_from_env
from .test_engine_faults import UNetHook, wait_until

BODY = {"prompt": "calm ocean at dawn", "aspectRatio": "1:1", "temperature": 1}


def test_a_running_job_shows_previews_of_each_of_its_images_that_follow_the_steps(tiny_sd):
    settings = settings_from_env(SD_MODEL_ID=tiny_sd, SD_STEPS="2")
    with EngineServer(settings) as server, ThreadPoolExecutor(1) as pool:
        gate = threading.Event()
        with UNetHook(server, lambda: gate.wait(0.05)):
            body = {**BODY, "numImages": 2, "requestId": "preview-1", "config": {"steps": 30}}
            running = pool.submit(server.client.post, "/generate", json=body)
            wait_until(lambda: (server.client.get("/jobs/preview-1").json().get("previewStep") or 0) >= 2)
            first = server.client.get("/jobs/preview-1").json()
            wait_until(lambda: server.client.get("/jobs/preview-1").json()["previewStep"] >= first["previewStep"] + 3)
            later = server.client.get("/jobs/preview-1").json()
        result = running.result()
    assert result.status_code == 200
    width, height = result.json()["width"], result.json()["height"]
    grid = (width // server.worker.model.vae_scale_factor, height // server.worker.model.vae_scale_factor)
    assert len(first["previews"]) == len(later["previews"]) == 2
    images = [decode_png(data) for data in first["previews"] + later["previews"]]
    assert all(image.size == grid and image.mode == "RGB" for image in images)
    assert first["previews"] != later["previews"]  # they follow the denoising
    assert first["previews"][0] != first["previews"][1]  # one per image, each its own seed


def test_queued_jobs_and_finished_jobs_have_no_previews(tiny_sd):
    settings = settings_from_env(SD_MODEL_ID=tiny_sd, SD_STEPS="2", AURA_MAX_QUEUE="1")
    with EngineServer(settings) as server, ThreadPoolExecutor(2) as pool:
        gate = threading.Event()
        with UNetHook(server, lambda: gate.wait(0.05)):
            running = pool.submit(server.client.post, "/generate",
                                  json={**BODY, "numImages": 1, "requestId": "busy-job-1", "config": {"steps": 20}})
            wait_until(lambda: server.worker.running is not None)
            queued = pool.submit(server.client.post, "/generate", json={**BODY, "numImages": 1, "requestId": "waiting-job-1"})
            wait_until(lambda: server.worker.depth == 1)
            waiting = server.client.get("/jobs/waiting-job-1").json()
            assert waiting["state"] == "queued" and waiting["previews"] is None and waiting["previewStep"] is None
        assert running.result().status_code == 200 and queued.result().status_code == 200
        assert server.client.get("/jobs/busy-job-1").status_code == 404


def test_each_job_of_a_batch_sees_only_its_own_latents(tiny_sd):
    model = load_model(settings_from_env(SD_MODEL_ID=tiny_sd))
    requests = [
        pipeline.GenerationRequest(prompt=prompt, width=64, height=64, steps=2, guidance_scale=5.0, seeds=seeds)
        for prompt, seeds in (("red", [1]), ("blue", [2, 3]))
    ]
    controls = [pipeline.StepControl(), pipeline.StepControl()]
    pipeline.generate_batch(model, requests, controls)
    assert [c.latents.shape[0] for c in controls] == [1, 2]
    assert [len(preview_images(c.latents, model.latent_rgb)) for c in controls] == [1, 2]
    # Alone, image 2 of the second job has the same final latents as in the batch (its own generator).
    alone = pipeline.StepControl()
    pipeline.generate_batch(model, [requests[1]], [alone])
    assert np.allclose(alone.latents.numpy(), controls[1].latents.numpy(), atol=1e-3)


def test_the_model_card_names_its_factors_and_others_get_their_familys(tmp_path, tiny_sd, tiny_sdxl):
    settings = settings_from_env()
    assert read_profile(settings, tiny_sd).latent_rgb == FAMILY_LATENT_RGB["sd"]
    assert read_profile(settings, tiny_sdxl).latent_rgb == FAMILY_LATENT_RGB["sdxl"]
    folder = save_tiny_pipeline(tmp_path / "carded", "sd")
    own = {"factors": [[0.1, 0.2, 0.3]] * 4, "bias": [0.0, 0.5, -0.5]}
    (folder / "aura.json").write_text(json.dumps({"latent_rgb": own}))
    assert read_profile(settings, str(folder)).latent_rgb == LatentRGB.from_card(own)
    (folder / "aura.json").write_text(json.dumps({"latent_rgb": {"factors": [[0.1, 0.2]] * 4}}))
    with pytest.raises(ModelLoadError, match="latent_rgb"):
        read_profile(settings, str(folder))


@pytest.mark.skipif(not (EMBEDDED_MODEL / "model_index.json").is_file(), reason="embedded model not built")
def test_the_embedded_models_fitted_factors_preview_what_its_vae_decodes():
    """The last preview of a generation looks like the image itself at the latent grid's size."""
    model = load_model(settings_from_env())
    assert model.latent_rgb != FAMILY_LATENT_RGB["sd"]  # its own, fitted to its VAE
    errors = []
    for prompt, seed in (("red sunset over the sea", 1), ("blue night city", 2), ("green forest", 3)):
        width, height = model.native_sizes["1:1"]
        control = pipeline.StepControl()
        request = pipeline.GenerationRequest(prompt=prompt, width=width, height=height, steps=model.default_steps,
                                             guidance_scale=model.default_guidance, seeds=[seed])
        image = pipeline.generate(model, request, control).images[0]
        preview = preview_images(control.latents, model.latent_rgb)[0]
        target = np.asarray(image.resize(preview.size, Image.Resampling.BOX), dtype=np.float32)
        errors.append(float(np.abs(np.asarray(preview, dtype=np.float32) - target).mean()))
    assert max(errors) < 30, errors  # 8-bit levels; the fit's own error is recorded in aura.json
