"""Load a diffusers model (hub id or local folder) into a text-to-image and an image-to-image pipeline.

Safetensors only: a folder whose weights are pickle checkpoints is refused, and diffusers is told
``use_safetensors=True`` so it never falls back to ``.bin`` files from the hub either.
"""

from __future__ import annotations

import inspect
import json
import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from ..core.config import Settings
from ..errors import InvalidInput, ModelLoadError
from .fast_paths import (
    FastPath,
    allow_recompiles,
    apply_fast_path,
    compile_pipeline,
    is_compiled,
    uncompile_pipeline,
)
from .guidance import ColourGuidance, ColourGuidanceConfig, guided_pipeline_classes
from .families import ASPECT_RATIOS, AUTO_RATIO, TIERS, Family, family_from_model_index, resolve_size
from .previews import FAMILY_LATENT_RGB, LatentRGB
from .references import is_local_reference

log = logging.getLogger(__name__)

# The model we train and ship (training/train.py): the default when SD_MODEL_ID is unset.
EMBEDDED_MODEL = Path(__file__).resolve().parents[1] / "models" / "aura-tiny"
EMBEDDED_SUFFIX = " (embedded)"
# Optional file beside model_index.json with what the engine should know about a model of ours.
AURA_MODEL_CARD = "aura.json"

WEIGHT_COMPONENTS = ("unet", "vae", "text_encoder", "text_encoder_2", "safety_checker")
PICKLE_SUFFIXES = (".bin", ".ckpt", ".pt", ".pth", ".pkl")

# Defaults per family when SD_STEPS / SD_GUIDANCE are unset.
FAMILY_DEFAULTS: dict[Family, dict[str, float]] = {
    "sd": {"steps": 25, "guidance": 7.5},
    "sdxl": {"steps": 30, "guidance": 5.0},
}


@dataclass(frozen=True)
class ModelProfile:
    """What serving needs to know about a model before running it: read from its folder, no weights."""

    name: str
    source: str  # the hub id or the resolved folder
    family: Family
    default_steps: int
    default_guidance: float
    vae_scale_factor: int = 8
    # Models trained at a small native size (the embedded one) render there, per aspect ratio,
    # and are upscaled to the requested size; None: render at the requested size.
    native_sizes: dict[str, tuple[int, int]] | None = None
    # Latents → RGB for live previews: the model card's fitted factors, else its family's.
    latent_rgb: LatentRGB | None = None
    # The model card's colour-keeping guidance (engine/guidance.py); None: plain guidance.
    colour_guidance: ColourGuidanceConfig | None = None

    def render_size(self, aspect_ratio: str, output: tuple[int, int]) -> tuple[int, int]:
        """The size the pipeline runs at for an output of ``output`` pixels."""
        if not self.native_sizes:
            return output
        key = AUTO_RATIO if aspect_ratio == "Auto" else aspect_ratio
        if key in self.native_sizes:
            return self.native_sizes[key]
        return self.render_size_for(output)

    def render_size_for(self, output: tuple[int, int]) -> tuple[int, int]:
        """The native size whose aspect ratio is closest to ``output``'s (for refinements)."""
        if not self.native_sizes:
            return output
        ratio = output[0] / output[1]
        return min(self.native_sizes.values(), key=lambda size: abs(math.log((size[0] / size[1]) / ratio)))


@dataclass
class LoadedModel:
    """One resident model: its profile and its pipelines on the device."""

    profile: ModelProfile
    text2img: Any
    img2img: Any
    device: torch.device
    dtype: torch.dtype
    load_seconds: float
    optimizations: dict[str, Any] = field(default_factory=dict)

    # The profile's fields, for callers that hold a loaded model.
    name = property(lambda self: self.profile.name)
    source = property(lambda self: self.profile.source)
    family = property(lambda self: self.profile.family)
    default_steps = property(lambda self: self.profile.default_steps)
    default_guidance = property(lambda self: self.profile.default_guidance)
    native_sizes = property(lambda self: self.profile.native_sizes)
    vae_scale_factor = property(lambda self: self.profile.vae_scale_factor)
    latent_rgb = property(lambda self: self.profile.latent_rgb)

    def render_size(self, aspect_ratio: str, output: tuple[int, int]) -> tuple[int, int]:
        return self.profile.render_size(aspect_ratio, output)

    def render_size_for(self, output: tuple[int, int]) -> tuple[int, int]:
        return self.profile.render_size_for(output)

    @property
    def scheduler_name(self) -> str:
        return type(self.text2img.scheduler).__name__


