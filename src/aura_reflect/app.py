"""The FastAPI application: settings in, engine built in the lifespan and kept on ``app.state``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from . import __version__
from .api.boards.router import router as boards_router
from .api.errors import install_error_handlers
from .api.limits import BodySizeLimit, RateLimiter, ThreadSlots
from .api.metrics import EngineMetrics, RequestMetrics
from .api.openai.router import router as openai_router
from .api.router import router
from .api.serving import ServingEngine
from .core.config import Settings, get_settings
from .core.cors import cors_middleware
from .engine.loader import LoadedModel, load_model
from .engine.worker import EngineWorker

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent / "web"


def create_app(
    settings: Settings | None = None,
    *,
    loader: Callable[..., LoadedModel] = load_model,
    worker_factory: Callable[..., EngineWorker] = EngineWorker,
    rate_limiter: RateLimiter | None = None,
    metrics: EngineMetrics | None = None,
) -> FastAPI:
    """Build the app. ``loader`` loads a model from settings (tests pass one that can be held back).
    The other three are where a replica of a scaled-out engine (aura_reflect.scale) shares state
    with the others (its jobs, the clients' rate, the metrics); by default all live in this process.
    ``rate_limiter`` is anything with RateLimiter's ``acquire(client)``."""
    settings = settings or get_settings()
    metrics = metrics or EngineMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # The model loads on the worker thread, so /health answers "loading" meanwhile.
        worker = worker_factory(settings, loader=loader)
        app.state.settings = settings
        app.state.rate_limiter = rate_limiter or RateLimiter(settings.rate_limit_per_min, settings.rate_burst)
        app.state.worker = worker
        app.state.metrics = metrics
        metrics.bind_worker(worker)
        app.state.serving = ServingEngine(settings, worker, metrics)
        app.state.board_slots = ThreadSlots("boards", settings.max_boards, settings.max_queue,
                                            "AURA_MAX_BOARDS + AURA_MAX_QUEUE")
        worker.start()
        try:
            yield
        finally:
            worker.stop()

    app = FastAPI(
        title="Aura Reflect Engine",
        version=__version__,
        description="Moodboard image generation: text to image, image refinement, boards, engine health.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(router)
    app.include_router(openai_router)
    app.include_router(boards_router)
    # The web UI: static files from the package, mounted last so the API routes win.
    app.mount("/", StaticFiles(directory=WEB_DIR, html=True), name="web")
    app.add_middleware(BodySizeLimit, max_bytes=int(settings.max_body_mb * 2**20))
    app.add_middleware(RequestMetrics, metrics=metrics)  # outside the body limit: 413s are counted
    # CORS outermost, so that refusals (413, 503 ...) reach a browser with their allow headers.
    cors = cors_middleware(settings)
    if cors is not None:
        app.add_middleware(cors.cls, *cors.args, **cors.kwargs)
    return app
