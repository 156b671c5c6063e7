"""Start a real `aura serve` on a free loopback port for a benchmark, and wait until it is healthy."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass

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
    started = time.perf_counter()
    # `python -m aura_reflect` rather than the `aura` script: the same interpreter, also where the
    # package was installed without console scripts (pip --target on a GPU box).
    log = tempfile.TemporaryFile()  # the engine's output, shown if it fails to start
    process = subprocess.Popen([sys.executable, "-m", "aura_reflect", "serve", "--port", str(port)],
                               env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})},
                               stdout=log, stderr=subprocess.STDOUT)
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
                log.seek(0)
                tail = log.read().decode(errors="replace")[-3000:]
                raise SystemExit(f"engine did not become healthy within {timeout:.0f} s; its output:\n{tail}")
            time.sleep(0.05)
        yield Engine(process, url, health.json(), time.perf_counter() - started)
    finally:
        process.terminate()
        process.wait(60)
        log.close()
