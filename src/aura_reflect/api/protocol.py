"""The public HTTP contract as pydantic models (what /docs shows).

Field names are the ones existing clients send (camelCase). Unknown fields are ignored so that
newer clients keep working against this engine; out-of-range values are refused, never clamped.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..engine.families import ASPECT_RATIOS

OutputFormat = Literal["png", "webp", "jpeg"]
AspectRatio = Literal[ASPECT_RATIOS]  # type: ignore[valid-type]

MAX_SEED = 2**63 - 1


class _Schema(BaseModel):
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False, populate_by_name=True)


class GenerationConfig(_Schema):
    steps: int | None = Field(default=None, ge=1, le=150, description="Denoising steps.")
    guidanceScale: float | None = Field(
        default=None, ge=0, le=20, description="Classifier-free guidance; overrides the temperature mapping."
    )
    modelPath: str | None = Field(
        default=None,
        max_length=255,
        description="A model folder inside the engine's AURA_MODELS_DIR; anything else is refused.",
    )


class RefineConfig(GenerationConfig):
    """For a refinement, ``steps`` counts the denoising steps actually run on the input."""

    strength: float | None = Field(
        default=None,
        ge=0.05,
        le=1,
        description="How far the refinement may move from the input (img2img strength). Default 0.55.",
    )


REQUEST_ID = Field(
    default=None,
    pattern=r"^[A-Za-z0-9_-]{8,64}$",
    description="Client-chosen id (8–64 of A-Z a-z 0-9 _ -) to follow progress at /jobs/{id} and cancel it.",
)


class GenerateRequest(_Schema):
    prompt: str = Field(min_length=1, description="What to draw.")
    aspectRatio: AspectRatio = Field(default="Auto", description="'Auto' is the model's native square.")
    temperature: float = Field(
        default=1.0, ge=0, le=2, description="Creativity: lower is more literal, higher is more varied."
    )
    resolution: Literal["high", "standard"] = "standard"
    config: GenerationConfig | None = None
    negativePrompt: str | None = Field(default=None, description="What to steer away from.")
    seed: int | None = Field(
        default=None, ge=0, le=MAX_SEED, description="Image i uses seed + i; omitted: a random seed."
    )
    numImages: int | None = Field(default=None, ge=1, le=8, description="Default: the engine's SD_NUM_IMAGES.")
    requestId: str | None = REQUEST_ID
    outputFormat: OutputFormat = Field(default="png", description="Image encoding of the response: png (lossless), webp or jpeg.")


class RefineRequest(_Schema):
    refinePrompt: str = Field(min_length=1, description="How to change the selected images.")
    images: list[str] = Field(
        min_length=1, max_length=8, description="Base64 PNG (or JPEG/WebP) images to refine, 1 to 8."
    )
    config: RefineConfig | None = None
    negativePrompt: str | None = None
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)
    requestId: str | None = REQUEST_ID
    outputFormat: OutputFormat = Field(default="png", description="Image encoding of the response: png (lossless), webp or jpeg.")


class Timings(BaseModel):
    queueMs: float = Field(description="Waiting for the device.")
    generateMs: float = Field(description="The pipeline call.")
    encodeMs: float = Field(description="Palettes, image encoding and base64.")
    totalMs: float


class PaletteColour(BaseModel):
    hex: str = Field(pattern=r"^#[0-9a-f]{6}$", description="sRGB colour, e.g. #1f2a44.")
    share: float = Field(ge=0, le=1, description="Fraction of the image this colour stands for.")


class ImagesResponse(BaseModel):
    images: list[str] = Field(description="Base64 images (PNG unless `outputFormat` said otherwise), no data: prefix.")
    format: OutputFormat = Field(default="png", description="The encoding of `images`.")
    seeds: list[int] = Field(description="The seed of each image; send it back as `seed` to reproduce image 0.")
    model: str
    width: int
    height: int
    steps: int
    guidanceScale: float
    timings: Timings
    palettes: list[list[PaletteColour]] = Field(
        default_factory=list,
        description="Per image, its up to 6 dominant colours (k-means in CIELAB), largest share first; "
        "the shares of an image sum to 1. Also in each PNG's `aura:palette` text chunk.",
    )


class HealthResponse(BaseModel):
    status: Literal["ok", "loading", "error", "stopping", "draining", "stuck"]
    version: str
    device: str | None = None
    model: str | None = None
    family: str | None = None
    dtype: str | None = None
    scheduler: str | None = None
    defaultSteps: int | None = None
    defaultGuidance: float | None = None
    optimizations: dict[str, bool | str | int | float | None] = Field(default_factory=dict)
    queue: dict[str, int] = Field(description="depth (waiting), max, running")
    loadSeconds: float | None = None
    error: str | None = Field(default=None, description="Why the model is not serving, when it is not.")
    replicas: dict[str, int] | None = Field(
        default=None,
        description="On Ray Serve: `up` (replicas that report in) and `ready` (of those, serving); "
        "the response's X-Aura-Replica header names the replica that answered. Null on a single engine.",
    )


class ErrorDetail(BaseModel):
    type: str = Field(description="invalid_request, payload_too_large, overloaded, unavailable, ...")
    message: str
    field: str | None = Field(default=None, description="The request field at fault, e.g. images[1].")
    param: str | None = Field(default=None, description="Same as `field`, under OpenAI's name.")
    code: str | None = Field(default=None, description="Same as `type`, under OpenAI's name.")


class ErrorResponse(BaseModel):
    """The one error shape of every endpoint. ``detail`` repeats the message for FastAPI-style clients."""

    error: ErrorDetail
    detail: str


class JobProgress(BaseModel):
    id: str
    state: Literal["queued", "running"]
    step: int = Field(description="Denoising steps done.")
    total: int = Field(description="Denoising steps the job will run.")
    position: int = Field(description="Place in the queue (1 = next); 0 while running.")
    previews: list[str] | None = Field(
        default=None,
        description="While running: a small base64 PNG per image being denoised, made from the current latents "
        "(the latent grid's size, e.g. 64×64 for a 512² SD image); null before the first step or when the "
        "model has no latent-to-RGB factors.",
    )
    previewStep: int | None = Field(default=None, description="The step the previews show.")


class UiConfig(BaseModel):
    cloudUrl: str | None = Field(default=None, description="Default Cloud engine URL (AURA_CLOUD_URL).")
    version: str


class ModelsResponse(BaseModel):
    resident: str | None = Field(description="The model in memory now.")
    models: list[str] = Field(description="Model folders in AURA_MODELS_DIR, usable as `modelPath`.")


class LoadModelRequest(_Schema):
    modelPath: str = Field(min_length=1, max_length=255, description="A model folder inside AURA_MODELS_DIR.")


class LoadModelResponse(BaseModel):
    model: str
    family: str
    loadSeconds: float
