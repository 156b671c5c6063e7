"""A small Python client for Aura Reflect engines, with the studio's Local / Cloud / Auto rules.

    from aura_reflect.client import AutoClient, EngineClient

    local = EngineClient("http://localhost:8000", retries=3)   # 429/503: wait Retry-After, try again
    result = local.generate("rainy afternoon in Tokyo", aspect_ratio="16:9", num_images=2, seed=7)
    result.images[0].save("tokyo.png")

    auto = AutoClient(local, EngineClient("https://you-aura-engine.hf.space"))
    result = auto.generate("darker, more neon")   # local first, the cloud once if local fails
    print(result.engine)                            # "local" or "cloud"

Every failure is an ``EngineError``; ``parse_error(status, payload)`` is the one place that maps an
engine's error response to the exception tree.
"""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from PIL import Image


# --- exceptions ------------------------------------------------------------------------------
class EngineError(Exception):
    """Base class for every client failure."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.status = status


class EngineUnavailable(EngineError):
    """No answer: connection refused, DNS, TLS, or a timeout."""


class Overloaded(EngineError):
    """503/429: busy, loading or out of memory. ``retry_after`` in seconds when the engine said."""

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(message, status)
        self.retry_after = retry_after


class InvalidRequest(EngineError):
    """422/413/404: the request itself is wrong; ``field`` names the culprit when known."""

    def __init__(self, message: str, status: int | None = None, field: str | None = None):
        super().__init__(message, status)
        self.field = field


class Unauthorized(EngineError):
    """401/403: a missing or wrong API key."""


class Cancelled(EngineError):
    """499: the request was cancelled on the engine."""


class ServerError(EngineError):
    """5xx other than 503: the engine failed."""


def parse_error(status: int, payload: Any, retry_after: str | None = None) -> EngineError:
    """Map an engine's error response (status and JSON body) to the exception tree."""
    detail = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(detail, dict):
        message = str(detail.get("message") or payload.get("detail") or f"HTTP {status}")
        field_name = detail.get("field")
    else:
        message = str(payload.get("detail") if isinstance(payload, dict) and payload.get("detail") else f"HTTP {status}")
        field_name = None
    if status in (401, 403):
        return Unauthorized(message, status)
    if status in (429, 503):
        seconds = None
        if retry_after:
            try:
                seconds = float(retry_after)
            except ValueError:
                seconds = None
        return Overloaded(message, status, seconds)
    if status == 499:
        return Cancelled(message, status)
    if status in (400, 404, 413, 415, 422):
        return InvalidRequest(message, status, field_name)
    if status >= 500:
        return ServerError(message, status)
    return EngineError(message, status)


# --- results ---------------------------------------------------------------------------------
@dataclass
class GenerationResult:
    images: list[Image.Image]
    seeds: list[int]
    model: str
    width: int
    height: int
    steps: int
    guidance_scale: float
    timings: dict[str, float] = field(default_factory=dict)
    engine: str | None = None  # which engine served it ("local" / "cloud" with AutoClient)
    # Per image, its dominant colours [{"hex": "#rrggbb", "share": 0.31}, ...]; empty from an
    # engine older than palettes.
    palettes: list[list[dict[str, Any]]] = field(default_factory=list)


def _decode(data: str) -> Image.Image:
    image = Image.open(io.BytesIO(base64.b64decode(data)))
    image.load()
    return image


