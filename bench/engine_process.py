"""Start a real `aura serve` on a free loopback port for a benchmark, and wait until it is healthy."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


@dataclass
class Engine:
    process: subprocess.Popen
    url: str
    health: dict  # the first healthy /health answer
    startup_seconds: float  # process start to that answer


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_engine(env: dict[str, str] | None = None, timeout: float = 120):
    """`aura serve` with the environment plus ``env`` (offline); terminated on exit."""
    port = free_port()
    aura = str(Path(sys.executable).with_name("aura"))
    started = time.perf_counter()
    process = subprocess.Popen([aura, "serve", "--port", str(port)],
                               env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                health = httpx.get(f"{url}/health", timeout=2)
                if health.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("engine did not become healthy")
            time.sleep(0.05)
        yield Engine(process, url, health.json(), time.perf_counter() - started)
    finally:
        process.terminate()
        process.wait(60)
