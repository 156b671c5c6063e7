"""Boards in the studio, in a real browser against a real engine: made from results and the
gallery, reordered by dragging and by keyboard, exported as PNG, PDF and one board file,
imported elsewhere, kept across a reload, and in Spanish."""

from __future__ import annotations

import json
import time

from PIL import Image
from pypdf import PdfReader

from .test_studio import (  # noqa: F401  (browser and pytestmark: the studio's Chromium set-up)
    VISIBLE_TEXTS,
    browser,
    engine,
    generate,
    open_studio,
    pytestmark,
    unexplained,
    untranslated,
    wait_results,
)


def new_page(browser, **options):
    context = browser.new_context(accept_downloads=True, viewport={"width": 1360, "height": 900}, **options)
    return context, context.new_page()


def board_sources(page) -> list[str]:
    return [img.get_attribute("src") for img in page.locator("#board .board-tile img").all()]


def result_sources(page) -> list[str]:
    return [img.get_attribute("src") for img in page.locator("#results img").all()]


def wait_board(page, count: int):
    page.wait_for_function(f"document.querySelectorAll('#board .board-tile').length === {count}")


def wait_palette(page):
    page.wait_for_function("document.querySelectorAll('#board-palette .swatch').length > 0 "
                           "&& document.querySelector('#board-css').textContent.includes('--board-1')", timeout=30_000)


def engine_board(sources: list[str], **fields) -> dict:
    """The body the studio sends for a board of these images."""
    return {"images": [{"image": src.split(",", 1)[1]} for src in sources], **fields}


def stored_boards(page) -> list[dict]:
    """The boards as IndexedDB holds them (what a reload will show)."""
    return page.evaluate(
        """() => new Promise((resolve, reject) => {
            const open = indexedDB.open("aura-reflect-boards", 1);
            open.onsuccess = () => {
                const request = open.result.transaction("boards").objectStore("boards").getAll();
                request.onsuccess = () => { open.result.close(); resolve(request.result); };
                request.onerror = () => reject(request.error);
            };
            open.onerror = () => reject(open.error);
        })"""
    )


def wait_stored(page, condition, timeout: float = 10):
    deadline = time.monotonic() + timeout
    while not condition(boards := stored_boards(page)):
        assert time.monotonic() < deadline, boards
        time.sleep(0.05)


def download(page, button: str, tmp_path):
    with page.expect_download() as info:
        page.click(button)
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    return path