def _encode(image: Image.Image | bytes | str) -> str:
    if isinstance(image, str):  # a path
        with open(image, "rb") as handle:
            return base64.b64encode(handle.read()).decode("ascii")
    if isinstance(image, bytes):
        return base64.b64encode(image).decode("ascii")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _body(fields: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """A request body with the unset (None) fields left out, and `config` only when it sets something."""
    body = {key: value for key, value in fields.items() if value is not None}
    config = {key: value for key, value in config.items() if value is not None}
    if config:
        body["config"] = config
    return body


# --- clients ---------------------------------------------------------------------------------
class EngineClient:
    """One engine. ``retries``: how many times a request refused with 429 or 503 (``Overloaded``: it
    did not run) is sent again, each after the engine's ``Retry-After`` (1 s if it gave none, at most
    ``max_retry_wait`` s); 0 raises at once. Timeouts and unreachable engines are never retried: the
    work may be running. ``on_retry`` is called with each refusal before its retry (to log it).
    ``headers`` go with every request."""

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        timeout: float = 300.0,
        name: str | None = None,
        retries: int = 0,
        max_retry_wait: float = 60.0,
        on_retry: Callable[[Overloaded], None] | None = None,
        headers: dict[str, str] | None = None,
    ):
        if retries < 0:
            raise ValueError(f"retries must be 0 or more, got {retries}")
        self.url = url.rstrip("/")
        self.name = name
        self.retries = retries
        self.max_retry_wait = max_retry_wait
        self.on_retry = on_retry
        headers = {**(headers or {}), **({"Authorization": f"Bearer {api_key}"} if api_key else {})}
        self._http = httpx.Client(base_url=self.url, timeout=timeout, headers=headers)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "EngineClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _request(self, method: str, path: str, **kwargs) -> Any:
        for attempt in range(self.retries + 1):
            try:
                return self._request_once(method, path, **kwargs)
            except Overloaded as error:
                if attempt == self.retries:
                    raise
                if self.on_retry is not None:
                    self.on_retry(error)
                time.sleep(min(error.retry_after if error.retry_after is not None else 1.0, self.max_retry_wait))
        raise AssertionError("unreachable")

    def _request_once(self, method: str, path: str, **kwargs) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as error:
            raise EngineUnavailable(f"{self.url} did not answer in time: {error}") from None
        except httpx.TransportError as error:
            raise EngineUnavailable(f"{self.url} is unreachable: {error}") from None
        try:
            payload = response.json()
        except ValueError:
            payload = {"detail": response.text[:200]}
        if response.status_code >= 400:
            raise parse_error(response.status_code, payload, response.headers.get("Retry-After"))
        return payload

    def health(self) -> dict[str, Any]:
        """The engine's /health; a loading engine raises ``Overloaded`` (503)."""
        return self._request("GET", "/health")

    def generate(
        self,
        prompt: str,
        aspect_ratio: str = "Auto",
        temperature: float = 1.0,
        resolution: str = "standard",
        num_images: int | None = None,
        seed: int | None = None,
        negative_prompt: str | None = None,
        steps: int | None = None,
        guidance_scale: float | None = None,
        request_id: str | None = None,
    ) -> GenerationResult:
        body = _body(
            {"prompt": prompt, "aspectRatio": aspect_ratio, "temperature": temperature, "resolution": resolution,
             "numImages": num_images, "seed": seed, "negativePrompt": negative_prompt, "requestId": request_id},
            {"steps": steps, "guidanceScale": guidance_scale},
        )
        return self._result(self._request("POST", "/generate", json=body))

    def refine(
        self,
        images: list[Image.Image | bytes | str],
        prompt: str,
        strength: float | None = None,
        steps: int | None = None,
        guidance_scale: float | None = None,
        seed: int | None = None,
        request_id: str | None = None,
    ) -> GenerationResult:
        body = _body(
            {"refinePrompt": prompt, "images": [_encode(image) for image in images], "seed": seed,
             "requestId": request_id},
            {"steps": steps, "guidanceScale": guidance_scale, "strength": strength},
        )
        return self._result(self._request("POST", "/refine", json=body))

    def progress(self, request_id: str) -> dict[str, Any] | None:
        try:
            return self._request("GET", f"/jobs/{request_id}")
        except InvalidRequest:
            return None

    def cancel(self, request_id: str) -> bool:
        try:
            self._request("DELETE", f"/jobs/{request_id}")
            return True
        except InvalidRequest:
            return False

    def _result(self, payload: dict[str, Any]) -> GenerationResult:
        return GenerationResult(
            images=[_decode(data) for data in payload["images"]],
            seeds=payload.get("seeds", []),
            model=payload.get("model", ""),
            width=payload.get("width", 0),
            height=payload.get("height", 0),
            steps=payload.get("steps", 0),
            guidance_scale=payload.get("guidanceScale", 0.0),
            timings=payload.get("timings", {}),
            engine=self.name,
            palettes=payload.get("palettes", []),
        )


# Errors after which Auto moves to the cloud: the request could succeed there.
FALLBACK_ERRORS = (EngineUnavailable, Overloaded, ServerError)


class AutoClient:
    """Local first; on a connection error, timeout, 5xx or overload, the cloud once."""

    def __init__(self, local: EngineClient, cloud: EngineClient):
        self.local, self.cloud = local, cloud
        local.name = local.name or "local"
        cloud.name = cloud.name or "cloud"
        self.last_fallback: EngineError | None = None

    def _run(self, method: str, *args, **kwargs) -> GenerationResult:
        self.last_fallback = None
        try:
            return getattr(self.local, method)(*args, **kwargs)
        except FALLBACK_ERRORS as error:
            self.last_fallback = error
            return getattr(self.cloud, method)(*args, **kwargs)

    def generate(self, *args, **kwargs) -> GenerationResult:
        return self._run("generate", *args, **kwargs)

    def refine(self, *args, **kwargs) -> GenerationResult:
        return self._run("refine", *args, **kwargs)

    def health(self) -> dict[str, dict[str, Any] | str]:
        out: dict[str, dict[str, Any] | str] = {}
        for client in (self.local, self.cloud):
            try:
                out[client.name or client.url] = client.health()
            except EngineError as error:
                out[client.name or client.url] = f"{type(error).__name__}: {error.message}"
        return out
