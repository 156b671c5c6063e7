// The board panel: images added from the results and the gallery, reordered by dragging or with
// Alt + arrow keys, a title, a note, a layout, the board's palette; exports drawn by the engine.

import {
  BoardFileError,
  LAYOUTS,
  MAX_IMAGES,
  boardFile,
  deleteBoard,
  emptyBoard,
  listBoards,
  moveImage,
  parseBoardFile,
  saveBoard,
} from "./boards.js";
import { t } from "./i18n.js";

const $ = (selector) => document.querySelector(selector);
const PALETTE_DELAY_MS = 250;

// deps: call(path, body, as) runs on the engines of the current mode and resolves with JSON or
// a Blob; paletteRow(palette, label); copyText(text); errorText(error).
export function mountBoard(deps) {
  const view = {
    board: emptyBoard(),
    boards: [],
    error: null,
    status: null, // {key, params}: the last announcement to screen readers
    message: null, // the key of the visible status line
    paletteTimer: null,
    paletteRequest: 0,
    saving: Promise.resolve(),
  };

  // --- messages ----------------------------------------------------------------------------
  function showError(error) {
    view.error = error || null;
    const box = $("#board-error");
    box.hidden = !error;
    box.textContent = error ? deps.errorText(error) : "";
  }

  // The visible line beside the export buttons (drawing…, copied); null clears it.
  function say(key) {
    view.message = key;
    $("#board-message").textContent = key ? t(key) : "";
  }

  function announce(key, params = {}) {
    view.status = { key, params };
    $("#board-status").textContent = t(key, params);
  }

  // --- storage -----------------------------------------------------------------------------
  // Saves run one after another: two at once would store a new board twice.
  function persist() {
    const board = view.board;
    view.saving = view.saving.then(() => saveBoard(board)).then(renderPicker).catch(showError);
    return view.saving;
  }

  async function renderPicker() {
    view.boards = await listBoards();
    const pick = $("#board-pick");
    pick.replaceChildren();
    for (const board of view.boards) {
      const option = document.createElement("option");
      option.value = String(board.id);
      option.textContent = t("board.option", { title: board.title.trim() || t("board.untitled"), count: board.images.length });
      pick.append(option);
    }
    if (view.board.id == null) {
      const option = document.createElement("option");
      option.value = "";
      option.textContent = t("board.option", { title: view.board.title.trim() || t("board.untitled"), count: 0 });
      pick.append(option);
    }
    pick.value = view.board.id == null ? "" : String(view.board.id);
  }

  async function open(board) {
    view.board = board;
    showError(null);
    renderFields();
    renderTiles();
    renderPalette();
    await renderPicker();
  }

  // --- changes -----------------------------------------------------------------------------
  // Images, order or layout changed: show it, keep it, and ask the engine for the new palette.
  async function changed(focusIndex = null) {
    renderTiles(focusIndex);
    schedulePalette();
    await persist();
  }

  function addImages(images) {
    const room = MAX_IMAGES - view.board.images.length;
    if (images.length > room) {
      showError({ key: "error.boardFull", params: { max: MAX_IMAGES } });
      images = images.slice(0, Math.max(0, room));
    } else {
      showError(null);
    }
    if (!images.length) return Promise.resolve();
    view.board.images.push(...images.map(({ b64, prompt, seed, width, height, palette }) =>
      ({ b64, prompt: prompt ?? "", seed: seed ?? null, width: width ?? null, height: height ?? null, palette: palette ?? [] })));
    return changed();
  }

  function move(from, to) {
    if (!moveImage(view.board, from, to)) return;
    announce("board.moved", { n: to + 1, total: view.board.images.length });
    return changed(to);
  }

  function remove(index) {
    view.board.images.splice(index, 1);
    const total = view.board.images.length;
    announce("board.removed", { total });
    return changed(total ? Math.min(index, total - 1) : null);
  }

  // --- rendering ---------------------------------------------------------------------------
  function renderFields() {
    $("#board-title").value = view.board.title;
    $("#board-note").value = view.board.note;
    $("#board-layout").value = view.board.layout;
  }

  function renderTiles(focusIndex = null) {
    const list = $("#board");
    list.className = `board layout-${view.board.layout}`;
    list.replaceChildren();
    const total = view.board.images.length;
    view.board.images.forEach((image, i) => {
      const li = document.createElement("li");
      li.className = "board-tile";
      li.tabIndex = 0;
      li.draggable = true;
      li.dataset.index = String(i);
      li.setAttribute("aria-label", t("board.tile", { n: i + 1, total, prompt: image.prompt || "—" }));
      li.setAttribute("aria-describedby", "board-help");
      const img = document.createElement("img");
      img.src = `data:image/png;base64,${image.b64}`;
      img.alt = "";
      img.draggable = false;
      const removeButton = document.createElement("button");
      removeButton.type = "button";
      removeButton.className = "remove";
      removeButton.textContent = "×";
      removeButton.setAttribute("aria-label", t("board.remove", { n: i + 1 }));
      removeButton.addEventListener("click", () => remove(i));
      li.append(img, removeButton);
      list.append(li);
    });
    $("#board-empty").hidden = total > 0;
    if (focusIndex != null) list.children[focusIndex]?.focus();
  }

  function renderPalette() {
    const root = $("#board-palette");
    root.replaceChildren();
    const row = deps.paletteRow(view.board.palette, t("board.paletteGroup"));
    if (row && view.board.images.length) root.append(row);
    $("#board-css").textContent = view.board.images.length ? view.board.css || "" : "";
  }

  // --- palette -----------------------------------------------------------------------------
  function boardBody(extra = {}) {
    const { title, note, layout, images } = view.board;
    return { title, note, layout, images: images.map((image) => ({ image: image.b64, prompt: image.prompt })), ...extra };
  }

  function schedulePalette() {
    clearTimeout(view.paletteTimer);
    if (!view.board.images.length) {
      view.board.palette = [];
      view.board.css = "";
      renderPalette();
      return;
    }
    view.paletteTimer = setTimeout(refreshPalette, PALETTE_DELAY_MS);
  }

  async function refreshPalette() {
    const request = ++view.paletteRequest;
    const board = view.board;
    try {
      const result = await deps.call("/boards/palette", boardBody());
      if (request !== view.paletteRequest || board !== view.board) return; // a newer change won
      board.palette = result.palette;
      board.css = result.css;
      renderPalette();
      await persist();
    } catch (error) {
      showError(error);
    }
  }

  // --- exports -----------------------------------------------------------------------------
  function fileName(extension) {
    const slug = view.board.title.trim().toLowerCase().normalize("NFKD").replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
    return `${slug || "aura-board"}${extension}`;
  }

  function download(blob, name) {
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = name;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
  }

  async function drawn(path, body, extension) {
    if (!view.board.images.length) return showError({ key: "error.boardEmpty" });
    showError(null);
    say("board.working");
    try {
      download(await deps.call(path, body, "blob"), fileName(extension));
      say(null);
    } catch (error) {
      say(null);
      showError(error);
    }
  }

  function exportFile() {
    if (!view.board.images.length) return showError({ key: "error.boardEmpty" });
    showError(null);
    download(new Blob([boardFile(view.board)], { type: "application/json" }), fileName(".aura-board.json"));
  }

  async function importFile(file) {
    try {
      const board = parseBoardFile(await file.text());
      await open(board);
      await persist();
      announce("board.imported", { title: board.title || t("board.untitled") });
      schedulePalette(); // also gives the CSS variables, which the file does not carry
    } catch (error) {
      if (!(error instanceof BoardFileError)) throw error;
      showError({ key: error.reason, params: { name: file.name } });
    }
  }

  async function copyCss() {
    if (!view.board.css) return showError({ key: "error.boardEmpty" });
    say((await deps.copyText(view.board.css)) ? "board.cssCopied" : "board.cssNotCopied");
  }

  // The board worked on last, or a new one.
  function latest(boards) {
    return boards.sort((a, b) => String(a.updatedAt).localeCompare(String(b.updatedAt))).at(-1) ?? emptyBoard();
  }

  // --- drag and keyboard -------------------------------------------------------------------
  function tileOf(event) {
    return event.target.closest?.(".board-tile");
  }

  function wire() {
    const list = $("#board");
    let dragFrom = null;
    list.addEventListener("dragstart", (event) => {
      const tile = tileOf(event);
      if (!tile) return;
      dragFrom = Number(tile.dataset.index);
      tile.classList.add("dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", tile.dataset.index);
    });
    list.addEventListener("dragover", (event) => {
      const tile = tileOf(event);
      if (dragFrom == null || !tile) return;
      event.preventDefault();
      for (const other of list.querySelectorAll(".drop-target")) other.classList.remove("drop-target");
      tile.classList.add("drop-target");
    });
    list.addEventListener("drop", (event) => {
      const tile = tileOf(event);
      if (dragFrom == null || !tile) return;
      event.preventDefault();
      const from = dragFrom;
      dragFrom = null;
      move(from, Number(tile.dataset.index));
    });
    list.addEventListener("dragend", () => {
      dragFrom = null;
      for (const tile of list.querySelectorAll(".dragging, .drop-target")) tile.classList.remove("dragging", "drop-target");
    });
    list.addEventListener("keydown", (event) => {
      const tile = tileOf(event);
      if (!tile || event.target !== tile) return;
      const index = Number(tile.dataset.index);
      const step = { ArrowLeft: -1, ArrowUp: -1, ArrowRight: 1, ArrowDown: 1 }[event.key];
      if (event.altKey && step) {
        event.preventDefault();
        move(index, index + step);
      } else if (event.key === "Delete" || event.key === "Backspace") {
        event.preventDefault();
        remove(index);
      }
    });

    $("#board-title").addEventListener("input", (event) => {
      view.board.title = event.target.value;
      schedulePalette(); // the header's height changes the images' areas, so their weights
      persist();
    });
    $("#board-note").addEventListener("input", (event) => {
      view.board.note = event.target.value;
      schedulePalette(); // the header's height changes the images' areas, so their weights
      persist();
    });
    $("#board-layout").addEventListener("change", (event) => {
      view.board.layout = LAYOUTS.includes(event.target.value) ? event.target.value : "grid";
      changed();
    });
    $("#board-pick").addEventListener("change", (event) => {
      const board = view.boards.find((b) => String(b.id) === event.target.value);
      if (board) open(board);
    });
    $("#board-new").addEventListener("click", () => open(emptyBoard()));
    $("#board-delete").addEventListener("click", async () => {
      if (view.board.id != null) await deleteBoard(view.board.id);
      await open(latest(await listBoards()));
    });
    $("#board-png").addEventListener("click", () => drawn("/boards/render", boardBody({ format: "png" }), ".png"));
    $("#board-pdf").addEventListener("click", () => drawn("/boards/render", boardBody({ format: "pdf" }), ".pdf"));
    $("#board-swatches").addEventListener("click", () =>
      view.board.palette.length
        ? drawn("/boards/swatches", { palette: view.board.palette }, "-palette.png")
        : showError({ key: "error.boardEmpty" }));
    $("#board-copy-css").addEventListener("click", copyCss);
    $("#board-export").addEventListener("click", exportFile);
    $("#board-import").addEventListener("change", async (event) => {
      const [file] = event.target.files;
      event.target.value = "";
      if (file) await importFile(file);
    });
  }

  // Everything the panel builds itself, again in the current language.
  function retranslate() {
    renderTiles();
    renderPalette();
    showError(view.error);
    if (view.status) $("#board-status").textContent = t(view.status.key, view.status.params);
    say(view.message);
    return renderPicker();
  }

  async function start() {
    wire();
    await open(latest(await listBoards()));
  }

  return { start, addImages, retranslate, showError };
}
