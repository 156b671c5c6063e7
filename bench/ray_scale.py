"""Scale-out on Ray Serve against one `aura serve`, in one run: throughput and p50/p99 latency.

    python bench/ray_scale.py                      # the embedded model, 2 images, standard tier
    python bench/ray_scale.py --requests 48 --clients 8

The machine's cores split three ways, the same requests sent to each:

1. `aura serve` alone (no Ray): one process, torch on every core;
2. `aura serve --replicas 1` with AURA_REPLICA_CPUS = every core: one replica, as many threads;
3. `aura serve --replicas N` with AURA_REPLICA_CPUS=1: one replica per core, one thread each.

For each: 1 client (requests one by one) and ``--clients`` concurrent clients. (2) also at 2 and 4
clients, the load per replica that AURA_TARGET_ONGOING_REQUESTS is about. (1) against (2) is the
price of Ray (its HTTP proxy, the shared-state actor the rate limit asks on every request, the
replica header), also shown on `GET /health`, which runs no model; and the round trip of one
rate-limit call to the state actor, timed from here. The rate limit is on and never binding
(AURA_RATE_LIMIT=1000000), so that call is paid as in production.

The Ray cluster is started in this process as `aura serve --replicas` starts it (deployment.init_ray,
Serve's proxy on a free port).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import httpx
import ray
from engine_process import free_port, running_engine
from load import percentile, send_concurrently
from ray import serve

from aura_reflect.core.config import load_settings
from aura_reflect.scale import engine_app
from aura_reflect.scale.deployment import STATE_NAMESPACE, init_ray, state_name

APP = "aura-bench"
RATE = {"AURA_RATE_LIMIT": "1000000", "AURA_RATE_BURST": "1000000"}


def measure(url: str, bodies: list[dict], clients: int) -> dict:
    """images/s, p50 and p99 latency (s) of sending ``bodies`` from ``clients`` threads, and how many
    replicas answered."""
    sent = send_concurrently(url, bodies, clients)
    return {"rate": sent.rate, "p50": sent.p50, "p99": sent.p(0.99), "replicas": len(sent.replicas)}


def light(url: str, count: int = 200) -> float:
    """Median ms of GET /health, one after another on one connection."""
    times = []
    with httpx.Client(base_url=url, timeout=30) as client:
        for _ in range(count):
            started = time.perf_counter()
            client.get("/health").raise_for_status()
            times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=48, help="requests per concurrent measurement")
    parser.add_argument("--alone", type=int, default=12, help="requests one by one")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--images", type=int, default=2)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    prompts = ["rainy neon city at night", "warm pastel gradient with a yellow circle",
               "a purple night sky over dark mountains", "calm blue ocean"]
    bodies = [{"prompt": prompts[i % len(prompts)], "aspectRatio": "1:1", "resolution": "standard",
               "numImages": args.images, "seed": i} for i in range(args.requests)]
    rows: list[tuple[str, int, dict]] = []

    def row(label: str, clients: int, result: dict) -> None:
        rows.append((label, clients, result))
        print(f"{label:34s} {clients:7d} {result['rate']:9.2f} {result['p50']:7.3f} {result['p99']:7.3f} "
              f"{result['replicas']:8d}", flush=True)

    print(f"{cores} CPU cores; {args.images} images per request (standard, 1:1); "
          f"{args.requests} requests concurrent, {args.alone} one by one; model from SD_MODEL_ID or the embedded one")
    print(f"{'engine':34s} {'clients':>7s} {'images/s':>9s} {'p50 s':>7s} {'p99 s':>7s} {'replicas':>8s}")

    direct = f"aura serve ({cores} threads)"
    with running_engine(RATE) as engine:
        measure(engine.url, bodies[:2], 1)  # warm
        row(direct, 1, measure(engine.url, bodies[: args.alone], 1))
        row(direct, args.clients, measure(engine.url, bodies, args.clients))
        direct_health_ms = light(engine.url)

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    init_ray(num_cpus=cores, include_dashboard=False, log_to_driver=False)
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        configs = [(f"Ray: 1 replica × {cores} threads", 1, cores, [1, 2, 4, args.clients]),
                   (f"Ray: {cores} replicas × 1 thread", cores, 1, [1, args.clients])]
        for label, replicas, cpus, client_counts in configs:
            settings = load_settings(AURA_MIN_REPLICAS=replicas, AURA_REPLICA_CPUS=cpus, **RATE)
            started = time.monotonic()
            serve.run(engine_app(settings), name=APP, route_prefix="/")
            ready_s = time.monotonic() - started
            measure(url, bodies[: 2 * replicas], 2 * replicas)  # warm every replica
            for clients in client_counts:
                row(label, clients, measure(url, bodies[: args.alone] if clients == 1 else bodies, clients))
            if replicas == 1:
                ray_health_ms = light(url)
                state = ray.get_actor(state_name(APP), namespace=STATE_NAMESPACE)
                trips = []
                for _ in range(500):
                    t0 = time.perf_counter()
                    ray.get(state.acquire.remote("bench"))
                    trips.append(time.perf_counter() - t0)
            print(f"  ({label}: application ready in {ready_s:.1f} s)", flush=True)
            serve.delete(APP)
    finally:
        serve.shutdown()
        ray.shutdown()

    def find(label_start: str, clients: int) -> dict:
        return next(r for label, c, r in rows if label.startswith(label_start) and c == clients)

    one_wide = find("Ray: 1 replica", args.clients)
    many = find(f"Ray: {cores} replicas", args.clients)
    alone_direct, alone_ray = find("aura serve", 1), find("Ray: 1 replica", 1)
    print(f"throughput with {args.clients} clients, {cores} replicas × 1 thread / 1 replica × {cores} threads: "
          f"{many['rate'] / one_wide['rate']:.2f}×")
    print(f"throughput with {args.clients} clients, Ray 1 replica / aura serve: "
          f"{one_wide['rate'] / find('aura serve', args.clients)['rate']:.2f}×")
    extra_ms = (alone_ray["p50"] - alone_direct["p50"]) * 1000
    print(f"one client, p50 latency Ray 1 replica − aura serve: {extra_ms:+.0f} ms")
    print(f"GET /health median: aura serve {direct_health_ms:.1f} ms, through Ray's proxy {ray_health_ms:.1f} ms "
          f"({ray_health_ms - direct_health_ms:+.1f} ms)")
    print(f"rate-limit call to the state actor (ray.get from the driver): median "
          f"{statistics.median(trips) * 1000:.2f} ms, p99 {percentile(trips, 0.99) * 1000:.2f} ms")


if __name__ == "__main__":
    main()
