"""Thin routes: parse, call the serving layer, return. Errors are mapped in api/errors.py."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .. import __version__
from ..errors import NotFound, RateLimited, Unauthorized
from .limits import client_identity
from .protocol import (
    ErrorResponse,
    GenerateRequest,
    HealthResponse,
    ImagesResponse,
    JobProgress,
    LoadModelRequest,
    LoadModelResponse,
    ModelsResponse,
    RefineRequest,
    UiConfig,
)
from ..engine.loader import EMBEDDED_SUFFIX, list_models
from .serving import ServingEngine

ERROR_RESPONSES = {
    code: {"model": ErrorResponse, "description": text}
    for code, text in {
        401: "AURA_API_KEY is set and the request has no valid `Authorization: Bearer` key",
        413: "A body or image exceeds a limit",
        429: "This client exceeded AURA_RATE_LIMIT; see Retry-After",
        422: "A field is invalid; `error.field` names it",
        503: "Overloaded, loading or out of memory; see Retry-After",
        504: "Not finished within AURA_REQUEST_TIMEOUT_S; the work was dropped or stopped",
    }.items()
}


def get_serving(request: Request) -> ServingEngine:
    return request.app.state.serving


Serving = Annotated[ServingEngine, Depends(get_serving)]


def require_api_key(request: Request) -> None:
    """When AURA_API_KEY is set, generation and job endpoints need `Authorization: Bearer <key>`."""
    keys = request.app.state.settings.api_keys
    if not keys:
        return
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    presented_bytes = presented.strip().encode()
    # Compare against every key, in constant time, so timing says nothing about which one is near.
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(presented_bytes, key.encode())
    if scheme.lower() != "bearer" or not matched:
        raise Unauthorized("a valid API key is required: send `Authorization: Bearer <key>`")


def rate_limit(request: Request) -> None:
    """Per-client token bucket on the endpoints that start work (AURA_RATE_LIMIT per minute)."""
    settings = request.app.state.settings
    client = client_identity(request.client, request.headers.get("x-forwarded-for"), settings.trust_proxy)
    wait = request.app.state.rate_limiter.acquire(client)
    if wait is not None:
        raise RateLimited(
            f"too many requests: at most {settings.rate_limit_per_min:g} a minute (burst {settings.rate_burst})",
            retry_after=wait,
        )


Protected = [Depends(require_api_key)]
# Endpoints that start work on the device: the key, then the client's rate.
Limited = [Depends(require_api_key), Depends(rate_limit)]

router = APIRouter()


@router.post("/generate", response_model=ImagesResponse, responses=ERROR_RESPONSES, dependencies=Limited)
async def generate(body: GenerateRequest, serving: Serving, request: Request) -> ImagesResponse:
    """Text to image: `numImages` images for `prompt` at the size of `aspectRatio` × `resolution`."""
    return await serving.generate(body, request.is_disconnected)


@router.post("/refine", response_model=ImagesResponse, responses=ERROR_RESPONSES, dependencies=Limited)
async def refine(body: RefineRequest, serving: Serving, request: Request) -> ImagesResponse:
    """Image to image: each of `images` redrawn towards `refinePrompt`, keeping its composition and size."""
    return await serving.refine(body, request.is_disconnected)


@router.get("/health", response_model=HealthResponse, responses={503: {"model": HealthResponse}})
async def health(serving: Serving) -> JSONResponse:
    """Engine status: 200 `ok`; 503 while the model loads (`loading`), after it failed (`error`), while
    shutting down (`draining`), or when the running job has made no progress for AURA_WATCHDOG_S (`stuck`)."""
    worker = serving.worker
    model = worker.model
    status, error = worker.status()
    body = HealthResponse(
        status=status,
        version=__version__,
        device=str(model.device) if model else None,
        # While loading: the model being loaded (the embedded one when SD_MODEL_ID is unset).
        model=model.name if model else (serving.settings.model_id or f"aura-tiny{EMBEDDED_SUFFIX}"),
        family=model.family if model else None,
        dtype=str(model.dtype).removeprefix("torch.") if model else None,
        scheduler=model.scheduler_name if model else None,
        defaultSteps=model.default_steps if model else None,
        defaultGuidance=model.default_guidance if model else None,
        # The scheduler again inside optimizations, where the original Aura Reflect frontend reads it.
        optimizations={**model.optimizations, "scheduler": model.scheduler_name} if model else {},
        queue={
            "depth": worker.depth,
            "max": serving.settings.max_queue,
            "running": len(worker.batch),
        },
        loadSeconds=round(model.load_seconds, 3) if model else None,
        error=error,
        replicas=worker.replicas(),
    )
    return JSONResponse(body.model_dump(), status_code=200 if status == "ok" else 503)


@router.get("/jobs/{job_id}", response_model=JobProgress, responses={404: {"model": ErrorResponse}},
            dependencies=Protected)
def job_progress(job_id: str, serving: Serving) -> JobProgress:
    """Progress of a queued or running request sent with `requestId`, with previews of its images
    while it runs; 404 once it has finished."""
    # Plain def (FastAPI runs it in its threadpool): on Ray Serve the job may be on another replica
    # and the worker asks the cluster's job registry, a blocking call the event loop must not make;
    # and a preview is a little CPU work.
    progress = serving.progress(job_id)
    if progress is None:
        raise NotFound("jobId", f"no queued or running request {job_id!r}")
    return JobProgress(**progress)


@router.delete("/jobs/{job_id}", status_code=202, responses={404: {"model": ErrorResponse}},
               dependencies=Protected)
def cancel_job(job_id: str, serving: Serving) -> dict:
    """Cancel a request: dropped if queued, stopped at its next denoising step if running.
    The cancelled request itself answers 499. Plain def for the same reason as job_progress."""
    if not serving.worker.cancel_by_id(job_id):
        raise NotFound("jobId", f"no queued or running request {job_id!r}")
    return {"id": job_id, "cancelled": True}


@router.get("/metrics", response_class=PlainTextResponse, include_in_schema=False)
def metrics(request: Request) -> PlainTextResponse:
    """Prometheus text format: requests, latencies (queue, generation, encode), queue, batches, images.
    Plain def: on Ray Serve the metrics of every replica are gathered with a blocking call."""
    return PlainTextResponse(generate_latest(request.app.state.metrics.collector()), media_type=CONTENT_TYPE_LATEST)


@router.get("/ui/config", response_model=UiConfig)
async def ui_config(serving: Serving) -> UiConfig:
    """What the web UI needs from the engine's settings."""
    return UiConfig(cloudUrl=serving.settings.cloud_url, version=__version__)


@router.get("/models", response_model=ModelsResponse, dependencies=Protected)
async def list_available_models(serving: Serving) -> ModelsResponse:
    """The resident model and the models a request may name in `config.modelPath`."""
    model = serving.worker.model
    return ModelsResponse(resident=model.name if model else None, models=list_models(serving.settings.models_dir))


@router.post("/models/load", response_model=LoadModelResponse, responses=ERROR_RESPONSES, dependencies=Limited)
async def load_another_model(body: LoadModelRequest, serving: Serving) -> LoadModelResponse:
    """Make another model of AURA_MODELS_DIR the resident one: queued like a request, so the switch
    happens between batches; the previous model is released first."""
    model = await serving.load(body.modelPath)
    return LoadModelResponse(model=model.name, family=model.family, loadSeconds=round(model.load_seconds, 3))
