"""Few-step and compiled generation: LCM-LoRA, SDXL-Lightning and ``torch.compile``.

Each path is switched on by the environment (``SD_LCM_LORA_ID``, ``SD_LIGHTNING_UNET``,
``TORCH_COMPILE``) and applied to the configured model as it loads. A path that cannot be applied
as asked stops start-up with a ``ModelLoadError`` naming the variable: a user who asked for 4-step
generation must never silently get 25 steps of something else.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..core.config import LIGHTNING_STEPS, Settings
from ..errors import ModelLoadError
from .families import Family
from .references import is_local_reference

log = logging.getLogger(__name__)

LCM_DEFAULT_STEPS = 4
LCM_DEFAULT_GUIDANCE = 1.0  # ≤ 1 switches classifier-free guidance off: one UNet pass per step


@dataclass(frozen=True)
class FastPath:
    """What a few-step path changes about a model's defaults, for its profile and /health."""

    kind: str  # "lcm" or "lightning"
    source: str
    default_steps: int
    default_guidance: float


def _check_safetensors_file(path: Path, variable: str) -> None:
    if not path.is_file():
        raise ModelLoadError(f"{variable}={str(path)!r}: no such file")
    if path.suffix != ".safetensors":
        raise ModelLoadError(f"{variable}={str(path)!r}: only .safetensors weights are loaded (no pickle checkpoints)")


# --- LCM-LoRA --------------------------------------------------------------------------------
def apply_lcm_lora(pipe, reference: str, family: Family, settings: Settings) -> FastPath:
    """Load an LCM-LoRA (hub id, folder or .safetensors file), fuse it and switch to ``LCMScheduler``."""
    from diffusers import LCMScheduler

    variable = "SD_LCM_LORA_ID"
    kwargs: dict[str, Any] = {"use_safetensors": True}
    if is_local_reference(reference):
        path = Path(reference).expanduser().resolve()
        if path.is_dir():
            if not any(path.glob("*.safetensors")):
                raise ModelLoadError(f"{variable}={reference!r}: the folder holds no .safetensors LoRA weights")
            location: Any = str(path)
        else:
            _check_safetensors_file(path, variable)
            location, kwargs["weight_name"] = str(path.parent), path.name
    else:
        location = reference
    try:
        pipe.load_lora_weights(location, adapter_name="lcm", **kwargs)
    except Exception as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelLoadError(
            f"{variable}={reference!r} does not fit this {family.upper()} model ({first_line}); "
            f"use an LCM-LoRA made for {'SDXL' if family == 'sdxl' else 'SD 1.x/2.x'}"
        ) from None
    injected = sum(1 for name, _ in pipe.unet.named_parameters() if "lora_" in name)
    if injected == 0:
        pipe.unload_lora_weights()
        raise ModelLoadError(f"{variable}={reference!r} matches no layer of this {family.upper()} model's UNet")
    # Fuse, then drop the adapter layers: the LoRA costs nothing per step from here on.
    pipe.fuse_lora(adapter_names=["lcm"], lora_scale=1.0)
    pipe.unload_lora_weights()
    pipe.scheduler = LCMScheduler.from_config(pipe.scheduler.config)
    return FastPath(
        kind="lcm",
        source=reference,
        default_steps=settings.steps or LCM_DEFAULT_STEPS,
        default_guidance=settings.guidance if settings.guidance is not None else LCM_DEFAULT_GUIDANCE,
    )


# --- SDXL-Lightning --------------------------------------------------------------------------
def lightning_steps(file_name: str, settings: Settings) -> int:
    """The step count a Lightning UNet was distilled for: SD_LIGHTNING_STEPS, else its file name."""
    if settings.lightning_steps is not None:
        return settings.lightning_steps
    match = re.search(r"(\d+)step", file_name)
    if not match or int(match.group(1)) not in LIGHTNING_STEPS:
        raise ModelLoadError(
            f"SD_LIGHTNING_UNET={file_name!r}: cannot tell the step count from the file name; "
            f"set SD_LIGHTNING_STEPS to one of {', '.join(map(str, LIGHTNING_STEPS))}"
        )
    return int(match.group(1))


def resolve_lightning_file(reference: str) -> Path:
    """``repo:file.safetensors`` on the hub, or a local .safetensors file."""
    variable = "SD_LIGHTNING_UNET"
    if is_local_reference(reference):
        path = Path(reference).expanduser().resolve()
        _check_safetensors_file(path, variable)
        return path
    repo, sep, file_name = reference.partition(":")
    if not sep or not file_name.endswith(".safetensors"):
        raise ModelLoadError(
            f"{variable}={reference!r}: expected 'owner/repo:file_unet.safetensors' or a local .safetensors file"
        )
    from huggingface_hub import hf_hub_download

    try:
        return Path(hf_hub_download(repo, file_name))
    except Exception as error:
        raise ModelLoadError(f"{variable}={reference!r}: cannot download it: {error}") from None