def resolve_device(name: str) -> torch.device:
    """``auto`` picks cuda, then mps, then cpu. A named device that is missing is an error."""
    has_mps = bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if has_mps else torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ModelLoadError("SD_DEVICE=cuda but no CUDA device is available (torch.cuda.is_available() is False)")
    if name == "mps" and not has_mps:
        raise ModelLoadError("SD_DEVICE=mps but the MPS backend is not available on this machine")
    return torch.device(name)


def resolve_dtype(precision: str, device: torch.device) -> torch.dtype:
    """``auto`` is fp16 on cuda/mps and fp32 on cpu (CPU half precision is slow and lossy)."""
    if precision == "auto":
        return torch.float16 if device.type in ("cuda", "mps") else torch.float32
    return {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}[precision]


def check_local_model(folder: Path) -> dict:
    """Validate a local diffusers folder and return its ``model_index.json``."""
    if folder.is_file():
        if folder.suffix in PICKLE_SUFFIXES:
            raise ModelLoadError(f"{folder} is a pickle checkpoint; only safetensors weights are loaded")
        raise ModelLoadError(
            f"{folder} is a single file; Aura Reflect loads diffusers folders (model_index.json + components)"
        )
    if not folder.is_dir():
        raise ModelLoadError(f"model folder {folder} does not exist")
    index_path = folder / "model_index.json"
    if not index_path.is_file():
        raise ModelLoadError(f"{folder} is not a diffusers model folder: it has no model_index.json")
    index = json.loads(index_path.read_text(encoding="utf-8"))
    for component in WEIGHT_COMPONENTS:
        sub = folder / component
        if component not in index or index[component][0] is None or not sub.is_dir():
            continue
        files = [p.name for p in sub.iterdir() if p.is_file()]
        if any(name.endswith(".safetensors") for name in files):
            continue
        pickles = [name for name in files if name.endswith(PICKLE_SUFFIXES)]
        if pickles:
            raise ModelLoadError(
                f"{sub} holds only pickle checkpoints ({', '.join(sorted(pickles))}); "
                "only safetensors weights are loaded — convert them with diffusers' save_pretrained"
            )
        raise ModelLoadError(f"{sub} holds no safetensors weights")
    return index


def detect_family(index: dict) -> Family:
    try:
        return family_from_model_index(index)
    except ValueError as error:
        raise ModelLoadError(str(error)) from None


def build_profile(
    settings: Settings,
    model_id: str,
    source: str,
    family: Family,
    vae_scale_factor: int,
    fast_path: FastPath | None = None,
) -> ModelProfile:
    """A model's profile from its family, its optional aura.json card, a few-step path and the settings."""
    local = is_local_reference(model_id)
    card = read_model_card(source) if local else {}
    defaults = FAMILY_DEFAULTS[family]
    name = card.get("name") or (Path(source).name if local else model_id)
    if local and Path(source) == EMBEDDED_MODEL:
        name += EMBEDDED_SUFFIX
    native_sizes = {ratio: (int(w), int(h)) for ratio, (w, h) in card.get("native_sizes", {}).items()} or None
    for ratio, (w, h) in (native_sizes or {}).items():
        if w % 8 or h % 8:  # diffusers' pipelines refuse other sizes
            raise ModelLoadError(f"{AURA_MODEL_CARD}: native size {w}×{h} for {ratio} is not a multiple of 8")
    try:
        latent_rgb = LatentRGB.from_card(card["latent_rgb"]) if "latent_rgb" in card else FAMILY_LATENT_RGB.get(family)
    except (KeyError, TypeError, ValueError) as error:
        raise ModelLoadError(f"{AURA_MODEL_CARD}: latent_rgb is invalid ({error})") from None
    colour_guidance = None
    if "colour_guidance" in card:
        if family != "sd":  # an SD model always has latent_rgb: its card's, else its family's
            raise ModelLoadError(f"{AURA_MODEL_CARD}: colour_guidance needs a Stable Diffusion 1.x/2.x model")
        try:
            colour_guidance = ColourGuidanceConfig.from_card(card["colour_guidance"])
        except (TypeError, ValueError) as error:
            raise ModelLoadError(f"{AURA_MODEL_CARD}: {error}") from None
    if fast_path is not None:  # LCM / Lightning: their own step count and guidance
        default_steps, default_guidance = fast_path.default_steps, fast_path.default_guidance
    else:
        default_steps = settings.steps or int(card.get("default_steps", defaults["steps"]))
        default_guidance = (
            settings.guidance if settings.guidance is not None else float(card.get("default_guidance", defaults["guidance"]))
        )
    return ModelProfile(
        name=name,
        source=source,
        family=family,
        default_steps=default_steps,
        default_guidance=default_guidance,
        vae_scale_factor=vae_scale_factor,
        native_sizes=native_sizes,
        latent_rgb=latent_rgb,
        colour_guidance=colour_guidance,
    )


