"""Who may call the engine from a browser: one rule for the engine's app and for Ray Serve's proxy.

Kept free of the engine's heavy imports: the proxy (scale/proxy.py) loads no model.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.types import Message, Send

from .config import Settings

# Pages served from this machine, on any port: what the original Aura Reflect backend allowed.
LOCAL_ORIGIN_REGEX = r"https?://(localhost|127\.0\.0\.1)(:[0-9]{1,5})?"


def cors_origins(settings: Settings) -> dict | None:
    """The ALLOW_ORIGINS list when set; else, when the engine listens on loopback only, pages on
    localhost / 127.0.0.1 at any port, never with credentials; else (a public interface) nobody."""
    if settings.allow_origins:
        return {"allow_origins": settings.allow_origins, "allow_credentials": settings.cors_credentials}
    if settings.loopback_only:
        return {"allow_origin_regex": LOCAL_ORIGIN_REGEX, "allow_credentials": False}
    return None


def cors_middleware(settings: Settings, cls: type[CORSMiddleware] = CORSMiddleware) -> Middleware | None:
    """The CORS middleware for these settings (None: no browser origin is allowed). Refusals (413,
    429, 503 …) carry the allow headers too, and a browser may read their ``Retry-After``."""
    origins = cors_origins(settings)
    if origins is None:
        return None
    return Middleware(
        cls,
        **origins,
        allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
        allow_headers=["Content-Type", "Authorization"],
        expose_headers=["Retry-After"],
        max_age=600,
    )


class ProxyCORS(CORSMiddleware):
    """The same rule in front of Ray Serve's proxy, for what the proxy answers itself (no replica:
    503; timeout: 408; a lost replica: scale/proxy.py's 503), which a browser could otherwise not
    read. A replica's answer already passed the engine's own CORS and goes through untouched."""

    async def send(self, message: Message, send: Send, request_headers: Headers) -> None:
        if message["type"] == "http.response.start":
            headers = Headers(raw=message.get("headers", []))
            if "access-control-allow-origin" in headers or "origin" in headers.get("vary", "").lower():
                await send(message)
                return
        await super().send(message, send, request_headers)
