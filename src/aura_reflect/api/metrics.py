"""Prometheus metrics: one registry per app, served at ``GET /metrics``.

Counted where the facts are: HTTP requests in a middleware (by route template, so request ids do not
explode the label space), the time split of each image response in the serving layer, images per
pipeline call in the worker, queue depth and model load time read when scraped.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Seconds: from a few milliseconds (encoding) to minutes (a CPU at the high tier).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class EngineMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "aura_http_requests", "HTTP requests by endpoint and status code", ["method", "endpoint", "status"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "aura_http_request_seconds", "Wall time of HTTP requests", ["method", "endpoint"],
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.queue_wait = Histogram(
            "aura_queue_wait_seconds", "Time a job waited for the device", buckets=LATENCY_BUCKETS, registry=self.registry
        )
        self.generation = Histogram(
            "aura_generation_seconds", "Pipeline time of a job (its batch's call)", buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.encode = Histogram(
            "aura_encode_seconds", "Encoding a job's images and base64", buckets=LATENCY_BUCKETS, registry=self.registry
        )
        self.batch_images = Histogram(
            "aura_batch_images", "Images per pipeline call (micro-batching)", buckets=(1, 2, 3, 4, 6, 8, 12, 16, 32, 64),
            registry=self.registry,
        )
        self.images = Counter("aura_images_generated", "Images returned to clients", ["endpoint"], registry=self.registry)
        self.queue_depth = Gauge("aura_queue_depth", "Jobs waiting for the device", registry=self.registry)
        self.running = Gauge("aura_running_jobs", "Jobs in the running batch", registry=self.registry)
        self.model_load = Gauge(
            "aura_model_load_seconds", "Load (and warm-up) time of the resident model", registry=self.registry
        )

    def collector(self):
        """What ``GET /metrics`` renders: this process's registry (on Ray Serve, every replica's)."""
        return self.registry

    def bind_worker(self, worker) -> None:
        """Gauges read the worker when scraped; the worker reports each batch's size."""
        self.queue_depth.set_function(lambda: worker.depth)
        self.running.set_function(lambda: len(worker.batch))
        self.model_load.set_function(lambda: worker.model.load_seconds if worker.model is not None else 0.0)
        worker.on_batch = self.batch_images.observe


class RequestMetrics:
    """ASGI middleware: count and time every HTTP request by its route template."""

    def __init__(self, app: ASGIApp, metrics: EngineMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            endpoint = getattr(route, "path", None) or ("static" if scope["method"] == "GET" else "unmatched")
            method = scope["method"]
            self.metrics.requests.labels(method, endpoint, str(status["code"])).inc()
            self.metrics.request_seconds.labels(method, endpoint).observe(time.perf_counter() - started)
