"""A procedural moodboard world: seeded scenes, rendered with numpy, captioned as people write moods.

A ``Scene`` holds everything that is drawn: a layout (a place or an abstract motif), named colours,
a time of day, a season, weather, grades (light and palette words) and a style (a mood word that
brings a palette). ``render`` draws it at any size; ``caption`` writes one of many phrasings of it,
in English, Spanish or a mix, from the tables in ``vocabulary.py``. The evaluation reads the same
tables, so captions, pictures and checks can never disagree about what a word means.
"""

from __future__ import annotations

import colorsys
import random
import unicodedata
from dataclasses import dataclass, field, replace

import numpy as np

from . import vocabulary as V

# --- the first world's grammar, kept: its evaluation still runs ---------------------------------
COLORS = {name: V.COLOURS[name].rgb for name in ("red", "orange", "yellow", "green", "blue", "purple", "pink",
                                                  "black", "white")}
VARIANTS = ("light", "dark", "pastel", "neon")
SCENES = ("sunset", "ocean", "mountains", "forest", "city", "night", "desert", "flowers", "rain")
SHAPES = tuple(V.MOTIFS)
KINDS = SCENES + SHAPES  # the classes of the first evaluation's judge
MOODS = ("warm", "cool", "calm", "moody", "bright", "dreamy", "vintage")
# A first-world mood is now a grade or a style of the vocabulary.
MOOD_AS = {"warm": ("grade", "warm"), "cool": ("grade", "cool"), "moody": ("grade", "moody"),
           "bright": ("grade", "bright"), "calm": ("style", "calm"), "dreamy": ("style", "dreamy"),
           "vintage": ("style", "vintage")}

LAYOUTS = tuple(dict.fromkeys(p.layout for p in V.PLACES.values())) + SHAPES
FAMILIES = tuple(dict.fromkeys(p.family for p in V.PLACES.values())) + ("abstract",)

# The colour each layout's named element takes when nothing names one.
LAYOUT_DEFAULT = {
    "sunset": "orange", "ocean": "blue", "mountains": "purple", "forest": "green", "city": "yellow",
    "night": "blue", "desert": "orange", "flowers": "pink", "rain": "blue", "coast": "teal", "beach": "azure",
    "lake": "blue", "river": "azure", "harbour": "navy", "island": "turquoise", "hills": "green",
    "canyon": "terracotta", "jungle": "emerald", "street": "amber", "field": "green", "garden": "green",
    "sky": "azure", "room": "beige",
}
LUMA = (0.3, 0.59, 0.11)  # weights of R, G, B in a pixel's brightness (the grades and the checks read it)
VEGETATION = {"forest", "jungle", "hills", "field", "garden"}  # their element takes the season's foliage
# Layouts that draw a second named colour as an element of their own (sky over mountains, sand,
# rock, hulls, a floor, blossoms, a motif's ground); every other layout paints it into its sky.
SECOND_DRAWN = {"mountains", "hills", "coast", "beach", "harbour", "room", "garden", "sky"} | set(SHAPES)


def family_of(kind: str) -> str:
    return "abstract" if kind in SHAPES else next(p.family for p in V.PLACES.values() if p.layout == kind)


@dataclass(frozen=True)
class Paint:
    name: str  # a key of vocabulary.COLOURS
    variant: str | None = None  # a key of vocabulary.MODIFIERS

    def rgb(self) -> np.ndarray:
        base = np.array(V.COLOURS[self.name].rgb, dtype=np.float32)
        if self.variant is None:
            return base
        mod = V.MODIFIERS[self.variant]
        h, s, v = colorsys.rgb_to_hsv(*base)
        if s > 0.08:  # greys have no saturation to scale
            s = min(1.0, s * mod.saturation)
            if mod.saturation > 2:  # neon: full saturation and value
                v = 1.0
        rgb = np.array(colorsys.hsv_to_rgb(h, s, v), dtype=np.float32)
        if mod.lift > 0:
            rgb = rgb + (1 - rgb) * mod.lift
        elif mod.lift < 0:
            rgb = rgb * (1 + mod.lift)
        return np.clip(rgb, 0, 1).astype(np.float32)

    def words(self) -> str:
        """The first world's English words for this paint."""
        return f"{self.variant} {self.name}" if self.variant else self.name


@dataclass(frozen=True)
class Scene:
    kind: str  # a layout: LAYOUTS
    main: Paint  # the named element: the sky of a sunset, the trees of a forest, the shape ...
    second: Paint | None = None  # background / second stripe colour / the sky above mountains
    night: bool = False
    rain: bool = False
    named: tuple[str, ...] = field(default=())  # colour keys the caption names
    time: str | None = None  # vocabulary.TIMES
    season: str | None = None  # vocabulary.SEASONS
    weather: str | None = None  # vocabulary.WEATHER
    grades: tuple[str, ...] = ()  # vocabulary.GRADES
    style: str | None = None  # vocabulary.STYLES
    place: str | None = None  # the vocabulary.PLACES key the caption names (None: not named)
    city: str | None = None  # a city the caption names
    classic: bool = False  # expressible in the first world's grammar

    @property
    def family(self) -> str:
        return family_of(self.kind)

    def all_grades(self) -> tuple[str, ...]:
        grades = self.grades
        if self.style:
            grades += V.STYLES[self.style].grades
        if self.season:
            grades += V.SEASONS[self.season].grade
        return grades


# --- sampling --------------------------------------------------------------------------------
def _paint(rng: random.Random, allow: list[str] | None = None, variant_p: float = 0.35) -> Paint:
    name = rng.choice(allow or list(COLORS))
    variant = rng.choice(VARIANTS) if rng.random() < variant_p else None
    if V.COLOURS[name].neutral:  # a "light black" is just grey
        variant = None
    return Paint(name, variant)


def sample_classic(rng: random.Random) -> Scene:
    """A scene of the first world: its kinds, nine colours, four variants and seven moods."""
    kind = rng.choice(KINDS)
    mood = rng.choice(MOODS) if rng.random() < 0.35 else None
    how, key = MOOD_AS[mood] if mood else (None, None)
    extra = {"grades": (key,)} if how == "grade" else {"style": key} if how == "style" else {}
    if kind in SHAPES:
        main = _paint(rng)
        second = _paint(rng)
        while second.name == main.name:
            second = _paint(rng)
        named = (main.name, second.name) if rng.random() < 0.75 else (main.name,)
        if len(named) == 1:  # the background is left to the model's taste: not mentioned, varied
            second = Paint(rng.choice([c for c in COLORS if c != main.name]), None)
        return Scene(kind, main, second, named=named, classic=True, **extra)
    name_it = rng.random() < 0.8
    allow = [c for c in COLORS if c != "white"] if kind != "night" else ["blue", "purple", "black", "pink", "red"]
    main = _paint(rng, allow) if name_it else Paint(LAYOUT_DEFAULT[kind])
    night = kind == "night" or (kind in ("city", "mountains", "ocean", "desert") and rng.random() < 0.3)
    rain = kind == "rain" or (kind in ("city", "forest", "ocean") and rng.random() < 0.15)
    second = None
    named = (main.name,) if name_it else ()
    if kind == "mountains" and rng.random() < 0.4:  # "a purple night sky over dark mountains"
        second = _paint(rng, ["blue", "purple", "pink", "orange", "black"] if night else ["blue", "pink", "orange", "yellow"])
        if second.name != main.name:
            named = named + (second.name,)
        else:
            second = None
    return Scene(kind, main, second, night=night, rain=rain, named=named, place=kind if kind in V.PLACES else None,
                 classic=True, **extra)


