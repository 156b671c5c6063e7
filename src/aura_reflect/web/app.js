// The moodboard studio: generate → select → refine → download / save, on Local, Cloud or Auto.

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

const $ = (selector) => document.querySelector(selector);
const STATUS_REFRESH_MS = 30_000;

const state = {
  config: { cloudUrl: null },
  health: { local: null, cloud: null },
  results: [], // {b64, seed, width, height, engine, prompt}
  selected: new Set(),
  running: null, // {engine, base, requestId, stopProgress, controller}
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

const STATE_WORDS = {
  online: "online",
  loading: "loading",
  offline: "offline",
  error: "error",
  cors: "blocked by CORS",
  unset: "no URL set",
};

function renderEngines() {
  const root = $("#engines");
  root.replaceChildren();
  for (const engine of ["local", "cloud"]) {
    const h = state.health[engine] || { state: "checking" };
    const card = document.createElement("article");
    card.className = `engine engine-${h.state}`;
    card.dataset.engine = engine;
    const title = document.createElement("h3");
    title.innerHTML = `<span class="dot" aria-hidden="true"></span>${engine === "local" ? "Local" : "Cloud"}`;
    const status = document.createElement("p");
    status.className = "engine-state";
    status.textContent = STATE_WORDS[h.state] || "checking…";
    const facts = document.createElement("dl");
    const rows = [
      ["URL", engineUrl(engine) || "—"],
      ["Device", h.device ?? "—"],
      ["Model", h.model ?? "—"],
      ["Scheduler", h.scheduler ?? "—"],
      ["Round trip", h.rtt != null ? `${h.rtt} ms` : "—"],
    ];
    if (h.state === "cors") rows.push(["Fix", `add ${location.origin} to the engine's ALLOW_ORIGINS`]);
    if (h.error) rows.push(["Why", h.error]);
    for (const [key, value] of rows) {
      const dt = document.createElement("dt");
      dt.textContent = key;
      const dd = document.createElement("dd");
      dd.textContent = value;
      dd.dataset.field = key.toLowerCase().replace(" ", "-");
      facts.append(dt, dd);
    }
    const details = document.createElement("details");
    details.innerHTML = "<summary>Details</summary>";
    const pre = document.createElement("pre");
    pre.textContent = JSON.stringify({ optimizations: h.optimizations, queue: h.queue, dtype: h.dtype, version: h.version }, null, 2);
    details.append(pre);
    const check = document.createElement("button");
    check.type = "button";
    check.textContent = "Check";
    check.setAttribute("aria-label", `Check the ${engine} engine`);
    check.addEventListener("click", () => refreshEngine(engine));
    card.append(title, status, facts, details, check);
    root.append(card);
  }
}

// --- running a request -----------------------------------------------------------------------
function showError(error) {
  const box = $("#error");
  if (!error) {
    box.hidden = true;
    box.textContent = "";
    return;
  }
  let text = error.message;
  if (error instanceof EngineError) {
    const who = error.engine ? `${error.engine[0].toUpperCase()}${error.engine.slice(1)} engine: ` : "";
    if (error.kind === "overloaded") {
      text = `${who}busy — ${error.message}.${error.retryAfter ? ` Retry in ${error.retryAfter} s.` : ""}`;
    } else if (error.kind === "invalid") {
      text = `${who}invalid input${error.field ? ` (${error.field})` : ""}: ${error.message}`;
    } else if (error.kind === "server") {
      text = `${who}failed: ${error.message}`;
    } else if (error.kind === "cancelled") {
      text = "Cancelled.";
    }
  }
  box.textContent = text;
  box.hidden = false;
}

function setBusy(busy) {
  for (const id of ["#generate", "#refine"]) $(id).disabled = busy;
  $("#progress").hidden = !busy;
  if (busy) {
    $("#progress-bar").removeAttribute("value");
    $("#progress-text").textContent = "Starting…";
  }
}

function onProgress(update) {
  const bar = $("#progress-bar");
  if (update.state === "queued") {
    bar.removeAttribute("value");
    $("#progress-text").textContent = `Queued (position ${update.position})`;
  } else {
    bar.max = update.total || 1;
    bar.value = update.step;
    $("#progress-text").textContent = `Step ${update.step} of ${update.total}`;
  }
}

async function runOnEngines(path, buildBody) {
  showError(null);
  setBusy(true);
  try {
    const outcome = await withMode(mode(), async (engine) => {
      const base = engineUrl(engine);
      if (!base) throw new EngineError("unreachable", `No ${engine} engine URL is set.`, { engine });
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
  $("#progress-text").textContent = "Cancelling…";
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
    showError(new Error("Describe a mood first."));
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
  if (!chosen.length) return showError(new Error("Select one or more images to refine."));
  if (!refinePrompt) return showError(new Error("Say how to refine them, for example “darker, more neon”."));
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
  }));
  state.selected.clear();
  $("#results-meta").textContent = `made by ${engine} · ${result.model} · ${result.width}×${result.height}`;
  renderResults();
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
    button.setAttribute("aria-label", `Image ${i + 1}${item.seed != null ? `, seed ${item.seed}` : ""}`);
    const img = document.createElement("img");
    img.src = `data:image/png;base64,${item.b64}`;
    img.alt = `${item.prompt} (image ${i + 1})`;
    img.width = item.width;
    img.height = item.height;
    button.append(img);
    button.addEventListener("click", () => toggle(i));
    const badge = document.createElement("span");
    badge.className = `badge badge-${item.engine}`;
    badge.textContent = item.engine;
    li.append(button, badge);
    list.append(li);
  });
  $("#results-empty").hidden = state.results.length > 0;
  $("#selection-count").textContent = `${state.selected.size} selected`;
}

