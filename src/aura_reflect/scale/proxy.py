"""What Ray Serve's HTTP proxy answers when the replica running a request dies.

A replica's process can die under a request: killed, out of host memory, its node lost. The proxy
then holds a ``RayActorError`` and nothing to send, so the client got uvicorn's bare
``500 Internal Server Error`` (text/plain): not the engine's error shape, and a client cannot tell
it from a bug. The request was lost, not failed, and another replica (or the one Ray starts in its
place) can run it: ``ReplicaLost`` answers it ``503 unavailable`` with ``Retry-After`` instead.

It runs in the proxy, the only place that sees the failure: Serve imports ``middlewares`` in every
proxy process when ``RAY_SERVE_HTTP_PROXY_CALLBACK_IMPORT_PATH`` names it in that process's
environment. ``aura serve --replicas`` sets it (``deployment.init_ray``); on an existing cluster it
must be in the environment of ``ray start`` on each node running a proxy (deploy/ray/Dockerfile sets
it). The proxy also applies the engine's CORS rule (core/cors.py) to what it answers itself. Kept
free of the engine's heavy imports: the proxy loads no model.
"""

from __future__ import annotations

import json
import logging

from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

CALLBACK_VARIABLE = "RAY_SERVE_HTTP_PROXY_CALLBACK_IMPORT_PATH"
CALLBACK = "aura_reflect.scale.proxy:middlewares"
# The other replicas can take the request at once; with none left, Serve holds it until Ray has
# started a new one.
RETRY_AFTER_S = 2
MESSAGE = "the engine replica running this request stopped before answering; it did not complete, send it again"


def lost_response() -> tuple[Message, Message]:
    """The engine's error shape (api/errors.py), written out: the proxy does not import the engine."""
    body = json.dumps(
        {
            "error": {"type": "unavailable", "message": MESSAGE, "field": None, "param": None, "code": "unavailable"},
            "detail": MESSAGE,
        }
    ).encode()
    start = {
        "type": "http.response.start",
        "status": 503,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(RETRY_AFTER_S).encode()),
        ],
    }
    return start, {"type": "http.response.body", "body": body}


class ReplicaLost:
    """ASGI middleware around Serve's proxy: a request the proxy ends without any response, while the
    client is still there, gets ``503`` + ``Retry-After``.

    Every answer the engine makes starts a response (its errors included: api/errors.py), and the
    proxy's own refusals (503 no replica, 408 timeout) do too; nothing is sent only when the replica
    was lost. A client that went away (the proxy's 499) gets nothing, as before."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        disconnected = False

        async def watch_receive() -> Message:
            nonlocal disconnected
            message = await receive()
            if message["type"] == "http.disconnect":
                disconnected = True
            return message

        async def watch_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, watch_receive, watch_send)
        if not started and not disconnected:
            log.warning("%s %s: the replica was lost; answering 503", scope.get("method"), scope.get("path"))
            for message in lost_response():
                await send(message)


def middlewares() -> list[Middleware]:
    """The proxy callback (``RAY_SERVE_HTTP_PROXY_CALLBACK_IMPORT_PATH``): Starlette middlewares for
    every Serve HTTP proxy. CORS outermost, by the engine's own rule read from this process's
    environment (``init_ray`` passes the bind address), so that every refusal reaches a browser."""
    from ..core.config import Settings
    from ..core.cors import ProxyCORS, cors_middleware

    cors = cors_middleware(Settings(), ProxyCORS)
    return ([cors] if cors is not None else []) + [Middleware(ReplicaLost)]