def read_profile(settings: Settings, folder: str) -> ModelProfile:
    """The profile of a local model folder that is not loaded (a request's ``config.modelPath``)."""
    index, source = read_model_index(folder)
    vae_config = Path(source) / "vae" / "config.json"
    blocks = len(json.loads(vae_config.read_text()).get("block_out_channels", [0] * 4)) if vae_config.is_file() else 4
    return build_profile(settings, folder, source, detect_family(index), vae_scale_factor=2 ** (blocks - 1))


def read_model_card(folder: str) -> dict:
    path = Path(folder) / AURA_MODEL_CARD
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise ModelLoadError(f"{path} is not valid JSON: {error}") from None


def read_model_index(model_id: str) -> tuple[dict, str]:
    """Return (model_index, source): the local folder resolved, or the hub id as given."""
    if is_local_reference(model_id):
        folder = Path(model_id).expanduser().resolve()
        return check_local_model(folder), str(folder)
    from huggingface_hub import hf_hub_download

    try:
        path = hf_hub_download(model_id, "model_index.json")
    except Exception as error:  # offline, missing repo, gated repo ...
        raise ModelLoadError(f"cannot fetch model_index.json of {model_id!r}: {error}") from None
    return json.loads(Path(path).read_text(encoding="utf-8")), model_id


def resolve_model_path(models_dir: Path | None, model_path: str, field_name: str = "config.modelPath") -> Path:
    """Map a request's model path onto a folder inside the allow-listed models folder, or refuse."""
    if models_dir is None:
        raise InvalidInput(field_name, "model switching is disabled: the engine has no AURA_MODELS_DIR")
    if "://" in model_path or model_path.startswith("\\\\"):
        raise InvalidInput(field_name, "must be a folder name inside the models folder, not a URL")
    if ".." in Path(model_path).parts:
        raise InvalidInput(field_name, "must not contain '..'")
    root = models_dir.expanduser().resolve()
    candidate = Path(model_path)
    target = (candidate if candidate.is_absolute() else root / candidate).resolve()
    if target != root and root not in target.parents:
        raise InvalidInput(field_name, "must name a model inside the models folder")
    if not (target / "model_index.json").is_file():
        raise InvalidInput(field_name, f"no diffusers model named {model_path!r} in the models folder")
    return target


def names_model(settings: Settings, profile: ModelProfile, model_path: str) -> bool:
    """Whether a request's model path names the model of ``profile``: its name as /health shows it
    (with or without " (embedded)"), its hub id or folder (compared as paths, the file system
    untouched), or SD_MODEL_ID when that is the model. Clients that send the model they were
    configured with (the original Aura Reflect frontend) then run on it without AURA_MODELS_DIR."""
    wanted = model_path.strip()
    names = {profile.name, profile.name.removesuffix(EMBEDDED_SUFFIX), profile.source}
    if settings.model_id and is_configured_model(settings, profile.source, profile.source):
        names.add(settings.model_id)
    if wanted in names:
        return True
    if wanted.startswith(("/", "~")) and Path(profile.source).is_absolute():
        return os.path.normpath(os.path.expanduser(wanted)) == profile.source
    return False


def list_models(models_dir: Path | None) -> list[str]:
    if models_dir is None or not models_dir.is_dir():
        return []
    return sorted(p.name for p in models_dir.iterdir() if (p / "model_index.json").is_file())


def _pipeline_classes(family: Family):
    """SDXL's pipelines, or Stable Diffusion's able to carry a card's colour guidance."""
    from diffusers import StableDiffusionXLImg2ImgPipeline, StableDiffusionXLPipeline

    if family == "sdxl":
        return StableDiffusionXLPipeline, StableDiffusionXLImg2ImgPipeline
    return guided_pipeline_classes()


