"""Drawing a board onto one print page with Pillow, and writing it as PNG or PDF.

A board is always one A4 page at 300 dpi (2480×3508 px, or turned for landscape): the PNG is
print size and the PDF is exactly one page, from the same pixels. The title and note sit on top,
the images in the layout's rectangles below them, the board's palette as a strip at the foot.
Text uses DejaVu Sans when the machine has it (Debian's fonts-dejavu-core, which CI installs):
it has every accent and dash a Spanish or French title needs. Without it, Pillow's bundled font
(``ImageFont.load_default(size=...)``) draws the board all the same, but its glyphs are ASCII only.
"""

from __future__ import annotations

import io
import json
import textwrap
from functools import lru_cache
from dataclasses import dataclass
from typing import Literal

from PIL import Image, ImageDraw, ImageFont, ImageOps
from PIL.PngImagePlugin import PngInfo

from ..engine.images import PNG_COMPRESS_LEVEL
from ..engine.palette import PNG_TEXT_KEY, blended_colours, palette_json
from .layout import Box, Layout, arrange

Orientation = Literal["portrait", "landscape"]
DPI = 300
A4_PX = (2480, 3508)  # 210 × 297 mm at 300 dpi
MARGIN = 150
GAP = 36
BACKGROUND = (250, 248, 245)
INK = (29, 27, 34)
MUTED = (106, 102, 114)
TITLE_PX, NOTE_PX, LABEL_PX = 110, 52, 40
NOTE_LINES = 4
FONT_FILE = "DejaVuSans.ttf"
STRIP_PX = 170  # the palette strip's height, its hex labels below it
# Images are shrunk to this side as they are decoded: more pixels could never reach the page.
MAX_SOURCE_SIDE = max(A4_PX)
PROMPTS_TEXT_KEY = "aura:prompts"


@dataclass(frozen=True)
class Board:
    layout: Layout
    images: list[Image.Image]
    title: str = ""
    note: str = ""
    orientation: Orientation = "portrait"

    @property
    def size(self) -> tuple[int, int]:
        return A4_PX if self.orientation == "portrait" else A4_PX[::-1]


def shrink(image: Image.Image) -> Image.Image:
    """``image`` no larger than a page side, so a board of many big images stays small in memory."""
    image.thumbnail((MAX_SOURCE_SIDE, MAX_SOURCE_SIDE), Image.Resampling.LANCZOS)
    return image


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype(FONT_FILE, size)  # found in the system's font folders
    except OSError:
        return ImageFont.load_default(size=size)


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int, max_lines: int) -> list[str]:
    """``text`` in lines no wider than ``width`` px (its own line breaks kept); an ellipsis ends
    the last line when it does not fit in ``max_lines``."""
    average = max(1.0, font.getlength("abcdefghijklmnopqrstuvwxyz") / 26)
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        chars = max(1, int(width / average))
        wrapped = textwrap.wrap(paragraph, chars) or [""]
        while any(font.getlength(line) > width for line in wrapped) and chars > 1:
            chars -= max(1, chars // 20)
            wrapped = textwrap.wrap(paragraph, chars)
        lines.extend(wrapped)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1].rstrip()[: max(0, len(lines[-1]) - 2)] + "…"
    return lines


def _header(board: Board, draw: ImageDraw.ImageDraw | None = None) -> int:
    """Title and note from the top margin (drawn with ``draw``, else only measured); returns the
    y where the images may start."""
    width = board.size[0]
    y = MARGIN
    for text, size, colour, lines in ((board.title, TITLE_PX, INK, 2), (board.note, NOTE_PX, MUTED, NOTE_LINES)):
        if not text.strip():
            continue
        font = _font(size)
        for line in _wrap(text.strip(), font, width - 2 * MARGIN, lines):
            if draw is not None:
                draw.text((MARGIN, y), line, font=font, fill=colour)
            y += round(size * 1.3)
        y += GAP
    return y


def _content_box(board: Board, top: int) -> Box:
    width, height = board.size
    bottom = height - MARGIN - STRIP_PX - LABEL_PX - 2 * GAP
    return Box(MARGIN, top, width - 2 * MARGIN, bottom - top)


def _rects(board: Board, top: int):
    sizes = [image.size for image in board.images]
    return arrange(board.layout, _content_box(board, top), sizes, GAP)


def board_palette(board: Board) -> list[dict]:
    """The board's colours: its images' colours together, each image weighing as much as the
    area it covers on the page (the hero image more than the small ones)."""
    rects = _rects(board, _header(board))
    return blended_colours(board.images, [rect.area for rect in rects])


def swatch_strip(palette: list[dict], width: int, height: int, label_px: int = LABEL_PX) -> Image.Image:
    """The palette as one strip: each colour as wide as its share, its hex under it in ``label_px``
    type where it fits."""
    font = _font(label_px)
    strip = Image.new("RGB", (width, height + round(label_px * 1.6)), BACKGROUND)
    draw = ImageDraw.Draw(strip)
    total = sum(colour["share"] for colour in palette) or 1
    x = 0.0
    for i, colour in enumerate(palette):
        right = width if i == len(palette) - 1 else x + width * colour["share"] / total
        if round(right) > round(x):  # a share too small for one pixel is not drawn
            draw.rectangle((round(x), 0, round(right) - 1, height - 1), fill=colour["hex"])
        if font.getlength(colour["hex"]) < right - x:
            draw.text((round(x), height + label_px * 0.3), colour["hex"], font=font, fill=MUTED)
        x = right
    return strip


def render(board: Board) -> tuple[Image.Image, list[dict]]:
    """The board's page, and its palette (drawn at the foot of the page)."""
    width, height = board.size
    page = Image.new("RGB", board.size, BACKGROUND)
    draw = ImageDraw.Draw(page)
    rects = _rects(board, _header(board, draw))
    for image, rect in zip(board.images, rects):
        page.paste(ImageOps.fit(image, (rect.width, rect.height), Image.Resampling.LANCZOS), (rect.x, rect.y))
    palette = blended_colours(board.images, [rect.area for rect in rects])
    strip = swatch_strip(palette, width - 2 * MARGIN, STRIP_PX)
    page.paste(strip, (MARGIN, height - MARGIN - strip.height))
    return page, palette


def to_png(page: Image.Image, palette: list[dict], prompts: list[str]) -> bytes:
    """PNG at 300 dpi; the palette rides along in the ``aura:palette`` text chunk, as on every
    image, and the images' prompts in ``aura:prompts`` (JSON, UTF-8)."""
    info = PngInfo()
    info.add_text(PNG_TEXT_KEY, palette_json(palette))
    if prompts:
        info.add_itxt(PROMPTS_TEXT_KEY, json.dumps(prompts, ensure_ascii=False))
    buffer = io.BytesIO()
    page.save(buffer, format="PNG", dpi=(DPI, DPI), pnginfo=info, compress_level=PNG_COMPRESS_LEVEL)
    return buffer.getvalue()


def to_pdf(page: Image.Image, title: str, prompts: list[str]) -> bytes:
    """One PDF page of the page's physical size (A4 at 300 dpi), through Pillow's own PDF writer;
    the prompts go in the document's subject."""
    buffer = io.BytesIO()
    page.save(buffer, format="PDF", resolution=DPI, title=title or "Aura Reflect board",
              subject=" | ".join(prompt for prompt in prompts if prompt), quality=92)
    return buffer.getvalue()