def apply_lightning(pipe, reference: str, family: Family, settings: Settings) -> FastPath:
    """Load a Lightning UNet into the SDXL base, with Euler on trailing timesteps and no CFG."""
    from diffusers import EulerDiscreteScheduler
    from safetensors.torch import load_file

    variable = "SD_LIGHTNING_UNET"
    if family != "sdxl":
        raise ModelLoadError(f"{variable} needs an SDXL base model; SD_MODEL_ID is an {family.upper()} model")
    path = resolve_lightning_file(reference)
    steps = lightning_steps(path.name, settings)
    state = load_file(str(path), device="cpu")
    try:  # copies into the base UNet's parameters, keeping their dtype and device
        pipe.unet.load_state_dict(state, strict=True)
    except RuntimeError as error:
        first_line = str(error).strip().splitlines()[0]
        detail = str(error).strip().splitlines()[1].strip() if len(str(error).strip().splitlines()) > 1 else ""
        raise ModelLoadError(f"{variable}={reference!r} does not fit this SDXL UNet: {first_line} {detail}") from None
    # The 1-step checkpoint predicts x0 ("..._1step_x0..."): tell the scheduler.
    prediction = {"prediction_type": "sample"} if "x0" in path.name else {}
    pipe.scheduler = EulerDiscreteScheduler.from_config(pipe.scheduler.config, timestep_spacing="trailing", **prediction)
    return FastPath(
        kind="lightning",
        source=reference,
        default_steps=settings.steps or steps,
        default_guidance=settings.guidance if settings.guidance is not None else 0.0,
    )


def apply_fast_path(pipe, family: Family, settings: Settings) -> FastPath | None:
    if settings.lcm_lora_id:
        return apply_lcm_lora(pipe, settings.lcm_lora_id, family, settings)
    if settings.lightning_unet:
        return apply_lightning(pipe, settings.lightning_unet, family, settings)
    return None


# --- torch.compile ---------------------------------------------------------------------------
DYNAMIC = {"auto": None, "on": True, "off": False}


def use_compile_cache(folder: Path) -> None:
    """Point PyTorch's own compile caches (Inductor's graphs and kernels, Triton's GPU binaries) at
    ``folder``, so that a restart finds what an earlier run compiled. The folder holds compiled code:
    keep it as private as the installation."""
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(folder / "inductor")
    os.environ["TRITON_CACHE_DIR"] = str(folder / "triton")


# How many times dynamo may recompile one function, per shape the engine serves. Dynamo's own limit
# is 8 per function, and under ``fullgraph=True`` (regional compilation) reaching it is a hard error.
# The SD 1.5 UNet's transformer block needs more than 8 graphs for the engine's 23 warm-up shapes: 10
# with automatic dynamic shapes, 6 with dynamic on, 53 with dynamic off (its instances differ in
# width and resolution; measured on the CPU with dynamo's eager backend). Most likely why the H100
# run of 2026-11-27 reported the compile failed and served eager (its error was not printed).
# The limit is process-wide: modules compiled whole (the VAE decoder) also compile up to it rather
# than quietly running eager after 8 graphs.
RECOMPILES_PER_SHAPE = 4


def allow_recompiles(shapes: int) -> None:
    """Raise dynamo's recompile limit to cover ``shapes`` served shapes (it is never lowered)."""
    import torch._dynamo

    config = torch._dynamo.config  # cache_size_limit: recompile_limit's name before torch 2.7, an alias since
    config.cache_size_limit = max(config.cache_size_limit, RECOMPILES_PER_SHAPE * shapes)


def compile_pipeline(pipe, settings: Settings) -> None:
    """Compile the UNet (and on GPUs the VAE decoder) with ``torch.compile``; compilation happens
    lazily, at the warm-up generations that follow. Regional by default: the UNet's repeated
    transformer block is compiled once and reused by every instance of it."""
    if settings.compile_cache is not None:
        use_compile_cache(settings.compile_cache)
    options = {"mode": settings.compile_mode, "dynamic": DYNAMIC[settings.compile_dynamic]}
    if settings.compile_regional and getattr(pipe.unet, "_repeated_blocks", None):
        pipe.unet.compile_repeated_blocks(fullgraph=True, **options)
    else:
        pipe.unet = torch.compile(pipe.unet, fullgraph=False, **options)
    if pipe.device.type == "cuda":  # on CPU the decoder is a small share of the time: not worth it
        pipe.vae.decoder = torch.compile(pipe.vae.decoder, fullgraph=False, **options)


def is_compiled(pipe) -> bool:
    return hasattr(pipe.unet, "_orig_mod") or any(
        getattr(module, "_compiled_call_impl", None) is not None for module in pipe.unet.modules()
    )


def uncompile_pipeline(pipe) -> None:
    """Undo ``compile_pipeline``: whole modules are kept inside their compiled wrappers, and a
    regionally compiled block drops its compiled call."""
    if hasattr(pipe.unet, "_orig_mod"):
        pipe.unet = pipe.unet._orig_mod
    for module in pipe.unet.modules():
        if getattr(module, "_compiled_call_impl", None) is not None:
            module._compiled_call_impl = None
    if hasattr(pipe.vae.decoder, "_orig_mod"):
        pipe.vae.decoder = pipe.vae.decoder._orig_mod