def sample_mood(rng: random.Random, styled: bool = False) -> Scene:
    """A scene as people describe moods: a place, a palette, a time, a season, weather, a style.

    ``styled``: always a style, and always a named colour, which its picture takes over the style's
    palette ("melancholic grey", "retro teal"): the scenes the tune stage of training adds."""
    # Each place word is drawn about equally often: a place said in ten ways (room, interior, bedroom,
    # kitchen …) is drawn ten times as often as one said in one way, so every word is learned.
    place = rng.choices(list(V.PLACES), weights=[len(p.en) for p in V.PLACES.values()])[0]
    kind = V.PLACES[place].layout
    if rng.random() < 0.12:
        kind = place = rng.choice(SHAPES)
    city = rng.choice(list(V.CITIES)) if kind in ("city", "street") and rng.random() < 0.3 else None
    style = rng.choice(list(V.STYLES)) if styled or rng.random() < 0.4 else None
    time = rng.choice(list(V.TIMES)) if rng.random() < 0.4 else None
    if time is None and style and V.STYLES[style].time:
        time = V.STYLES[style].time
    if kind in ("night",) and (time is None or not V.TIMES[time].night):
        time = rng.choice(["night", "midnight"])
    if kind == "sunset":
        time = None  # the place is the time
    season = rng.choice(list(V.SEASONS)) if rng.random() < 0.25 and kind not in SHAPES else None
    weather = rng.choice(list(V.WEATHER)) if rng.random() < 0.25 and kind not in SHAPES else None
    if weather is None and style and V.STYLES[style].weather and rng.random() < 0.6:
        weather = V.STYLES[style].weather
    grades = tuple(rng.sample(list(V.GRADES), rng.choice([1, 1, 2]))) if rng.random() < 0.35 else ()
    # Colours: named (any of the vocabulary's, with a modifier now and then), or the style's palette.
    count = rng.choices([0, 1, 2], weights=[0, 0.7, 0.3] if styled else [0.35, 0.45, 0.2])[0]
    if kind in SHAPES:
        count = max(count, 1)
    names = rng.sample(list(V.COLOURS), count)
    paints = [Paint(n, rng.choice(list(V.MODIFIERS)) if rng.random() < 0.25 else None) for n in names]
    paints = [Paint(p.name, None) if V.COLOURS[p.name].neutral else p for p in paints]
    palette = list(V.STYLES[style].colours) if style else []
    if not paints:
        if palette:
            main = Paint(palette[0])
        elif season and kind in VEGETATION:
            main = Paint(_nearest_colour(V.SEASONS[season].foliage))
        else:
            main = Paint(LAYOUT_DEFAULT.get(kind) or rng.choice(list(COLORS)))
    else:
        main = paints[0]
    second = paints[1] if len(paints) > 1 else (Paint(palette[1]) if len(palette) > 1 and not paints else None)
    if kind in SHAPES and second is None:
        second = Paint(rng.choice([c for c in V.COLOURS if c != main.name]))
    night = bool(time and V.TIMES[time].night)
    return Scene(kind, main, second, night=night, rain=weather in ("rain", "storm"), named=tuple(names),
                 time=time, season=season, weather=weather, grades=grades, style=style,
                 place=place if rng.random() < 0.85 or kind in SHAPES else None, city=city)


def _nearest_colour(rgb) -> str:
    target = np.asarray(rgb)
    return min(V.COLOURS, key=lambda k: float(np.sum((np.asarray(V.COLOURS[k].rgb) - target) ** 2)))


def sample_scene(rng: random.Random) -> Scene:
    return sample_classic(rng) if rng.random() < 0.3 else sample_mood(rng)


# --- rendering helpers -------------------------------------------------------------------------
def _grid(h: int, w: int):
    y = (np.arange(h, dtype=np.float32)[:, None] + 0.5) / h
    x = (np.arange(w, dtype=np.float32)[None, :] + 0.5) / w
    return np.broadcast_to(y, (h, w)), np.broadcast_to(x, (h, w))


def _blend(img: np.ndarray, mask: np.ndarray, rgb) -> None:
    mask = np.clip(mask, 0, 1)[..., None]
    img[:] = img * (1 - mask) + np.asarray(rgb, dtype=np.float32) * mask


def _vertical(h: int, w: int, top, bottom) -> np.ndarray:
    y, _ = _grid(h, w)
    t = y[..., None]
    return (np.asarray(top, np.float32) * (1 - t) + np.asarray(bottom, np.float32) * t).astype(np.float32)


def _disc(h, w, cy, cx, r, soft=0.6):
    y, x = _grid(h, w)
    d = np.sqrt(((y - cy) * h) ** 2 + ((x - cx) * w) ** 2)
    return np.clip((r * h - d) / soft + 0.5, 0, 1)


def _stamp_disc(img, cy, cx, radius_px, rgb, soft=0.8):
    """A small soft disc drawn in its own bounding box (cheap for many flowers or flakes)."""
    h, w = img.shape[:2]
    y0, y1 = max(0, int(cy - radius_px - 2)), min(h, int(cy + radius_px + 3))
    x0, x1 = max(0, int(cx - radius_px - 2)), min(w, int(cx + radius_px + 3))
    if y0 >= y1 or x0 >= x1:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32) + 0.5
    mask = np.clip((radius_px - np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2)) / soft + 0.5, 0, 1)[..., None]
    img[y0:y1, x0:x1] = img[y0:y1, x0:x1] * (1 - mask) + np.asarray(rgb, np.float32) * mask


def _stars(img, h, w, rng, top=0.6, count=None):
    count = count or int(h * w / 90)
    for _ in range(count):
        y, x = int(rng.random() * h * top), int(rng.random() * w)
        img[y, x] = np.maximum(img[y, x], 0.85 + 0.15 * rng.random())


def _ridge(h, w, rng, base, amp, freq, jag=True):
    """Mask below a mountain ridge line: 1 under the ridge."""
    y, x = _grid(h, w)
    phase = rng.random() * 6.28
    xs = np.arange(w, dtype=np.float32) / w
    if jag:
        line = np.zeros(w, np.float32)
        for k in range(1, 4):
            line += np.abs(((xs * freq * k + phase / 6.28 * k) % 1.0) - 0.5) * 2 * amp / k
        line = base - line + amp
    else:
        line = base + amp * np.sin(xs * freq * 6.28 + phase) * 0.5
    return np.clip((y - line[None, :]) * h + 0.5, 0, 1)


