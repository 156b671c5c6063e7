"""Serving logic: turn protocol requests into engine jobs, await them, encode the answers.

This is where the API's knobs get their meaning:

* ``temperature`` (0–2, default 1) scales the model's default guidance by ``1.5 - 0.5 * t``:
  0 → 1.5× (most literal), 1 → 1× (the model's default), 2 → 0.5× (most varied). Models whose default
  guidance is 1 or less (LCM, Lightning: no classifier-free guidance) are left as they are.
  ``config.guidanceScale`` overrides the mapping.
* ``seed``: image i uses ``seed + i``; without one, a random base seed is drawn and returned.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import unicodedata
from collections.abc import Awaitable, Callable

from PIL import Image

from ..core.config import Settings
from ..engine.families import resolve_size, snap_size
from ..engine.images import decode_image, encode_image
from ..engine.loader import LoadedModel, ModelProfile, names_model, read_profile, resolve_model_path
from ..engine.palette import PNG_TEXT_KEY, dominant_colours, palette_json
from ..engine.previews import preview_images
from ..engine.pipeline import (
    MAX_SCHEDULE_STEPS,
    GenerationRequest,
    RefinementRequest,
    refine_schedule_steps,
)
from ..engine.worker import EngineWorker, Job
from ..errors import (
    ClientDisconnected,
    DeadlineExceeded,
    InvalidInput,
    ModelLoadError,
    ModelNotReady,
    PayloadTooLarge,
)
from .metrics import EngineMetrics
from .protocol import GenerateRequest, ImagesResponse, RefineRequest, Timings

DEFAULT_REFINE_STRENGTH = 0.55
DISCONNECT_POLL_S = 0.25  # how often a waiting request checks that its client is still there
Disconnected = Callable[[], Awaitable[bool]]
ALLOWED_CONTROL_CHARS = {"\n", "\t", "\r"}


def guidance_for_temperature(default_guidance: float, temperature: float) -> float:
    if default_guidance <= 1.0:
        return default_guidance
    return round(default_guidance * (1.5 - 0.5 * temperature), 4)


def check_prompt(text: str | None, field: str, settings: Settings) -> str | None:
    if text is None:
        return None
    if len(text) > settings.max_prompt_chars:
        raise InvalidInput(field, f"is {len(text)} characters; at most {settings.max_prompt_chars} are accepted")
    for char in text:
        if unicodedata.category(char) == "Cc" and char not in ALLOWED_CONTROL_CHARS:
            raise InvalidInput(field, f"contains the control character U+{ord(char):04X}")
    if field != "negativePrompt" and not text.strip():
        raise InvalidInput(field, "must not be blank")
    return text


def draw_seeds(seed: int | None, count: int) -> list[int]:
    base = seed if seed is not None else secrets.randbelow(2**31)
    return [base + i for i in range(count)]


def config_value(config, name: str, default):
    """A request's ``config.<name>`` when it sets one, else the engine's default."""
    value = getattr(config, name, None) if config is not None else None
    return default if value is None else value


def job_id(request_id: str | None) -> dict:
    return {"id": request_id} if request_id else {}


def encode_with_palette(image: Image.Image, output_format: str) -> tuple[str, list[dict]]:
    """An image's encoding and its palette; a PNG carries the palette in its ``aura:palette`` chunk."""
    palette = dominant_colours(image)
    return encode_image(image, output_format, text={PNG_TEXT_KEY: palette_json(palette)}), palette


