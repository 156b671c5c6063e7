"""Run one generation or refinement on a loaded model.

Requests arrive here fully resolved (sizes, steps, guidance, seeds); ``check_inputs`` guards the
invariants the pipelines rely on, naming the argument and its value, like diffusers' own checks.
Each image gets its own CPU generator seeded from its seed, so any image can be reproduced alone
and on any device.
"""

from __future__ import annotations

import gc
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image

from ..errors import EngineError, InvalidOutput, OutOfMemory
from .loader import UPCAST_AFTER_OVERFLOW, LoadedModel

log = logging.getLogger(__name__)

MAX_STEPS = 150
MAX_GUIDANCE = 20.0
MAX_IMAGES = 8
MAX_SCHEDULE_STEPS = 1000  # the training schedule's length: img2img cannot start finer than that


class Cancelled(EngineError):
    """The job was cancelled (client gone, deadline passed or Cancel pressed) between two steps."""


@dataclass
class GenerationRequest:
    prompt: str
    width: int
    height: int
    steps: int
    guidance_scale: float
    seeds: list[int]
    negative_prompt: str | None = None
    output_size: tuple[int, int] | None = None  # upscale to this when it differs from width×height


@dataclass
class RefinementRequest:
    prompt: str
    images: list[Image.Image]
    steps: int
    guidance_scale: float
    strength: float
    seeds: list[int]
    negative_prompt: str | None = None
    output_sizes: list[tuple[int, int]] | None = None  # per image, when it differs from the input's


@dataclass
class EngineOutput:
    images: list[Image.Image]
    seeds: list[int]
    steps: int
    guidance_scale: float
    model: str
    seconds: float


@dataclass
class StepControl:
    """What a running job shares with the outside: progress, and a flag that cancels it."""

    cancel: threading.Event = field(default_factory=threading.Event)
    stopped_by_shutdown: bool = False  # cancelled by the engine stopping, not by its client
    step: int = 0
    total: int = 0
    done_before: int = 0  # steps of earlier pipeline calls in the same job (refine runs one per size)
    # The latest step's latents of this job's images (a reference, never a copy): re-decoded if the
    # VAE fails, and what live previews are made from.
    latents: torch.Tensor | None = None
    last_progress: float = field(default_factory=time.monotonic)  # the watchdog reads this
    preview: tuple[int, list[str]] | None = None  # the last preview made (step, base64 PNGs)

    def advance(self, step: int) -> None:
        """Record that step ``step`` (0-based) of the current pipeline call is done."""
        self.step = self.done_before + step + 1
        self.last_progress = time.monotonic()

    def callback(self, pipe, step: int, timestep, kwargs):
        self.advance(step)
        self.latents = kwargs.get("latents")
        if self.cancel.is_set():
            raise Cancelled("cancelled")
        return kwargs


def check_inputs(request: GenerationRequest | RefinementRequest, multiple: int) -> None:
    if not request.prompt or not request.prompt.strip():
        raise ValueError(f"`prompt` must be a non-empty string, got {request.prompt!r}")
    if not 1 <= request.steps <= MAX_STEPS:
        raise ValueError(f"`steps` must be in [1, {MAX_STEPS}], got {request.steps}")
    if not (math.isfinite(request.guidance_scale) and 0 <= request.guidance_scale <= MAX_GUIDANCE):
        raise ValueError(f"`guidance_scale` must be in [0, {MAX_GUIDANCE}], got {request.guidance_scale}")
    count = len(request.images) if isinstance(request, RefinementRequest) else len(request.seeds)
    if not 1 <= count <= MAX_IMAGES or len(request.seeds) != count:
        raise ValueError(f"need 1..{MAX_IMAGES} images with one seed each, got {count} and {len(request.seeds)} seeds")
    if isinstance(request, GenerationRequest):
        for name in ("width", "height"):
            value = getattr(request, name)
            if value <= 0 or value % multiple:
                raise ValueError(f"`{name}` must be a positive multiple of {multiple}, got {value}")
    else:
        if not 0 < request.strength <= 1:
            raise ValueError(f"`strength` must be in (0, 1], got {request.strength}")
        if refine_schedule_steps(request.steps, request.strength) > MAX_SCHEDULE_STEPS:
            raise ValueError(f"`steps` / `strength` must be at most {MAX_SCHEDULE_STEPS}, got {request.steps} / {request.strength}")
        for i, image in enumerate(request.images):
            if image.width % multiple or image.height % multiple:
                raise ValueError(f"`images[{i}]` size {image.size} is not a multiple of {multiple}")


def total_steps(request: GenerationRequest | RefinementRequest) -> int:
    """Denoising steps the job will run: one pipeline call per image size for a refinement."""
    if isinstance(request, RefinementRequest):
        return request.steps * len(_group_by_size(request.images))
    return request.steps if request is not None else 0


