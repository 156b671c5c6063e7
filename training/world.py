"""A procedural moodboard world: seeded scenes, rendered with numpy, captioned from a grammar.

A ``Scene`` holds everything that is drawn (kind, named colours, mood, night, rain); ``render``
draws it at any size and ``caption`` writes one of many phrasings of it. The evaluation reads the
same ``Scene`` fields to know what a prompt asked for, so captions and checks can never disagree.
"""

from __future__ import annotations

import colorsys
import random
from dataclasses import dataclass, field, replace

import numpy as np

# --- vocabulary ------------------------------------------------------------------------------
# Purple and pink sit near the middle of their hue ranges, so a warm or vintage tint keeps them
# purple and pink rather than turning them red.
COLORS: dict[str, tuple[float, float, float]] = {
    "red": (0.86, 0.10, 0.10),
    "orange": (0.96, 0.50, 0.08),
    "yellow": (0.96, 0.86, 0.14),
    "green": (0.14, 0.64, 0.20),
    "blue": (0.12, 0.30, 0.88),
    "purple": (0.55, 0.20, 0.85),
    "pink": (0.95, 0.45, 0.78),
    "black": (0.04, 0.04, 0.05),
    "white": (0.96, 0.96, 0.96),
}
CHROMATIC = [c for c in COLORS if c not in ("black", "white")]
VARIANTS = ("light", "dark", "pastel", "neon")
SCENES = ("sunset", "ocean", "mountains", "forest", "city", "night", "desert", "flowers", "rain")
SHAPES = ("circle", "square", "triangle", "stripes", "gradient", "grid", "dots")
KINDS = SCENES + SHAPES
MOODS = ("warm", "cool", "calm", "moody", "bright", "dreamy", "vintage")

# The colour each scene's named element takes when the caption names none.
SCENE_DEFAULT = {
    "sunset": "orange",
    "ocean": "blue",
    "mountains": "purple",
    "forest": "green",
    "city": "yellow",
    "night": "blue",
    "desert": "orange",
    "flowers": "pink",
    "rain": "blue",
}


@dataclass(frozen=True)
class Paint:
    name: str  # one of COLORS
    variant: str | None = None  # one of VARIANTS

    def rgb(self) -> np.ndarray:
        base = np.array(COLORS[self.name], dtype=np.float32)
        if self.variant == "light":
            base = base + (1 - base) * 0.35
        elif self.variant == "dark":
            base = base * 0.45
        elif self.variant == "pastel":
            # Pale but still recognisably its hue (saturation stays above ~0.28).
            base = base + (1 - base) * 0.42
        elif self.variant == "neon" and self.name not in ("black", "white"):
            h, s, v = colorsys.rgb_to_hsv(*base)
            base = np.array(colorsys.hsv_to_rgb(h, 1.0, 1.0), dtype=np.float32)
        return base

    def words(self) -> str:
        return f"{self.variant} {self.name}" if self.variant else self.name


@dataclass(frozen=True)
class Scene:
    kind: str
    main: Paint  # the named element: the sky of a sunset, the trees of a forest, the shape ...
    second: Paint | None = None  # background / second stripe colour / the sky above mountains
    mood: str | None = None
    night: bool = False
    rain: bool = False
    named: tuple[str, ...] = field(default=())  # colour names the caption mentions

    @property
    def colors(self) -> tuple[str, ...]:
        return self.named


# --- sampling --------------------------------------------------------------------------------
def _paint(rng: random.Random, allow: list[str] | None = None, variant_p: float = 0.35) -> Paint:
    name = rng.choice(allow or list(COLORS))
    variant = rng.choice(VARIANTS) if rng.random() < variant_p else None
    if name in ("black", "white"):  # a "light black" or "pastel white" is just grey
        variant = None
    return Paint(name, variant)


def sample_scene(rng: random.Random) -> Scene:
    kind = rng.choice(KINDS)
    mood = rng.choice(MOODS) if rng.random() < 0.35 else None
    if kind in SHAPES:
        main = _paint(rng)
        second = _paint(rng)
        while second.name == main.name:
            second = _paint(rng)
        named = (main.name, second.name) if rng.random() < 0.75 else (main.name,)
        if len(named) == 1:  # the background is left to the model's taste: not mentioned, varied
            second = Paint(rng.choice([c for c in COLORS if c != main.name]), None)
        return Scene(kind, main, second, mood=mood, named=named)
    name_it = rng.random() < 0.8
    allow = [c for c in COLORS if c != "white"] if kind != "night" else ["blue", "purple", "black", "pink", "red"]
    main = _paint(rng, allow) if name_it else Paint(SCENE_DEFAULT[kind])
    night = kind in ("night",) or (kind in ("city", "mountains", "ocean", "desert") and rng.random() < 0.3)
    rain = kind == "rain" or (kind in ("city", "forest", "ocean") and rng.random() < 0.15)
    second = None
    named = (main.name,) if name_it else ()
    if kind == "mountains" and rng.random() < 0.4:  # "a purple night sky over dark mountains"
        second = _paint(rng, ["blue", "purple", "pink", "orange", "black"] if night else ["blue", "pink", "orange", "yellow"])
        if second.name != main.name:
            named = named + (second.name,)
        else:
            second = None
    return Scene(kind, main, second, mood=mood, night=night, rain=rain, named=named)


