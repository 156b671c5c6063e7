"""The boards API contract: a board to draw, its palette, a palette to draw as a strip."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from ...boards.layout import LAYOUTS
from ..protocol import PaletteColour, _Schema

Layout = Literal[LAYOUTS]  # type: ignore[valid-type]
MAX_BOARD_IMAGES = 24
MAX_TITLE_CHARS = 200
MAX_NOTE_CHARS = 2000


class BoardImage(_Schema):
    image: str = Field(min_length=1, description="Base64 PNG, JPEG or WebP (a data: URL too).")
    prompt: str | None = Field(default=None, max_length=2000, description="What made it; kept in the export's metadata.")


class Board(_Schema):
    layout: Layout = Field(default="grid", description="grid, masonry (uncropped columns) or hero (the first image large).")
    images: list[BoardImage] = Field(min_length=1, max_length=MAX_BOARD_IMAGES, description="In board order.")
    title: str = Field(default="", max_length=MAX_TITLE_CHARS)
    note: str = Field(default="", max_length=MAX_NOTE_CHARS)
    orientation: Literal["portrait", "landscape"] = Field(default="portrait", description="Of the A4 page.")


class RenderRequest(Board):
    format: Literal["png", "pdf"] = Field(
        default="png", description="png: 2480×3508 px (A4 at 300 dpi, turned for landscape); pdf: that page, one page."
    )


class BoardPalette(BaseModel):
    palette: list[PaletteColour] = Field(
        description="Up to 6 colours of the board's images together, each image weighing as the area it covers."
    )
    css: str = Field(description="The palette as CSS custom properties on :root (--board-1 is the largest share).")


class SwatchesRequest(_Schema):
    palette: list[PaletteColour] = Field(min_length=1, max_length=12)
    width: int = Field(default=2400, ge=64, le=4096, description="Of the strip, in px; its height is a tenth of it.")
