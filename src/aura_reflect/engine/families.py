"""Model families (SD 1.x/2.x vs SDXL) and their resolution tables.

A family is read from the model folder's ``model_index.json``; each family has one table that maps
the API's aspect ratios and tiers to pixel sizes. The tables are computed from three numbers per
tier (square side, longest side, multiple) so that every entry follows one rule: about the square's
pixel count, the long side capped for memory, each side a multiple of the model's grid, and the
aspect ratio within 2% of the request (the contract promises 3%).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Family = Literal["sd", "sdxl"]
Tier = Literal["standard", "high"]

ASPECT_RATIOS: tuple[str, ...] = (
    "Auto",
    "1:1",
    "9:16",
    "16:9",
    "3:4",
    "4:3",
    "3:2",
    "2:3",
    "5:4",
    "4:5",
    "21:9",
)
TIERS: tuple[str, ...] = ("standard", "high")

# "Auto" lets the engine choose: the model's native square.
AUTO_RATIO = "1:1"

PIPELINE_FAMILIES: dict[str, Family] = {
    "StableDiffusionPipeline": "sd",
    "StableDiffusionImg2ImgPipeline": "sd",
    "StableDiffusionXLPipeline": "sdxl",
    "StableDiffusionXLImg2ImgPipeline": "sdxl",
}


@dataclass(frozen=True)
class TierSpec:
    square: int  # side of the square image; other ratios keep about its pixel count
    max_side: int  # longest side allowed (memory grows with it)
    multiple: int  # every side is a multiple of this


FAMILY_TIERS: dict[Family, dict[str, TierSpec]] = {
    # SD 1.x/2.x: trained at 512 (2.x-768 at 768); 512 is safe on a 4 GB GPU and a CPU.
    "sd": {"standard": TierSpec(512, 640, 8), "high": TierSpec(768, 1024, 8)},
    # SDXL: trained on ~1 MP buckets that are multiples of 64; 768 is its memory-safe tier.
    "sdxl": {"standard": TierSpec(768, 1024, 64), "high": TierSpec(1024, 1536, 64)},
}

MAX_RATIO_ERROR = 0.02


def parse_ratio(aspect_ratio: str) -> float:
    if aspect_ratio == "Auto":
        aspect_ratio = AUTO_RATIO
    width, height = aspect_ratio.split(":")
    return int(width) / int(height)


def fit_size(ratio: float, spec: TierSpec) -> tuple[int, int]:
    """The (width, height) for ``ratio`` under ``spec``; see the module docstring for the rule."""
    area = spec.square * spec.square
    ideal_w, ideal_h = math.sqrt(area * ratio), math.sqrt(area / ratio)
    shrink = min(1.0, spec.max_side / max(ideal_w, ideal_h))
    ideal_w, ideal_h = ideal_w * shrink, ideal_h * shrink
    m = spec.multiple
    best: tuple[float, int, int] | None = None
    for w in range(max(m, (round(ideal_w / m) - 3) * m), (round(ideal_w / m) + 4) * m, m):
        for h in range(max(m, (round(ideal_h / m) - 3) * m), (round(ideal_h / m) + 4) * m, m):
            if max(w, h) > spec.max_side:
                continue
            ratio_error = abs(math.log((w / h) / ratio))
            if ratio_error > math.log1p(MAX_RATIO_ERROR):
                continue
            area_error = math.log((w * h) / (ideal_w * ideal_h))
            # Going over the pixel budget costs memory, so it weighs three times as much as going under.
            score = 10 * ratio_error + (3 * area_error if area_error > 0 else -area_error)
            if best is None or score < best[0]:
                best = (score, w, h)
    if best is None:  # only reachable with a tier spec that cannot hold the ratio
        raise ValueError(f"no size for ratio {ratio:.3f} under {spec}")
    return best[1], best[2]


def build_table(family: Family) -> dict[str, dict[str, tuple[int, int]]]:
    return {
        tier: {ar: fit_size(parse_ratio(ar), FAMILY_TIERS[family][tier]) for ar in ASPECT_RATIOS}
        for tier in TIERS
    }


RESOLUTION_TABLES: dict[Family, dict[str, dict[str, tuple[int, int]]]] = {
    family: build_table(family) for family in FAMILY_TIERS
}


def resolve_size(family: Family, aspect_ratio: str, tier: str) -> tuple[int, int]:
    return RESOLUTION_TABLES[family][tier][aspect_ratio]


def snap_size(width: int, height: int, multiple: int = 8) -> tuple[int, int]:
    """Round a free size (a refined image's) to the model's grid, never below one cell."""
    return (
        max(multiple, round(width / multiple) * multiple),
        max(multiple, round(height / multiple) * multiple),
    )


def family_from_model_index(index: dict) -> Family:
    class_name = str(index.get("_class_name", ""))
    if class_name in PIPELINE_FAMILIES:
        return PIPELINE_FAMILIES[class_name]
    if "text_encoder_2" in index or "XL" in class_name:
        return "sdxl"
    if "unet" in index and "text_encoder" in index:
        return "sd"
    raise ValueError(
        f"unsupported pipeline {class_name!r}: Aura Reflect serves Stable Diffusion 1.x/2.x and SDXL models"
    )


def markdown_tables() -> str:
    """The tables as Markdown, for docs/api.md (``python -m aura_reflect.engine.families``)."""
    out = []
    for family, table in RESOLUTION_TABLES.items():
        out.append(f"### {family}\n\n| aspectRatio | standard | high |\n| --- | --- | --- |")
        for ar in ASPECT_RATIOS:
            std, high = table["standard"][ar], table["high"][ar]
            out.append(f"| {ar} | {std[0]}×{std[1]} | {high[0]}×{high[1]} |")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(markdown_tables())