class Canvas:
    """What every layout needs: the size, a grid, a seeded rng and the scene's palette."""

    def __init__(self, scene: Scene, width: int, height: int, rng: random.Random):
        self.scene, self.w, self.h, self.rng = scene, width, height, rng
        self.y, self.x = _grid(height, width)
        self.main = scene.main.rgb()
        self.second = scene.second.rgb() if scene.second else None
        season = V.SEASONS[scene.season] if scene.season else None
        self.foliage = np.array(season.foliage if season else (0.2, 0.5, 0.16), np.float32)
        self.accent = np.array(season.accent if season else V.COLOURS["pink"].rgb, np.float32)
        self.snow = bool(season and season.snow) or scene.weather == "snow"
        self.time = V.TIMES[scene.time] if scene.time else None
        self.night = scene.night
        # Things lit by the sky take its light: darker at dusk, much darker at night.
        self.light = self.time.light if self.time else 1.0

    def sky(self, color=None) -> np.ndarray:
        h, w = self.h, self.w
        if color is None and self.second is not None and self.scene.kind not in SECOND_DRAWN:
            color = self.second
        if color is not None:
            base = np.asarray(color, np.float32)
            if self.night:
                return _vertical(h, w, base * 0.55, base * 1.0 + 0.05)
            return _vertical(h, w, base * 0.85, base + (1 - base) * 0.5)
        if self.time is not None:
            return _vertical(h, w, self.time.sky_top, self.time.sky_bottom)
        if self.night:
            base = np.array([0.03, 0.04, 0.12], np.float32)
            return _vertical(h, w, base * 0.55, base * 1.0 + 0.05)
        base = np.array([0.45, 0.68, 0.95], np.float32)
        return _vertical(h, w, base * 0.85, base + (1 - base) * 0.5)

    def celestial(self, img, horizon: float) -> None:
        """Sun, moon and stars as the time of day asks (drawn on the sky, above ``horizon``)."""
        h, w, rng = self.h, self.w, self.rng
        if self.night:
            _stars(img, h, w, rng, top=horizon)
            _blend(img, _disc(h, w, 0.12 + 0.2 * rng.random(), 0.15 + 0.7 * rng.random(), 0.07), [0.95, 0.95, 0.85])
        elif self.time is not None and self.time.sun is not None:
            cy = min(horizon - 0.04, self.time.sun * horizon)
            _blend(img, _disc(h, w, cy, 0.2 + 0.6 * rng.random(), 0.08 + 0.04 * rng.random()), [1.0, 0.92, 0.6])

    def lit(self, rgb) -> np.ndarray:
        return np.clip(np.asarray(rgb, np.float32) * self.light, 0, 1)


# --- layouts: one function a place or motif, all drawing on a Canvas -----------------------------
def _sunset(c: Canvas) -> np.ndarray:
    h, w, rng, main, y, x = c.h, c.w, c.rng, c.main, c.y, c.x
    horizon = 0.55 + 0.15 * (rng.random() - 0.5)
    img = _vertical(h, w, main * 0.55, main + (np.array([1, 0.9, 0.4]) - main) * 0.55)
    _blend(img, _disc(h, w, horizon - 0.02, 0.25 + 0.5 * rng.random(), 0.14 + 0.06 * rng.random()), [1.0, 0.92, 0.55])
    ground = np.clip((y - horizon) * h + 0.5, 0, 1)
    over_sea = rng.random() < 0.5
    _blend(img, ground, main * 0.25 if not over_sea else main * 0.35 + np.array([0.0, 0.05, 0.15]))
    if over_sea:
        _blend(img, ground * (np.sin(y * h * 2.2 + x * 3) > 0.6) * 0.5, [1.0, 0.8, 0.45])
    return img


def _water(c: Canvas, img, horizon, color) -> np.ndarray:
    h, w, y, x, rng = c.h, c.w, c.y, c.x, c.rng
    sea = np.clip((y - horizon) * h + 0.5, 0, 1)
    sea_rgb = _vertical(h, w, color * 0.95, color * 0.7)
    img = img * (1 - sea[..., None]) + sea_rgb * sea[..., None]
    # Bands about 16 px apart and 4 px thick: coarser than the 8 px cells of the VAE's latent, so the
    # model can draw them (v2's lines 8 px apart came back from the VAE as flat colour, and flat
    # water reads as a field).
    waves = sea * (np.sin((y * h) * 0.4 + np.sin(x * 8 + rng.random() * 6) * 2.5) > 0.55)
    _blend(img, waves * 0.55, color + (1 - color) * 0.6)
    return img


def _ocean(c: Canvas) -> np.ndarray:
    horizon = 0.55 + 0.15 * (c.rng.random() - 0.5)
    img = c.sky()
    c.celestial(img, horizon)
    return _water(c, img, horizon, c.lit(c.main))


def _coast(c: Canvas) -> np.ndarray:
    img = _ocean(c)
    left = c.rng.random() < 0.5
    edge = (0.35 + 0.15 * c.rng.random()) + 0.25 * (c.y - 0.4)
    cliff = ((c.x < edge) if left else (c.x > 1 - edge)) & (c.y > 0.32 + 0.05 * c.rng.random())
    rock = c.lit(c.second if c.second is not None else np.array([0.45, 0.38, 0.30]))
    _blend(img, cliff.astype(np.float32), rock)
    _blend(img, (cliff & (c.y < 0.42)).astype(np.float32), c.lit(c.foliage))
    return img


def _beach(c: Canvas) -> np.ndarray:
    h, y, x, rng = c.h, c.y, c.x, c.rng
    horizon = 0.36 + 0.08 * rng.random()
    img = c.sky()
    c.celestial(img, horizon)
    img = _water(c, img, horizon, c.lit(c.main))
    shore = horizon + 0.28 + 0.06 * np.sin(x * 7 + rng.random() * 6)
    sand = np.clip((y - shore) * h + 0.5, 0, 1)
    sand_rgb = c.lit(c.second if c.second is not None else np.array([0.93, 0.84, 0.62]))
    _blend(img, sand * 0.95, sand_rgb)
    _blend(img, np.clip(1 - np.abs(y - shore) * h / 1.5, 0, 1) * 0.6, [0.97, 0.97, 0.95])  # surf line
    return img


def _lake(c: Canvas) -> np.ndarray:
    h, w, y, rng = c.h, c.w, c.y, c.rng
    horizon = 0.5 + 0.1 * rng.random()
    img = c.sky()
    c.celestial(img, horizon - 0.1)
    hills = _ridge(h, w, rng, horizon - 0.12, 0.1, 1 + rng.random(), jag=False)
    _blend(img, hills, c.lit(c.foliage * 0.7))
    water = np.clip((y - horizon) * h + 0.5, 0, 1)
    reflection = img[::-1] * 0.2 + c.lit(c.main) * 0.8
    img = img * (1 - water[..., None]) + reflection * water[..., None]
    _blend(img, water * (np.sin(y * h * 0.45 + c.x * 4) > 0.6) * 0.35, [0.95, 0.95, 0.95])  # ripples, as the sea's
    return img


def _river(c: Canvas) -> np.ndarray:
    h, y, x, rng = c.h, c.y, c.x, c.rng
    horizon = 0.4 + 0.1 * rng.random()
    img = c.sky()
    c.celestial(img, horizon)
    _blend(img, np.clip((y - horizon) * h + 0.5, 0, 1), c.lit(c.foliage) * (0.7 + 0.5 * y)[..., None])
    centre = 0.5 + 0.25 * np.sin(y * 9 + rng.random() * 6) * (y - horizon)
    half = 0.02 + 0.25 * np.clip(y - horizon, 0, 1)
    river = ((np.abs(x - centre) < half) & (y > horizon)).astype(np.float32)
    _blend(img, river, c.lit(c.main))
    return img