def test_a_board_from_results_and_gallery_reordered_exported_kept_and_imported_elsewhere(browser, tiny_sd, tmp_path):
    context, page = new_page(browser, permissions=["clipboard-read", "clipboard-write"])
    with engine(tiny_sd) as local:
        open_studio(page, local)
        assert page.is_visible("#board-empty")
        page.click("#add-to-board")
        assert page.text_content("#board-error") == "Select the images to add to the board."

        # From the results: three selected images; from the gallery: the fourth of the saved set.
        generate(page, "foggy harbour at dawn", count=4)
        wait_results(page, 4)
        made = result_sources(page)
        page.click("#save")
        page.wait_for_selector("#gallery .gallery-set")
        for i in range(3):
            page.locator("#results .tile").nth(i).click()
        page.click("#add-to-board")
        wait_board(page, 3)
        page.locator("#gallery .add-to-board").nth(3).click()
        wait_board(page, 4)
        assert board_sources(page) == made
        assert page.is_hidden("#board-empty")
        tiles = page.locator("#board .board-tile")
        assert tiles.nth(1).get_attribute("aria-label") == "Image 2 of 4: foggy harbour at dawn"

        # Drag the last image to the front.
        tiles.nth(3).drag_to(tiles.nth(0))
        page.wait_for_function(f"document.querySelector('#board img').src === {json.dumps(made[3])}")
        assert board_sources(page) == [made[3], made[0], made[1], made[2]]

        # Keyboard: Alt+Right moves the focused image one place on, and focus follows it.
        tiles.nth(0).focus()
        page.keyboard.press("Alt+ArrowRight")
        page.wait_for_function(f"document.querySelectorAll('#board img')[1].src === {json.dumps(made[3])}")
        assert board_sources(page) == [made[0], made[3], made[1], made[2]]
        assert page.evaluate("document.activeElement.dataset.index") == "1"
        assert page.text_content("#board-status") == "Moved to position 2 of 4"
        page.keyboard.press("Alt+ArrowUp")
        page.wait_for_function(f"document.querySelector('#board img').src === {json.dumps(made[3])}")
        page.keyboard.press("Alt+ArrowLeft")  # already first: nothing moves
        assert board_sources(page) == [made[3], made[0], made[1], made[2]]

        # Remove by its button, and by Delete on the focused image.
        tiles.nth(2).locator("button.remove").click()
        wait_board(page, 3)
        tiles.nth(2).focus()
        page.keyboard.press("Delete")
        wait_board(page, 2)
        assert board_sources(page) == [made[3], made[0]]
        page.locator("#results .tile").nth(0).click()  # the selection is now images 2 and 3
        page.click("#add-to-board")
        wait_board(page, 4)
        order = [made[3], made[0], made[1], made[2]]
        assert board_sources(page) == order

        page.fill("#board-title", "Harbour mornings")
        page.fill("#board-note", "Grey-blue, quiet, wet stone.")
        for layout in ("masonry", "hero", "grid"):
            page.select_option("#board-layout", layout)
            assert page.get_attribute("#board", "class") == f"board layout-{layout}"
        page.select_option("#board-layout", "hero")
        hero, small = tiles.nth(0).bounding_box(), tiles.nth(1).bounding_box()
        assert hero["width"] > 2 * small["width"]

        # The board's palette: the engine's palette of this very board, as swatches and CSS variables.
        expected = local.client.post("/boards/palette", json=engine_board(order, layout="hero", title="Harbour mornings",
                                                                           note="Grey-blue, quiet, wet stone.")).json()
        page.wait_for_function(f"document.querySelector('#board-css').textContent === {json.dumps(expected['css'])}")
        hexes = [chip.get_attribute("title") for chip in page.locator("#board-palette .swatch").all()]
        assert hexes == [colour["hex"] for colour in expected["palette"]]
        css = page.text_content("#board-css")
        assert css.startswith(":root {")
        assert [line.split(": ")[1][:7] for line in css.splitlines() if "--board-" in line] == hexes
        page.click("#board-copy-css")
        page.wait_for_function("document.querySelector('#board-message').textContent === 'CSS variables copied'")
        assert page.evaluate("navigator.clipboard.readText()") == css

        # Exports drawn by the engine: a print-size PNG, a one-page PDF, the palette strip.
        png = download(page, "#board-png", tmp_path)
        assert png.name == "harbour-mornings.png"
        with Image.open(png) as image:
            assert image.format == "PNG" and max(image.size) >= 2400
            assert json.loads(image.info["aura:palette"])[0]["hex"] == hexes[0]
        pdf = download(page, "#board-pdf", tmp_path)
        reader = PdfReader(pdf)
        assert len(reader.pages) == 1 and reader.metadata.title == "Harbour mornings"
        strip = download(page, "#board-swatches", tmp_path)
        with Image.open(strip) as image:
            assert image.width == 2400 and image.convert("RGB").getpixel((2, 2)) == Image.new("RGB", (1, 1), hexes[0]).getpixel((0, 0))
        board_file = download(page, "#board-export", tmp_path)
        assert board_file.name == "harbour-mornings.aura-board.json"
        data = json.loads(board_file.read_text())
        assert (data["format"], data["version"], data["layout"], data["title"]) == ("aura-board", 1, "hero", "Harbour mornings")
        assert [f"data:image/png;base64,{image['b64']}" for image in data["images"]] == order
        assert {image["prompt"] for image in data["images"]} == {"foggy harbour at dawn"}
        assert [colour["hex"] for colour in data["palette"]] == hexes

        # Kept across a reload, as left.
        wait_stored(page, lambda boards: [(b["title"], b["layout"]) for b in boards] == [("Harbour mornings", "hero")])
        page.reload()
        page.wait_for_selector("body[data-ready=true]")
        wait_board(page, 4)
        assert board_sources(page) == order
        assert page.input_value("#board-title") == "Harbour mornings"
        assert page.input_value("#board-note") == "Grey-blue, quiet, wet stone."
        assert page.input_value("#board-layout") == "hero"
        assert [chip.get_attribute("title") for chip in page.locator("#board-palette .swatch").all()] == hexes
        assert page.text_content("#board-pick option") == "Harbour mornings (4)"

        # A new board, then back to the first through the picker.
        page.click("#board-new")
        wait_board(page, 0)
        assert page.input_value("#board-title") == ""
        page.select_option("#board-pick", label="Harbour mornings (4)")
        wait_board(page, 4)
        context.close()

        # Somewhere else (fresh storage): the file brings the whole board back.
        context, page = new_page(browser)
        open_studio(page, local)
        assert stored_boards(page) == []
        page.set_input_files("#board-import", {"name": "notes.json", "mimeType": "application/json",
                                               "buffer": b'{"format": "something-else"}'})
        page.wait_for_selector("#board-error:not([hidden])")
        assert page.text_content("#board-error") == "“notes.json” cannot be opened as a board: it is not an Aura Reflect board file."
        page.set_input_files("#board-import", str(board_file))
        wait_board(page, 4)
        assert page.is_hidden("#board-error")
        assert board_sources(page) == order
        assert page.input_value("#board-title") == "Harbour mornings"
        assert page.input_value("#board-note") == "Grey-blue, quiet, wet stone."
        assert page.input_value("#board-layout") == "hero"
        wait_palette(page)
        assert [chip.get_attribute("title") for chip in page.locator("#board-palette .swatch").all()] == hexes
        page.wait_for_function("document.querySelector('#board-pick option').textContent === 'Harbour mornings (4)'")
        assert len(stored_boards(page)) == 1
    context.close()


