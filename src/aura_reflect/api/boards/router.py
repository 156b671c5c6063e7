"""Boards: /boards/render draws a board as a print-size PNG or a one-page PDF, /boards/palette
gives its colours (and as CSS variables), /boards/swatches draws a palette as a PNG strip.

Drawing is CPU work of a second or so: it runs in a thread, so the event loop keeps serving
health checks and progress while a board is drawn. The same key and rate limit as generation
apply, since a board costs the engine's CPU, and across all clients at most AURA_MAX_BOARDS are
drawn at once with AURA_MAX_QUEUE more waiting; beyond that a board is refused with 503 and
Retry-After.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ...boards import compose
from ...core.config import Settings
from ...engine.images import decode_image
from ...engine.palette import css_variables
from ..limits import ThreadSlots
from ..router import ERROR_RESPONSES, Limited, Serving
from .protocol import Board, BoardPalette, RenderRequest, SwatchesRequest


def get_board_slots(request: Request) -> ThreadSlots:
    return request.app.state.board_slots


Slots = Annotated[ThreadSlots, Depends(get_board_slots)]

router = APIRouter(prefix="/boards", tags=["Boards"], dependencies=Limited)

MEDIA_TYPES = {"png": "image/png", "pdf": "application/pdf"}
FILE_RESPONSES = {
    200: {"content": {"image/png": {}, "application/pdf": {}}, "description": "The board's page."},
    **ERROR_RESPONSES,
}


def _board(body: Board, settings: Settings) -> compose.Board:
    """The request's board with its images decoded one by one, each shrunk to page size before the
    next is decoded; a bad image is refused naming it, e.g. ``images[3].image``."""
    images = [
        compose.shrink(decode_image(item.image, f"images[{i}].image", settings.max_image_side, settings.max_image_pixels))
        for i, item in enumerate(body.images)
    ]
    return compose.Board(layout=body.layout, images=images, title=body.title, note=body.note,
                         orientation=body.orientation)


def _render(body: RenderRequest, settings: Settings) -> bytes:
    page, palette = compose.render(_board(body, settings))
    prompts = [item.prompt or "" for item in body.images]
    if body.format == "pdf":
        return compose.to_pdf(page, body.title, prompts)
    return compose.to_png(page, palette, prompts)


def _palette(body: Board, settings: Settings) -> BoardPalette:
    palette = compose.board_palette(_board(body, settings))
    return BoardPalette(palette=palette, css=css_variables(palette))


def _swatches(body: SwatchesRequest) -> bytes:
    palette = [colour.model_dump() for colour in body.palette]
    strip = compose.swatch_strip(palette, body.width, max(16, body.width // 10), label_px=max(10, body.width // 60))
    return compose.to_png(strip, palette, [])


@router.post("/render", response_class=Response, responses=FILE_RESPONSES)
async def render_board(body: RenderRequest, serving: Serving, slots: Slots) -> Response:
    """The board on one A4 page at 300 dpi: title and note, the images in `layout`, the palette strip."""
    data = await slots.run(_render, body, serving.settings)
    name = f"aura-board.{body.format}"
    return Response(data, media_type=MEDIA_TYPES[body.format],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/palette", response_model=BoardPalette, responses=ERROR_RESPONSES)
async def board_palette(body: Board, serving: Serving, slots: Slots) -> BoardPalette:
    """The board's colours, each image weighing as the area it covers in `layout`; also as CSS variables."""
    return await slots.run(_palette, body, serving.settings)


@router.post("/swatches", response_class=Response,
             responses={200: {"content": {"image/png": {}}, "description": "The strip."}, **ERROR_RESPONSES})
async def swatch_strip(body: SwatchesRequest, slots: Slots) -> Response:
    """`palette` as a PNG strip, each colour as wide as its share, its hex beneath."""
    data = await slots.run(_swatches, body)
    return Response(data, media_type="image/png",
                    headers={"Content-Disposition": 'attachment; filename="aura-palette.png"'})