def _harbour(c: Canvas) -> np.ndarray:
    img = _ocean(c)
    w, y, x, rng = c.w, c.y, c.x, c.rng
    hull = c.lit(c.second if c.second is not None else np.array([0.92, 0.9, 0.85]))
    for _ in range(3 + int(rng.random() * 3)):
        bx, by = rng.random(), 0.62 + 0.25 * rng.random()
        boat = (np.abs(x - bx) < 0.06 - (y - by) * 0.3) & (y > by) & (y < by + 0.05)
        mast = (np.abs(x - bx) < 0.5 / w + 0.004) & (y > by - 0.2) & (y <= by)
        _blend(img, boat.astype(np.float32), hull)
        _blend(img, mast.astype(np.float32), hull * 0.6)
    pier = (y > 0.86) & (x < 0.55 + 0.2 * rng.random())
    _blend(img, pier.astype(np.float32), c.lit([0.42, 0.3, 0.2]))
    return img


def _island(c: Canvas) -> np.ndarray:
    img = _ocean(c)
    y, x, rng = c.y, c.x, c.rng
    cx, top = 0.3 + 0.4 * rng.random(), 0.38 + 0.06 * rng.random()
    base = 0.6
    land = (y > top + ((x - cx) / 0.22) ** 2 * (base - top)) & (y < base)
    _blend(img, land.astype(np.float32), c.lit(c.foliage))
    _blend(img, (land & (y > base - 0.03)).astype(np.float32), c.lit([0.93, 0.84, 0.62]))
    return img


def _mountains(c: Canvas, jag=True, color=None) -> np.ndarray:
    h, w, rng = c.h, c.w, c.rng
    main = c.main if color is None else color
    img = c.sky(color=c.second)
    c.celestial(img, 0.45)
    far = _ridge(h, w, rng, 0.42 + 0.1 * rng.random(), 0.18 if jag else 0.1, 1.5 + rng.random(), jag=jag)
    _blend(img, far, (main + (1 - main) * 0.35) * c.light if not c.night else main * 0.8)
    near = _ridge(h, w, rng, 0.62 + 0.1 * rng.random(), 0.16 if jag else 0.1, 2 + rng.random(), jag=jag)
    _blend(img, near, main * 0.7 * c.light if not c.night else main * 0.5)
    if c.snow and jag:
        _blend(img, far * (c.y < 0.5) * 0.8, [0.95, 0.96, 0.98])
    return img


def _hills(c: Canvas) -> np.ndarray:
    return _mountains(c, jag=False)


def _canyon(c: Canvas) -> np.ndarray:
    h, y, x, rng = c.h, c.y, c.x, c.rng
    img = c.sky()
    c.celestial(img, 0.35)
    for k, side in enumerate((0, 1, 0, 1)):
        edge = 0.18 + 0.12 * k + 0.05 * np.sin(y * 20 + rng.random() * 6)
        wall = ((x < edge) if side == 0 else (x > 1 - edge)) & (y > 0.12 + 0.08 * k)
        _blend(img, wall.astype(np.float32), c.lit(c.main * (1.05 - 0.12 * k)))
    floor = np.clip((y - 0.82) * h + 0.5, 0, 1)
    _blend(img, floor, c.lit(c.main * 0.55))
    bands = (np.sin(y * 70) > 0.6) * 0.15
    img = img * (1 - bands[..., None])
    return img


def _forest(c: Canvas, dense=False) -> np.ndarray:
    h, w, y, x, rng, main = c.h, c.w, c.y, c.x, c.rng, c.main
    img = c.sky()
    c.celestial(img, 0.3)
    ground = np.clip((y - 0.8) * h + 0.5, 0, 1)
    _blend(img, ground, c.lit(main * 0.4) if not c.snow else [0.9, 0.92, 0.95])
    trees = int(w / 7) + 3 if not dense else int(w / 4) + 6
    for i in range(trees):
        cx = (i + rng.random()) / trees
        top = (0.25 if not dense else 0.05) + 0.3 * rng.random()
        base = 0.85 if not dense else 1.0
        half = (0.05 + 0.04 * rng.random()) * h / w * (1.6 if dense else 1)
        if dense:
            shape = ((y - top - 0.12) ** 2 / 0.015 + (x - cx) ** 2 / half ** 2 < 1) | ((np.abs(x - cx) < 0.012) & (y > top))
        else:
            shape = (y > top) & (y < base) & (np.abs(x - cx) < half * (y - top) / (base - top) * 1.6)
        shade = 0.65 + 0.45 * rng.random()
        _blend(img, shape.astype(np.float32), c.lit(np.clip(main * shade, 0, 1)))
    return img


def _jungle(c: Canvas) -> np.ndarray:
    return _forest(c, dense=True)


def _city(c: Canvas) -> np.ndarray:
    h, w, y, x, rng, main = c.h, c.w, c.y, c.x, c.rng, c.main
    img = c.sky()
    c.celestial(img, 0.3)
    xpos = 0.0
    # Buildings take a shade of the named colour; their windows glow in it.
    body = main * 0.22 + 0.03 if c.night else (main * 0.45 + np.array([0.18, 0.18, 0.2])) * c.light
    cell = max(1, round(h / 64))
    while xpos < 1.0:
        bw = 0.06 + 0.1 * rng.random()
        top = 0.25 + 0.4 * rng.random()
        mask = ((x >= xpos) & (x < xpos + bw) & (y > top)).astype(np.float32)
        _blend(img, mask, body * (0.8 + 0.4 * rng.random()))
        rows, cols = np.floor(y * h / cell), np.floor(x * w / cell)
        win = mask * ((rows % 4) == 1) * ((cols % 3) == 1) * (y > top + 0.03)
        lit = win * (np.sin(x * 91 + y * 57 + rng.random() * 9) > -0.3)
        _blend(img, lit.astype(np.float32), np.clip(main + (1 - main) * 0.35, 0, 1))
        xpos += bw + 0.01
    _blend(img, np.clip(1 - np.abs(y - 0.97) * 8, 0, 1) * 0.35, main)
    return img


def _street(c: Canvas) -> np.ndarray:
    h, w, y, x, rng, main = c.h, c.w, c.y, c.x, c.rng, c.main
    img = c.sky()
    vanish = 0.45 + 0.05 * rng.random()
    road = (y > vanish) & (np.abs(x - 0.5) < (y - vanish) * 0.9)
    wall_rgb = main * 0.45 + 0.02 if c.night else (main * 0.8 + np.array([0.06, 0.06, 0.07])) * c.light
    side = np.abs(x - 0.5) > (np.clip(y - vanish, 0, 1) * 0.9 + 0.06)
    facade = side & (np.abs(y - vanish) < 0.42 + np.abs(x - 0.5) * 0.9)
    _blend(img, facade.astype(np.float32), wall_rgb)
    win = facade & (np.sin(y * h * 0.6) > 0.3) & (np.sin(x * w * 0.5 + 1) > 0.2)
    _blend(img, win.astype(np.float32) * 0.9, np.clip(main + (1 - main) * 0.35, 0, 1))
    _blend(img, road.astype(np.float32), c.lit([0.24, 0.24, 0.26]) if not c.snow else [0.85, 0.87, 0.9])
    lines = road & (np.abs(x - 0.5) < 0.01 + (y - vanish) * 0.02) & (np.sin(y * 60) > 0)
    _blend(img, lines.astype(np.float32), [0.9, 0.85, 0.5])
    for k in range(3):  # street lamps glowing in the named colour
        ly = vanish + 0.1 + 0.12 * k
        for lx in (0.5 - (ly - vanish) * 0.9 - 0.03, 0.5 + (ly - vanish) * 0.9 + 0.03):
            _blend(img, _disc(h, w, ly - 0.12, lx, 0.025 + 0.02 * k) * 0.9, np.clip(main + 0.3, 0, 1))
    return img