def generators(seeds: list[int]) -> list[torch.Generator]:
    return [torch.Generator("cpu").manual_seed(seed) for seed in seeds]


def release_memory(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
    elif device.type == "mps":
        torch.mps.empty_cache()


def is_out_of_memory(error: BaseException) -> bool:
    if isinstance(error, torch.OutOfMemoryError):
        return True
    return isinstance(error, RuntimeError) and "out of memory" in str(error).lower()


def batch_key(request: GenerationRequest) -> tuple:
    """Generations with equal keys can share one pipeline call: prompts and seeds may differ."""
    return (
        request.width,
        request.height,
        request.steps,
        request.guidance_scale,
        request.output_size,
        request.negative_prompt is None,  # None and "" differ for SDXL (zeroed vs encoded)
    )


def generate(model: LoadedModel, request: GenerationRequest, control: StepControl | None = None) -> EngineOutput:
    return generate_batch(model, [request], [control or StepControl()])[0]


def generate_batch(
    model: LoadedModel, requests: list[GenerationRequest], controls: list[StepControl]
) -> list[EngineOutput]:
    """Run generations with one ``batch_key`` as one pipeline call; each gets exactly its own images.

    Every image has its own generator, so its initial noise, and therefore the image, is the same
    whichever batch it runs in (up to float rounding of batched matrix products).
    """
    for request in requests:
        check_inputs(request, model.vae_scale_factor)
    if len({batch_key(request) for request in requests}) != 1:
        raise ValueError("`requests` of one batch must share width, height, steps, guidance and output size")
    first = requests[0]
    prompts = [request.prompt for request in requests for _ in request.seeds]
    seeds = [seed for request in requests for seed in request.seeds]
    negatives = None
    if first.negative_prompt is not None:
        negatives = [request.negative_prompt for request in requests for _ in request.seeds]
    batch_control = BatchControl(controls, total_steps(first), [len(request.seeds) for request in requests])
    started = time.perf_counter()
    images = _run_guarded(
        model,
        lambda: model.text2img(
            prompt=prompts,
            negative_prompt=negatives,
            width=first.width,
            height=first.height,
            num_inference_steps=first.steps,
            guidance_scale=first.guidance_scale,
            num_images_per_prompt=1,
            generator=generators(seeds),
            callback_on_step_end=batch_control.callback,
            output_type="np",
        ).images,
        batch_control,
    )
    if first.output_size:
        images = [upscale(image, first.output_size) for image in images]
    seconds = time.perf_counter() - started
    outputs, offset = [], 0
    for request in requests:
        count = len(request.seeds)
        outputs.append(
            EngineOutput(
                images=images[offset : offset + count],
                seeds=list(request.seeds),
                steps=request.steps,
                guidance_scale=request.guidance_scale,
                model=model.name,
                seconds=seconds,
            )
        )
        offset += count
    return outputs


class BatchControl(StepControl):
    """One pipeline call's callback for several jobs: progress to each; it stops only when all of
    them are cancelled (a cancelled job's images are dropped by the worker)."""

    def __init__(self, controls: list[StepControl], total: int, counts: list[int]):
        super().__init__()
        self.controls = controls
        self.rows = [(sum(counts[:i]), sum(counts[: i + 1])) for i in range(len(counts))]
        for control in controls:
            control.total = total

    def callback(self, pipe, step: int, timestep, kwargs):
        latents = self.latents = kwargs.get("latents")
        for control, (start, end) in zip(self.controls, self.rows):
            if latents is not None:
                control.latents = latents[start:end]  # a view: no copy, no device synchronisation
            control.advance(step)
        if all(control.cancel.is_set() for control in self.controls):
            raise Cancelled("cancelled")
        return kwargs


def refine(model: LoadedModel, request: RefinementRequest, control: StepControl | None = None) -> EngineOutput:
    """Image-to-image on each input, batched by size; outputs keep the inputs' order and sizes."""
    check_inputs(request, model.vae_scale_factor)
    control = control or StepControl()
    schedule_steps = refine_schedule_steps(request.steps, request.strength)
    control.total = total_steps(request)
    started = time.perf_counter()
    outputs: list[Image.Image | None] = [None] * len(request.images)
    for group_index, indices in enumerate(_group_by_size(request.images).values()):
        control.done_before = group_index * request.steps
        images = _run_guarded(
            model,
            lambda indices=indices: model.img2img(
                prompt=[request.prompt] * len(indices),
                negative_prompt=[request.negative_prompt] * len(indices) if request.negative_prompt else None,
                image=[request.images[i] for i in indices],
                strength=request.strength,
                num_inference_steps=schedule_steps,
                guidance_scale=request.guidance_scale,
                generator=generators([request.seeds[i] for i in indices]),
                callback_on_step_end=control.callback,
                output_type="np",
            ).images,
            control,
            model.img2img,
        )
        for i, image in zip(indices, images):
            outputs[i] = upscale(image, request.output_sizes[i]) if request.output_sizes else image
    return EngineOutput(
        images=[image for image in outputs if image is not None],
        seeds=list(request.seeds),
        steps=request.steps,
        guidance_scale=request.guidance_scale,
        model=model.name,
        seconds=time.perf_counter() - started,
    )


def refine_schedule_steps(steps: int, strength: float) -> int:
    """The schedule length under which img2img runs exactly ``steps`` steps.

    diffusers' img2img runs ``int(num_inference_steps * strength)`` steps; a refinement's ``steps``
    means the steps actually run, so that a small strength never silently drops to zero steps.
    """
    schedule = math.ceil(steps / strength)
    while int(schedule * strength) < steps:
        schedule += 1
    return schedule


def upscale(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Resize a natively rendered image to the requested size (Lanczos: sharp, little ringing)."""
    if image.size == tuple(size):
        return image
    return image.resize(size, resample=Image.Resampling.LANCZOS)


def _group_by_size(images: list[Image.Image]) -> dict[tuple[int, int], list[int]]:
    groups: dict[tuple[int, int], list[int]] = {}
    for i, image in enumerate(images):
        groups.setdefault(image.size, []).append(i)
    return groups


def _run_guarded(
    model: LoadedModel, call: Callable[[], np.ndarray], control: StepControl, pipe=None
) -> list[Image.Image]:
    """Run a pipeline call (numpy output) and return checked PIL images.

    Out-of-memory becomes ``OutOfMemory`` with the memory released. An image with NaNs or one that
    is entirely black (an fp16 VAE overflow) is decoded again from the final latents in fp32; if
    that fails too, the request fails with ``InvalidOutput`` rather than returning a black image.
    """
    try:
        images = call()
    except Exception as error:
        if not is_out_of_memory(error):
            raise
        images = None
    if images is None:
        # Outside the except block, so the traceback (and the tensors its frames hold) is gone.
        release_memory(model.device)
        raise OutOfMemory()
    bad = [i for i, image in enumerate(images) if is_invalid_image(image)]
    if bad:
        latents = control.latents
        if latents is None or not torch.isfinite(latents).all():
            raise InvalidOutput("invalid output: the model produced NaN latents; try SD_PRECISION=fp32")
        log.warning("invalid decode for %d of %d images; decoding again in fp32", len(bad), len(images))
        redecoded = decode_in_fp32(pipe or model.text2img, latents[bad])
        for i, image in zip(bad, redecoded):
            if is_invalid_image(image):
                raise InvalidOutput("invalid output: the decoded image is NaN or black even in fp32")
            images[i] = image
        model.optimizations["fp32_redecodes"] = int(model.optimizations.get("fp32_redecodes", 0)) + len(bad)
        upcast_vae_after_overflow(model)
    return model.text2img.numpy_to_pil(np.clip(np.nan_to_num(images), 0, 1))


def upcast_vae_after_overflow(model: LoadedModel) -> None:
    """The VAE overflowed in fp16: from now on let diffusers decode in fp32 (its ``force_upcast``)."""
    if model.optimizations.get("vae_upcast") != UPCAST_AFTER_OVERFLOW:
        return
    model.text2img.vae.register_to_config(force_upcast=True)  # img2img shares the VAE
    model.optimizations["vae_upcast"] = True
    log.warning("the VAE overflows in fp16: decoding in fp32 from now on (an fp16-safe VAE, e.g. SD_VAE_ID="
                "madebyollin/sdxl-vae-fp16-fix, keeps the fp16 decode)")


def is_invalid_image(image: np.ndarray) -> bool:
    """NaN anywhere, or every pixel exactly black: what an overflowing fp16 VAE decode looks like."""
    return bool(np.isnan(image).any() or not image.any())


@torch.no_grad()
def decode_in_fp32(pipe, latents: torch.Tensor) -> np.ndarray:
    """Decode final latents with the VAE upcast to fp32 (then put back), as numpy images in [0, 1]."""
    vae = pipe.vae
    dtype = vae.dtype
    vae.to(torch.float32)
    try:
        latents = latents.to(torch.float32)
        config = vae.config
        mean, std = getattr(config, "latents_mean", None), getattr(config, "latents_std", None)
        if mean is not None and std is not None:  # SDXL-style VAEs with per-channel statistics
            mean = torch.tensor(mean).view(1, -1, 1, 1).to(latents.device)
            std = torch.tensor(std).view(1, -1, 1, 1).to(latents.device)
            latents = latents * std / config.scaling_factor + mean
        else:
            latents = latents / config.scaling_factor
        decoded = vae.decode(latents).sample
    finally:
        vae.to(dtype)
    return pipe.image_processor.postprocess(decoded, output_type="np")
