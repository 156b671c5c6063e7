// The moodboard studio: generate → select → refine → download / save / board, on Local, Cloud or Auto.

import { mountBoard } from "./board-view.js";
import {
  EngineError,
  authHeaders,
  callEngine,
  checkHealth,
  engineBase,
  followProgress,
  newRequestId,
  withMode,
} from "./engines.js";
import { listSets, removeImage, saveSet } from "./gallery.js";
import { applyTranslations, language, setLanguage, t } from "./i18n.js";

const $ = (selector) => document.querySelector(selector);
const STATUS_REFRESH_MS = 30_000;
const COPY_STATUS_MS = 4_000;

// A message of the studio's own, kept as its key so it can be shown again in another language.
class StudioMessage extends Error {
  constructor(key, params = {}) {
    super(t(key, params));
    this.key = key;
    this.params = params;
  }
}

const state = {
  config: { cloudUrl: null },
  health: { local: null, cloud: null },
  results: [], // {b64, seed, width, height, engine, prompt, palette: [{hex, share}]}
  meta: null, // {engine, model, width, height} of the results shown
  selected: new Set(),
  running: null, // {engine, base, requestId, stopProgress, controller}
  error: null, // the error shown
  progress: { key: "progress.starting", params: {} }, // the progress text shown
};

// --- engines ---------------------------------------------------------------------------------
function engineUrl(engine) {
  if (engine === "local") return engineBase(localStorage.getItem("aura.localUrl") || location.origin);
  return engineBase(localStorage.getItem("aura.cloudUrl") || state.config.cloudUrl || "");
}

function apiKey(engine) {
  return localStorage.getItem(`aura.${engine}Key`) || null;
}

function mode() {
  return document.querySelector("input[name=mode]:checked").value;
}

async function refreshEngine(engine) {
  const base = engineUrl(engine);
  state.health[engine] = base ? await checkHealth(engine, base) : { state: "unset" };
  renderEngines();
}

function refreshEngines() {
  return Promise.all([refreshEngine("local"), refreshEngine("cloud")]);
}

function renderEngines() {
  const root = $("#engines");
  root.replaceChildren();
  for (const engine of ["local", "cloud"]) {
    const h = state.health[engine] || { state: "checking" };
    const card = document.createElement("article");
    card.className = `engine engine-${h.state}`;
    card.dataset.engine = engine;
    const title = document.createElement("h3");
    const dot = document.createElement("span");
    dot.className = "dot";
    dot.setAttribute("aria-hidden", "true");
    title.append(dot, t(`engine.${engine}`));
    const status = document.createElement("p");
    status.className = "engine-state";
    const known = ["online", "loading", "offline", "error", "cors", "unset"].includes(h.state);
    status.textContent = t(`engine.state.${known ? h.state : "checking"}`);
    const facts = document.createElement("dl");
    const rows = [
      ["url", engineUrl(engine) || "—"],
      ["device", h.device ?? "—"],
      ["model", h.model ?? "—"],
      ["scheduler", h.scheduler ?? "—"],
      ["round-trip", h.rtt != null ? t("engine.rtt", { ms: h.rtt }) : "—"],
    ];
    if (h.state === "cors") rows.push(["fix", t("engine.fixCors", { origin: location.origin })]);
    if (h.error) rows.push(["why", h.error]);
    for (const [field, value] of rows) {
      const dt = document.createElement("dt");
      dt.textContent = t(`engine.fact.${field}`);
      const dd = document.createElement("dd");
      dd.textContent = value;
      dd.dataset.field = field;
      facts.append(dt, dd);
    }
    const details = document.createElement("details");
    const summary = document.createElement("summary");
    summary.textContent = t("engine.details");
    details.append(summary);
    const pre = document.createElement("pre");
    pre.textContent = JSON.stringify({ optimizations: h.optimizations, queue: h.queue, dtype: h.dtype, version: h.version }, null, 2);
    details.append(pre);
    const check = document.createElement("button");
    check.type = "button";
    check.textContent = t("engine.check");
    check.setAttribute("aria-label", t(`engine.check.${engine}`));
    check.addEventListener("click", () => refreshEngine(engine));
    card.append(title, status, facts, details, check);
    root.append(card);
  }
}