def _field(c: Canvas, flowers: float = 0.0) -> np.ndarray:
    h, w, y, x, rng = c.h, c.w, c.y, c.x, c.rng
    horizon = 0.45 + 0.12 * rng.random()
    img = c.sky()
    c.celestial(img, horizon)
    ground = np.clip((y - horizon) * h + 0.5, 0, 1)
    grass = c.main if flowers == 0 else c.foliage
    if c.snow:
        grass = np.array([0.92, 0.94, 0.97], np.float32)
    texture = 0.85 + 0.15 * (np.sin(x * w * 1.7 + np.sin(y * 40) * 3) > 0)
    _blend(img, ground, c.lit(grass) * texture[..., None] * (0.75 + 0.35 * y[..., None]))
    if flowers:
        count = int(h * w / 14 * flowers)
        for _ in range(count):
            fy = horizon - 0.02 + (1 - horizon + 0.02) * rng.random() ** 0.7
            r = (0.012 + 0.03 * fy) * h
            _stamp_disc(img, fy * h, rng.random() * w, r, c.lit(np.clip(c.main * (0.8 + 0.3 * rng.random()), 0, 1)))
    return img


def _garden(c: Canvas) -> np.ndarray:
    img = _field(c)
    h, w, rng = c.h, c.w, c.rng
    for _ in range(5 + int(rng.random() * 4)):  # round bushes with blossoms
        cy, cx, r = (0.62 + 0.3 * rng.random()) * h, rng.random() * w, (0.06 + 0.05 * rng.random()) * h
        _stamp_disc(img, cy, cx, r, c.lit(c.foliage * 0.7))
        for _ in range(6):
            _stamp_disc(img, cy + (rng.random() - 0.5) * r, cx + (rng.random() - 0.5) * r * 1.4, r * 0.18,
                        c.lit(c.accent if c.second is None else c.second))
    return img


def _flowers(c: Canvas) -> np.ndarray:
    return _field(c, flowers=1.0)


def _sky(c: Canvas) -> np.ndarray:
    h, w, rng = c.h, c.w, c.rng
    img = c.sky(color=c.main if (c.scene.named or not c.time) else None)
    c.celestial(img, 0.9)
    cloud = c.second
    for _ in range(3 + int(rng.random() * 4)):  # soft clouds tinted by the light
        cy, cx = (0.15 + 0.6 * rng.random()) * h, rng.random() * w
        for k in range(4):
            _stamp_disc(img, cy + (rng.random() - 0.5) * h * 0.05, cx + (k - 1.5) * h * 0.06, h * (0.04 + 0.03 * rng.random()),
                        cloud if cloud is not None else np.clip((img[int(cy) % h, int(cx) % w] + 0.6) / 1.5, 0, 1), soft=3.0)
    ground = np.clip((c.y - 0.92) * h + 0.5, 0, 1)
    _blend(img, ground, c.lit(c.foliage * 0.4))
    return img


def _night(c: Canvas) -> np.ndarray:
    h, w, rng, main = c.h, c.w, c.rng, c.main
    img = _vertical(h, w, main * 0.35, main * 0.75 + 0.04)
    _stars(img, h, w, rng, top=0.85, count=int(h * w / 60))
    _blend(img, _disc(h, w, 0.15 + 0.2 * rng.random(), 0.15 + 0.7 * rng.random(), 0.1), [0.96, 0.95, 0.82])
    _blend(img, _ridge(h, w, rng, 0.82, 0.08, 1.2, jag=False), main * 0.15)
    return img


def _desert(c: Canvas) -> np.ndarray:
    h, w, rng, main = c.h, c.w, c.rng, c.main
    img = c.sky()
    if c.time is None and not c.night:
        _blend(img, _disc(h, w, 0.2, 0.2 + 0.6 * rng.random(), 0.09), [1.0, 0.95, 0.7])
    else:
        c.celestial(img, 0.45)
    for k, base in enumerate((0.5, 0.65, 0.8)):
        dune = _ridge(h, w, rng, base + 0.05 * rng.random(), 0.12, 0.8 + rng.random(), jag=False)
        _blend(img, dune, main * (0.95 - 0.18 * k) * (0.5 if c.night else c.light))
    return img


def _rain(c: Canvas) -> np.ndarray:
    h, w, y, x, rng, main = c.h, c.w, c.y, c.x, c.rng, c.main
    grey = np.array([0.42, 0.44, 0.48], np.float32)
    img = _vertical(h, w, grey * 0.5 + main * 0.35, grey * 0.6 + main * 0.5)
    ground = np.clip((y - 0.75) * h + 0.5, 0, 1)
    _blend(img, ground, main * 0.55)
    _blend(img, ground * (np.sin(x * 40 + rng.random() * 5) > 0.7) * 0.6, main)
    return img * c.light


def _room(c: Canvas) -> np.ndarray:
    h, w, y, x, rng = c.h, c.w, c.y, c.x, c.rng
    wall = c.lit(c.main)
    img = np.empty((h, w, 3), np.float32)
    img[:] = wall
    img *= (0.9 + 0.1 * (1 - y))[..., None]
    floor_y = 0.7 + 0.08 * rng.random()
    floor_rgb = c.second if c.second is not None else np.array([0.55, 0.38, 0.22], np.float32)
    floor = np.clip((y - floor_y) * h + 0.5, 0, 1)
    planks = 0.9 + 0.1 * (np.sin(x * w * 0.4) > 0)
    _blend(img, floor, c.lit(floor_rgb) * planks[..., None])
    # A window onto the sky of the scene's time of day.
    wx, wy, ww, wh = 0.15 + 0.45 * rng.random(), 0.12 + 0.05 * rng.random(), 0.22 + 0.1 * rng.random(), 0.36
    window = (x > wx) & (x < wx + ww) & (y > wy) & (y < wy + wh)
    sky = c.sky()
    c.celestial(sky, 1.0)
    img = np.where(window[..., None], sky, img)
    frame = window & ((np.abs(x - (wx + ww / 2)) < 0.008) | (np.abs(y - (wy + wh / 2)) < 0.008))
    _blend(img, frame.astype(np.float32), c.lit([0.95, 0.93, 0.9]))
    # A lamp's pool of light, warm unless the palette says otherwise.
    lamp_x = 0.8 if wx < 0.45 else 0.18
    _blend(img, _disc(h, w, floor_y - 0.08, lamp_x, 0.09) * 0.9, [1.0, 0.85, 0.55])
    glow = np.exp(-(((x - lamp_x) * w / h) ** 2 + (y - floor_y + 0.08) ** 2) / 0.05)
    img = img + glow[..., None] * np.array([0.25, 0.18, 0.08], np.float32) * (1.4 - c.light)
    return img


