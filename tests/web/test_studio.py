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
            # The engine's previews of the image being denoised, shown while it runs.
            page.wait_for_function("[...document.querySelectorAll('#previews img')].some((i) => i.naturalWidth > 0)")
            assert page.locator("#previews img").count() == 1
            grid = 512 // local.worker.model.vae_scale_factor
            assert page.evaluate("document.querySelector('#previews img').naturalWidth") == grid
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
            assert page.is_hidden("#progress") and page.locator("#previews img").count() == 0
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


# --- palettes -------------------------------------------------------------------------------------
def rgb(hex_colour: str) -> str:
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def test_palettes_show_under_each_image_copy_their_hex_and_stay_in_the_gallery(browser, tiny_sd):
    context = browser.new_context(viewport={"width": 1360, "height": 900},
                                  permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    with engine(tiny_sd) as local:
        open_studio(page, local)
        with page.expect_response(lambda r: r.url.endswith("/generate")) as answer:
            generate(page, "warm pastel gradient", count=2)
        palettes = answer.value.json()["palettes"]
        wait_results(page, 2)
        assert len(palettes) == 2
        for i, palette in enumerate(palettes):
            chips = page.locator("#results > li").nth(i).locator(".palette .swatch")
            assert chips.count() == len(palette) >= 1
            for j, colour in enumerate(palette):
                chip = chips.nth(j)
                assert chip.get_attribute("title") == colour["hex"]
                assert colour["hex"] in chip.get_attribute("aria-label")
                assert chip.evaluate("e => getComputedStyle(e).backgroundColor") == rgb(colour["hex"])
            if len(palette) > 1 and palette[0]["share"] > 2 * palette[-1]["share"]:
                assert chips.nth(0).bounding_box()["width"] > chips.nth(len(palette) - 1).bounding_box()["width"]

        first = palettes[1][0]["hex"]
        page.locator("#results > li").nth(1).locator(".swatch").first.click()
        page.wait_for_function(f"document.querySelector('#copy-status').textContent === 'Copied {first}'")
        assert page.evaluate("navigator.clipboard.readText()") == first

        # Without the async clipboard API the old execCommand way still copies.
        page.evaluate("Object.defineProperty(navigator, 'clipboard', {value: undefined, configurable: true})")
        last = palettes[0][-1]["hex"]
        page.locator("#results > li").nth(0).locator(".swatch").last.click()
        page.wait_for_function(f"document.querySelector('#copy-status').textContent === 'Copied {last}'")
        reader = context.new_page()
        reader.goto(local.url + "/")
        assert reader.evaluate("navigator.clipboard.readText()") == last
        reader.close()

        page.click("#save")
        page.wait_for_selector("#gallery .gallery-set")
        # A set saved by an older studio, before palettes: it must still load, without swatches.
        image = page.get_attribute("#results img >> nth=0", "src").split(",", 1)[1]
        page.evaluate(
            """(b64) => new Promise((resolve, reject) => {
                const open = indexedDB.open("aura-reflect", 1);
                open.onsuccess = () => {
                    const tx = open.result.transaction("gallery", "readwrite");
                    tx.objectStore("gallery").add({prompt: "an old set", engine: "local", createdAt: "2026-01-02T03:04:05Z",
                                                   images: [{b64, seed: 7, width: 512, height: 512}]});
                    tx.oncomplete = () => { open.result.close(); resolve(); };
                    tx.onerror = () => reject(tx.error);
                };
                open.onerror = () => reject(open.error);
            })""",
            image,
        )
        page.reload()
        page.wait_for_selector("body[data-ready=true]")
        sets = page.locator("#gallery .gallery-set")
        assert sets.count() == 2
        old, new = sets.nth(0), sets.nth(1)  # newest first
        assert "an old set" in old.text_content() and old.locator("img").count() == 1
        assert old.locator(".swatch").count() == 0
        saved = new.locator("li")
        assert saved.count() == 2
        for i, palette in enumerate(palettes):
            titles = [chip.get_attribute("title") for chip in saved.nth(i).locator(".swatch").all()]
            assert titles == [colour["hex"] for colour in palette]
        saved.nth(0).locator(".swatch").first.click()
        page.wait_for_function(f"document.querySelector('#copy-status').textContent === 'Copied {palettes[0][0]['hex']}'")
    context.close()


# --- languages ------------------------------------------------------------------------------------
VISIBLE_TEXTS = """() => {
    const texts = [];
    for (const el of document.body.querySelectorAll("*")) {
        if (!el.checkVisibility() || el.closest("dd, pre")) continue;  // dd, pre: the engine's own data
        const own = [...el.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE).map((n) => n.textContent).join("").trim();
        if (own) texts.push(own);
        for (const name of ["placeholder", "aria-label", "title", "alt"]) {
            const value = el.getAttribute(name);
            if (value && !(name === "title" && /^#[0-9a-f]{6}$/.test(value))) texts.push(value.trim());
        }
    }
    for (const option of document.querySelectorAll("select option")) texts.push(option.textContent.trim());
    texts.push(document.title);
    return texts;
}"""


def template_pattern(template: str):
    import re

    parts = re.split(r"\{\w+\}", template)
    return re.compile("(.+)".join(re.escape(part) for part in parts), re.S), "".join(parts)


def untranslated(texts: list[str], strings: dict) -> list[str]:
    """The texts that are English dictionary strings (or instances of its templates) with a different Spanish."""
    import re

    english, spanish = strings["en"], strings["es"]
    literal, patterns = set(), []
    for key, value in english.items():
        if value == spanish[key]:
            continue
        if "{" in value:
            pattern, fixed = template_pattern(value)
            if len(re.findall(r"[A-Za-z]", fixed)) >= 3:
                patterns.append(pattern)
        else:
            literal.add(value)
    literal -= set(spanish.values())  # "Auto" is both English (aspect) and Spanish (mode)
    return [text for text in texts if text in literal or any(p.fullmatch(text) for p in patterns)]


def unexplained(texts: list[str], strings: dict, data: list[str]) -> list[str]:
    """The texts that are neither Spanish dictionary strings nor the engine's or the user's data."""
    import re

    patterns = [template_pattern(value)[0] for value in strings["es"].values()]
    allowed = [re.compile(p) for p in (r"Aura Reflect", r"EN|ES|English|Español", r"\d+(:\d+)?", r"\d+\.\d", r"×",
                                        r"https://you-aura-engine\.hf\.space")]
    allowed += [re.compile(re.escape(d) + ".*", re.S) for d in data]
    return [text for text in texts
            if not any(p.fullmatch(text) for p in patterns) and not any(p.fullmatch(text) for p in allowed)]


def test_the_studio_speaks_spanish_to_a_spanish_browser_switches_and_remembers(browser, tiny_sd):
    context = browser.new_context(locale="es-ES", viewport={"width": 1360, "height": 900})
    page = context.new_page()
    with engine(tiny_sd) as local:
        open_studio(page, local)
        assert page.get_attribute("html", "lang") == "es"
        assert page.text_content("#generate") == "Generar"
        assert page.get_attribute("#prompt", "placeholder") == "tarde lluviosa en Tokio"
        assert page.text_content("label[for=prompt]") == "Ambiente"
        assert page.text_content("label[for=aspect]") == "Proporción"
        assert page.text_content("#refine") == "Refinar"
        assert page.text_content("#save") == "Guardar en la galería"
        assert page.text_content("#engines-title") == "Motores"
        assert page.text_content("label:has(input[value=cloud])").strip() == "Nube"
        assert page.title() == "Aura Reflect — estudio de moodboards"
        assert page.get_attribute("button[data-lang=es]", "aria-pressed") == "true"
        page.wait_for_function("document.querySelector('#engines [data-engine=local] .engine-state').textContent === 'en línea'")

        # Messages the studio builds are Spanish too: results, selection, errors, palette copies, gallery.
        generate(page, "atardecer rosa", count=2)
        wait_results(page, 2)
        assert page.text_content("#results-meta").startswith("hecho en local · tiny-sd")
        assert page.text_content("#selection-count") == "0 seleccionadas"
        page.locator("#results .tile").nth(0).click()
        assert page.text_content("#selection-count") == "1 seleccionada"
        page.locator("#results .tile").nth(0).click()
        page.click("#save")
        page.wait_for_selector("#gallery .gallery-set")
        page.click("#refine")
        page.wait_for_selector("#error:not([hidden])")
        assert page.text_content("#error") == "Selecciona una o más imágenes para refinarlas."
        page.locator("#results .swatch").first.click()
        page.wait_for_function("document.querySelector('#copy-status').textContent.startsWith('Copiado #')")
        page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })")

        strings = page.evaluate("import('./i18n.js').then((m) => m.STRINGS)")
        assert set(strings["en"]) == set(strings["es"])
        texts = page.evaluate(VISIBLE_TEXTS)
        assert len(texts) > 60
        assert untranslated(texts, strings) == []
        assert unexplained(texts, strings, data=["atardecer rosa", "tiny-sd"]) == []

        # Switch to English: everything, including what the studio built, changes at once.
        page.click("button[data-lang=en]")
        assert page.get_attribute("html", "lang") == "en"
        assert page.text_content("#generate") == "Generate"
        assert page.get_attribute("#prompt", "placeholder") == "rainy afternoon in Tokyo"
        assert page.text_content("label[for=prompt]") == "Mood"
        assert page.text_content("#results-meta").startswith("made by local")
        assert page.text_content("#selection-count") == "0 selected"
        assert page.text_content("#error") == "Select one or more images to refine."
        assert page.text_content("#engines [data-engine=local] .engine-state") == "online"
        assert page.text_content("#results .badge") == "local"
        assert page.get_attribute("button[data-lang=en]", "aria-pressed") == "true"

        page.reload()
        page.wait_for_selector("body[data-ready=true]")
        assert page.get_attribute("html", "lang") == "en"
        assert page.text_content("#generate") == "Generate"
        assert page.text_content("#gallery-title") == "Gallery"

        page.click("button[data-lang=es]")
        page.reload()
        page.wait_for_selector("body[data-ready=true]")
        assert page.text_content("#generate") == "Generar"
        assert page.text_content("#gallery-title") == "Galería"
    context.close()


def test_an_english_browser_gets_the_english_studio(browser, tiny_sd):
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    with engine(tiny_sd) as local:
        open_studio(page, local)
        assert page.get_attribute("html", "lang") == "en"
        assert page.text_content("#generate") == "Generate"
        assert page.get_attribute("#prompt", "placeholder") == "rainy afternoon in Tokyo"
        assert page.text_content("label[for=prompt]") == "Mood"
        assert page.get_attribute("button[data-lang=en]", "aria-pressed") == "true"
        strings = page.evaluate("import('./i18n.js').then((m) => m.STRINGS)")
        spanish_only = {v for k, v in strings["es"].items() if v != strings["en"][k]}
        assert not set(page.evaluate(VISIBLE_TEXTS)) & spanish_only
    context.close()