def make_scheduler(name: str, current):
    """Build scheduler ``name`` from the model's own scheduler config (``default`` keeps it)."""
    import diffusers

    if name == "default":
        return current
    table = {
        "ddim": ("DDIMScheduler", {}),
        "pndm": ("PNDMScheduler", {"skip_prk_steps": True}),
        "lms": ("LMSDiscreteScheduler", {}),
        "euler": ("EulerDiscreteScheduler", {}),
        "euler_a": ("EulerAncestralDiscreteScheduler", {}),
        "heun": ("HeunDiscreteScheduler", {}),
        "dpmpp_2m": ("DPMSolverMultistepScheduler", {}),
        "dpmpp_2m_karras": ("DPMSolverMultistepScheduler", {"use_karras_sigmas": True}),
        "unipc": ("UniPCMultistepScheduler", {}),
        "lcm": ("LCMScheduler", {}),
    }
    class_name, extra = table[name]
    scheduler_class = getattr(diffusers, class_name)
    if current.config.get("rescale_betas_zero_snr") and not _takes_zero_snr(scheduler_class):
        # It would sample on the unrescaled betas (diffusers only warns): not the model's schedule.
        usable = sorted(n for n, (c, _) in table.items() if _takes_zero_snr(getattr(diffusers, c)))
        raise ModelLoadError(f"SD_SCHEDULER={name}: {class_name} cannot follow this model's zero-terminal-SNR "
                             f"schedule; use default or one of {', '.join(usable)}")
    return scheduler_class.from_config(current.config, **extra)


def _takes_zero_snr(scheduler_class) -> bool:
    return "rescale_betas_zero_snr" in inspect.signature(scheduler_class.__init__).parameters


def apply_memory_options(pipe, device: torch.device, settings: Settings) -> dict[str, Any]:
    """Switch on the attention backend and the memory savers that help here; return what is in effect."""
    opts: dict[str, Any] = {"attention": "sdpa", "attention_slicing": False, "vae_slicing": False, "vae_tiling": False}
    if settings.attention == "xformers":
        try:
            pipe.enable_xformers_memory_efficient_attention()
        except Exception as error:  # not installed, or no CUDA build
            raise ModelLoadError(f"SD_ATTENTION=xformers: xformers is not usable here ({error}); use sdpa") from None
        opts["attention"] = "xformers"
    savers = settings.memory_savers
    if savers == "auto":
        if device.type == "cuda":
            total_gib = torch.cuda.get_device_properties(device).total_memory / 2**30
            savers = "on" if total_gib < 10 else "off"  # small GPUs: decode one image and one tile at a time
        elif device.type == "mps":  # diffusers' advice for Apple silicon
            pipe.enable_attention_slicing()
            opts["attention_slicing"] = True
    if savers == "on":
        pipe.enable_attention_slicing()
        pipe.vae.enable_slicing()
        pipe.vae.enable_tiling()
        opts.update(attention_slicing=True, vae_slicing=True, vae_tiling=True)
    return opts


def load_vae(settings: Settings, dtype: torch.dtype):
    """SD_VAE_ID: a replacement VAE (hub id or folder), e.g. an fp16-safe SDXL VAE."""
    from diffusers import AutoencoderKL

    reference = settings.vae_id
    if is_local_reference(reference):
        folder = Path(reference).expanduser().resolve()
        if not (folder / "config.json").is_file() or not any(folder.glob("*.safetensors")):
            raise ModelLoadError(f"SD_VAE_ID={reference!r}: not a diffusers VAE folder with safetensors weights")
        reference = str(folder)
    try:
        return AutoencoderKL.from_pretrained(reference, torch_dtype=dtype, use_safetensors=True)
    except Exception as error:
        raise ModelLoadError(f"SD_VAE_ID={settings.vae_id!r}: cannot load it: {error}") from None


def is_configured_model(settings: Settings, model_id: str, source: str) -> bool:
    """Few-step paths belong to the configured model only, not to models switched in by path."""
    configured = settings.model_id or str(EMBEDDED_MODEL)
    if model_id == configured:
        return True
    return is_local_reference(configured) and Path(configured).expanduser().resolve() == Path(source)


