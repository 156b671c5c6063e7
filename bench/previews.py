"""What live previews cost a generation: the same requests with nobody watching, and with a client
polling GET /jobs/{id} (previews included) as the studio does, against a real `aura serve` process.

    python bench/previews.py                              # the embedded model
    SD_MODEL_ID=/path/to/model python bench/previews.py --rounds 10 --steps 25

Each round sends one request per mode (nobody polling; /jobs/{id} every 250 ms, the studio's rate;
/health at that rate, the cost of polling over HTTP without previews; /jobs/{id} every 50 ms), in
turn, so drift hits every mode alike. Prints per mode the median pipeline time the engine reports and the
end-to-end time, their ratio to nobody watching, and how many distinct previews the poller saw;
then the time to make one preview (linear map + PNG) in this process.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
import uuid

import httpx
import torch
from engine_process import running_engine

# (interval, path): None = nobody polls; /health at the same rate isolates the cost of HTTP polling itself.
MODES = {"nobody watching": (None, None), "polled every 250 ms": (0.25, "/jobs/{job}"),
         "/health every 250 ms": (0.25, "/health"), "polled every 50 ms": (0.05, "/jobs/{job}")}


def poll(url: str, path: str, interval: float, stop: threading.Event, seen: set) -> None:
    with httpx.Client(base_url=url, timeout=30) as client:
        while not stop.is_set():
            body = client.get(path).json()
            if body.get("previews"):
                seen.add(body["previewStep"])
            stop.wait(interval)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--images", type=int, default=2)
    parser.add_argument("--steps", type=int, default=None, help="default: the model's")
    parser.add_argument("--prompt", default="a purple night sky over dark mountains")
    args = parser.parse_args()

    results = {mode: {"pipeline": [], "wall": [], "previews": []} for mode in MODES}
    with running_engine() as engine, httpx.Client(base_url=engine.url, timeout=300) as client:
        info = engine.health
        body = {"prompt": args.prompt, "aspectRatio": "1:1", "temperature": 1, "numImages": args.images}
        if args.steps:
            body["config"] = {"steps": args.steps}
        for _ in range(2):  # warm-up
            client.post("/generate", json=body).raise_for_status()
        for round_index in range(args.rounds):
            for mode, (interval, path) in MODES.items():
                job, stop, seen = uuid.uuid4().hex, threading.Event(), set()
                poller = None
                if interval is not None:
                    poller = threading.Thread(target=poll, args=(engine.url, path.format(job=job), interval, stop, seen))
                    poller.start()
                started = time.perf_counter()
                response = client.post("/generate", json={**body, "seed": round_index, "requestId": job})
                wall = time.perf_counter() - started
                stop.set()
                if poller is not None:
                    poller.join()
                response.raise_for_status()
                results[mode]["pipeline"].append(response.json()["timings"]["generateMs"] / 1000)
                results[mode]["wall"].append(wall)
                results[mode]["previews"].append(len(seen))
        steps = response.json()["steps"]

    print(f"model: {info['model']} on {info['device']}, {args.images} images, {steps} steps, {args.rounds} rounds")
    base = {key: statistics.median(results["nobody watching"][key]) for key in ("pipeline", "wall")}
    for mode, values in results.items():
        pipeline_s, wall_s = statistics.median(values["pipeline"]), statistics.median(values["wall"])
        print(f"  {mode:20s} pipeline {pipeline_s:.3f} s ({pipeline_s / base['pipeline']:.3f}×), "
              f"end to end {wall_s:.3f} s ({wall_s / base['wall']:.3f}×), "
              f"distinct previews seen: median {statistics.median(values['previews']):.0f} of {steps} steps")
    print(f"one preview made in this process: {preview_ms(args.images):.2f} ms for {args.images} images at 64×64 "
          "latents (SD 1.5 at 512²)")


def preview_ms(images: int) -> float:
    from aura_reflect.engine.images import encode_image
    from aura_reflect.engine.previews import FAMILY_LATENT_RGB, preview_images

    latents = torch.randn(images, 4, 64, 64)
    times = []
    for _ in range(50):
        started = time.perf_counter()
        [encode_image(image) for image in preview_images(latents, FAMILY_LATENT_RGB["sd"])]
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


if __name__ == "__main__":
    main()