def test_the_board_speaks_spanish(browser, tiny_sd):
    context, page = new_page(browser, locale="es-ES")
    with engine(tiny_sd) as local:
        open_studio(page, local)
        assert page.text_content("#board-heading") == "Tablero"
        page.click("#board-png")
        assert page.text_content("#board-error") == "Añade primero imágenes al tablero."
        generate(page, "atardecer rosa", count=2)
        wait_results(page, 2)
        page.click("#save")
        page.wait_for_selector("#gallery .gallery-set")
        page.locator("#results .tile").nth(0).click()
        page.click("#add-to-board")
        page.locator("#gallery .add-to-board").nth(1).click()
        wait_board(page, 2)
        page.fill("#board-title", "Rosa y oro")
        page.select_option("#board-layout", "hero")
        page.locator("#board .board-tile").nth(1).focus()
        page.keyboard.press("Alt+ArrowLeft")
        page.wait_for_function("document.querySelector('#board-status').textContent === 'Movida a la posición 1 de 2'")
        assert page.get_attribute("#board .board-tile >> nth=0", "aria-label") == "Imagen 1 de 2: atardecer rosa"
        wait_palette(page)
        page.set_input_files("#board-import", {"name": "roto.json", "mimeType": "application/json", "buffer": b"{not json"})
        page.wait_for_selector("#board-error:not([hidden])")
        assert page.text_content("#board-error") == "«roto.json» no se puede abrir como tablero: no es JSON."

        strings = page.evaluate("import('./i18n.js').then((m) => m.STRINGS)")
        assert set(strings["en"]) == set(strings["es"])
        texts = page.evaluate(VISIBLE_TEXTS)
        board_texts = page.evaluate(VISIBLE_TEXTS.replace("document.body.querySelectorAll", "document.querySelector('#board-panel').querySelectorAll"))
        assert len(board_texts) > 25
        assert untranslated(texts, strings) == []
        assert unexplained(texts, strings, data=["atardecer rosa", "tiny-sd", "Rosa y oro", "roto.json"]) == []

        page.click("button[data-lang=en]")
        assert page.text_content("#board-heading") == "Board"
        assert page.text_content("#board-status") == "Moved to position 1 of 2"
        assert page.text_content("#board-error") == "“roto.json” cannot be opened as a board: it is not JSON."
        assert page.get_attribute("#board .board-tile >> nth=0", "aria-label") == "Image 1 of 2: atardecer rosa"
    context.close()