def load_model(settings: Settings, model_id: str | None = None) -> LoadedModel:
    """Load ``model_id`` (default: SD_MODEL_ID) with the settings' device, precision, scheduler and
    fast paths, then warm it up so that the first request does not pay for lazy initialisation."""
    model_id = model_id or settings.model_id or str(EMBEDDED_MODEL)
    started = time.perf_counter()
    device = resolve_device(settings.device)
    dtype = resolve_dtype(settings.precision, device)
    index, source = read_model_index(model_id)
    family = detect_family(index)
    configured = is_configured_model(settings, model_id, source)
    text2img_cls, img2img_cls = _pipeline_classes(family)
    extra = {"vae": load_vae(settings, dtype)} if settings.vae_id and configured else {}
    try:
        text2img = text2img_cls.from_pretrained(source, torch_dtype=dtype, use_safetensors=True, **extra)
    except Exception as error:
        raise ModelLoadError(f"failed to load {model_id!r}: {error}") from error
    text2img.scheduler = make_scheduler(settings.scheduler, text2img.scheduler)
    fast_path = apply_fast_path(text2img, family, settings) if configured else None
    text2img.to(device)
    text2img.set_progress_bar_config(disable=True)
    optimizations = apply_memory_options(text2img, device, settings)
    optimizations.update(
        lcm=fast_path is not None and fast_path.kind == "lcm",
        lightning=fast_path is not None and fast_path.kind == "lightning",
        compile=False,
    )
    if fast_path is not None:
        optimizations[f"{fast_path.kind}_source"] = fast_path.source
        optimizations[f"{fast_path.kind}_steps"] = fast_path.default_steps
    if settings.vae_id and configured:
        optimizations["vae"] = settings.vae_id
    if family == "sdxl" and dtype == torch.float16 and getattr(text2img.vae.config, "force_upcast", False):
        # diffusers' SDXL pipelines would cast the VAE to fp32 and back around every decode, because
        # SDXL's original VAE overflows in fp16; fp16-safe VAEs (and most fine-tunes' fixed ones) do
        # not. Decode in fp16 until one decode overflows: the engine re-decodes that one in fp32 and
        # turns the upcast on for good (pipeline.upcast_vae_after_overflow).
        text2img.vae.register_to_config(force_upcast=False)
        optimizations["vae_upcast"] = UPCAST_AFTER_OVERFLOW
    if settings.torch_compile and configured:
        compile_pipeline(text2img, settings)

    if settings.img2img_model_id and settings.img2img_model_id != model_id:
        _, img2img_source = read_model_index(settings.img2img_model_id)
        img2img = img2img_cls.from_pretrained(img2img_source, torch_dtype=dtype, use_safetensors=True)
        img2img.scheduler = make_scheduler(settings.scheduler, img2img.scheduler)
        img2img.to(device)
        apply_memory_options(img2img, device, settings)
    else:
        # Shares every component: no second copy. The dtype must be passed: without it from_pipe casts
        # the shared components to fp32 (diffusers issue #12754), text2img's included.
        img2img = img2img_cls.from_pipe(text2img, torch_dtype=dtype)
    img2img.set_progress_bar_config(disable=True)

    profile = build_profile(
        settings, model_id, source, family, vae_scale_factor=int(text2img.vae_scale_factor), fast_path=fast_path
    )
    if profile.native_sizes:
        optimizations["upscale"] = "lanczos from native size"
    optimizations["colour_guidance"] = profile.colour_guidance is not None
    if profile.colour_guidance is not None:
        try:
            ColourGuidance(profile.latent_rgb, profile.colour_guidance).attach(
                *(pipe for pipe in (text2img, img2img) if pipe.unet is text2img.unet)
            )
        except ValueError as error:
            raise ModelLoadError(f"{AURA_MODEL_CARD}: {error}") from None
        optimizations["colour_guidance_chroma"] = profile.colour_guidance.chroma
    loaded = LoadedModel(
        profile=profile,
        text2img=text2img,
        img2img=img2img,
        device=device,
        dtype=dtype,
        load_seconds=0.0,
        optimizations=optimizations,
    )
    if settings.warmup or settings.torch_compile:
        warm_up(loaded, settings)
    loaded.load_seconds = time.perf_counter() - started
    log.info(
        "loaded %s (%s) on %s/%s in %.2fs, scheduler %s, %d default steps",
        loaded.name, family, device, str(dtype).removeprefix("torch."), loaded.load_seconds, loaded.scheduler_name,
        loaded.default_steps,
    )
    return loaded


UPCAST_AFTER_OVERFLOW = "after an fp16 overflow"

# Images in one pipeline call: a request holds at most 8 (pipeline.MAX_IMAGES), a batch AURA_MAX_BATCH.
MAX_IMAGES_PER_CALL = 8


