"""Boards: layouts as rectangles, and /boards/render, /boards/palette, /boards/swatches over a real port."""

from __future__ import annotations

import io
import itertools
import json
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from PIL import Image
from pypdf import PdfReader

from aura_reflect.boards.layout import LAYOUTS, Box, arrange

from .helpers import EngineServer, gradient_image, png_b64, settings_from_env

RED, GREEN, BLUE, GOLD = (200, 30, 50), (40, 160, 80), (30, 60, 200), (230, 180, 20)
BOX = Box(150, 400, 2180, 2700)


def solid(colour, size=(256, 256)) -> str:
    return png_b64(Image.new("RGB", size, colour))


def hex_of(colour) -> str:
    return "#{:02x}{:02x}{:02x}".format(*colour)


def board(*images: str, **fields) -> dict:
    return {"images": [{"image": image, "prompt": f"prompt {i}"} for i, image in enumerate(images)], **fields}


def render(server, body: dict):
    return server.client.post("/boards/render", json=body)


def open_png(response) -> Image.Image:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    image.load()
    return image


# --- layouts ----------------------------------------------------------------------------------
SIZES = [(512, 512), (768, 512), (384, 640), (512, 896), (640, 384), (512, 512), (300, 900), (900, 300)]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("count", [1, 2, 3, 5, 8])
def test_every_layout_places_each_image_inside_the_box_without_overlap(layout, count):
    rects = arrange(layout, BOX, SIZES[:count], gap=36)
    assert len(rects) == count
    for rect in rects:
        assert rect.width > 100 and rect.height > 100
        assert BOX.x <= rect.x and rect.x + rect.width <= BOX.x + BOX.width + 1
        assert BOX.y <= rect.y and rect.y + rect.height <= BOX.y + BOX.height + 1
    for a, b in itertools.combinations(rects, 2):
        apart = (a.x + a.width <= b.x or b.x + b.width <= a.x or a.y + a.height <= b.y or b.y + b.height <= a.y)
        assert apart, (a, b)


def test_masonry_keeps_each_images_shape_and_hero_makes_the_first_the_largest():
    for rect, (width, height) in zip(arrange("masonry", BOX, SIZES, 36), SIZES):
        assert rect.width / rect.height == pytest.approx(width / height, rel=0.02)
    hero = arrange("hero", BOX, SIZES[:5], 36)
    assert hero[0].area > 4 * max(rect.area for rect in hero[1:])
    grid = arrange("grid", BOX, SIZES[:4], 36)
    assert len({(rect.width, rect.height) for rect in grid}) == 1  # equal cells, 2 × 2
    assert len({rect.x for rect in grid}) == 2


# --- render -----------------------------------------------------------------------------------
@pytest.mark.parametrize("layout", LAYOUTS)
def test_render_png_is_print_size_and_draws_the_images_in_board_order(sd_server, layout):
    body = board(solid(RED), solid(GREEN), solid(BLUE), solid(GOLD), layout=layout, title="Rainy Tokyo — noche",
                 note="Neon on wet asphalt.\nSecond line of the note.")
    page = open_png(render(sd_server, body))
    assert page.size == (2480, 3508) and max(page.size) >= 2400
    assert round(page.info["dpi"][0]) == 300
    assert json.loads(page.info["aura:prompts"]) == ["prompt 0", "prompt 1", "prompt 2", "prompt 3"]
    palette = json.loads(page.info["aura:palette"])
    assert {entry["hex"] for entry in palette} == {hex_of(c) for c in (RED, GREEN, BLUE, GOLD)}
    # The first image is at the top left (the whole top in hero), the last at the bottom right.
    pixels = page.convert("RGB")
    top = next(y for y in range(300, 3000, 4) if pixels.getpixel((400, y)) == RED)
    assert pixels.getpixel((400, top + 150)) == RED
    bottom = max(y for y in range(300, 3200, 4) if pixels.getpixel((2000, y)) == GOLD)
    assert bottom > top + 600
    # Reordered, the page changes with it.
    swapped = open_png(render(sd_server, {**body, "images": body["images"][::-1]})).convert("RGB")
    assert swapped.getpixel((400, top + 150)) == GOLD