// --- running a request -----------------------------------------------------------------------
// The words for an error, in the current language. The engine's own messages stay as it sent them.
function errorText(error) {
  const message = error.key ? t(error.key, error.params) : error.message;
  if (!(error instanceof EngineError)) return message;
  const who = error.engine ? t(`error.who.${error.engine}`) : "";
  if (error.kind === "overloaded") {
    return error.retryAfter
      ? t("error.retryIn", { who, message, seconds: error.retryAfter })
      : t("error.overloaded", { who, message });
  }
  if (error.kind === "invalid") {
    return error.field ? t("error.invalidField", { who, field: error.field, message }) : t("error.invalid", { who, message });
  }
  if (error.kind === "server") return t("error.server", { who, message });
  if (error.kind === "cancelled") return t("error.cancelled");
  return message;
}

function showError(error) {
  const box = $("#error");
  state.error = error || null;
  if (!error) {
    box.hidden = true;
    box.textContent = "";
    return;
  }
  box.textContent = errorText(error);
  box.hidden = false;
}

function showProgress(key, params = {}) {
  state.progress = { key, params };
  $("#progress-text").textContent = t(key, params);
}

function setBusy(busy) {
  for (const id of ["#generate", "#refine"]) $(id).disabled = busy;
  $("#progress").hidden = !busy;
  if (busy) {
    $("#progress-bar").removeAttribute("value");
    showProgress("progress.starting");
  }
  $("#previews").replaceChildren();
}

// The engine's previews of the running job's latents (tiny: the latent grid), drawn scaled up.
function showPreviews(previews) {
  const box = $("#previews");
  while (box.children.length > previews.length) box.lastElementChild.remove();
  previews.forEach((b64, i) => {
    const img = box.children[i] || box.appendChild(document.createElement("img"));
    img.alt = "";
    img.src = `data:image/png;base64,${b64}`;
  });
}

function onProgress(update) {
  const bar = $("#progress-bar");
  if (update.state === "queued") {
    bar.removeAttribute("value");
    showProgress("progress.queued", { position: update.position });
  } else {
    bar.max = update.total || 1;
    bar.value = update.step;
    showProgress("progress.step", { step: update.step, total: update.total });
    if (update.previews) showPreviews(update.previews);
  }
}

async function runOnEngines(path, buildBody) {
  showError(null);
  setBusy(true);
  try {
    const outcome = await withMode(mode(), async (engine) => {
      const base = engineUrl(engine);
      if (!base) throw EngineError.localized("unreachable", `error.noUrl.${engine}`, {}, { engine });
      const requestId = newRequestId();
      const controller = new AbortController();
      const key = apiKey(engine);
      const stopProgress = followProgress(base, requestId, onProgress, key);
      state.running = { engine, base, requestId, controller, stopProgress, key };
      try {
        return await callEngine(engine, base, path, {
          method: "POST",
          body: { ...buildBody(engine), requestId },
          signal: controller.signal,
          apiKey: key,
        });
      } finally {
        stopProgress();
      }
    });
    return outcome;
  } finally {
    state.running = null;
    setBusy(false);
  }
}

async function cancel() {
  const running = state.running;
  if (!running) return;
  showProgress("progress.cancelling");
  try {
    const response = await fetch(`${running.base}/jobs/${running.requestId}`, {
      method: "DELETE",
      headers: authHeaders(running.key),
    });
    // The engine stops the work; its answer to the request (499) ends the wait.
    if (!response.ok) running.controller.abort();
  } catch {
    running.controller.abort();
  }
}

// A board request (palette, drawing) on the engines of the current mode; no progress to follow.
async function onEngines(path, body, as = "json") {
  const { result } = await withMode(mode(), (engine) => {
    const base = engineUrl(engine);
    if (!base) throw EngineError.localized("unreachable", `error.noUrl.${engine}`, {}, { engine });
    return callEngine(engine, base, path, { method: "POST", body, apiKey: apiKey(engine), as });
  });
  return result;
}

// --- generate / refine -----------------------------------------------------------------------
function numberOrNull(id) {
  const value = $(id).value.trim();
  return value === "" ? null : Number(value);
}