def warmup_calls(model: LoadedModel, settings: Settings, compiled: bool) -> list[tuple[tuple[int, int], int, float]]:
    """The (size, images, guidance) of each warm-up generation.

    Eager: the 1:1 size of each tier (lazy initialisation); on CUDA every size the engine serves,
    since there a new size's first call pays for kernel selection and memory (on an H100, SD 1.5's
    first request at a new size took up to 1.72× the warm 1:1 request; the cost of one warm-up step
    per size awaits the next GPU run). Compiled: every shape the engine will serve — each aspect
    ratio of each tier, and the batch sizes a call can have (one image, the most images a call
    holds, no classifier-free guidance) — so that compilation happens here, before the engine
    reports ready, and never on a user's request."""
    guidance = model.default_guidance
    squares = sorted({model.render_size(AUTO_RATIO, resolve_size(model.family, AUTO_RATIO, tier)) for tier in TIERS})
    sizes = sorted({
        model.render_size(ratio, resolve_size(model.family, ratio, tier)) for ratio in ASPECT_RATIOS for tier in TIERS
    })
    if not compiled:
        return [(size, settings.num_images, guidance) for size in (sizes if model.device.type == "cuda" else squares)]
    most = max(MAX_IMAGES_PER_CALL, settings.max_batch)
    calls = [(size, settings.num_images, guidance) for size in sizes]
    calls += [(squares[0], 1, guidance), (squares[0], most, guidance), (squares[0], 1, 1.0 if guidance > 1 else 5.0)]
    return list(dict.fromkeys(calls))


def inductor_cache_counts() -> tuple[int, int]:
    """Inductor's graph cache hits and misses so far in this process."""
    from torch._dynamo.utils import counters

    return counters["inductor"]["fxgraph_cache_hit"], counters["inductor"]["fxgraph_cache_miss"]


def warm_up(model: LoadedModel, settings: Settings) -> None:
    """Short generations at ``warmup_calls``' shapes.

    This is where ``torch.compile`` compiles; if that fails, the engine goes on uncompiled and
    says so in /health rather than failing every request.
    """
    compiled = is_compiled(model.text2img)

    def run(calls) -> float:
        started = time.perf_counter()
        for (width, height), images, guidance in calls:
            model.text2img(
                prompt="warm-up", width=width, height=height, num_inference_steps=2 if compiled else 1,
                guidance_scale=guidance, num_images_per_prompt=images,
                generator=torch.Generator("cpu").manual_seed(0), output_type="pil",
            )
        if compiled:  # a refinement: img2img shares the UNet, but calls it its own way
            (width, height), images, guidance = calls[0]
            model.img2img(
                prompt="warm-up", image=Image.new("RGB", (width, height), (128, 96, 160)), strength=0.5,
                num_inference_steps=4, guidance_scale=guidance, num_images_per_prompt=images,
                generator=torch.Generator("cpu").manual_seed(0), output_type="pil",
            )
        return time.perf_counter() - started

    cache_before = inductor_cache_counts()
    calls = warmup_calls(model, settings, compiled)
    try:
        if compiled:
            allow_recompiles(len(calls) + 1)  # + the refinement
        seconds = run(calls)
    except Exception as error:
        if not compiled:
            raise ModelLoadError(f"warm-up generation failed: {type(error).__name__}: {error}") from error
        log.warning("torch.compile failed, serving uncompiled: %s: %s", type(error).__name__, error)
        uncompile_pipeline(model.text2img)
        uncompile_pipeline(model.img2img)
        compiled = False
        model.optimizations.update(compile=False, compile_error=f"{type(error).__name__}: {str(error)[:200]}")
        seconds = run(warmup_calls(model, settings, compiled))
    else:
        if compiled:
            hits, misses = (now - before for now, before in zip(inductor_cache_counts(), cache_before))
            model.optimizations.update(
                compile=True, compile_mode=settings.compile_mode, compile_regional=settings.compile_regional,
                compile_dynamic=settings.compile_dynamic, compile_seconds=round(seconds, 2),
                compile_shapes=len(calls),
                compile_cache=str(settings.compile_cache) if settings.compile_cache else None,
                compile_cache_hits=hits, compile_cache_misses=misses,
            )
            log.info("torch.compile (%s): compiled and warmed up in %.1fs (cache: %d hits, %d misses)",
                     settings.compile_mode, seconds, hits, misses)
    model.optimizations["warmup_seconds"] = round(seconds, 3)
