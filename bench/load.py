"""Overload a real `aura serve` on loopback and account for every request.

    python bench/load.py                          # the embedded model, 3× capacity for 120 s
    python bench/load.py --factor 3 --duration 120 --images 2

1. Starts `aura serve` (whatever SD_* the environment sets; the embedded model by default) with the
   per-client rate limit off, since every request here comes from one address.
2. Measures capacity: requests/s served back to back for ``--calibrate`` seconds.
3. Sends an open-loop stream at ``--factor`` × that rate for ``--duration`` seconds: requests leave
   on schedule whether or not earlier ones have answered, as independent users would.
4. Prints: sent, accepted (200), refused (429/503 with Retry-After), anything else (lost); latency
   percentiles of accepted requests; the server's resident memory over the run.

Bounded in count and time, loopback only. Exits non-zero if a request is unaccounted for.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
from engine_process import running_engine


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else float("nan")


@dataclass
class Sent:
    """What ``send_concurrently`` measured: images per second of wall time, each request's latency (s)
    and the replicas that answered (the ``x-aura-replica`` header; "-" where none)."""

    rate: float
    latencies: list[float]
    replicas: set[str]

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies)

    def p(self, q: float) -> float:
        return percentile(self.latencies, q)


def send_concurrently(url: str, bodies: list[dict], clients: int, timeout: float = 600) -> Sent:
    """POST every body to ``/generate`` from ``clients`` threads, a connection each."""
    latencies: list[float] = []
    replicas: set[str] = set()

    def send(body: dict) -> int:
        with httpx.Client(base_url=url, timeout=timeout) as client:
            started = time.perf_counter()
            response = client.post("/generate", json=body)
            latencies.append(time.perf_counter() - started)
            response.raise_for_status()
            replicas.add(response.headers.get("x-aura-replica", "-"))
            return len(response.json()["images"])

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        images = sum(pool.map(send, bodies))
    return Sent(images / (time.perf_counter() - started), latencies, replicas)


async def run(url: str, pid: int, args) -> int:
    body = {"prompt": "rainy neon city at night", "aspectRatio": "1:1", "temperature": 1, "numImages": args.images}
    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=100)
    async with httpx.AsyncClient(base_url=url, timeout=300, limits=limits) as client:
        # Capacity, back to back.
        started, served = time.perf_counter(), 0
        while time.perf_counter() - started < args.calibrate:
            response = await client.post("/generate", json=body)
            response.raise_for_status()
            served += 1
        capacity = served / (time.perf_counter() - started)
        rate = capacity * args.factor
        total = int(rate * args.duration)
        print(f"capacity: {capacity:.2f} requests/s ({args.images} images each); "
              f"offering {rate:.2f}/s ({args.factor:g}×) for {args.duration:.0f} s = {total} requests", flush=True)

        outcomes: list[tuple[str, float, int]] = []
        memory: list[float] = [rss_mib(pid)]

        async def one(index: int) -> None:
            sent_at = time.perf_counter()
            try:
                response = await client.post("/generate", json={**body, "seed": index})
            except httpx.HTTPError as error:
                outcomes.append((f"transport:{type(error).__name__}", time.perf_counter() - sent_at, 0))
                return
            latency = time.perf_counter() - sent_at
            if response.status_code == 200 and len(response.json()["images"]) == args.images:
                outcomes.append(("accepted", latency, 200))
            elif response.status_code in (429, 503) and "Retry-After" in response.headers:
                outcomes.append(("refused", latency, response.status_code))
            else:
                outcomes.append((f"status:{response.status_code}", latency, response.status_code))

        async def sample_memory() -> None:
            while True:
                await asyncio.sleep(2)
                memory.append(rss_mib(pid))

        sampler = asyncio.create_task(sample_memory())
        tasks = []
        begin = time.perf_counter()
        for index in range(total):
            delay = begin + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(index)))
        await asyncio.gather(*tasks)
        sampler.cancel()
        wall = time.perf_counter() - begin

    accepted = [lat for kind, lat, _ in outcomes if kind == "accepted"]
    refused = [lat for kind, lat, _ in outcomes if kind == "refused"]
    other = [kind for kind, _, _ in outcomes if kind not in ("accepted", "refused")]
    print(f"sent {total}, answered {len(outcomes)} in {wall:.1f} s")
    print(f"accepted {len(accepted)} ({len(accepted) / wall:.2f}/s), refused {len(refused)} "
          f"(429/503 with Retry-After), other {len(other)}")
    print(f"accepted + refused = {len(accepted) + len(refused)} of {total} sent: "
          f"{'every request accounted for' if len(accepted) + len(refused) == total else 'MISMATCH'}")
    if other:
        print("  other outcomes:", {kind: other.count(kind) for kind in set(other)})
    if accepted:
        print(f"accepted latency: p50 {statistics.median(accepted):.2f} s, p90 {percentile(accepted, 0.9):.2f} s, "
              f"p99 {percentile(accepted, 0.99):.2f} s, max {max(accepted):.2f} s")
    if refused:
        print(f"refusal latency: p50 {statistics.median(refused) * 1000:.0f} ms, p99 {percentile(refused, 0.99) * 1000:.0f} ms")
    steady = memory[len(memory) // 4:]
    print(f"server RSS: start {memory[0]:.0f} MiB, after the first quarter {steady[0]:.0f} MiB, "
          f"end {memory[-1]:.0f} MiB, max {max(memory):.0f} MiB ({len(memory)} samples)")
    return 0 if not other and len(accepted) + len(refused) == total else 1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--factor", type=float, default=3.0)
    parser.add_argument("--duration", type=float, default=120.0)
    parser.add_argument("--calibrate", type=float, default=10.0)
    parser.add_argument("--images", type=int, default=2)
    args = parser.parse_args()

    with running_engine({"AURA_RATE_LIMIT": "0"}) as engine:
        info = engine.health
        print(f"model: {info['model']} on {info['device']}; queue limit {info['queue']['max']}; "
              f"{os.cpu_count()} CPUs")
        code = asyncio.run(run(engine.url, engine.process.pid, args))
    raise SystemExit(code)


if __name__ == "__main__":
    main()
