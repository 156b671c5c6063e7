"""Test helpers: run the real app under uvicorn on a free port, in this process."""

from __future__ import annotations

import base64
import io
import os
import socket
import threading
import time
from contextlib import contextmanager

import httpx
import uvicorn
from PIL import Image

from aura_reflect.app import create_app
from aura_reflect.core.config import Settings, load_settings


@contextmanager
def patched_env(**env: str):
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def settings_from_env(**env: str) -> Settings:
    """Settings read from environment variables, exactly as `aura serve` reads them."""
    with patched_env(**env):
        return load_settings()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EngineServer:
    """The engine app under uvicorn in a thread; ``app.state`` stays reachable for fault injection.

    It listens on ``host`` (loopback unless a test binds every interface), and the app is built
    knowing that address, as `aura serve` builds it."""

    def __init__(self, settings: Settings, wait_ready: bool = True, port: int | None = None,
                 host: str = "127.0.0.1", **app_kwargs):
        self.settings = settings.model_copy(update={"host": host})
        self.app = create_app(self.settings, **app_kwargs)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = uvicorn.Server(
            uvicorn.Config(self.app, host=host, port=self.port, log_level="warning", lifespan="on",
                           proxy_headers=False)  # as `aura serve` runs it
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._wait_ready = wait_ready
        self.client = httpx.Client(base_url=self.url, timeout=120)

    @property
    def worker(self):
        return self.app.state.worker

    def __enter__(self) -> "EngineServer":
        self._thread.start()
        deadline = time.monotonic() + 60
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        if self._wait_ready and not self.worker.wait_ready(60):
            raise RuntimeError(f"model did not load: {self.worker.error}")
        return self

    def __exit__(self, *exc) -> None:
        self.client.close()
        self._server.should_exit = True
        self._thread.join(30)


def png_b64(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def decode_png(data: str) -> Image.Image:
    raw = base64.b64decode(data, validate=True)
    assert raw[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    image = Image.open(io.BytesIO(raw))
    image.load()
    return image


def gradient_image(width: int, height: int, flip: bool = False) -> Image.Image:
    import numpy as np

    x = np.linspace(0, 255, width, dtype=np.float32)
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    red = np.broadcast_to(x, (height, width))
    green = np.broadcast_to(y, (height, width))
    blue = 255 - red if not flip else red
    pixels = np.stack([red, green, blue], axis=-1).astype("uint8")
    return Image.fromarray(pixels[:, ::-1] if flip else pixels)
