"""The dominant colours of an image: a small weighted k-means in CIELAB, on a downscaled copy.

CIELAB is perceptual: equal distances look like equal differences, so the clusters are the colours
a person would name, not the ones that happen to be far apart in RGB. The image is first reduced
to at most ``SAMPLE_SIDE`` pixels a side (box filter) and its distinct colours counted, so the
clustering works on a few thousand weighted points whatever the image's size. The initialisation
is deterministic (the most frequent colour, then each time the colour that adds the most weighted
squared distance), so the same image always gets the same palette. Clusters closer than
``MERGE_DELTA_E`` are merged: a palette never shows two swatches nobody can tell apart. A swatch
is the image colour nearest its cluster's mean; its share is the cluster's fraction of the pixels.

Cost per 512×512 image: 2–5 ms on one CPU core, noise and gradients being the worst case
(``python bench/palette.py``; figures in docs/api.md#palettes).
"""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

PALETTE_SIZE = 6
SAMPLE_SIDE = 48
MAX_ITERATIONS = 20
CONVERGED_DELTA_E = 1.0  # a centre moving less than this (under a just-noticeable 2.3) is done
MERGE_DELTA_E = 6.0  # CIE76; about 2.3 is a just-noticeable difference
PNG_TEXT_KEY = "aura:palette"

# sRGB (D65) to CIE XYZ, and the D65 white point.
_RGB_TO_XYZ = np.array(
    [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]]
)
_WHITE = _RGB_TO_XYZ.sum(axis=1)
_EPSILON, _KAPPA = 216 / 24389, 24389 / 27


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """(n, 3) sRGB in [0, 255] to (n, 3) CIELAB (D65)."""
    c = rgb / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = linear @ _RGB_TO_XYZ.T / _WHITE
    f = np.where(xyz > _EPSILON, np.cbrt(xyz), (_KAPPA * xyz + 16) / 116)
    return np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], axis=1)


def _distinct_colours(image: Image.Image) -> tuple[np.ndarray, np.ndarray]:
    """The distinct colours of a downscaled RGB copy, and how many pixels have each."""
    sample = image.convert("RGB")
    if max(sample.size) > SAMPLE_SIDE:
        scale = SAMPLE_SIDE / max(sample.size)
        size = (max(1, round(sample.width * scale)), max(1, round(sample.height * scale)))
        sample = sample.resize(size, resample=Image.Resampling.BOX, reducing_gap=2.0)
    pixels = np.asarray(sample, dtype=np.uint32).reshape(-1, 3)
    packed = (pixels[:, 0] << 16) | (pixels[:, 1] << 8) | pixels[:, 2]
    values, counts = np.unique(packed, return_counts=True)
    colours = np.stack([(values >> 16) & 255, (values >> 8) & 255, values & 255], axis=1).astype(np.float64)
    return colours, counts.astype(np.float64)


def _initial_centres(points: np.ndarray, weights: np.ndarray, k: int) -> np.ndarray:
    """Deterministic k-means++: the heaviest point, then the one adding the most weighted distance."""
    centres = [points[np.argmax(weights)]]
    nearest = ((points - centres[0]) ** 2).sum(axis=1)
    while len(centres) < k:
        score = weights * nearest
        best = int(np.argmax(score))
        if score[best] <= 0:  # fewer distinct colours than k
            break
        centres.append(points[best])
        nearest = np.minimum(nearest, ((points - points[best]) ** 2).sum(axis=1))
    return np.array(centres)


