"""Board layouts as plain rectangles, so placing images is arithmetic that tests can check
without drawing anything, and the same rectangles weigh each image in the board's palette.

Every layout fills a content box (x, y, width, height) with one rectangle per image, in board
order, none overlapping, none outside the box. Images are then cropped to their rectangle
("cover"), except in masonry, whose rectangles already have each image's aspect ratio.
"""

from __future__ import annotations

import math
from typing import Literal, NamedTuple

Layout = Literal["grid", "masonry", "hero"]
LAYOUTS: tuple[str, ...] = ("grid", "masonry", "hero")


class Rect(NamedTuple):
    x: int
    y: int
    width: int
    height: int

    @property
    def area(self) -> int:
        return self.width * self.height


class Box(NamedTuple):
    x: int
    y: int
    width: int
    height: int


def _cells(box: Box, count: int, columns: int, gap: int) -> list[Rect]:
    """``count`` equal cells in rows of ``columns``, filling ``box``."""
    rows = math.ceil(count / columns)
    width = (box.width - gap * (columns - 1)) / columns
    height = (box.height - gap * (rows - 1)) / rows
    return [
        Rect(round(box.x + (i % columns) * (width + gap)), round(box.y + (i // columns) * (height + gap)),
             round(width), round(height))
        for i in range(count)
    ]


def grid(box: Box, sizes: list[tuple[int, int]], gap: int) -> list[Rect]:
    """Equal cells, as many columns as keep them closest to square in this box."""
    count = len(sizes)
    columns = min(range(1, count + 1),
                  key=lambda c: abs(math.log((box.width / c) / (box.height / math.ceil(count / c)))))
    return _cells(box, count, columns, gap)


def masonry(box: Box, sizes: list[tuple[int, int]], gap: int) -> list[Rect]:
    """Columns of equal width; each image, uncropped, goes under the shortest column. When the
    columns are taller than the box, the whole arrangement shrinks to fit and is centred."""
    count = len(sizes)
    columns = 1 if count == 1 else 2 if count <= 4 else 3
    column_width = (box.width - gap * (columns - 1)) / columns
    tops = [0.0] * columns
    placed = []
    for width, height in sizes:
        column = tops.index(min(tops))
        tall = column_width * height / width
        placed.append((column * (column_width + gap), tops[column], column_width, tall))
        tops[column] += tall + gap
    total = max(tops) - gap
    scale = min(1.0, box.height / total)
    left = box.x + (box.width - box.width * scale) / 2
    return [Rect(round(left + x * scale), round(box.y + y * scale), round(w * scale), round(h * scale))
            for x, y, w, h in placed]


def hero(box: Box, sizes: list[tuple[int, int]], gap: int) -> list[Rect]:
    """The first image large across the top (about 60% of the height), the others in a row or
    two of equal cells below it."""
    if len(sizes) == 1:
        return [Rect(*box)]
    rest = len(sizes) - 1
    top = round(box.height * 0.6)
    below = Box(box.x, box.y + top + gap, box.width, box.height - top - gap)
    return [Rect(box.x, box.y, box.width, top), *_cells(below, rest, min(rest, 4), gap)]


LAYOUT_FUNCTIONS = {"grid": grid, "masonry": masonry, "hero": hero}


def arrange(layout: Layout, box: Box, sizes: list[tuple[int, int]], gap: int) -> list[Rect]:
    """One rectangle per image of ``sizes`` (width, height), in order, inside ``box``."""
    return LAYOUT_FUNCTIONS[layout](box, sizes, gap)
