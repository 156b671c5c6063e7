"""Request limits: the body size cap (pure ASGI middleware), the per-client rate limit, and the
slots that bound CPU work done in threads across all clients."""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import OrderedDict
from typing import Callable, TypeVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import QueueFull
from .errors import error_response

T = TypeVar("T")


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self):
        limit_mb = self.max_bytes / 2**20
        return error_response(
            413, "payload_too_large", f"body: request body exceeds {limit_mb:g} MiB (AURA_MAX_BODY_MB)", "body"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large()(scope, receive, send)
            return
        # Read the body ourselves, counting, so a chunked upload cannot exceed the limit either.
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large()(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class RateLimiter:
    """Token buckets per client: ``per_minute`` sustained, ``burst`` at once; bounded memory."""

    def __init__(self, per_minute: float, burst: int, max_clients: int = 10_000):
        self.rate = per_minute / 60.0
        self.burst = burst
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def acquire(self, client: str) -> int | None:
        """Take a token; None if allowed, else the seconds until one is available."""
        if self.rate <= 0:
            return None
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.pop(client, (float(self.burst), now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            allowed = tokens >= 1
            if allowed:
                tokens -= 1
            self._buckets[client] = (tokens, now)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)  # forget the least recently seen client
        return None if allowed else max(1, math.ceil((1 - tokens) / self.rate))


def client_identity(scope_client: tuple[str, int] | None, forwarded_for: str | None, trust_proxy: bool) -> str:
    """The socket's address, or with a trusted proxy in front (Spaces), the address it appended last
    to X-Forwarded-For (entries before it come from the client and can be forged)."""
    if trust_proxy and forwarded_for:
        return forwarded_for.split(",")[-1].strip()
    return scope_client[0] if scope_client else "unknown"


class ThreadSlots:
    """At most ``running`` calls in threads at once and ``waiting`` more in line, across all clients;
    a call beyond that is refused with QueueFull (503, Retry-After from the smoothed duration of a
    call). A call accepted always runs to its end and frees its slot only then, even if the request
    that made it is cancelled meanwhile, so cancellations cannot push more work onto the cores."""

    def __init__(self, what: str, running: int, waiting: int, setting: str):
        self.what, self.running, self.waiting, self.setting = what, running, waiting, setting
        self._admitted = 0
        self._semaphore = asyncio.Semaphore(running)
        self._seconds = 1.0  # one call's duration, smoothed; seeds Retry-After before the first call

    async def run(self, fn: Callable[..., T], *args) -> T:
        if self._admitted >= self.running + self.waiting:
            retry = max(1, math.ceil(self._seconds * (self.waiting // self.running + 1)))
            raise QueueFull(f"{self._admitted} {self.what} being drawn or waiting, the most {self.setting} allows; "
                            f"retry in {retry} s", retry_after=retry)
        self._admitted += 1
        try:
            await self._semaphore.acquire()
        except BaseException:
            self._admitted -= 1
            raise
        started = time.perf_counter()
        task = asyncio.ensure_future(asyncio.to_thread(fn, *args))

        def finished(done: asyncio.Future) -> None:
            self._seconds = 0.7 * self._seconds + 0.3 * (time.perf_counter() - started)
            self._admitted -= 1
            self._semaphore.release()
            if not done.cancelled():
                done.exception()  # retrieved: the request's own await reports it, if still there

        task.add_done_callback(finished)
        return await asyncio.shield(task)
