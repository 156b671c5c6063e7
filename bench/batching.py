"""Micro-batching: 8 concurrent clients vs the same requests one by one, batching off and on, one run.

    python bench/batching.py                      # the embedded model on this machine
    python bench/batching.py --requests 32 --images 1 --wait-ms 0

For each engine configuration (AURA_MAX_BATCH=1, i.e. off; then AURA_MAX_BATCH=8 with
AURA_BATCH_WAIT_MS) a real `aura serve` is started and sent the same requests twice: one by one, then
from ``--clients`` concurrent clients. Prints images/s and p50/p95 latency for each, and the ratios.
"""

from __future__ import annotations

import argparse
import os

from engine_process import running_engine
from load import send_concurrently


def measure(url: str, bodies: list[dict], clients: int) -> tuple[float, float, float]:
    """images/s, p50 and p95 latency (s) of sending ``bodies`` from ``clients`` threads."""
    sent = send_concurrently(url, bodies, clients, timeout=300)
    return sent.rate, sent.p50, sent.p(0.95)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=32)
    parser.add_argument("--images", type=int, default=1)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--max-batch", type=int, default=8)
    parser.add_argument("--wait-ms", type=float, default=0, help="AURA_BATCH_WAIT_MS of the batching engine")
    args = parser.parse_args()
    prompts = ["rainy neon city at night", "warm pastel gradient with a yellow circle",
               "a purple night sky over dark mountains", "calm blue ocean"]
    bodies = [{"prompt": prompts[i % len(prompts)], "aspectRatio": "1:1", "temperature": 1,
               "numImages": args.images, "seed": i} for i in range(args.requests)]
    configs = [("batching off", {"AURA_MAX_BATCH": "1"}),
               (f"batching on ({args.max_batch}, {args.wait_ms:g} ms)",
                {"AURA_MAX_BATCH": str(args.max_batch), "AURA_BATCH_WAIT_MS": str(args.wait_ms)})]
    print(f"{args.requests} requests × {args.images} image(s), {os.cpu_count()} CPUs; model from SD_MODEL_ID "
          f"or the embedded one")
    print(f"{'engine':28s} {'clients':>7s} {'images/s':>9s} {'p50 s':>7s} {'p95 s':>7s}")
    results = {}
    for label, env in configs:
        with running_engine({"AURA_RATE_LIMIT": "0", **env}) as engine:
            measure(engine.url, bodies[:4], 1)  # warm
            for clients in (1, args.clients):
                rate, p50, tail = measure(engine.url, bodies, clients)
                results[(label, clients)] = rate
                print(f"{label:28s} {clients:7d} {rate:9.2f} {p50:7.3f} {tail:7.3f}", flush=True)
    off, on = configs[0][0], configs[1][0]
    print(f"throughput with {args.clients} clients, batching on / off: "
          f"{results[(on, args.clients)] / results[(off, args.clients)]:.2f}×")
    print(f"batching on: {args.clients} clients / one by one: "
          f"{results[(on, args.clients)] / results[(on, 1)]:.2f}×")


if __name__ == "__main__":
    main()
