// Talking to engines: one error type, the Local / Cloud / Auto rules, progress and cancel.

import { t } from "./i18n.js";

export class EngineError extends Error {
  // kind: unreachable | cors | timeout | overloaded | invalid | cancelled | server
  // key, params: the studio's own message (i18n.js), so it can be shown again in another language.
  constructor(kind, message, { engine = null, status = null, retryAfter = null, field = null, key = null, params = {} } = {}) {
    super(message);
    this.kind = kind;
    this.key = key;
    this.params = params;
    this.engine = engine;
    this.status = status;
    this.retryAfter = retryAfter;
    this.field = field;
  }

  // Auto mode moves to the cloud on these; an invalid request would fail there too.
  get worthFallback() {
    return ["unreachable", "timeout", "overloaded", "server"].includes(this.kind);
  }

  // An error whose message is the studio's, from the dictionary.
  static localized(kind, key, params = {}, opts = {}) {
    return new EngineError(kind, t(key, params), { ...opts, key, params });
  }
}

const TIMEOUT_MS = 180_000;

export function engineBase(url) {
  return (url || "").replace(/\/+$/, "");
}

// A fetch that failed without a response is either a down engine or a CORS refusal. An opaque
// no-cors request still reaches a running server, which tells the two apart.
async function reachableWithoutCors(base) {
  try {
    await fetch(`${base}/health`, { mode: "no-cors", cache: "no-store" });
    return true;
  } catch {
    return false;
  }
}

async function errorFromResponse(response, engine) {
  let payload = null;
  try {
    payload = await response.json();
  } catch {
    /* not JSON: keep the status */
  }
  const detail = payload?.error ?? {};
  const message = detail.message || payload?.detail || `HTTP ${response.status}`;
  const retryAfter = Number(response.headers.get("Retry-After")) || null;
  const opts = { engine, status: response.status, retryAfter, field: detail.field ?? null };
  if (response.status === 499) return EngineError.localized("cancelled", "error.cancelled", {}, opts);
  if (response.status === 413 || response.status === 422) return new EngineError("invalid", message, opts);
  if (response.status === 503 || response.status === 429) return new EngineError("overloaded", message, opts);
  if (response.status >= 500) return new EngineError("server", message, opts);
  return new EngineError("invalid", message, opts);
}

export function authHeaders(apiKey) {
  return apiKey ? { Authorization: `Bearer ${apiKey}` } : {};
}

// Resolves with the JSON answer, or with a Blob when `as` is "blob" (a drawn board, a PDF).
export async function callEngine(engine, base, path, { method = "GET", body, signal, apiKey, timeoutMs = TIMEOUT_MS, as = "json" } = {}) {
  const timeout = AbortSignal.timeout(timeoutMs);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  let response;
  try {
    response = await fetch(`${base}${path}`, {
      method,
      headers: { ...(body ? { "Content-Type": "application/json" } : {}), ...authHeaders(apiKey) },
      body: body ? JSON.stringify(body) : undefined,
      signal: combined,
      cache: "no-store",
    });
  } catch (error) {
    if (signal?.aborted) throw EngineError.localized("cancelled", "error.cancelled", {}, { engine });
    if (timeout.aborted) {
      throw EngineError.localized("timeout", `error.timeout.${engine}`, { seconds: timeoutMs / 1000 }, { engine });
    }
    const crossOrigin = new URL(base, location.href).origin !== location.origin;
    if (crossOrigin && (await reachableWithoutCors(base))) {
      throw EngineError.localized("cors", `error.cors.${engine}`, { base, origin: location.origin }, { engine });
    }
    throw EngineError.localized("unreachable", `error.unreachable.${engine}`, { base }, { engine });
  }
  if (!response.ok) throw await errorFromResponse(response, engine);
  return as === "blob" ? response.blob() : response.json();
}

export async function checkHealth(engine, base) {
  const started = performance.now();
  try {
    const response = await fetch(`${base}/health`, { cache: "no-store", signal: AbortSignal.timeout(10_000) });
    const rtt = Math.round(performance.now() - started);
    const body = await response.json().catch(() => ({}));
    const state = response.ok ? "online" : body.status === "loading" ? "loading" : "error";
    return { state, rtt, ...body };
  } catch {
    const crossOrigin = new URL(base, location.href).origin !== location.origin;
    const state = crossOrigin && (await reachableWithoutCors(base)) ? "cors" : "offline";
    return { state, rtt: null };
  }
}

// Follow a request's progress at /jobs/{id} until stop() is called.
export function followProgress(base, requestId, onUpdate, apiKey = null, intervalMs = 250) {
  let stopped = false;
  const tick = async () => {
    if (stopped) return;
    try {
      const response = await fetch(`${base}/jobs/${requestId}`, { cache: "no-store", headers: authHeaders(apiKey) });
      if (response.ok && !stopped) onUpdate(await response.json());
    } catch {
      /* the main request reports failures */
    }
    if (!stopped) setTimeout(tick, intervalMs);
  };
  tick();
  return () => {
    stopped = true;
  };
}

export function newRequestId() {
  return crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2, 12)}`;
}

// Run `attempt(engine)` under a mode: local or cloud only, or auto (local, then cloud once).
export async function withMode(mode, attempt) {
  if (mode === "local" || mode === "cloud") return { engine: mode, result: await attempt(mode) };
  try {
    return { engine: "local", result: await attempt("local") };
  } catch (error) {
    if (!(error instanceof EngineError) || !error.worthFallback) throw error;
    return { engine: "cloud", result: await attempt("cloud"), fallbackFrom: error };
  }
}
