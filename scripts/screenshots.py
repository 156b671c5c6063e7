"""Screenshots of the studio's main screens for the docs, on the embedded model.

    python scripts/screenshots.py [docs/screenshots]

Starts the engine (nothing configured: the embedded aura-tiny) and a second one as the "cloud",
drives Debian's Chromium through the workflow (generate, refine, gallery, a board, phone width,
Spanish) and saves PNGs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.helpers import EngineServer, free_port, settings_from_env  # noqa: E402


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    os.environ.pop("SD_MODEL_ID", None)
    local_port = free_port()
    cloud_settings = settings_from_env(ALLOW_ORIGINS=f"http://127.0.0.1:{local_port}")
    with EngineServer(cloud_settings) as cloud, EngineServer(
        settings_from_env(AURA_CLOUD_URL=cloud.url), port=local_port
    ) as local, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(local.url + "/")
        page.wait_for_selector("body[data-ready=true]")
        page.wait_for_function("document.querySelector('#engines [data-engine=cloud]').textContent.includes('online')")
        page.fill("#prompt", "a purple night sky over dark mountains")
        page.select_option("#aspect", "16:9")
        page.fill("#count", "4")
        page.click("#generate")
        page.wait_for_function("document.querySelectorAll('#results img').length === 4")
        tiles = page.locator("#results .tile")
        tiles.nth(0).click()
        tiles.nth(2).click()
        page.fill("#refine-prompt", "warm pink sunset")
        page.screenshot(path=str(out / "studio-results.png"), full_page=True)
        page.click("#save")
        page.click("#refine")
        page.wait_for_function("document.querySelectorAll('#results img').length === 2")
        page.click("#save")
        page.wait_for_function("document.querySelectorAll('#gallery .gallery-set').length === 2")
        page.locator("#engines details").first.click()
        page.screenshot(path=str(out / "studio-refined-gallery.png"), full_page=True)
        # A board: the two refined images, two of the first set from the gallery, hero layout.
        page.locator("#results .tile").nth(0).click()
        page.locator("#results .tile").nth(1).click()
        page.click("#add-to-board")
        first_set = page.locator("#gallery .gallery-set").nth(1)  # newest first
        for i in (1, 3):
            first_set.locator(".add-to-board").nth(i).click()
        page.wait_for_function("document.querySelectorAll('#board .board-tile').length === 4")
        page.fill("#board-title", "Night into sunset")
        page.fill("#board-note", "Purple mountains warming to pink: for the album cover.")
        page.select_option("#board-layout", "hero")
        page.wait_for_timeout(1000)  # the palette of the last change
        page.wait_for_function("document.querySelector('#board-css').textContent.includes('--board-1')")
        page.evaluate("document.activeElement.blur()")
        page.set_viewport_size({"width": 1100, "height": 900})  # a narrower panel: a smaller file
        page.locator("#board-panel").screenshot(path=str(out / "studio-board.png"))
        phone = browser.new_page(viewport={"width": 390, "height": 844})
        phone.goto(local.url + "/")
        phone.wait_for_selector("body[data-ready=true]")
        phone.fill("#prompt", "rainy afternoon in Tokyo")
        phone.fill("#count", "2")
        phone.click("#generate")
        phone.wait_for_function("document.querySelectorAll('#results img').length === 2")
        phone.screenshot(path=str(out / "studio-phone.png"), full_page=True)
        spanish = browser.new_context(locale="es-ES", viewport={"width": 1400, "height": 900}).new_page()
        spanish.goto(local.url + "/")
        spanish.wait_for_selector("body[data-ready=true]")
        spanish.fill("#prompt", "atardecer cálido y rosa sobre el mar")
        spanish.fill("#count", "3")
        spanish.click("#generate")
        spanish.wait_for_function("document.querySelectorAll('#results img').length === 3")
        spanish.locator("#results .tile").nth(1).click()
        spanish.locator("#results .swatch").first.click()
        spanish.screenshot(path=str(out / "studio-es.png"), full_page=True)
        browser.close()
    print(f"screenshots in {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/screenshots"))
