"""Resolution tables and family detection."""

from __future__ import annotations

import json

import pytest

from aura_reflect.engine.families import (
    ASPECT_RATIOS,
    RESOLUTION_TABLES,
    family_from_model_index,
    parse_ratio,
    snap_size,
)


@pytest.mark.parametrize("family", ["sd", "sdxl"])
def test_tables_keep_the_ratio_grid_and_tier_sizes(family):
    multiple = 64 if family == "sdxl" else 8
    square = {"sd": {"standard": 512, "high": 768}, "sdxl": {"standard": 768, "high": 1024}}[family]
    for tier, table in RESOLUTION_TABLES[family].items():
        assert set(table) == set(ASPECT_RATIOS)
        for ratio, (width, height) in table.items():
            assert width % multiple == 0 and height % multiple == 0
            assert abs((width / height) / parse_ratio(ratio) - 1) < 0.03, (ratio, width, height)
            # about the square's pixel count (less where the long-side cap bites), at most 10% over it
            assert 0.5 < (width * height) / square[tier] ** 2 < 1.10, (ratio, width, height)
        assert table["1:1"] == (square[tier], square[tier])
        assert table["Auto"] == table["1:1"]
    standard, high = RESOLUTION_TABLES[family]["standard"], RESOLUTION_TABLES[family]["high"]
    assert all(standard[r][0] * standard[r][1] < high[r][0] * high[r][1] for r in ASPECT_RATIOS)


def test_sd_standard_tier_is_memory_safe():
    assert max(max(size) for size in RESOLUTION_TABLES["sd"]["standard"].values()) <= 640
    assert max(max(size) for size in RESOLUTION_TABLES["sd"]["high"].values()) <= 1024


def test_snap_size():
    assert snap_size(203, 117) == (200, 120)
    assert snap_size(3, 3) == (8, 8)


@pytest.mark.parametrize(
    "index, family",
    [
        ({"_class_name": "StableDiffusionPipeline", "unet": ["diffusers", "UNet2DConditionModel"]}, "sd"),
        ({"_class_name": "StableDiffusionXLPipeline"}, "sdxl"),
        ({"_class_name": "SomeCustomPipeline", "unet": [], "text_encoder": [], "text_encoder_2": []}, "sdxl"),
    ],
)
def test_family_detection(index, family):
    assert family_from_model_index(index) == family


def test_unsupported_pipeline_is_refused():
    with pytest.raises(ValueError, match="FluxPipeline"):
        family_from_model_index({"_class_name": "FluxPipeline", "transformer": []})


def test_family_of_saved_tiny_models(tiny_sd, tiny_sdxl):
    from pathlib import Path

    for folder, family in ((tiny_sd, "sd"), (tiny_sdxl, "sdxl")):
        index = json.loads((Path(folder) / "model_index.json").read_text())
        assert family_from_model_index(index) == family
