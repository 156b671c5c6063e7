"""Run one generation or refinement on a loaded model.

Requests arrive here fully resolved (sizes, steps, guidance, seeds); ``check_inputs`` guards the
invariants the pipelines rely on, naming the argument and its value, like diffusers' own checks.
Each image gets its own CPU generator seeded from its seed, so any image can be reproduced alone
and on any device.
"""

from __future__ import annotations

import gc
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from PIL import Image

from ..errors import EngineError, OutOfMemory
from .loader import LoadedModel

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
    step: int = 0
    total: int = 0
    done_before: int = 0  # steps of earlier pipeline calls in the same job (refine runs one per size)

    def callback(self, pipe, step: int, timestep, kwargs):
        self.step = self.done_before + step + 1
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


def generate(model: LoadedModel, request: GenerationRequest, control: StepControl | None = None) -> EngineOutput:
    check_inputs(request, model.vae_scale_factor)
    control = control or StepControl()
    control.total = total_steps(request)
    started = time.perf_counter()
    result = _run_guarded(
        model,
        lambda: model.text2img(
            prompt=request.prompt,
            negative_prompt=request.negative_prompt,
            width=request.width,
            height=request.height,
            num_inference_steps=request.steps,
            guidance_scale=request.guidance_scale,
            num_images_per_prompt=len(request.seeds),
            generator=generators(request.seeds),
            callback_on_step_end=control.callback,
        ).images,
    )
    if request.output_size:
        result = [upscale(image, request.output_size) for image in result]
    return EngineOutput(
        images=result,
        seeds=list(request.seeds),
        steps=request.steps,
        guidance_scale=request.guidance_scale,
        model=model.name,
        seconds=time.perf_counter() - started,
    )


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
            ).images,
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


def _run_guarded(model: LoadedModel, call: Callable[[], list[Image.Image]]) -> list[Image.Image]:
    """Run a pipeline call; out-of-memory becomes ``OutOfMemory`` with the memory released."""
    try:
        return call()
    except Exception as error:
        if not is_out_of_memory(error):
            raise
    # Outside the except block, so the traceback (and the tensors its frames hold) is gone.
    release_memory(model.device)
    raise OutOfMemory()