class ServingEngine:
    """The engine as the HTTP layer sees it: validated requests in, encoded responses out."""

    def __init__(self, settings: Settings, worker: EngineWorker, metrics: EngineMetrics | None = None):
        self.settings = settings
        self.worker = worker
        self.metrics = metrics

    def model(self) -> LoadedModel:
        model = self.worker.model
        if model is None:
            reason = self.worker.error or "model is loading"
            raise ModelNotReady(reason, retry_after=5)
        return model

    def _target(self, config) -> tuple[ModelProfile, str | None]:
        """The profile of the model the request will run on, and its path when it names one."""
        model = self.model()
        if config is None or config.modelPath is None:
            return model.profile, None
        if names_model(self.settings, model.profile, config.modelPath):  # the resident model: no switch
            return model.profile, model.source
        path = str(resolve_model_path(self.settings.models_dir, config.modelPath))
        if path == model.source:
            return model.profile, path
        try:
            return read_profile(self.settings, path), path
        except ModelLoadError as error:
            raise InvalidInput("config.modelPath", error.message) from None

    async def generate(self, body: GenerateRequest, is_disconnected: Disconnected | None = None) -> ImagesResponse:
        received = time.perf_counter()
        prompt = check_prompt(body.prompt, "prompt", self.settings)
        negative = check_prompt(body.negativePrompt, "negativePrompt", self.settings)
        config = body.config
        model, model_path = self._target(config)
        output_size = resolve_size(model.family, body.aspectRatio, body.resolution)
        width, height = model.render_size(body.aspectRatio, output_size)
        steps = config_value(config, "steps", model.default_steps)
        guidance = config_value(
            config, "guidanceScale", guidance_for_temperature(model.default_guidance, body.temperature)
        )
        count = body.numImages or self.settings.num_images
        request = GenerationRequest(
            prompt=prompt or "",
            negative_prompt=negative,
            width=width,
            height=height,
            steps=steps,
            guidance_scale=guidance,
            seeds=draw_seeds(body.seed, count),
            output_size=output_size if output_size != (width, height) else None,
        )
        job = Job("generate", request, model_path=model_path, **job_id(body.requestId))
        return await self._run(job, received, is_disconnected, body.outputFormat)

    async def refine(self, body: RefineRequest, is_disconnected: Disconnected | None = None) -> ImagesResponse:
        received = time.perf_counter()
        prompt = check_prompt(body.refinePrompt, "refinePrompt", self.settings)
        negative = check_prompt(body.negativePrompt, "negativePrompt", self.settings)
        config = body.config
        model, model_path = self._target(config)
        images, output_sizes = await asyncio.to_thread(self._decode_images, body.images, model)
        steps = config_value(config, "steps", model.default_steps)
        guidance = config_value(config, "guidanceScale", model.default_guidance)
        strength = config_value(config, "strength", DEFAULT_REFINE_STRENGTH)
        if refine_schedule_steps(steps, strength) > MAX_SCHEDULE_STEPS:
            raise InvalidInput(
                "config.strength",
                f"{steps} steps at strength {strength} need a schedule longer than {MAX_SCHEDULE_STEPS} steps; "
                "raise the strength or lower the steps",
            )
        request = RefinementRequest(
            prompt=prompt or "",
            negative_prompt=negative,
            images=images,
            steps=steps,
            guidance_scale=guidance,
            strength=strength,
            seeds=draw_seeds(body.seed, len(images)),
            output_sizes=output_sizes if any(o != i.size for o, i in zip(output_sizes, images)) else None,
        )
        job = Job("refine", request, model_path=model_path, **job_id(body.requestId))
        return await self._run(job, received, is_disconnected, body.outputFormat)

    async def load(self, model_path: str) -> LoadedModel:
        path = str(resolve_model_path(self.settings.models_dir, model_path, field_name="modelPath"))
        job = Job("load", None, model_path=path)
        self.worker.submit(job)
        return await self._wait(job, None)

    def progress(self, job_id: str) -> dict | None:
        """A job's progress (``EngineWorker.progress``) and, while it runs here, previews of its images
        (a job on another Ray Serve replica has its progress without previews). Blocking: call it off
        the event loop."""
        progress = self.worker.progress(job_id)
        job = self.worker.jobs_by_id.get(job_id)
        if progress is None or job is None or progress["state"] != "running":
            return progress
        preview = self._preview(job)
        if preview is not None:
            progress["previewStep"], progress["previews"] = preview
        return progress

    def _preview(self, job: Job) -> tuple[int, list[str]] | None:
        """The job's latest latents as small PNGs, made once per step however often it is polled."""
        control, model = job.control, self.worker.model
        step, latents = control.step, control.latents
        if latents is None or model is None or model.latent_rgb is None:
            return None
        cached = control.preview
        if cached is not None and cached[0] == step:
            return cached
        try:
            images = preview_images(latents, model.latent_rgb)
        except ValueError:  # a VAE whose latents the factors do not fit: no preview, not an error
            return None
        control.preview = (step, [encode_image(image) for image in images])
        return control.preview

    async def _wait(self, job: Job, is_disconnected: Disconnected | None):
        """Await the job; past the deadline, or once the client is gone, drop or stop its work."""
        future = asyncio.wrap_future(job.future)
        # A job abandoned below still finishes (as cancelled); retrieve that so asyncio stays quiet.
        future.add_done_callback(lambda f: f.cancelled() or f.exception())
        loop = asyncio.get_running_loop()
        timeout = self.settings.request_timeout_s
        deadline = loop.time() + timeout
        try:
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    self.worker.cancel(job)
                    raise DeadlineExceeded(f"the request did not finish within {timeout:g} s (AURA_REQUEST_TIMEOUT_S)")
                done, _ = await asyncio.wait({future}, timeout=min(DISCONNECT_POLL_S, remaining))
                if done:
                    return future.result()
                if is_disconnected is not None and await is_disconnected():
                    self.worker.cancel(job)
                    raise ClientDisconnected("the client disconnected")
        except asyncio.CancelledError:
            self.worker.cancel(job)
            raise

    def _decode_images(self, encoded: list[str], model: ModelProfile):
        """Decode and check each image; return them at the size the model runs at, and the output sizes."""
        images, output_sizes = [], []
        multiple = model.vae_scale_factor
        for i, data in enumerate(encoded):
            field = f"images[{i}]"
            image = decode_image(data, field, self.settings.max_image_side, self.settings.max_image_pixels)
            width, height = snap_size(image.width, image.height, multiple)
            if width * height > self.settings.max_refine_pixels:
                raise PayloadTooLarge(
                    field,
                    f"is {image.width}×{image.height}; refinement takes at most "
                    f"{self.settings.max_refine_pixels} pixels — send a smaller image",
                )
            render = model.render_size_for((width, height))
            if render != image.size:
                image = image.resize(render, resample=Image.Resampling.BICUBIC)  # to the model's grid
            images.append(image)
            output_sizes.append((width, height))
        return images, output_sizes

    async def _run(
        self, job: Job, received: float, is_disconnected: Disconnected | None, output_format: str = "png"
    ) -> ImagesResponse:
        self.worker.submit(job)
        output = await self._wait(job, is_disconnected)
        encode_started = time.perf_counter()
        encoded = await asyncio.gather(
            *(asyncio.to_thread(encode_with_palette, image, output_format) for image in output.images)
        )
        done = time.perf_counter()
        started = job.started_at or encode_started
        if self.metrics is not None:
            self.metrics.queue_wait.observe(started - job.enqueued_at)
            self.metrics.generation.observe(output.seconds)
            self.metrics.encode.observe(done - encode_started)
            self.metrics.images.labels(job.kind).inc(len(output.images))
        first = output.images[0]
        return ImagesResponse(
            images=[data for data, _ in encoded],
            format=output_format,
            seeds=output.seeds,
            model=output.model,
            width=first.width,
            height=first.height,
            steps=output.steps,
            guidanceScale=output.guidance_scale,
            timings=Timings(
                queueMs=round((started - job.enqueued_at) * 1000, 2),
                generateMs=round(output.seconds * 1000, 2),
                encodeMs=round((done - encode_started) * 1000, 2),
                totalMs=round((done - received) * 1000, 2),
            ),
            palettes=[palette for _, palette in encoded],
        )
