"""The moodboard studio in a real browser (Debian's Chromium driven by Playwright) against real engines."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from PIL import Image

from ..helpers import EngineServer, free_port, settings_from_env

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(accept_downloads=True, viewport={"width": 1360, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def engine(model: str, **env) -> EngineServer:
    return EngineServer(settings_from_env(SD_MODEL_ID=model, SD_STEPS="2", **env))


def open_studio(page, server: EngineServer, mode: str = "local"):
    page.goto(server.url + "/")
    page.wait_for_selector("body[data-ready=true]")
    page.check(f"input[name=mode][value={mode}]")


def generate(page, prompt: str, count: int = 2):
    page.fill("#prompt", prompt)
    page.fill("#count", str(count))
    page.click("#generate")


def wait_results(page, count: int):
    page.wait_for_function(f"document.querySelectorAll('#results img').length === {count}", timeout=60_000)


def test_generate_select_refine_download_and_gallery_survives_reload(page, tiny_sd, tmp_path):
    with engine(tiny_sd) as local:
        open_studio(page, local)
        generate(page, "rainy afternoon in Tokyo", count=4)
        wait_results(page, 4)
        assert "made by local" in page.text_content("#results-meta")
        tiles = page.locator("#results .tile")
        tiles.nth(0).click()
        tiles.nth(2).focus()
        page.keyboard.press("Space")  # keyboard selection
        assert tiles.nth(0).get_attribute("aria-pressed") == "true"
        assert tiles.nth(2).get_attribute("aria-pressed") == "true"
        assert page.text_content("#selection-count") == "2 selected"

        first_sources = [img.get_attribute("src") for img in page.locator("#results img").all()]
        page.fill("#refine-prompt", "darker, more neon")
        page.click("#refine")
        page.wait_for_function("document.querySelectorAll('#results img').length === 2", timeout=60_000)
        refined = [img.get_attribute("src") for img in page.locator("#results img").all()]
        assert not set(refined) & set(first_sources)
        assert "→ darker, more neon" in page.get_attribute("#results img >> nth=0", "alt")

        page.locator("#results .tile").nth(0).click()
        page.locator("#results .tile").nth(1).click()
        with page.expect_download() as first:
            page.click("#download")
        saved = tmp_path / first.value.suggested_filename
        first.value.save_as(saved)
        assert saved.suffix == ".png"
        with Image.open(saved) as image:
            image.load()
            assert image.format == "PNG" and image.size == (512, 512)

        page.click("#save")
        page.wait_for_selector("#gallery .gallery-set")
        page.reload()
        page.wait_for_selector("body[data-ready=true]")
        sets = page.locator("#gallery .gallery-set")
        assert sets.count() == 1
        assert sets.nth(0).locator("img").count() == 2
        assert "darker, more neon" in sets.nth(0).text_content()
        sets.nth(0).locator("button.remove").first.click()
        page.wait_for_function("document.querySelectorAll('#gallery img').length === 1")


def test_cloud_mode_calls_the_second_engine_and_status_shows_both(page, tiny_sd, tiny_sdxl):
    local_port = free_port()
    with engine(tiny_sdxl, ALLOW_ORIGINS=f"http://127.0.0.1:{local_port}") as cloud:
        with EngineServer(settings_from_env(SD_MODEL_ID=tiny_sd, SD_STEPS="2", AURA_CLOUD_URL=cloud.url),
                          port=local_port) as local:
            open_studio(page, local, mode="cloud")
            cards = page.locator("#engines .engine")
            page.wait_for_function(
                "[...document.querySelectorAll('#engines [data-field=model]')].map(e => e.textContent).join() === 'tiny-sd,tiny-sdxl'"
            )
            assert cards.nth(0).locator("[data-field=device]").text_content() == "cpu"
            assert cards.nth(1).locator("[data-field=device]").text_content() == "cpu"
            assert "online" in cards.nth(1).text_content()
            generate(page, "neon city at night", count=1)
            wait_results(page, 1)
            assert "made by cloud" in page.text_content("#results-meta")
            assert "tiny-sdxl" in page.text_content("#results-meta")
            assert page.text_content("#results .badge") == "cloud"
            # The cloud engine runs on a CPU, so it was asked for the standard tier (768 for SDXL).
            assert page.get_attribute("#results img", "width") == "768"


def test_auto_falls_back_to_cloud_and_local_mode_reports_the_outage(page, tiny_sd, tiny_sdxl):
    local_port = free_port()
    with engine(tiny_sdxl, ALLOW_ORIGINS=f"http://127.0.0.1:{local_port}") as cloud:
        local = EngineServer(settings_from_env(SD_MODEL_ID=tiny_sd, SD_STEPS="2", AURA_CLOUD_URL=cloud.url),
                             port=local_port)
        with local:
            open_studio(page, local, mode="auto")
        # The local engine is now stopped; the page stays loaded.
        generate(page, "calm ocean at dawn", count=1)
        wait_results(page, 1)
        assert page.text_content("#results .badge") == "cloud"

        page.check("input[name=mode][value=local]")
        generate(page, "calm ocean at dawn", count=1)
        page.wait_for_selector("#error:not([hidden])")
        message = page.text_content("#error")
        assert "local engine" in message and "unreachable" in message


def test_cloud_that_does_not_allow_the_origin_is_reported_as_cors(page, tiny_sd, tiny_sdxl):
    with engine(tiny_sdxl, ALLOW_ORIGINS="http://somewhere-else.test") as cloud:
        with engine(tiny_sd, AURA_CLOUD_URL=cloud.url) as local:
            open_studio(page, local, mode="cloud")
            page.wait_for_function("document.querySelector('#engines [data-engine=cloud]').textContent.includes('CORS')")
            generate(page, "warm pastel gradient", count=1)
            page.wait_for_selector("#error:not([hidden])")
            message = page.text_content("#error")
            assert "ALLOW_ORIGINS" in message and local.url in message


def test_progress_moves_and_cancel_stops_the_work_on_the_engine(page, tiny_sd):
    with engine(tiny_sd) as local:
        calls = []

        def slow_step(module, args):
            calls.append(time.monotonic())
            time.sleep(0.15)

        handle = local.worker.model.text2img.unet.register_forward_pre_hook(slow_step)
        try:
            open_studio(page, local)
            page.click("summary:has-text('Advanced')")
            page.fill("#steps", "60")
            generate(page, "dreamy pink flower field", count=1)
            page.wait_for_function(
                "/Step ([3-9]|[1-9][0-9]) of 60/.test(document.querySelector('#progress-text').textContent)",
                timeout=30_000,
            )
            value = float(page.get_attribute("#progress-bar", "value"))
            assert 3 <= value < 60
            page.click("#cancel")
            page.wait_for_selector("#error:not([hidden])")
            assert page.text_content("#error") == "Cancelled."
            deadline = time.monotonic() + 5
            while local.worker.running is not None and time.monotonic() < deadline:
                time.sleep(0.02)
            assert local.worker.running is None
            stopped_at = len(calls)
            time.sleep(0.5)
            assert len(calls) == stopped_at < 60  # the engine stopped denoising, not just the page
            assert page.is_hidden("#progress")
        finally:
            handle.remove()
        # The engine serves the next request.
        generate(page, "dreamy pink flower field", count=1)
        wait_results(page, 1)


def test_phone_width_layout_and_labels(browser, tiny_sd):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    with engine(tiny_sd) as local:
        open_studio(page, local)
        for control in ("#prompt", "#aspect", "#resolution", "#count", "#temperature", "#steps", "#guidance", "#seed",
                        "#refine-prompt", "#local-url", "#cloud-url"):
            control_id = control[1:]
            assert page.locator(f"label[for={control_id}]").count() == 1, control
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390
        generate(page, "vintage desert dunes", count=2)
        wait_results(page, 2)
    context.close()