# --- rendering -------------------------------------------------------------------------------
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


def _sky(scene: Scene, h: int, w: int, rng: random.Random, color=None) -> np.ndarray:
    if scene.night:
        base = color if color is not None else np.array([0.03, 0.04, 0.12], np.float32)
        return _vertical(h, w, base * 0.55, base * 1.0 + 0.05)
    base = color if color is not None else np.array([0.45, 0.68, 0.95], np.float32)
    return _vertical(h, w, base * 0.85, base + (1 - base) * 0.5)


def _stars(img, h, w, rng, top=0.6, count=None):
    count = count or int(h * w / 90)
    for _ in range(count):
        y, x = int(rng.random() * h * top), int(rng.random() * w)
        img[y, x] = np.maximum(img[y, x], 0.85 + 0.15 * rng.random())


def _ridge(h, w, rng, base, amp, freq, jag=True):
    """Mask below a mountain ridge line: 1 under the ridge."""
    y, x = _grid(h, w)
    phase = rng.random() * 6.28
    if jag:
        line = np.zeros(w, np.float32)
        xs = np.arange(w, dtype=np.float32) / w
        for k in range(1, 4):
            line += np.abs(((xs * freq * k + phase / 6.28 * k) % 1.0) - 0.5) * 2 * amp / k
        line = base - line + amp
    else:
        xs = np.arange(w, dtype=np.float32) / w
        line = base + amp * np.sin(xs * freq * 6.28 + phase) * 0.5
    return np.clip((y - line[None, :]) * h + 0.5, 0, 1)


