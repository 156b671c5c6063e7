"""OpenAI-compatible images API: /v1/images/generations and /v1/images/edits.

Both run on the same engine, queue and limits as /generate and /refine: a request is translated
into the engine's own protocol and answered in OpenAI's shape. Errors keep the engine's one error
shape, which carries OpenAI's `message`, `type`, `param` and `code` fields too.
"""

from __future__ import annotations

import base64
import math
import time

from fastapi import APIRouter, Request

from ...engine.families import ASPECT_RATIOS, RESOLUTION_TABLES, TIERS
from ...errors import InvalidInput, PayloadTooLarge
from ..protocol import GenerateRequest, RefineConfig, RefineRequest
from ..router import ERROR_RESPONSES, Limited, Serving
from .protocol import OpenAIImageData, OpenAIImageRequest, OpenAIImagesResponse

router = APIRouter(prefix="/v1/images", tags=["OpenAI-compatible"], dependencies=Limited)

FIXED_RATIOS = [ratio for ratio in ASPECT_RATIOS if ratio != "Auto"]


def map_size(size: str | None, family: str) -> tuple[str, str]:
    """Map OpenAI's ``size`` onto the nearest (aspect ratio, tier) of the model's table."""
    if size in (None, "", "auto"):
        return "1:1", "standard"
    try:
        width, height = (int(part) for part in size.lower().split("x"))
    except ValueError:
        raise InvalidInput("size", f"must be WIDTHxHEIGHT (e.g. 1024x1024) or auto, got {size!r}") from None
    if not (64 <= width <= 4096 and 64 <= height <= 4096):
        raise InvalidInput("size", f"each side must be 64–4096 px, got {size!r}")
    ratio = width / height
    aspect = min(FIXED_RATIOS, key=lambda r: abs(math.log(int(r.split(":")[0]) / int(r.split(":")[1]) / ratio)))
    table = RESOLUTION_TABLES[family]
    tier = min(TIERS, key=lambda t: abs(math.log(table[t][aspect][0] * table[t][aspect][1] / (width * height))))
    return aspect, tier


def _response(result, prompt: str) -> OpenAIImagesResponse:
    return OpenAIImagesResponse(created=int(time.time()),
                          data=[OpenAIImageData(b64_json=image, revised_prompt=prompt) for image in result.images])


@router.post("/generations", response_model=OpenAIImagesResponse, responses=ERROR_RESPONSES)
async def create_images(body: OpenAIImageRequest, serving: Serving, request: Request) -> OpenAIImagesResponse:
    """OpenAI `images.generate`: `n` images for `prompt` at the nearest supported `size`."""
    model = serving.model()
    aspect, tier = map_size(body.size, model.family)
    generate = GenerateRequest(prompt=body.prompt, aspectRatio=aspect, resolution=tier, numImages=body.n)
    return _response(await serving.generate(generate, request.is_disconnected), body.prompt)


@router.post("/edits", response_model=OpenAIImagesResponse, responses=ERROR_RESPONSES)
async def edit_images(request: Request, serving: Serving) -> OpenAIImagesResponse:
    """OpenAI `images.edit` (multipart): image-to-image on `image`, `n` variations, towards `prompt`."""
    settings = serving.settings
    form = await request.form(max_files=8, max_fields=32, max_part_size=int(settings.max_body_mb * 2**20))
    prompt = form.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise InvalidInput("prompt", "is required")
    uploads = [item for key in ("image", "image[]") for item in form.getlist(key) if hasattr(item, "read")]
    if not uploads:
        raise InvalidInput("image", "at least one image file is required")
    try:
        n = int(form.get("n") or 1)
    except ValueError:
        raise InvalidInput("n", "must be an integer") from None
    if not 1 <= n <= 8:
        raise InvalidInput("n", "must be between 1 and 8")
    response_format = form.get("response_format") or "b64_json"
    if response_format != "b64_json":
        raise InvalidInput("response_format", "only b64_json is served")
    images = []
    for upload in uploads:
        data = await upload.read()
        if len(data) > settings.max_body_mb * 2**20:
            raise PayloadTooLarge("image", "file exceeds the body limit")
        images.append(base64.b64encode(data).decode("ascii"))
    # One image: n variations of it; several: one refinement each (up to 8).
    chosen = images * n if len(images) == 1 else images
    refine = RefineRequest(refinePrompt=prompt, images=chosen[:8], config=RefineConfig())
    return _response(await serving.refine(refine, request.is_disconnected), prompt)
