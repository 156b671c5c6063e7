"""Palettes: the dominant colours of every generated or refined image, in the response, the PNG and the CLI."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aura_reflect.engine.palette import PNG_TEXT_KEY, dominant_colours, srgb_to_lab

from .helpers import decode_png, gradient_image, png_b64

AURA = str(Path(sys.executable).with_name("aura"))


def image_of(areas: list[tuple[tuple[int, int, int], float]], size: int = 512) -> Image.Image:
    """Horizontal bands of the given colours, each covering its share of the rows."""
    pixels = np.zeros((size, size, 3), dtype=np.uint8)
    row = 0
    for colour, share in areas:
        rows = round(share * size)
        pixels[row : row + rows] = colour
        row += rows
    return Image.fromarray(pixels)


def assert_palette_shape(palette: list[dict]) -> None:
    assert 1 <= len(palette) <= 6
    assert all(entry["hex"].startswith("#") and len(entry["hex"]) == 7 for entry in palette)
    shares = [entry["share"] for entry in palette]
    assert shares == sorted(shares, reverse=True)
    assert abs(sum(shares) - 1) < 0.01


def test_known_colour_areas_give_those_colours_and_shares():
    palette = dominant_colours(image_of([((255, 0, 0), 0.7), ((0, 0, 255), 0.3)]))
    assert_palette_shape(palette)
    assert [entry["hex"] for entry in palette[:2]] == ["#ff0000", "#0000ff"]
    assert palette[0]["share"] == pytest.approx(0.7, abs=0.02)
    assert palette[1]["share"] == pytest.approx(0.3, abs=0.02)


def test_six_areas_and_a_flat_image():
    areas = [((20, 30, 60), 0.3), ((240, 200, 40), 0.2), ((200, 40, 60), 0.15), ((40, 160, 90), 0.15),
             ((245, 245, 240), 0.1), ((120, 60, 160), 0.1)]
    palette = dominant_colours(image_of(areas))
    assert_palette_shape(palette)
    assert len(palette) == 6
    # Swatches are colours of the image: the areas' own, not blends of their edges.
    expected = {"#{:02x}{:02x}{:02x}".format(*colour): share for colour, share in areas}
    for entry in palette:
        assert entry["hex"] in expected, palette
        assert entry["share"] == pytest.approx(expected[entry["hex"]], abs=0.02)
    flat = dominant_colours(Image.new("RGB", (300, 200), (17, 99, 180)))
    assert flat == [{"hex": "#1163b4", "share": 1.0}]


def test_near_identical_colours_are_one_swatch_and_results_are_deterministic():
    # Two reds a viewer cannot tell apart (ΔE ≈ 1) are one colour of the palette.
    palette = dominant_colours(image_of([((250, 10, 10), 0.5), ((252, 12, 10), 0.2), ((10, 10, 250), 0.3)]))
    reds = [entry for entry in palette if int(entry["hex"][1:3], 16) > 200 and int(entry["hex"][5:7], 16) < 50]
    assert len(reds) == 1 and reds[0]["share"] == pytest.approx(0.7, abs=0.02), palette
    picture = gradient_image(512, 512)
    assert dominant_colours(picture) == dominant_colours(picture.copy())
    assert_palette_shape(dominant_colours(picture))


def test_lab_conversion_matches_reference_values():
    # CIELAB (D65) of white and sRGB red, as published.
    lab = srgb_to_lab(np.array([[255.0, 255, 255], [255, 0, 0]]))
    assert np.allclose(lab[0], [100, 0, 0], atol=0.01)
    assert np.allclose(lab[1], [53.24, 80.09, 67.20], atol=0.01)


def test_cost_per_512_image_is_a_few_milliseconds():
    """Worst case for the clustering: every sampled pixel a different colour (noise, a gradient)."""
    images = [gradient_image(512, 512),
              Image.fromarray(np.random.default_rng(1).integers(0, 256, (512, 512, 3), dtype=np.uint8))]
    for image in images:
        dominant_colours(image)
        times = []
        for _ in range(10):
            started = time.perf_counter()
            dominant_colours(image)
            times.append(time.perf_counter() - started)
        # Typically 2–4 ms; the bound leaves room for a loaded CI machine.
        assert np.median(times) < 0.025, times


def png_palette(data: str) -> list[dict]:
    image = Image.open(io.BytesIO(base64.b64decode(data)))
    return json.loads(image.text[PNG_TEXT_KEY])


def test_generate_returns_a_palette_per_image_also_in_the_png(sd_server):
    response = sd_server.client.post(
        "/generate", json={"prompt": "teal harbour at dusk", "aspectRatio": "1:1", "numImages": 2, "seed": 3}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["palettes"]) == len(body["images"]) == 2
    for data, palette in zip(body["images"], body["palettes"]):
        assert_palette_shape(palette)
        assert png_palette(data) == palette  # the PNG's aura:palette chunk, read back with Pillow
        assert palette == dominant_colours(decode_png(data).convert("RGB"))  # of the image that was sent
    # Other formats carry the palette in the response only.
    webp = sd_server.client.post(
        "/generate", json={"prompt": "teal harbour", "numImages": 1, "seed": 3, "outputFormat": "webp"}
    ).json()
    assert len(webp["palettes"]) == 1 and webp["format"] == "webp"


def test_refine_returns_a_palette_per_image(sd_server):
    inputs = [png_b64(image_of([((255, 0, 0), 0.7), ((0, 0, 255), 0.3)], 128)), png_b64(gradient_image(96, 64))]
    response = sd_server.client.post("/refine", json={"refinePrompt": "warmer", "images": inputs, "seed": 1})
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["palettes"]) == 2
    for data, palette in zip(body["images"], body["palettes"]):
        assert_palette_shape(palette)
        assert png_palette(data) == palette


def test_cli_prints_and_embeds_each_images_palette(sd_server, tmp_path):
    done = subprocess.run(
        [AURA, "generate", "amber fields", "--n", "2", "--seed", "8", "--local", sd_server.url, "-o", str(tmp_path)],
        capture_output=True, text=True, timeout=180, env=os.environ,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 2
    for line, seed in zip(lines, (8, 9)):
        path, hexes = line.split("\t")
        assert Path(path) == tmp_path / f"aura-{seed}.png"
        with Image.open(path) as image:
            palette = json.loads(image.text[PNG_TEXT_KEY])
        assert hexes.split() == [entry["hex"] for entry in palette]
        assert_palette_shape(palette)
