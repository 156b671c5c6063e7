"""What a person checks by eye in a picture, measured on the picture: hue families, dark or light,
muted or vivid, warm or cool (and the scene, named by a judge).

* hue: each named colour's hue family covers at least 10% of the pixels;
* dark / light: the mean luma is under 0.30 / over 0.55;
* muted / vivid: the mean saturation of the lit pixels is under 0.30 / over 0.45;
* warm / cool: mean red minus mean blue is over +0.05 / under -0.05;
* scene: the family a judge names is the one promised.

One definition for two uses: the mood evaluation scores a model's pictures with it
(``eval_moods.py``), and the training data keeps only the world's pictures that show what their
caption says (``train.py``), so the model learns words that always mean what a person would check.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass, replace

import numpy as np

from . import vocabulary as V
from . import world

COLOR_SHARE = 0.10
THRESHOLDS = {"dark": 0.30, "light": 0.55, "muted": 0.30, "vivid": 0.45, "warm": 0.05, "cool": -0.05}


@dataclass(frozen=True)
class Looks:
    """What a picture should show (any of the fields may be left open)."""

    hues: tuple[str, ...] = ()  # vocabulary.COLOURS keys
    light: str | None = None  # dark | light
    saturation: str | None = None  # muted | vivid
    temperature: str | None = None  # warm | cool
    scene: str | None = None  # a family of world.FAMILIES


def hue_classes(image: np.ndarray) -> np.ndarray:
    """Each (sub-sampled) pixel's family: red … pink by hue, brown, beige, black, grey, white."""
    flat = image.reshape(-1, 3)
    hsv = np.array([colorsys.rgb_to_hsv(*px) for px in flat[:: max(1, len(flat) // 4096)]])
    h, s, v = hsv[:, 0] * 360, hsv[:, 1], hsv[:, 2]
    labels = np.full(len(hsv), "grey", dtype=object)
    bins = (("red", 0, 15), ("orange", 15, 40), ("yellow", 40, 70), ("green", 70, 160), ("cyan", 160, 200),
            ("blue", 200, 255), ("purple", 255, 290), ("pink", 290, 345), ("red", 345, 361))
    chromatic = s >= world.NEUTRAL_SATURATION
    for name, lo, hi in bins:
        labels[chromatic & (h >= lo) & (h < hi)] = name
    warm = chromatic & (h >= 10) & (h < 50)
    labels[warm & (v < 0.5)] = "brown"
    labels[warm & (s < 0.45) & (v >= 0.7)] = "beige"
    labels[~chromatic & (v > 0.82)] = "white"
    labels[v < 0.18] = "black"
    return labels


def statistics(image: np.ndarray) -> dict[str, float]:
    luma = float((image @ np.array(world.LUMA, np.float32)).mean())
    value, saturation = world.value_saturation(image)
    lit = value > 0.15
    sat = float(saturation[lit].mean()) if lit.any() else 0.0
    warmth = float(image[..., 0].mean() - image[..., 2].mean())
    return {"luma": luma, "saturation": sat, "warmth": warmth}


def checks(looks, image: np.ndarray, family: str | None) -> dict[str, int]:
    """Pass (1) or fail (0) for each attribute ``looks`` lists (a ``Looks`` or anything with its
    fields); the scene against ``family``, the judge's reading of the picture."""
    out: dict[str, int] = {}
    if looks.hues:
        labels = hue_classes(image)
        out["hue"] = int(all(np.isin(labels, V.COLOURS[c].families).mean() >= COLOR_SHARE for c in looks.hues))
    stats = statistics(image)
    if looks.light:
        out["light"] = int(stats["luma"] < THRESHOLDS["dark"] if looks.light == "dark" else stats["luma"] > THRESHOLDS["light"])
    if looks.saturation:
        out["saturation"] = int(stats["saturation"] < THRESHOLDS["muted"] if looks.saturation == "muted"
                                else stats["saturation"] > THRESHOLDS["vivid"])
    if looks.temperature:
        out["temperature"] = int(stats["warmth"] > THRESHOLDS["warm"] if looks.temperature == "warm"
                                 else stats["warmth"] < THRESHOLDS["cool"])
    if looks.scene:
        out["scene"] = int(family == looks.scene)
    return out


def temperature_word(total: float) -> str | None:
    """What a scene's summed grade temperature promises: warm, cool or nothing."""
    return "warm" if total >= 0.8 else "cool" if total <= -0.8 else None


def promised(scene, spare_neutrals: bool = False) -> Looks:
    """What a world scene's words promise, by the vocabulary's own definitions. In a world that spares
    neutrals the cast (``world.render``), a scene naming a grey, black or white promises no temperature."""
    total = {k: sum(getattr(V.GRADES[g], k) for g in scene.all_grades()) for k in ("value", "saturation", "temperature")}
    night = bool(scene.time and V.TIMES[scene.time].night)
    light = "dark" if total["value"] <= -0.6 or (night and total["value"] <= 0) else "light" if total["value"] >= 0.6 and not night else None
    sat = "muted" if total["saturation"] <= -0.6 else "vivid" if total["saturation"] >= 0.6 else None
    # A named colour is promised unless the words also drain the colour out (monochrome, washed-out).
    hues = scene.named if total["saturation"] > V.DRAINED else ()
    neutral = spare_neutrals and any(V.COLOURS[c].neutral for c in scene.named)
    temp = None if neutral else temperature_word(total["temperature"])
    return Looks(hues, light, sat, temp, scene.family if scene.place else None)


def shows(scene, image: np.ndarray, spare_neutrals: bool = False) -> bool:
    """Whether ``image`` shows every colour, light, saturation and temperature its scene's words
    promise (the layout is the world's own drawing, so the scene is not judged here)."""
    return all(checks(replace(promised(scene, spare_neutrals), scene=None), image, None).values())