def _assign(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """The index of each point's nearest centre (squared distances through one matrix product)."""
    distances = (centres**2).sum(axis=1)[None, :] - 2 * points @ centres.T
    return distances.argmin(axis=1)  # + |point|², the same for every centre


def _kmeans(points: np.ndarray, weights: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Weighted Lloyd iterations until no centre moves by CONVERGED_DELTA_E; returns the centres
    and the weight each one holds."""
    centres = _initial_centres(points, weights, k)
    for _ in range(MAX_ITERATIONS):
        labels = _assign(points, centres)
        mass = np.bincount(labels, weights=weights, minlength=len(centres))
        sums = np.stack(
            [np.bincount(labels, weights=weights * points[:, axis], minlength=len(centres)) for axis in range(3)],
            axis=1,
        )
        keep = mass > 0
        moved = sums[keep] / mass[keep, None]
        converged = moved.shape == centres.shape and np.abs(moved - centres).max() < CONVERGED_DELTA_E
        centres = moved
        if converged:
            break
    mass = np.bincount(_assign(points, centres), weights=weights, minlength=len(centres))
    return centres[mass > 0], mass[mass > 0]


def _merge_close(centres: np.ndarray, mass: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge the closest pair of clusters while it is closer than MERGE_DELTA_E."""
    centres, mass = list(centres), list(mass)
    while len(centres) > 1:
        pairs = [(np.linalg.norm(centres[i] - centres[j]), i, j)
                 for i in range(len(centres)) for j in range(i + 1, len(centres))]
        distance, i, j = min(pairs)
        if distance >= MERGE_DELTA_E:
            break
        total = mass[i] + mass[j]
        centres[i] = (centres[i] * mass[i] + centres[j] * mass[j]) / total
        mass[i] = total
        del centres[j], mass[j]
    return np.array(centres), np.array(mass)


def dominant_colours(image: Image.Image, count: int = PALETTE_SIZE) -> list[dict]:
    """Up to ``count`` dominant colours of ``image`` as ``{"hex": "#rrggbb", "share": 0.31}``,
    the largest share first; the shares sum to 1 (to rounding). Fewer colours when the image
    has fewer perceptibly distinct ones."""
    return _palette(*_distinct_colours(image), count)


def blended_colours(images: list[Image.Image], weights: list[float], count: int = PALETTE_SIZE) -> list[dict]:
    """The dominant colours of several images seen together, image ``i`` counting for
    ``weights[i]`` of the whole (e.g. the share of a board it covers), whatever its pixel size.
    Each image is sampled exactly as ``dominant_colours`` samples it."""
    samples = [_distinct_colours(image) for image in images]
    colours = np.concatenate([colours for colours, _ in samples])
    mass = np.concatenate([counts / counts.sum() * weight for (_, counts), weight in zip(samples, weights)])
    return _palette(colours, mass, count)


def _palette(colours: np.ndarray, weights: np.ndarray, count: int) -> list[dict]:
    """Cluster weighted sRGB colours in CIELAB: the swatches, largest share first."""
    lab = srgb_to_lab(colours)
    centres, mass = _merge_close(*_kmeans(lab, weights, count))
    # Each swatch is the image colour nearest its cluster's mean: a colour that is in the picture,
    # exact for flat areas, not pulled off by the few blended pixels along their edges.
    nearest = ((lab[None, :, :] - centres[:, None, :]) ** 2).sum(axis=2).argmin(axis=1)
    rgb = colours[nearest].astype(int)
    shares = mass / mass.sum()
    palette = [
        {"hex": "#{:02x}{:02x}{:02x}".format(*map(int, colour)), "share": round(float(share), 4)}
        for colour, share in zip(rgb, shares)
    ]
    return sorted(palette, key=lambda entry: (-entry["share"], entry["hex"]))


def palette_json(palette: list[dict]) -> str:
    """The palette as compact JSON: what the PNG text chunk ``aura:palette`` holds."""
    return json.dumps(palette, separators=(",", ":"))


def css_variables(palette: list[dict], prefix: str = "board") -> str:
    """The palette as CSS custom properties on ``:root``, numbered by share, to paste in a stylesheet."""
    lines = [f"  --{prefix}-{i}: {entry['hex']}; /* {round(entry['share'] * 100)}% */"
             for i, entry in enumerate(palette, start=1)]
    return ":root {\n" + "\n".join(lines) + "\n}\n"