def test_title_and_note_are_drawn_and_landscape_turns_the_page(sd_server):
    plain = open_png(render(sd_server, board(solid(BLUE)))).convert("RGB")
    titled = open_png(render(sd_server, board(solid(BLUE), title="Título con ñ", note="Una nota"))).convert("RGB")
    assert plain.getpixel((400, 200)) == BLUE  # no header: the image starts at the top margin
    header = titled.crop((150, 150, 2330, 300)).convert("L")
    assert titled.getpixel((400, 200)) != BLUE
    assert min(header.getdata()) < 80 < 200 < max(header.getdata())  # dark type on the paper
    landscape = open_png(render(sd_server, board(solid(BLUE), orientation="landscape")))
    assert landscape.size == (3508, 2480)


def test_render_pdf_is_one_a4_page(sd_server):
    body = board(solid(RED), png_b64(gradient_image(384, 640)), solid(GOLD, (640, 360)), layout="hero", format="pdf",
                 title="Desert dunes")
    response = render(sd_server, body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert "aura-board.pdf" in response.headers["content-disposition"]
    reader = PdfReader(io.BytesIO(response.content))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4 in points
    assert reader.metadata.title == "Desert dunes"
    assert reader.metadata.subject == "prompt 0 | prompt 1 | prompt 2"


# --- palette ----------------------------------------------------------------------------------
def test_board_palette_weighs_each_image_by_its_area_and_gives_css_variables(sd_server):
    images = [solid(BLUE), solid(RED), solid(GOLD)]
    grid = sd_server.client.post("/boards/palette", json=board(*images, layout="grid"))
    assert grid.status_code == 200, grid.text
    shares = {entry["hex"]: entry["share"] for entry in grid.json()["palette"]}
    assert set(shares) == {hex_of(c) for c in (BLUE, RED, GOLD)}
    assert shares[hex_of(BLUE)] == pytest.approx(1 / 3, abs=0.01)
    hero = sd_server.client.post("/boards/palette", json=board(*images, layout="hero")).json()
    assert hero["palette"][0]["hex"] == hex_of(BLUE) and hero["palette"][0]["share"] > 0.6
    css = hero["css"]
    assert css.startswith(":root {") and f"--board-1: {hex_of(BLUE)};" in css
    assert css.count("--board-") == 3


def test_swatch_strip_is_a_png_of_the_palette_in_proportion(sd_server):
    palette = [{"hex": "#c81e32", "share": 0.75}, {"hex": "#1e3cc8", "share": 0.25}]
    response = sd_server.client.post("/boards/swatches", json={"palette": palette, "width": 1200})
    strip = open_png(response).convert("RGB")
    assert strip.width == 1200 and strip.height >= 120
    assert strip.getpixel((880, 10)) == (200, 30, 50)
    assert strip.getpixel((920, 10)) == (30, 60, 200)


# --- refusals ---------------------------------------------------------------------------------
def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.text
    return response.json()["error"]


@pytest.mark.parametrize(
    ("body", "status", "field", "words"),
    [
        (board(*[solid(RED, (16, 16))] * 25), 422, "images", "at most 24"),
        (board(), 422, "images", "at least 1"),
        (board(solid(RED), "not base64!!"), 422, "images[1].image", "not valid base64"),
        (board(solid(RED), "aGVsbG8gd29ybGQ="), 422, "images[1].image", "not a PNG, JPEG or WebP"),
        (board(solid(RED), layout="collage"), 422, "layout", "grid"),
        (board(solid(RED), format="tiff"), 422, "format", "png"),
        (board(solid(RED), title="x" * 201), 422, "title", "200"),
        (board(solid(RED, (4097, 8))), 413, "images[0].image", "4096 px"),
    ],
    ids=["too-many", "none", "bad-base64", "not-an-image", "unknown-layout", "unknown-format", "long-title", "oversized"],
)
def test_bad_boards_are_refused_naming_the_field(sd_server, body, status, field, words):
    error = error_of(render(sd_server, body), status)
    assert error["field"] == field
    assert words in error["message"]
    if status == 422 and field != "format":
        assert error_of(sd_server.client.post("/boards/palette", json=body), status)["field"] == field


def test_a_bad_swatch_palette_is_refused_naming_the_colour(sd_server):
    response = sd_server.client.post("/boards/swatches", json={"palette": [{"hex": "red", "share": 1}]})
    assert error_of(response, 422)["field"] == "palette[0].hex"


def test_boards_need_the_api_key_when_the_engine_sets_one(tiny_sd):
    with EngineServer(settings_from_env(SD_MODEL_ID=tiny_sd, SD_STEPS="1", AURA_API_KEY="sk-board")) as server:
        body = board(solid(RED))
        for path in ("/boards/render", "/boards/palette"):
            assert error_of(server.client.post(path, json=body), 401)["type"] == "unauthorized"
            allowed = server.client.post(path, json=body, headers={"Authorization": "Bearer sk-board"})
            assert allowed.status_code == 200, allowed.text


def test_boards_beyond_the_slots_are_refused_with_retry_after_and_every_accepted_one_is_drawn(tiny_sd):
    """One board drawn at a time and one waiting: of six sent at once, the rest get 503 + Retry-After."""
    settings = settings_from_env(SD_MODEL_ID=tiny_sd, SD_STEPS="1", AURA_MAX_BOARDS="1", AURA_MAX_QUEUE="1",
                                 AURA_RATE_LIMIT="0")
    body = board(*(solid(colour, (1024, 1024)) for colour in (RED, GREEN, BLUE, GOLD)), title="Burst")
    with EngineServer(settings) as server, ThreadPoolExecutor(6) as pool:
        responses = list(pool.map(lambda _: httpx.post(server.url + "/boards/render", json=body, timeout=120),
                                  range(6)))
        accepted = [r for r in responses if r.status_code == 200]
        refused = [r for r in responses if r.status_code == 503]
        assert len(accepted) + len(refused) == 6, [r.status_code for r in responses]
        assert len(accepted) >= 2 and refused, [r.status_code for r in responses]
        for response in accepted:
            assert open_png(response).size == (2480, 3508)
        for response in refused:
            assert int(response.headers["Retry-After"]) >= 1
            error = response.json()["error"]
            assert error["type"] == "overloaded" and "AURA_MAX_BOARDS" in error["message"]
        # The slots are free again once the burst is drawn.
        assert render(server, body).status_code == 200
        assert server.client.post("/boards/palette", json=body).status_code == 200


def test_a_cancelled_board_keeps_its_slot_until_its_drawing_ends():
    """Cancelling the request does not stop a thread: its slot must stay taken until the work ends."""
    import asyncio
    import threading

    from aura_reflect.api.limits import ThreadSlots
    from aura_reflect.errors import QueueFull

    async def scenario() -> None:
        slots = ThreadSlots("boards", running=1, waiting=0, setting="AURA_MAX_BOARDS")
        release, started = threading.Event(), threading.Event()

        def draw() -> str:
            started.set()
            release.wait(10)
            return "drawn"

        first = asyncio.create_task(slots.run(draw))
        await asyncio.to_thread(started.wait, 10)
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        with pytest.raises(QueueFull):  # the cancelled request's drawing still runs
            await slots.run(lambda: "second")
        release.set()
        for _ in range(1000):  # its slot comes back once the thread is done
            await asyncio.sleep(0.01)
            try:
                assert await slots.run(lambda: "third") == "third"
                break
            except QueueFull:
                continue
        else:
            raise AssertionError("the slot never came back")

    asyncio.run(scenario())


def test_slots_bound_the_threads_running_at_once_and_a_failure_frees_its_slot():
    import asyncio
    import threading

    from aura_reflect.api.limits import ThreadSlots

    lock, running, peak = threading.Lock(), [0], [0]

    def draw(index: int) -> int:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.1)
        with lock:
            running[0] -= 1
        return index

    def fail() -> None:
        raise ValueError("bad board")

    async def scenario() -> None:
        slots = ThreadSlots("boards", running=2, waiting=10, setting="AURA_MAX_BOARDS")
        assert await asyncio.gather(*(slots.run(draw, i) for i in range(6))) == list(range(6))
        assert peak[0] == 2
        single = ThreadSlots("boards", running=1, waiting=0, setting="AURA_MAX_BOARDS")
        with pytest.raises(ValueError, match="bad board"):
            await single.run(fail)
        await asyncio.sleep(0.05)  # the slot is given back by the thread's done-callback
        assert await single.run(draw, 7) == 7

    asyncio.run(scenario())