def render(scene: Scene, width: int, height: int, seed: int) -> np.ndarray:
    """Render ``scene`` to a float32 RGB array in [0, 1] of shape (height, width, 3)."""
    rng = random.Random(seed)
    h, w = height, width
    main = scene.main.rgb()
    second = scene.second.rgb() if scene.second else None
    y, x = _grid(h, w)
    kind = scene.kind
    horizon = 0.55 + 0.15 * (rng.random() - 0.5)

    if kind == "sunset":
        img = _vertical(h, w, main * 0.55, main + (np.array([1, 0.9, 0.4]) - main) * 0.55)
        sun = _disc(h, w, horizon - 0.02, 0.25 + 0.5 * rng.random(), 0.14 + 0.06 * rng.random())
        _blend(img, sun, [1.0, 0.92, 0.55])
        ground = np.clip((y - horizon) * h + 0.5, 0, 1)
        over_sea = rng.random() < 0.5
        ground_rgb = main * 0.25 if not over_sea else main * 0.35 + np.array([0.0, 0.05, 0.15])
        _blend(img, ground, ground_rgb)
        if over_sea:
            glint = ground * (np.sin(y * h * 2.2 + x * 3) > 0.6) * 0.5
            _blend(img, glint, [1.0, 0.8, 0.45])
    elif kind == "ocean":
        img = _sky(scene, h, w, rng)
        sea = np.clip((y - horizon) * h + 0.5, 0, 1)
        sea_rgb = _vertical(h, w, main * 0.8, main * 0.45)
        img = img * (1 - sea[..., None]) + sea_rgb * sea[..., None]
        waves = sea * (np.sin((y * h) * 1.6 + np.sin(x * 12 + rng.random() * 6) * 2) > 0.75)
        _blend(img, waves * 0.55, main + (1 - main) * 0.6)
        if scene.night:
            _stars(img, h, w, rng, top=horizon)
            _blend(img, _disc(h, w, 0.2, 0.2 + 0.6 * rng.random(), 0.08), [0.95, 0.95, 0.85])
    elif kind == "mountains":
        img = _sky(scene, h, w, rng, color=second)
        if scene.night:
            _stars(img, h, w, rng, top=0.5)
        far = _ridge(h, w, rng, 0.42 + 0.1 * rng.random(), 0.18, 1.5 + rng.random())
        _blend(img, far, main + (1 - main) * 0.35 if not scene.night else main * 0.8)
        near = _ridge(h, w, rng, 0.62 + 0.1 * rng.random(), 0.16, 2 + rng.random())
        _blend(img, near, main * 0.7 if not scene.night else main * 0.5)
    elif kind == "forest":
        img = _sky(scene, h, w, rng)
        ground = np.clip((y - 0.8) * h + 0.5, 0, 1)
        _blend(img, ground, main * 0.4)
        trees = int(w / 7) + 3
        for i in range(trees):
            cx = (i + rng.random()) / trees
            top = 0.25 + 0.3 * rng.random()
            base = 0.85
            half = (0.05 + 0.04 * rng.random()) * h / w
            tri = (y > top) & (y < base) & (np.abs(x - cx) < half * (y - top) / (base - top) * 1.6)
            shade = 0.65 + 0.45 * rng.random()
            _blend(img, tri.astype(np.float32), np.clip(main * shade, 0, 1))
    elif kind == "city":
        img = _sky(scene, h, w, rng)
        if scene.night:
            _stars(img, h, w, rng, top=0.3, count=int(h * w / 250))
        xpos = 0.0
        # Buildings take a shade of the named colour; their windows glow in it.
        body = main * 0.22 + 0.03 if scene.night else main * 0.45 + np.array([0.18, 0.18, 0.2])
        while xpos < 1.0:
            bw = 0.06 + 0.1 * rng.random()
            top = 0.25 + 0.4 * rng.random()
            mask = ((x >= xpos) & (x < xpos + bw) & (y > top)).astype(np.float32)
            _blend(img, mask, body * (0.8 + 0.4 * rng.random()))
            win = mask * ((np.floor(y * h) % 4) == 1) * ((np.floor(x * w) % 3) == 1) * (y > top + 0.03)
            lit = win * (np.sin(x * 91 + y * 57 + rng.random() * 9) > -0.3)
            _blend(img, lit.astype(np.float32), np.clip(main + (1 - main) * 0.35, 0, 1))
            xpos += bw + 0.01
        glow = np.clip(1 - np.abs(y - 0.97) * 8, 0, 1) * 0.35
        _blend(img, glow, main)
    elif kind == "night":
        img = _vertical(h, w, main * 0.35, main * 0.75 + 0.04)
        _stars(img, h, w, rng, top=0.85, count=int(h * w / 60))
        _blend(img, _disc(h, w, 0.15 + 0.2 * rng.random(), 0.15 + 0.7 * rng.random(), 0.1), [0.96, 0.95, 0.82])
        hills = _ridge(h, w, rng, 0.82, 0.08, 1.2, jag=False)
        _blend(img, hills, main * 0.15)
    elif kind == "desert":
        img = _sky(scene, h, w, rng)
        if not scene.night:
            _blend(img, _disc(h, w, 0.2, 0.2 + 0.6 * rng.random(), 0.09), [1.0, 0.95, 0.7])
        else:
            _stars(img, h, w, rng, top=0.45)
        for k, base in enumerate((0.5, 0.65, 0.8)):
            dune = _ridge(h, w, rng, base + 0.05 * rng.random(), 0.12, 0.8 + rng.random(), jag=False)
            _blend(img, dune, main * (0.95 - 0.18 * k) * (0.5 if scene.night else 1))
    elif kind == "flowers":
        img = _sky(scene, h, w, rng)
        field_mask = np.clip((y - horizon + 0.1) * h + 0.5, 0, 1)
        _blend(img, field_mask, [0.2, 0.5, 0.16])
        count = int(h * w / 14)
        for _ in range(count):
            fy = horizon - 0.08 + (1 - horizon + 0.08) * rng.random() ** 0.7
            fx = rng.random()
            r = 0.012 + 0.03 * fy
            _blend(img, _disc(h, w, fy, fx, r, soft=0.8), np.clip(main * (0.8 + 0.3 * rng.random()), 0, 1))
    elif kind == "rain":
        grey = np.array([0.42, 0.44, 0.48], np.float32)
        img = _vertical(h, w, grey * 0.5 + main * 0.35, grey * 0.6 + main * 0.5)
        ground = np.clip((y - 0.75) * h + 0.5, 0, 1)
        _blend(img, ground, main * 0.55)
        puddle = ground * (np.sin(x * 40 + rng.random() * 5) > 0.7)
        _blend(img, puddle * 0.6, main)
    elif kind in ("circle", "square", "triangle"):
        img = _vertical(h, w, second, second * 0.85 + 0.05 * (scene.mood == "bright"))
        cy, cx = 0.5 + 0.2 * (rng.random() - 0.5), 0.5 + 0.3 * (rng.random() - 0.5)
        # Large enough that the named shape colour is a real share of the picture (a triangle
        # has half the area of its box).
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
        mask = ((coord // (period / 2)) % 2 == 0).astype(np.float32)
        img = np.empty((h, w, 3), np.float32)
        img[:] = second
        _blend(img, mask, main)
    elif kind == "gradient":
        t = (x * 0.5 + y * 0.5) if rng.random() < 0.5 else (y if rng.random() < 0.5 else x)
        t = np.clip((t - 0.2) / 0.6, 0, 1)  # both named colours keep a pure band at their end
        img = (main * (1 - t[..., None]) + second * t[..., None]).astype(np.float32)
    elif kind == "grid":
        img = np.empty((h, w, 3), np.float32)
        img[:] = second
        step = max(6, int(h / (4 + int(rng.random() * 3))))
        lines = ((np.arange(h)[:, None] % step) < 2) | ((np.arange(w)[None, :] % step) < 2)
        _blend(img, lines.astype(np.float32), main)
    elif kind == "dots":
        img = np.empty((h, w, 3), np.float32)
        img[:] = second
        step = 12 + int(rng.random() * 6)
        oy, ox = rng.random() * step, rng.random() * step
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        d = np.sqrt(((yy + oy) % step - step / 2) ** 2 + ((xx + ox) % step - step / 2) ** 2)
        _blend(img, np.clip(step * 0.28 - d + 0.5, 0, 1), main)
    else:
        raise ValueError(f"unknown scene kind {kind!r}")

    if scene.rain:
        img = img * 0.78
        streak = ((np.floor(y * h * 0.7 + x * w * 0.35 + 0.5) % 5 == 0) & (np.sin(x * w * 2.3 + y * 7) > 0.2))
        _blend(img, streak.astype(np.float32) * 0.45, [0.8, 0.85, 0.9])
    return _apply_mood(np.clip(img, 0, 1), scene.mood, rng)


def _apply_mood(img: np.ndarray, mood: str | None, rng: random.Random) -> np.ndarray:
    if mood is None:
        return img
    if mood == "warm":
        img = img * np.array([1.06, 1.0, 0.9], np.float32)
    elif mood == "cool":
        img = img * np.array([0.9, 0.98, 1.08], np.float32)
    elif mood == "calm":
        img = img * 0.8 + img.mean() * 0.2
    elif mood == "moody":
        grey = img.mean(axis=-1, keepdims=True)
        img = (img * 0.7 + grey * 0.3) * 0.72
    elif mood == "bright":
        img = img * 0.85 + 0.12  # lifted, but black stays black
    elif mood == "dreamy":
        img = img * 0.8 + np.array([0.14, 0.08, 0.16], np.float32)
        img = (img + np.roll(img, 1, 0) + np.roll(img, -1, 0) + np.roll(img, 1, 1) + np.roll(img, -1, 1)) / 5
    elif mood == "vintage":
        grey = img.mean(axis=-1, keepdims=True)
        sepia = grey * np.array([1.1, 0.95, 0.72], np.float32)
        img = img * 0.7 + sepia * 0.3
        noise = np.random.default_rng(rng.randrange(2**32)).normal(0, 0.025, img.shape[:2])[..., None]
        img = img + noise.astype(np.float32)
    return np.clip(img, 0, 1).astype(np.float32)


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
SHAPE_NOUNS = {
    "circle": ["circle", "disc", "round circle"],
    "square": ["square", "box", "square block"],
    "triangle": ["triangle", "triangular shape"],
    "stripes": ["stripes", "striped pattern", "bands"],
    "gradient": ["gradient", "color gradient", "smooth gradient"],
    "grid": ["grid", "grid pattern", "checked lines"],
    "dots": ["dots", "polka dots", "dotted pattern"],
}
BACKGROUND_WORDS = ["background", "backdrop"]


# Nouns that take no article ("a mountains" reads wrong).
NO_ARTICLE = {"mountains", "peaks", "trees", "woods", "dunes", "desert dunes", "sand dunes", "flowers",
              "ocean waves", "rain", "rainfall", "stripes", "bands", "dots", "polka dots"}


def _with_article(body: str, noun: str, rng: random.Random) -> str:
    if noun in NO_ARTICLE or rng.random() < 0.45:
        return body
    return ("an " if body[:1] in "aeiou" else "a ") + body


def caption(scene: Scene, rng: random.Random) -> str:
    """One phrasing of ``scene``: synonyms and word order vary; every named colour appears."""
    mood = (scene.mood + " ") if scene.mood else ""
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
        # Two colours joined by "and" follow one convention for every motif, as they already did
        # for stripes, grids and dots: the motif's colour first, then the ground's. Without it the
        # model has no way to tell which colour is which and paints an average of the two.
        if second:
            options.append(f"{mood}{noun} in {main} and {second}")
        text = rng.choice(options)
        if scene.mood and scene.mood not in text:
            text = f"{scene.mood} {text}" if rng.random() < 0.5 else f"{text}, {scene.mood}"
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


def sample(rng: random.Random) -> tuple[Scene, str]:
    scene = sample_scene(rng)
    return scene, caption(scene, rng)


__all__ = ["COLORS", "KINDS", "MOODS", "SCENES", "SHAPES", "Paint", "Scene", "caption", "render", "replace", "sample", "sample_scene"]