def _shape(c: Canvas) -> np.ndarray:
    h, w, y, x, rng, kind = c.h, c.w, c.y, c.x, c.rng, c.scene.kind
    main, second = c.main, c.second
    if kind in ("circle", "square", "triangle"):
        img = _vertical(h, w, second, second * 0.85)
        cy, cx = 0.5 + 0.2 * (rng.random() - 0.5), 0.5 + 0.3 * (rng.random() - 0.5)
        # Large enough that the named shape colour is a real share of the picture.
        size = (0.27 if kind == "triangle" else 0.22) + 0.1 * rng.random()
        aspect = h / w
        if kind == "circle":
            mask = _disc(h, w, cy, cx, size)
        elif kind == "square":
            mask = ((np.abs(y - cy) < size) & (np.abs(x - cx) < size * aspect)).astype(np.float32)
        else:
            mask = ((y < cy + size) & (y > cy - size) & (np.abs(x - cx) * 2 / aspect < (y - (cy - size)))).astype(np.float32)
        _blend(img, mask, main)
    elif kind == "stripes":
        vertical = rng.random() < 0.5
        coord = x * w if vertical else y * h
        period = h / (4 + int(rng.random() * 4))
        img = np.empty((h, w, 3), np.float32)
        img[:] = second
        _blend(img, ((coord // (period / 2)) % 2 == 0).astype(np.float32), main)
    elif kind == "gradient":
        t = (x * 0.5 + y * 0.5) if rng.random() < 0.5 else (y if rng.random() < 0.5 else x)
        t = np.clip((t - 0.2) / 0.6, 0, 1)  # both named colours keep a pure band at their end
        img = (main * (1 - t[..., None]) + second * t[..., None]).astype(np.float32)
    elif kind == "grid":
        img = np.empty((h, w, 3), np.float32)
        img[:] = second
        step = max(6, int(h / (4 + int(rng.random() * 3))))
        line = max(2, h // 32)
        lines = ((np.arange(h)[:, None] % step) < line) | ((np.arange(w)[None, :] % step) < line)
        _blend(img, lines.astype(np.float32), main)
    else:  # dots
        img = np.empty((h, w, 3), np.float32)
        img[:] = second
        step = (12 + int(rng.random() * 6)) * h / 64
        oy, ox = rng.random() * step, rng.random() * step
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        d = np.sqrt(((yy + oy) % step - step / 2) ** 2 + ((xx + ox) % step - step / 2) ** 2)
        _blend(img, np.clip(step * 0.28 - d + 0.5, 0, 1), main)
    return img


LAYOUT_DRAW = {
    "sunset": _sunset, "ocean": _ocean, "coast": _coast, "beach": _beach, "lake": _lake, "river": _river,
    "harbour": _harbour, "island": _island, "mountains": _mountains, "hills": _hills, "canyon": _canyon,
    "forest": _forest, "jungle": _jungle, "desert": _desert, "city": _city, "street": _street, "field": _field,
    "garden": _garden, "flowers": _flowers, "sky": _sky, "night": _night, "room": _room, "rain": _rain,
    **{motif: _shape for motif in SHAPES},
}


# --- weather and grades: applied over any layout ---------------------------------------------------
def _weather(img: np.ndarray, c: Canvas) -> np.ndarray:
    h, w, y, x, rng = c.h, c.w, c.y, c.x, c.rng
    kind = V.WEATHER[c.scene.weather].overlay if c.scene.weather else None
    if c.scene.rain or kind in ("rain", "storm"):
        img = img * (0.78 if kind != "storm" else 0.45)
        streak = (np.floor(y * h * 0.7 + x * w * 0.35 + 0.5) % 5 == 0) & (np.sin(x * w * 2.3 + y * 7) > 0.2)
        _blend(img, streak.astype(np.float32) * 0.45, [0.8, 0.85, 0.9])
    if kind == "storm" and rng.random() < 0.6:
        bolt_x = rng.random()
        path = bolt_x + 0.04 * np.sign(np.sin(y * 40 + rng.random() * 6)) * (y * 3 % 1)
        _blend(img, ((np.abs(x - path) < 0.006) & (y < 0.5)).astype(np.float32), [0.95, 0.95, 1.0])
    if kind == "snow":
        img = img * 0.85 + np.array([0.1, 0.11, 0.13], np.float32)
        for _ in range(int(h * w / 60)):
            _stamp_disc(img, rng.random() * h, rng.random() * w, 0.5 + rng.random() * h / 90, [0.97, 0.97, 1.0], soft=0.7)
    if kind in ("fog", "mist", "haze"):
        amount = {"fog": 0.6, "mist": 0.38, "haze": 0.32}[kind]
        tint = {"fog": (0.8, 0.82, 0.84), "mist": (0.86, 0.88, 0.9), "haze": (0.9, 0.84, 0.72)}[kind]
        veil = (amount * (0.75 + 0.25 * y))[..., None]
        img = img * (1 - veil) + np.array(tint, np.float32) * c.light * veil
    if kind in ("clouds", "storm"):
        grey = np.array([0.72, 0.74, 0.78] if kind == "clouds" else [0.32, 0.33, 0.38], np.float32) * c.light
        for _ in range(5 + int(rng.random() * 4)):
            cy, cx = (0.05 + 0.3 * rng.random()) * h, rng.random() * w
            for k in range(4):
                _stamp_disc(img, cy + (rng.random() - 0.5) * h * 0.05, cx + (k - 1.5) * h * 0.07,
                            h * (0.05 + 0.03 * rng.random()), grey, soft=3.0)
    if kind == "clear" and not c.night and c.time is None:
        _blend(img, _disc(h, w, 0.15, 0.2 + 0.6 * rng.random(), 0.07) * (img[:, :, 2] > 0.4), [1.0, 0.96, 0.75])
    return img


def _grade(img: np.ndarray, grades: tuple[str, ...], spare_neutrals: bool = False) -> np.ndarray:
    """The summed effect of every grade word, as defined in vocabulary.GRADES. With ``spare_neutrals``
    (v5's world, and the tune stage's where ``tune_spare_neutrals`` asks) a cast tints colours only."""
    if not grades:
        return img
    total = {k: sum(getattr(V.GRADES[g], k) for g in grades) for k in ("value", "saturation", "temperature", "contrast", "glow")}
    value, sat, temp = (float(np.clip(total[k], -1.2, 1.2)) for k in ("value", "saturation", "temperature"))
    value = max(value, -1.0)  # the darkest grade keeps 30% of the light
    before = img
    contrast, glow = float(np.clip(total["contrast"], -1, 1)), float(np.clip(total["glow"], 0, 1.2))
    if glow:
        blur = img
        for axis in (0, 1):
            for shift in (2, 4):
                blur = (blur + np.roll(blur, shift, axis) + np.roll(blur, -shift, axis)) / 3
        img = 1 - (1 - img) * (1 - blur * 0.25 * glow)
    if temp:  # a cast on colours; greys take a fifth of it, so "cool grey" and "cool silver" stay grey
        # (the shipped base stages were trained on this one). Sparing neutrals, pixels under the checks'
        # neutral line take none, the cast ramping in up to twice that saturation: a fifth of it turned
        # dark greys blue (charcoal's saturation 0.13 -> 0.38 under "cool"; docs/models.md, "aura-tiny v5")
        chroma = (img.max(-1) - img.min(-1))[..., None]
        cast = temp * np.array([0.13, 0.03, -0.13], np.float32) * np.clip(0.2 + 2.5 * chroma, 0, 1)
        if spare_neutrals:
            _, saturation = value_saturation(img)
            cast = cast * np.clip((saturation[..., None] - NEUTRAL_SATURATION) / NEUTRAL_SATURATION, 0, 1)
        img = img + cast
    if sat:
        grey = (img @ np.array(LUMA, np.float32))[..., None]
        img = grey + (img - grey) * (1 + (1.0 * sat if sat < 0 else 0.8 * sat))
    if contrast:
        mean = float(img.mean())
        img = mean + (img - mean) * (1 + 0.45 * contrast)
    if value > 0:  # mostly a gain, which keeps a colour's saturation; a little towards white
        # The gain eases off towards white (the brightest channel follows 1 - (1 - v)^gain), so light
        # tones keep their hue and stay apart instead of clipping to one blank white: a minimalist
        # interior is still a room, its floor apart from its wall.
        peak = np.clip(img.max(-1, keepdims=True), 1e-6, 1)
        img = img * (1 - (1 - peak) ** (1 + 0.45 * value)) / peak
        img = img + (1 - img) * 0.15 * value
    elif value < 0:
        img = img * (1 + 0.7 * value)
    img = np.clip(img, 0, 1)
    if sat > V.DRAINED:
        img = _keep_chroma(img, before)
    return img.astype(np.float32)


NEUTRAL_SATURATION = 0.15  # HSV saturation under which a pixel is a neutral (black, grey, white: the checks' own line)
CHROMA_FLOOR = 0.22  # the least saturation a clearly coloured pixel keeps under grades that do not drain colour


def value_saturation(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """HSV value and saturation of every pixel of an RGB array."""
    value = img.max(-1)
    return value, (value - img.min(-1)) / np.maximum(value, 1e-6)


def _keep_chroma(img: np.ndarray, before: np.ndarray) -> np.ndarray:
    """Pixels clearly coloured before grading keep at least ``CHROMA_FLOOR`` of saturation (HSV),
    with their brightness and hue: "dreamy lavender" is a soft lavender, not white; "muted olive"
    is still olive. Greys stay grey."""
    _, was = value_saturation(before)
    peak, now = value_saturation(img)
    floor = np.minimum(was, CHROMA_FLOOR)
    scale = np.where((was >= 0.3) & (now < floor) & (peak > 0.05), floor / np.maximum(now, 1e-6), 1.0)[..., None]
    return np.clip(peak[..., None] - (peak[..., None] - img) * scale, 0, 1)


HUE_FLOOR = 0.2  # the darkest a clearly coloured pixel is drawn: darker, a person sees black


def _keep_hue(img: np.ndarray) -> np.ndarray:
    """Lift clearly coloured pixels that shading or a dark grade pushed towards black back to
    ``HUE_FLOOR``: "navy at night" stays navy, "dark maroon" stays maroon. Greys and blacks stay."""
    value, saturation = value_saturation(img)
    lift = (saturation >= 0.4) & (value > 0.03) & (value < HUE_FLOOR)
    scale = np.where(lift, HUE_FLOOR / np.maximum(value, 1e-6), 1.0)
    return np.clip(img * scale[..., None], 0, 1).astype(np.float32)


def render(scene: Scene, width: int, height: int, seed: int, spare_neutrals: bool = False) -> np.ndarray:
    """Render ``scene`` to a float32 RGB array in [0, 1] of shape (height, width, 3); with
    ``spare_neutrals``, warm and cool casts leave neutral pixels (greys, black, white) alone."""
    canvas = Canvas(scene, width, height, random.Random(seed))
    draw = LAYOUT_DRAW.get(scene.kind)
    if draw is None:
        raise ValueError(f"unknown scene kind {scene.kind!r}")
    img = _weather(np.clip(draw(canvas), 0, 1).astype(np.float32), canvas)
    return _keep_hue(_grade(np.clip(img, 0, 1).astype(np.float32), scene.all_grades(), spare_neutrals))


# --- captions --------------------------------------------------------------------------------
SCENE_NOUNS = {
    "sunset": ["sunset", "sundown", "sunset sky", "evening sunset"],
    "ocean": ["ocean", "sea", "ocean waves", "seascape", "open sea"],
    "mountains": ["mountains", "mountain range", "peaks", "mountain landscape"],
    "forest": ["forest", "woods", "pine forest", "trees"],
    "city": ["city skyline", "city", "skyline", "cityscape", "downtown skyline"],
    "night": ["night sky", "starry sky", "night sky with stars", "moonlit sky", "sky full of stars"],
    "desert": ["desert dunes", "desert", "sand dunes", "dunes"],
    "flowers": ["flower field", "field of flowers", "meadow of flowers", "flowers"],
    "rain": ["rain", "rainy street", "rainy day", "rainfall"],
}
SHAPE_NOUNS = {kind: list(en) for kind, (en, _) in V.MOTIFS.items()}
BACKGROUND_WORDS = ["background", "backdrop"]
# Nouns that take no article ("a mountains" reads wrong).
NO_ARTICLE = {"mountains", "peaks", "trees", "woods", "dunes", "desert dunes", "sand dunes", "flowers",
              "ocean waves", "rain", "rainfall", "stripes", "bands", "dots", "polka dots"}


def _with_article(body: str, noun: str, rng: random.Random) -> str:
    if noun in NO_ARTICLE or rng.random() < 0.45:
        return body
    return ("an " if body[:1] in "aeiou" else "a ") + body


def _classic_mood(scene: Scene) -> str | None:
    for mood, (how, key) in MOOD_AS.items():
        if (how == "grade" and key in scene.grades) or (how == "style" and scene.style == key):
            return mood
    return None


def classic_caption(scene: Scene, rng: random.Random) -> str:
    """The first world's grammar: "a purple night sky over dark mountains", "rainy neon city at night"."""
    mood_word = _classic_mood(scene)
    mood = (mood_word + " ") if mood_word else ""
    main = scene.main.words() if scene.main.name in scene.named else ""
    if scene.kind in SHAPES:
        noun = rng.choice(SHAPE_NOUNS[scene.kind])
        second = scene.second.words() if scene.second and scene.second.name in scene.named else None
        bg = rng.choice(BACKGROUND_WORDS)
        if scene.kind in ("stripes", "grid", "dots"):
            options = [f"{mood}{main} {noun}" + (f" on {second}" if second else ""),
                       f"{mood}{main} and {second} {noun}" if second else f"{mood}{noun} in {main}",
                       (f"{second} {bg} with {main} {noun}" if second else f"{main} {noun}")]
        elif scene.kind == "gradient":
            options = [f"{mood}{main} to {second} {noun}" if second else f"{mood}{main} {noun}",
                       f"{mood}{noun} from {main} to {second}" if second else f"{mood}{noun} in {main}"]
        else:
            article = "an" if main[:1] in "aeiou" else "a"
            on = ("an" if (second or "")[:1] in "aeiou" else "a")
            options = [f"{article} {main} {noun}" + (f" on {on} {second} {bg}" if second else ""),
                       (f"{mood}{second} {bg} with {article} {main} {noun}" if second else f"{mood}{main} {noun}"),
                       f"{mood}{main} {noun}" + (f" over {second}" if second else ""),
                       f"{mood}{main} and {second} {noun}" if second else f"{mood}{main} {noun}"]
        # Two colours joined by "and": the motif's colour first, then the ground's, for every motif.
        if second:
            options.append(f"{mood}{noun} in {main} and {second}")
        text = rng.choice(options)
        if mood_word and mood_word not in text:
            text = f"{mood_word} {text}" if rng.random() < 0.5 else f"{text}, {mood_word}"
        return " ".join(text.split())

    noun = rng.choice(SCENE_NOUNS[scene.kind])
    night = scene.night and scene.kind != "night"
    rain = scene.rain and scene.kind != "rain"
    lead = ("rainy " if rain and rng.random() < 0.6 else "")
    tail_parts = []
    if rain and not lead:
        tail_parts.append(rng.choice(["in the rain", "with rain"]))
    if night:
        tail_parts.append(rng.choice(["at night", "by night", "under the stars"]))
    if scene.kind == "mountains" and scene.second is not None and scene.second.name in scene.named:
        sky = scene.second.words()
        sky_noun = "night sky" if scene.night else "sky"
        text = rng.choice([
            _with_article(f"{sky} {sky_noun}", sky_noun, rng) + f" over {main} {noun}",
            f"{main} {noun} under " + ("an " if sky[:1] in "aeiou" else "a ") + f"{sky} {sky_noun}",
        ])
        text = f"{mood}{text}"
    else:
        body = _with_article(f"{lead}{mood}{main + ' ' if main else ''}{noun}", noun, rng)
        if main and rng.random() < 0.3:
            body = f"{lead}{mood}{noun} in {main}"
        text = " ".join([body] + tail_parts)
    return " ".join(text.split())


def _paint_words(paint: Paint, lang: str, rng: random.Random) -> str:
    colour = rng.choice(getattr(V.COLOURS[paint.name], lang))
    if paint.variant is None:
        return colour
    mod = rng.choice(getattr(V.MODIFIERS[paint.variant], lang))
    return f"{mod} {colour}" if lang == "en" else f"{colour} {mod}"


def _word(entry, lang: str, rng: random.Random) -> str:
    return rng.choice(getattr(entry, lang))


def _place_words(scene: Scene, lang: str, rng: random.Random) -> str | None:
    if scene.kind in SHAPES:
        return rng.choice(V.MOTIFS[scene.kind][0 if lang == "en" else 1])
    if scene.place is None:
        return None
    noun = _word(V.PLACES[scene.place], lang, rng)
    if scene.city:
        city = scene.city if lang == "en" else V.CITIES[scene.city]
        if rng.random() < 0.5:
            return city
        return f"{noun} in {city}" if lang == "en" else f"{noun} de {city}"
    return noun


def _chunks(scene: Scene, lang: str, rng: random.Random, words: dict[str, str] | None = None
            ) -> tuple[list[str], str | None, list[str]]:
    """Adjective-like words, the head noun, and trailing phrases, in ``lang``'s grammar; ``words``
    names another language for some parts' words (a mixed-language prompt)."""
    words = words or {}
    pre, post = [], []
    colours = [p for p in (scene.main, scene.second) if p is not None and p.name in scene.named]
    colour_words = [_paint_words(p, words.get("colour", lang), rng) for p in colours]
    joined = (" and " if lang == "en" else " y ").join(colour_words)
    if colour_words:
        roll = rng.random()
        if roll < 0.5:
            pre.append(joined)
        elif lang == "en":
            post.append(rng.choice([f"in {joined}", f"with {joined} {rng.choice(['hues', 'accents', 'shades', 'colors'])}",
                                    f"{joined} palette", f"all {joined}"]))
        else:
            post.append(rng.choice([f"en {joined}", f"con tonos {joined}", f"en tonos {joined}", f"con matices {joined}",
                                    f"paleta {joined}"]))
    if scene.style and rng.random() < 0.93:
        word = _word(V.STYLES[scene.style], words.get("style", lang), rng)
        if rng.random() < 0.7:
            pre.insert(0, word)
        else:
            post.append(f"{word} {rng.choice(['vibe', 'mood', 'aesthetic', 'feel', 'style'])}" if lang == "en"
                        else f"{rng.choice(['estilo', 'ambiente'])} {word}")
    for grade in scene.grades:
        word = _word(V.GRADES[grade], words.get("grade", lang), rng)
        if rng.random() < 0.65:
            pre.insert(rng.randint(0, len(pre)), word)
        elif lang == "en":
            post.append(f"{word} {rng.choice(['light', 'colors', 'palette', 'atmosphere'])}")
        else:
            post.append(f"{rng.choice(['luz', 'colores', 'ambiente'])} {word}")
    if scene.season:
        word = _word(V.SEASONS[scene.season], words.get("season", lang), rng)
        if rng.random() < 0.5:
            pre.insert(rng.randint(0, len(pre)), word)
        else:
            post.append(f"in {word}" if lang == "en" else f"en {word}")
    if scene.weather:
        word = _word(V.WEATHER[scene.weather], words.get("weather", lang), rng)
        if rng.random() < 0.55:
            pre.insert(0, word)
        else:
            post.append(rng.choice([f"in the {word}", f"with {word}"]) if lang == "en" else rng.choice([f"con {word}", f"bajo la {word}"]))
    head = _place_words(scene, words.get("place", lang), rng)
    if scene.time:
        word = _word(V.TIMES[scene.time], words.get("time", lang), rng)
        if head is None:
            head = word
        elif lang == "en":
            post.append(rng.choice([f"at {word}", f"at {word}", f"in the {word}", f"during {word}", word]))
        else:
            post.append(rng.choice([f"al {word}", f"de {word}", f"en la {word}", word]))
    if scene.night and not scene.time and scene.kind not in ("night",):
        post.append("at night" if lang == "en" else "de noche")
    return pre, head, post


def _strip_accents(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFD", text) if unicodedata.category(ch) != "Mn")


def mood_caption(scene: Scene, rng: random.Random, lang: str | None = None) -> str:
    """A phrasing of ``scene`` as people write moods: English, Spanish, or a mix of both."""
    lang = lang or rng.choices(["en", "es", "mix"], weights=[0.55, 0.3, 0.15])[0]
    base = "es" if lang == "es" or (lang == "mix" and rng.random() < 0.5) else "en"
    words = None
    if lang == "mix":  # some parts' words in the other language, in the base language's grammar
        other = "es" if base == "en" else "en"
        words = {part: other for part in ("colour", "style", "grade", "season", "weather", "place", "time")
                 if rng.random() < 0.4}
    pre, head, post = _chunks(scene, base, rng, words)
    head = head or rng.choice(["scene", "mood", "landscape", "moodboard"] if base == "en"
                              else ["paisaje", "ambiente", "escena"])
    rng.shuffle(post)
    if base == "en":
        if rng.random() < 0.3 and len(pre) > 1:
            rng.shuffle(pre)
        parts = pre + [head] + post
        if rng.random() < 0.2:
            parts.insert(0, rng.choice(["a", "the", "a moodboard of", "mood:", "vibe:"]))
    else:
        article = rng.choice(["", "", "un ", "una ", "el ", "la "])
        parts = [article + head] + pre + post
        if len(pre) > 1 and rng.random() < 0.3:
            parts = [article + head] + post + pre
    text = " ".join(" ".join(parts).split())
    if rng.random() < 0.15:
        text = text.replace(" ", ", ", 1) if "," not in text and len(parts) > 2 else text
    if base == "es" and rng.random() < 0.2:
        text = _strip_accents(text)  # as people type on a keyboard without them
    return text


def caption(scene: Scene, rng: random.Random) -> str:
    """One phrasing of ``scene``; every named colour appears (in one of its languages)."""
    if scene.classic and rng.random() < 0.6:
        return classic_caption(scene, rng)
    return mood_caption(scene, rng)


def sample(rng: random.Random) -> tuple[Scene, str]:
    scene = sample_scene(rng)
    return scene, caption(scene, rng)


__all__ = ["COLORS", "FAMILIES", "KINDS", "LAYOUTS", "MOODS", "SCENES", "SHAPES", "Paint", "Scene", "caption",
           "classic_caption", "family_of", "mood_caption", "render", "replace", "sample", "sample_classic",
           "sample_mood", "sample_scene"]
