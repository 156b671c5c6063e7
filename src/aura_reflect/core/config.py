"""Settings: the one place that reads the environment.

Every variable is validated at start-up; a bad value stops the engine with a message that names the
variable (see ``describe_validation_error``) instead of surfacing later as a failed request.
"""

from __future__ import annotations

import ipaddress
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

Precision = Literal["auto", "fp16", "bf16", "fp32"]
DeviceName = Literal["auto", "cuda", "mps", "cpu"]
CompileMode = Literal["default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"]
SPACE_STORAGE = Path("/data")  # a Hugging Face Space's persistent storage, when it has some
LIGHTNING_STEPS = (1, 2, 4, 8)  # the step counts SDXL-Lightning checkpoints were distilled for

# Scheduler names users may put in SD_SCHEDULER; "default" keeps the model's own scheduler.
SCHEDULER_NAMES = (
    "default",
    "ddim",
    "pndm",
    "lms",
    "euler",
    "euler_a",
    "heun",
    "dpmpp_2m",
    "dpmpp_2m_karras",
    "unipc",
    "lcm",
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    # --- model -----------------------------------------------------------------------------
    model_id: str | None = Field(default=None, validation_alias="SD_MODEL_ID")
    img2img_model_id: str | None = Field(default=None, validation_alias="SD_IMG2IMG_MODEL_ID")
    lcm_lora_id: str | None = Field(default=None, validation_alias="SD_LCM_LORA_ID")
    precision: Precision = Field(default="auto", validation_alias="SD_PRECISION")
    device: DeviceName = Field(default="auto", validation_alias="SD_DEVICE")
    scheduler: str = Field(default="default", validation_alias="SD_SCHEDULER")
    steps: int | None = Field(default=None, ge=1, le=150, validation_alias="SD_STEPS")
    guidance: float | None = Field(default=None, ge=0, le=20, validation_alias="SD_GUIDANCE")
    num_images: int = Field(default=2, ge=1, le=8, validation_alias="SD_NUM_IMAGES")
    lightning_unet: str | None = Field(default=None, validation_alias="SD_LIGHTNING_UNET")
    lightning_steps: int | None = Field(default=None, validation_alias="SD_LIGHTNING_STEPS")
    vae_id: str | None = Field(default=None, validation_alias="SD_VAE_ID")  # e.g. an fp16-safe SDXL VAE
    torch_compile: bool = Field(default=False, validation_alias="TORCH_COMPILE")
    compile_mode: CompileMode = Field(default="default", validation_alias="TORCH_COMPILE_MODE")
    # Regional compilation: the UNet's repeated transformer block compiled once and reused (diffusers'
    # compile_repeated_blocks), several times faster to compile than the whole UNet.
    compile_regional: bool = Field(default=True, validation_alias="TORCH_COMPILE_REGIONAL")
    # auto: torch's default (static for the first shape, dynamic after a second); on / off.
    compile_dynamic: Literal["auto", "on", "off"] = Field(default="auto", validation_alias="TORCH_COMPILE_DYNAMIC")
    # Where PyTorch keeps what it compiled (Inductor's and Triton's caches), so a restart reuses it;
    # unset: PyTorch's temporary folder, or /data/aura-compile-cache in a Space with persistent storage.
    compile_cache_dir: Path | None = Field(default=None, validation_alias="AURA_COMPILE_CACHE")
    attention: Literal["sdpa", "xformers"] = Field(default="sdpa", validation_alias="SD_ATTENTION")
    # auto: VAE slicing + tiling on GPUs under 10 GiB, attention slicing on MPS; on/off: force.
    memory_savers: Literal["auto", "on", "off"] = Field(default="auto", validation_alias="SD_MEMORY_SAVERS")
    warmup: bool = Field(default=True, validation_alias="AURA_WARMUP")
    models_dir: Path | None = Field(default=None, validation_alias="AURA_MODELS_DIR")

    # --- serving ---------------------------------------------------------------------------
    host: str = Field(default="127.0.0.1", validation_alias="HOST")
    port: int | None = Field(default=None, ge=1, le=65535, validation_alias="PORT")
    space_id: str | None = Field(default=None, validation_alias="SPACE_ID")
    allow_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias="ALLOW_ORIGINS"
    )
    cloud_url: str | None = Field(default=None, validation_alias="AURA_CLOUD_URL")
    api_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias="AURA_API_KEY", repr=False
    )
    cors_credentials: bool = Field(default=False, validation_alias="AURA_CORS_CREDENTIALS")
    # Micro-batching: concurrent generations that can share a pipeline call run as one, up to this
    # many images (1 = off; 8 on every device, from bench/batching.py). Companions are the compatible jobs queued when
    # the device frees up (those that arrived while the last call ran), so a lone client never
    # waits; a wait > 0 also holds an idle device back that long for more.
    max_batch: int = Field(default=8, ge=1, le=64, validation_alias="AURA_MAX_BATCH")
    batch_wait_ms: float = Field(default=0, ge=0, le=1000, validation_alias="AURA_BATCH_WAIT_MS")
    max_queue: int = Field(default=8, ge=0, le=1000, validation_alias="AURA_MAX_QUEUE")
    # Boards (/boards/*) are drawn on the CPU in threads, at most this many at once across all clients
    # (a print-size page is about a second of one core and 30 MB); AURA_MAX_QUEUE more wait, the rest get 503.
    max_boards: int = Field(default=2, ge=1, le=64, validation_alias="AURA_MAX_BOARDS")
    rate_limit_per_min: float = Field(default=120, ge=0, validation_alias="AURA_RATE_LIMIT")  # 0: off
    rate_burst: int = Field(default=30, ge=1, validation_alias="AURA_RATE_BURST")
    trust_proxy: bool = Field(default=False, validation_alias="AURA_TRUST_PROXY")
    # A running job that completes no denoising step for this long makes /health answer 503
    # ("stuck"), so the platform restarts the process.
    watchdog_s: float = Field(default=300, gt=0, validation_alias="AURA_WATCHDOG_S")
    # SIGTERM: how long accepted requests may take to finish before what is left is cancelled.
    shutdown_grace_s: float = Field(default=30, ge=0, le=3600, validation_alias="AURA_SHUTDOWN_GRACE_S")
    request_timeout_s: float = Field(default=600, gt=0, validation_alias="AURA_REQUEST_TIMEOUT_S")
    max_body_mb: float = Field(default=64, gt=0, validation_alias="AURA_MAX_BODY_MB")
    max_prompt_chars: int = Field(default=2000, ge=1, validation_alias="AURA_MAX_PROMPT_CHARS")
    max_image_side: int = Field(default=4096, ge=64, validation_alias="AURA_MAX_IMAGE_SIDE")
    max_image_pixels: int = Field(default=16_777_216, ge=4096, validation_alias="AURA_MAX_IMAGE_PIXELS")
    # Refinement runs at the input's size; beyond this many pixels it is refused (memory).
    max_refine_pixels: int = Field(default=1024 * 1024 * 2, ge=4096, validation_alias="AURA_MAX_REFINE_PIXELS")

    # --- scale-out: Ray Serve (`aura serve --replicas N`, deploy/ray/serve.yaml) --------------------
    # One replica per device; when AURA_MAX_REPLICAS is above AURA_MIN_REPLICAS, Ray adds replicas
    # while each has more than AURA_TARGET_ONGOING_REQUESTS requests in flight (2: where a replica
    # starts to queue; bench/ray_scale.py measured 2 in flight at the throughput of 1, twice the latency).
    min_replicas: int = Field(default=1, ge=1, le=1000, validation_alias="AURA_MIN_REPLICAS")
    max_replicas: int | None = Field(default=None, ge=1, le=1000, validation_alias="AURA_MAX_REPLICAS")
    target_ongoing_requests: float = Field(default=2, gt=0, le=1000, validation_alias="AURA_TARGET_ONGOING_REQUESTS")
    # What one replica reserves: CPUs always; GPUs unset means 1 when the cluster has GPUs, else 0.
    replica_cpus: float = Field(default=1, gt=0, validation_alias="AURA_REPLICA_CPUS")
    replica_gpus: float | None = Field(default=None, ge=0, validation_alias="AURA_REPLICA_GPUS")
    # Ray Serve calls each replica's check_health this often; three failures in a row (a worker in
    # error, or stuck past AURA_WATCHDOG_S) and Ray replaces the replica.
    health_check_s: float = Field(default=10, gt=0, le=3600, validation_alias="AURA_HEALTH_CHECK_S")
    # Autoscaling's pace: Serve averages the requests in flight over the look-back window, and acts
    # once its decision has held for the delay. From bench/ray_autoscale.py (docs/scale-out.md): a
    # replica takes ~20 s to start, so adding one for a burst shorter than that buys nothing (10 s
    # delay, 10 s window: a second replica answered 44 s into a load, 62 s with Serve's 30/30), and a
    # replica is kept idle 15x its start time before it is stopped (300 s, Serve's default 600).
    upscale_delay_s: float = Field(default=10, ge=0, le=3600, validation_alias="AURA_UPSCALE_DELAY_S")
    downscale_delay_s: float = Field(default=300, ge=0, le=86400, validation_alias="AURA_DOWNSCALE_DELAY_S")
    autoscale_look_back_s: float = Field(default=10, gt=0, le=3600, validation_alias="AURA_AUTOSCALE_LOOK_BACK_S")

    @field_validator("allow_origins", "api_keys", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("cloud_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(f"must be an http(s) URL, got {value!r}")
        return value.rstrip("/") if value else value

    @field_validator("lightning_steps")
    @classmethod
    def _lightning_step_count(cls, value: int | None) -> int | None:
        if value is not None and value not in LIGHTNING_STEPS:
            raise ValueError(f"SDXL-Lightning checkpoints exist for 1, 2, 4 or 8 steps, got {value}")
        return value

    @field_validator("scheduler")
    @classmethod
    def _known_scheduler(cls, value: str) -> str:
        name = value.strip().lower()
        if name not in SCHEDULER_NAMES:
            raise ValueError(f"unknown scheduler {value!r}; choose one of {', '.join(SCHEDULER_NAMES)}")
        return name

    @model_validator(mode="after")
    def _one_fast_path(self) -> "Settings":
        if self.lcm_lora_id and self.lightning_unet:
            raise ValueError("SD_LCM_LORA_ID and SD_LIGHTNING_UNET are both set; choose one few-step path")
        return self

    @model_validator(mode="after")
    def _no_wildcard_with_credentials(self) -> "Settings":
        if self.cors_credentials and "*" in self.allow_origins:
            raise ValueError(
                "ALLOW_ORIGINS='*' cannot be combined with AURA_CORS_CREDENTIALS=true; list the origins"
            )
        return self

    @model_validator(mode="after")
    def _replica_range(self) -> "Settings":
        if self.max_replicas is not None and self.max_replicas < self.min_replicas:
            raise ValueError(
                f"AURA_MAX_REPLICAS ({self.max_replicas}) is below AURA_MIN_REPLICAS ({self.min_replicas})"
            )
        return self

    @property
    def replica_range(self) -> tuple[int, int]:
        """(min, max) engine replicas under Ray Serve; equal numbers mean a fixed count."""
        return self.min_replicas, self.max_replicas or self.min_replicas

    @property
    def loopback_only(self) -> bool:
        """Whether the engine listens on a loopback address only (HOST 127.x.x.x, ::1 or localhost):
        then only programs on this machine can reach it. ``aura serve`` puts its real bind address here."""
        host = self.host.strip().strip("[]").lower()
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:  # a host name, or 0.0.0.0 / :: written oddly: treat as public
            return False

    @property
    def compile_cache(self) -> Path | None:
        """AURA_COMPILE_CACHE; in a Space with persistent storage (/data), a folder there."""
        if self.compile_cache_dir is not None:
            return self.compile_cache_dir
        if self.space_id and SPACE_STORAGE.is_dir():
            return SPACE_STORAGE / "aura-compile-cache"
        return None

    @property
    def effective_port(self) -> int:
        """PORT if set; 7860 inside a Hugging Face Space (SPACE_ID is set there); else 8000."""
        if self.port is not None:
            return self.port
        return 7860 if self.space_id else 8000


# Field name -> environment variable, for error messages.
ENV_NAMES = {
    name: (field.validation_alias if isinstance(field.validation_alias, str) else name.upper())
    for name, field in Settings.model_fields.items()
}


def describe_validation_error(error: ValidationError) -> str:
    """One line per bad variable: ``SD_PRECISION='fp8': Input should be 'auto', 'fp16', ...``."""
    lines = []
    for item in error.errors():
        loc = item.get("loc") or ()
        field = str(loc[0]) if loc else ""
        env = ENV_NAMES.get(field, field) or "configuration"
        value = os.environ.get(env)
        shown = f"={value!r}" if value is not None else ""
        message = item.get("msg", "invalid value").removeprefix("Value error, ")
        lines.append(f"{env}{shown}: {message}")
    return "\n".join(lines)


class ConfigError(Exception):
    """The environment holds an invalid setting; the message names the variable."""


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error)) from None


@lru_cache
def get_settings() -> Settings:
    return load_settings()


__all__ = [
    "ConfigError",
    "SCHEDULER_NAMES",
    "Settings",
    "get_settings",
    "load_settings",
]