function toggle(index) {
  if (state.selected.has(index)) state.selected.delete(index);
  else state.selected.add(index);
  const tile = $("#results").children[index].querySelector(".tile");
  tile.setAttribute("aria-pressed", String(state.selected.has(index)));
  $("#selection-count").textContent = `${state.selected.size} selected`;
}

function download() {
  const chosen = selectedResults();
  if (!chosen.length) return showError(new Error("Select the images to download."));
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

// --- gallery ---------------------------------------------------------------------------------
async function save() {
  if (!state.results.length) return showError(new Error("Nothing to save yet."));
  const { prompt, engine } = state.results[0];
  await saveSet({ prompt, engine, images: state.results.map(({ b64, seed, width, height }) => ({ b64, seed, width, height })) });
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
    caption.textContent = `${set.prompt} · ${set.engine} · ${new Date(set.createdAt).toLocaleString()}`;
    const list = document.createElement("ul");
    list.className = "grid small";
    set.images.forEach((image, index) => {
      const li = document.createElement("li");
      const img = document.createElement("img");
      img.src = `data:image/png;base64,${image.b64}`;
      img.alt = `${set.prompt} (saved image ${index + 1})`;
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "remove";
      remove.textContent = "×";
      remove.setAttribute("aria-label", `Remove saved image ${index + 1} of “${set.prompt}”`);
      remove.addEventListener("click", async () => {
        await removeImage(set.id, index);
        await renderGallery();
      });
      li.append(img, remove);
      list.append(li);
    });
    figure.append(list, caption);
    root.append(figure);
  }
}

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
  try {
    const response = await fetch("ui/config", { cache: "no-store" });
    if (response.ok) state.config = await response.json();
  } catch {
    /* served elsewhere: no defaults */
  }
  restoreSettings();
  $("#generate-form").addEventListener("submit", onGenerate);
  $("#refine-form").addEventListener("submit", onRefine);
  $("#cancel").addEventListener("click", cancel);
  $("#download").addEventListener("click", download);
  $("#save").addEventListener("click", () => save().catch(showError));
  $("#new").addEventListener("click", () => {
    $("#prompt").value = "";
    state.results = [];
    state.selected.clear();
    $("#results-meta").textContent = "";
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
  await Promise.all([refreshEngines(), renderGallery()]);
  setInterval(() => {
    if (document.visibilityState === "visible" && !state.running) refreshEngines();
  }, STATUS_REFRESH_MS);
  document.body.dataset.ready = "true";
}

start();
