"""Thin routes: parse, call the serving layer, return. Errors are mapped in api/errors.py."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from .. import __version__
from .protocol import ErrorResponse, GenerateRequest, HealthResponse, ImagesResponse, RefineRequest
from .serving import ServingEngine

ERROR_RESPONSES = {
    code: {"model": ErrorResponse, "description": text}
    for code, text in {
        413: "A body or image exceeds a limit",
        422: "A field is invalid; `error.field` names it",
        503: "Overloaded, loading or out of memory; see Retry-After",
    }.items()
}


def get_serving(request: Request) -> ServingEngine:
    return request.app.state.serving


Serving = Annotated[ServingEngine, Depends(get_serving)]

router = APIRouter()


@router.post("/generate", response_model=ImagesResponse, responses=ERROR_RESPONSES)
async def generate(body: GenerateRequest, serving: Serving) -> ImagesResponse:
    """Text to image: `numImages` images for `prompt` at the size of `aspectRatio` × `resolution`."""
    return await serving.generate(body)


@router.post("/refine", response_model=ImagesResponse, responses=ERROR_RESPONSES)
async def refine(body: RefineRequest, serving: Serving) -> ImagesResponse:
    """Image to image: each of `images` redrawn towards `refinePrompt`, keeping its composition and size."""
    return await serving.refine(body)


@router.get("/health", response_model=HealthResponse, responses={503: {"model": HealthResponse}})
async def health(serving: Serving) -> JSONResponse:
    """Engine status. 503 while the model loads (`status: loading`) or after it failed (`status: error`)."""
    worker = serving.worker
    model = worker.model
    status = {"loading": "loading", "ready": "ok", "error": "error", "stopped": "stopping"}[worker.state]
    body = HealthResponse(
        status=status,
        version=__version__,
        device=str(model.device) if model else None,
        model=model.name if model else serving.settings.model_id,
        family=model.family if model else None,
        dtype=str(model.dtype).removeprefix("torch.") if model else None,
        scheduler=model.scheduler_name if model else None,
        defaultSteps=model.default_steps if model else None,
        defaultGuidance=model.default_guidance if model else None,
        optimizations=model.optimizations if model else {},
        queue={
            "depth": worker.depth,
            "max": serving.settings.max_queue,
            "running": 1 if worker.running is not None else 0,
        },
        loadSeconds=round(model.load_seconds, 3) if model else None,
        error=worker.error,
    )
    return JSONResponse(body.model_dump(), status_code=200 if status == "ok" else 503)
