"""Ray Serve autoscaling, timed: how long a sustained load takes to bring up a second replica, and
idleness to take it down again.

    python bench/ray_autoscale.py                                   # the embedded model
    python bench/ray_autoscale.py --upscale-delay 0 --downscale-delay 0 --look-back 2
    python bench/ray_autoscale.py --cycles 2                        # up and down twice

A local Ray cluster in this process (as `aura serve --replicas` starts one), one application with
AURA_MIN_REPLICAS=1, AURA_MAX_REPLICAS=2 and the delays given (default: the engine's settings, from
the environment). Then, each cycle: ``--clients`` closed-loop clients send /generate (``--images``
images, standard tier) until Serve runs 2 replicas and the second has answered, then stop. Prints,
from the start of the load: Serve's decision (a second replica asked for), the second replica
running, and its first answer; from the end of the load: the decision to go back to one, and one
left. Also the time one replica takes to start (Ray's actor, imports, model load), which bounds
every scale-up from below.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import ray
from ray import serve

from aura_reflect.core.config import load_settings
from aura_reflect.scale import engine_app
from aura_reflect.scale.deployment import init_ray
from engine_process import free_port

APP = "aura-autoscale"


def replicas() -> tuple[int, int, int]:
    """(replicas Serve wants, running, stopping) of the engine's deployment."""
    states = dict(serve.status().applications[APP].deployments["AuraEngine"].replica_states)
    wanted = sum(states.get(state, 0) for state in ("RUNNING", "STARTING", "UPDATING", "PENDING_MIGRATION"))
    return wanted, states.get("RUNNING", 0), states.get("STOPPING", 0)


def wait_until(check, since: float, timeout: float, poll: float = 0.25) -> float | None:
    """Seconds from ``since`` (a time.monotonic()) until ``check()`` is true; None after ``timeout``."""
    while time.monotonic() - since < timeout:
        if check():
            return time.monotonic() - since
        time.sleep(poll)
    return None


def show(value: float | None) -> str:
    return f"{value:.1f} s" if value is not None else "—"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--images", type=int, default=2)
    parser.add_argument("--cycles", type=int, default=1)
    parser.add_argument("--upscale-delay", type=float, help="AURA_UPSCALE_DELAY_S (default: the setting)")
    parser.add_argument("--downscale-delay", type=float, help="AURA_DOWNSCALE_DELAY_S (default: the setting)")
    parser.add_argument("--look-back", type=float, help="AURA_AUTOSCALE_LOOK_BACK_S (default: the setting)")
    parser.add_argument("--replica-cpus", default="1", help="AURA_REPLICA_CPUS")
    parser.add_argument("--timeout", type=float, default=900, help="give up on a transition after this long")
    args = parser.parse_args()

    overrides = {"AURA_MIN_REPLICAS": 1, "AURA_MAX_REPLICAS": 2, "AURA_REPLICA_CPUS": args.replica_cpus,
                 "AURA_RATE_LIMIT": 0}
    for name, value in (("AURA_UPSCALE_DELAY_S", args.upscale_delay), ("AURA_DOWNSCALE_DELAY_S", args.downscale_delay),
                        ("AURA_AUTOSCALE_LOOK_BACK_S", args.look_back)):
        if value is not None:
            overrides[name] = value
    settings = load_settings(**overrides)
    port = free_port()
    init_ray(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        started = time.monotonic()
        serve.run(engine_app(settings), name=APP, route_prefix="/")
        first_start = time.monotonic() - started
        url = f"http://127.0.0.1:{port}"
        print(f"model: {httpx.get(f'{url}/health').json()['model']}, {os.cpu_count()} CPU cores, "
              f"{args.clients} clients × {args.images} images (standard)")
        print(f"autoscaling: min 1, max 2, target_ongoing_requests {settings.target_ongoing_requests:g}, "
              f"upscale_delay_s {settings.upscale_delay_s:g}, downscale_delay_s {settings.downscale_delay_s:g}, "
              f"look_back_period_s {settings.autoscale_look_back_s:g}")
        print(f"first replica: application ready in {first_start:.1f} s (Ray's actor, imports, model load)")
        body = {"prompt": "rainy neon city at night", "aspectRatio": "1:1", "numImages": args.images}
        print(f"{'cycle':>5s} {'decide up':>10s} {'2 running':>10s} {'2nd answers':>12s} "
              f"{'decide down':>12s} {'1 left':>7s} {'requests':>9s}")
        for cycle in range(1, args.cycles + 1):
            stop = threading.Event()
            answered_by: set[str] = set()
            sent = [0]

            def client() -> None:
                with httpx.Client(base_url=url, timeout=300) as http:
                    while not stop.is_set():
                        response = http.post("/generate", json=body)
                        response.raise_for_status()
                        answered_by.add(response.headers["x-aura-replica"])
                        sent[0] += 1

            with ThreadPoolExecutor(args.clients) as pool:
                load_started = time.monotonic()
                load = [pool.submit(client) for _ in range(args.clients)]
                decide_up = wait_until(lambda: replicas()[0] >= 2, load_started, args.timeout)
                running_at = wait_until(lambda: replicas()[1] >= 2, load_started, args.timeout)
                answers_at = wait_until(lambda: len(answered_by) >= 2, load_started, args.timeout)
                stop.set()
                for future in load:
                    future.result()
            idle_since = time.monotonic()
            decide_down = wait_until(lambda: replicas()[0] <= 1, idle_since, args.timeout)
            down_at = wait_until(lambda: replicas() == (1, 1, 0), idle_since, args.timeout)
            print(f"{cycle:5d} {show(decide_up):>10s} {show(running_at):>10s} {show(answers_at):>12s} "
                  f"{show(decide_down):>12s} {show(down_at):>7s} {sent[0]:9d}", flush=True)
    finally:
        serve.shutdown()
        ray.shutdown()


if __name__ == "__main__":
    main()