function generateBody(engine) {
  const config = {};
  const steps = numberOrNull("#steps");
  const guidance = numberOrNull("#guidance");
  if (steps != null) config.steps = steps;
  if (guidance != null) config.guidanceScale = guidance;
  // As existing clients do: the cloud gets "high" when it runs on a GPU.
  const cloudGpu = state.health.cloud?.device && state.health.cloud.device !== "cpu";
  const resolution = engine === "cloud" ? (cloudGpu ? "high" : "standard") : $("#resolution").value;
  const body = {
    prompt: $("#prompt").value,
    aspectRatio: $("#aspect").value,
    temperature: Number($("#temperature").value),
    resolution,
    numImages: Number($("#count").value),
  };
  if (Object.keys(config).length) body.config = config;
  const seed = numberOrNull("#seed");
  if (seed != null) body.seed = seed;
  return body;
}

async function onGenerate(event) {
  event.preventDefault();
  const prompt = $("#prompt").value.trim();
  if (!prompt) {
    showError(new StudioMessage("error.noPrompt"));
    $("#prompt").focus();
    return;
  }
  try {
    const { engine, result } = await runOnEngines("/generate", generateBody);
    setResults(result, engine, prompt);
  } catch (error) {
    showError(error);
  }
}

async function onRefine(event) {
  event.preventDefault();
  const chosen = selectedResults();
  const refinePrompt = $("#refine-prompt").value.trim();
  if (!chosen.length) return showError(new StudioMessage("error.noSelection"));
  if (!refinePrompt) return showError(new StudioMessage("error.noRefinePrompt"));
  const config = {};
  const steps = numberOrNull("#steps");
  const guidance = numberOrNull("#guidance");
  if (steps != null) config.steps = steps;
  if (guidance != null) config.guidanceScale = guidance;
  try {
    const { engine, result } = await runOnEngines("/refine", () => ({
      refinePrompt,
      images: chosen.map((r) => r.b64),
      ...(Object.keys(config).length ? { config } : {}),
    }));
    setResults(result, engine, `${chosen[0].prompt} → ${refinePrompt}`);
  } catch (error) {
    showError(error);
  }
}

// --- results ---------------------------------------------------------------------------------
function setResults(result, engine, prompt) {
  state.results = result.images.map((b64, i) => ({
    b64,
    seed: result.seeds?.[i] ?? null,
    width: result.width,
    height: result.height,
    engine,
    prompt,
    palette: Array.isArray(result.palettes?.[i]) ? result.palettes[i] : [],
  }));
  state.meta = { engine, model: result.model, width: result.width, height: result.height };
  state.selected.clear();
  renderMeta();
  renderResults();
}

function renderMeta() {
  const meta = state.meta;
  $("#results-meta").textContent = meta
    ? t("results.meta", { madeBy: t(`results.madeBy.${meta.engine}`), model: meta.model, width: meta.width, height: meta.height })
    : "";
}

// --- palettes --------------------------------------------------------------------------------
// A row of colour chips, each as wide as its share of the image; a click copies its hex.
function paletteRow(palette, label) {
  const colours = (Array.isArray(palette) ? palette : []).filter((c) => /^#[0-9a-f]{6}$/i.test(c?.hex ?? ""));
  if (!colours.length) return null;
  const row = document.createElement("div");
  row.className = "palette";
  row.setAttribute("role", "group");
  row.setAttribute("aria-label", label);
  for (const { hex, share } of colours) {
    const fraction = Number.isFinite(Number(share)) ? Number(share) : 1 / colours.length;
    const chip = document.createElement("button");
    chip.type = "button";
    chip.className = "swatch";
    chip.dataset.hex = hex.toLowerCase();
    chip.style.backgroundColor = hex;
    chip.style.flexGrow = String(Math.max(fraction, 0.02));
    chip.title = hex.toLowerCase();
    chip.setAttribute("aria-label", t("palette.swatch", { hex: hex.toLowerCase(), percent: Math.round(fraction * 100) }));
    chip.addEventListener("click", () => copyHex(hex.toLowerCase(), chip));
    row.append(chip);
  }
  return row;
}

async function copyText(text) {
  try {
    if (navigator.clipboard?.writeText) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    /* not allowed here (no permission, insecure origin): try the old way */
  }
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.append(area);
  area.select();
  let copied = false;
  try {
    copied = document.execCommand("copy");
  } catch {
    copied = false;
  }
  area.remove();
  return copied;
}

let copyStatusTimer = null;

async function copyHex(hex, chip) {
  const copied = await copyText(hex);
  chip?.focus();
  const status = $("#copy-status");
  status.textContent = t(copied ? "palette.copied" : "palette.copyFailed", { hex });
  status.dataset.hex = hex;
  clearTimeout(copyStatusTimer);
  copyStatusTimer = setTimeout(() => {
    status.textContent = "";
  }, COPY_STATUS_MS);
}

function selectedResults() {
  return state.results.filter((_, i) => state.selected.has(i));
}

function renderResults() {
  const list = $("#results");
  list.replaceChildren();
  state.results.forEach((item, i) => {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "tile";
    button.setAttribute("aria-pressed", String(state.selected.has(i)));
    button.setAttribute(
      "aria-label",
      item.seed != null ? t("tile.labelSeed", { n: i + 1, seed: item.seed }) : t("tile.label", { n: i + 1 }),
    );
    const img = document.createElement("img");
    img.src = `data:image/png;base64,${item.b64}`;
    img.alt = t("tile.alt", { prompt: item.prompt, n: i + 1 });
    img.width = item.width;
    img.height = item.height;
    button.append(img);
    button.addEventListener("click", () => toggle(i));
    const badge = document.createElement("span");
    badge.className = `badge badge-${item.engine}`;
    badge.dataset.engine = item.engine;
    badge.textContent = t(`badge.${item.engine}`);
    li.append(button, badge);
    const palette = paletteRow(item.palette, t("palette.group", { n: i + 1 }));
    if (palette) li.append(palette);
    list.append(li);
  });
  $("#results-empty").hidden = state.results.length > 0;
  renderSelectionCount();
}

function renderSelectionCount() {
  const count = state.selected.size;
  $("#selection-count").textContent = t(`selection.count.${count === 1 ? "one" : "other"}`, { count });
}

function toggle(index) {
  if (state.selected.has(index)) state.selected.delete(index);
  else state.selected.add(index);
  const tile = $("#results").children[index].querySelector(".tile");
  tile.setAttribute("aria-pressed", String(state.selected.has(index)));
  renderSelectionCount();
}

function download() {
  const chosen = selectedResults();
  if (!chosen.length) return showError(new StudioMessage("error.nothingToDownload"));
  showError(null);
  chosen.forEach((item, i) => {
    const link = document.createElement("a");
    link.href = `data:image/png;base64,${item.b64}`;
    link.download = `aura-${item.seed ?? Date.now()}-${i + 1}.png`;
    document.body.append(link);
    link.click();
    link.remove();
  });
}

function addSelectedToBoard() {
  const chosen = selectedResults();
  if (!chosen.length) return board.showError(new StudioMessage("error.noBoardSelection"));
  return board.addImages(chosen);
}

// --- gallery ---------------------------------------------------------------------------------
async function save() {
  if (!state.results.length) return showError(new StudioMessage("error.nothingToSave"));
  const { prompt, engine } = state.results[0];
  const images = state.results.map(({ b64, seed, width, height, palette }) => ({ b64, seed, width, height, palette }));
  await saveSet({ prompt, engine, images });
  showError(null);
  await renderGallery();
}

async function renderGallery() {
  const root = $("#gallery");
  const sets = await listSets();
  root.replaceChildren();
  $("#gallery-empty").hidden = sets.length > 0;
  for (const set of sets.reverse()) {
    const figure = document.createElement("figure");
    figure.className = "gallery-set";
    const caption = document.createElement("figcaption");
    const engineName = ["local", "cloud"].includes(set.engine) ? t(`badge.${set.engine}`) : set.engine;
    caption.textContent = `${set.prompt} · ${engineName} · ${new Date(set.createdAt).toLocaleString(language())}`;
    const list = document.createElement("ul");
    list.className = "grid small";
    set.images.forEach((image, index) => {
      const li = document.createElement("li");
      const img = document.createElement("img");
      img.src = `data:image/png;base64,${image.b64}`;
      img.alt = t("gallery.alt", { prompt: set.prompt, n: index + 1 });
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "remove";
      remove.textContent = "×";
      remove.setAttribute("aria-label", t("gallery.remove", { n: index + 1, prompt: set.prompt }));
      remove.addEventListener("click", async () => {
        await removeImage(set.id, index);
        await renderGallery();
      });
      const add = document.createElement("button");
      add.type = "button";
      add.className = "add-to-board";
      add.textContent = t("gallery.addShort");
      add.setAttribute("aria-label", t("gallery.add", { n: index + 1, prompt: set.prompt }));
      add.addEventListener("click", () => board.addImages([{ ...image, prompt: set.prompt }]));
      li.append(img, remove, add);
      // Sets saved before palettes existed have none.
      const palette = paletteRow(image.palette, t("palette.group", { n: index + 1 }));
      if (palette) li.append(palette);
      list.append(li);
    });
    figure.append(list, caption);
    root.append(figure);
  }
}

// --- language --------------------------------------------------------------------------------
function renderLanguage() {
  for (const button of document.querySelectorAll("button[data-lang]")) {
    button.setAttribute("aria-pressed", String(button.dataset.lang === language()));
  }
}

// Everything the studio builds itself, again in the current language.
function switchLanguage(lang) {
  setLanguage(lang);
  renderLanguage();
  renderEngines();
  renderMeta();
  renderResults();
  showError(state.error);
  $("#progress-text").textContent = t(state.progress.key, state.progress.params);
  const status = $("#copy-status");
  if (status.textContent && status.dataset.hex) status.textContent = t("palette.copied", { hex: status.dataset.hex });
  return Promise.all([renderGallery(), board.retranslate()]);
}

// --- board ---------------------------------------------------------------------------------
const board = mountBoard({ call: onEngines, paletteRow, copyText, errorText });

// --- start -----------------------------------------------------------------------------------
function restoreSettings() {
  const savedMode = localStorage.getItem("aura.mode");
  if (savedMode) document.querySelector(`input[name=mode][value=${savedMode}]`).checked = true;
  $("#local-url").value = localStorage.getItem("aura.localUrl") || "";
  $("#cloud-url").value = localStorage.getItem("aura.cloudUrl") || state.config.cloudUrl || "";
  $("#cloud-key").value = localStorage.getItem("aura.cloudKey") || "";
}

function saveUrls() {
  for (const [id, key] of [["#local-url", "aura.localUrl"], ["#cloud-url", "aura.cloudUrl"], ["#cloud-key", "aura.cloudKey"]]) {
    const value = $(id).value.trim();
    if (value) localStorage.setItem(key, value);
    else localStorage.removeItem(key);
  }
  refreshEngines();
}

async function start() {
  applyTranslations();
  renderLanguage();
  try {
    const response = await fetch("ui/config", { cache: "no-store" });
    if (response.ok) state.config = await response.json();
  } catch {
    /* served elsewhere: no defaults */
  }
  for (const button of document.querySelectorAll("button[data-lang]")) {
    button.addEventListener("click", () => switchLanguage(button.dataset.lang));
  }
  restoreSettings();
  $("#generate-form").addEventListener("submit", onGenerate);
  $("#refine-form").addEventListener("submit", onRefine);
  $("#cancel").addEventListener("click", cancel);
  $("#download").addEventListener("click", download);
  $("#save").addEventListener("click", () => save().catch(showError));
  $("#add-to-board").addEventListener("click", () => addSelectedToBoard()?.catch(board.showError));
  $("#new").addEventListener("click", () => {
    $("#prompt").value = "";
    state.results = [];
    state.meta = null;
    state.selected.clear();
    renderMeta();
    showError(null);
    renderResults();
    $("#prompt").focus();
  });
  $("#save-urls").addEventListener("click", saveUrls);
  $("#temperature").addEventListener("input", (e) => {
    $("#temperature-value").textContent = Number(e.target.value).toFixed(1);
  });
  for (const radio of document.querySelectorAll("input[name=mode]")) {
    radio.addEventListener("change", () => localStorage.setItem("aura.mode", mode()));
  }
  renderEngines();
  renderResults();
  await Promise.all([refreshEngines(), renderGallery(), board.start()]);
  setInterval(() => {
    if (document.visibilityState === "visible" && !state.running) refreshEngines();
  }, STATUS_REFRESH_MS);
  document.body.dataset.ready = "true";
}

start();
