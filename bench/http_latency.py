"""End-to-end HTTP latency of /generate, and start-up time, against a real `aura serve` process.

    python bench/http_latency.py                    # the embedded model, 2 images, standard tier
    SD_MODEL_ID=/path/to/model python bench/http_latency.py --requests 10

Prints the process start-up time (to a healthy /health), the model load time the engine reports,
and the median / p90 of the wall time of each request as a client sees it, with the engine's own
split (queue, pipeline, encode). Then, in this process with the server gone, the same work through
the engine's ``pipeline.generate`` called directly (the same loader, sizes, steps and seeds, output
as PIL images): the ratio of the two medians is the serving overhead (HTTP, JSON, queue, encoding);
and, for a model whose card asks for colour-keeping guidance, the plain pipeline call with and without it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import httpx
from engine_process import running_engine


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--images", type=int, default=2)
    parser.add_argument("--resolution", default="standard")
    parser.add_argument("--aspect", default="1:1")
    parser.add_argument("--prompt", default="a purple night sky over dark mountains")
    args = parser.parse_args()

    with running_engine() as engine, httpx.Client(base_url=engine.url, timeout=120) as client:
        startup, info = engine.startup_seconds, engine.health
        body = {"prompt": args.prompt, "aspectRatio": args.aspect, "temperature": 1,
                "resolution": args.resolution, "numImages": args.images}
        for _ in range(2):  # warm-up
            client.post("/generate", json=body).raise_for_status()
        walls, parts = [], []
        for i in range(args.requests):
            t0 = time.perf_counter()
            response = client.post("/generate", json={**body, "seed": i})
            walls.append(time.perf_counter() - t0)
            response.raise_for_status()
            parts.append(response.json()["timings"])
        size = response.json()["width"], response.json()["height"]

    def med(key):
        return statistics.median(p[key] for p in parts)

    direct, plain, without_colour = direct_pipeline_seconds(args, size)

    walls.sort()
    print(f"model: {info['model']} on {info['device']} ({info['dtype']}), {os.cpu_count()} CPU cores")
    print(f"start-up to healthy: {startup:.2f} s (model load reported by the engine: {info['loadSeconds']:.2f} s)")
    print(f"/generate {args.images} × {size[0]}×{size[1]} ({args.resolution}, {args.aspect}), {args.requests} requests:")
    print(f"  end-to-end median {statistics.median(walls):.3f} s, p90 {walls[int(0.9 * (len(walls) - 1))]:.3f} s")
    print(f"  engine split (median ms): queue {med('queueMs'):.1f}, pipeline {med('generateMs'):.1f}, "
          f"encode {med('encodeMs'):.1f}, total {med('totalMs'):.1f}")
    print(f"same work, pipeline.generate called directly: median {statistics.median(direct):.3f} s")
    print(f"  end-to-end HTTP / direct: {statistics.median(walls) / statistics.median(direct):.3f}×")
    print(f"same pipeline object called plainly (no engine checks, PIL output): median {statistics.median(plain):.3f} s")
    print(f"  engine's pipeline.generate / plain diffusers call: {statistics.median(direct) / statistics.median(plain):.3f}×")
    if without_colour:
        print(f"the same call with plain guidance in place of the card's colour-keeping guidance: median "
              f"{statistics.median(without_colour):.3f} s")
        print(f"  colour-keeping / plain guidance: {statistics.median(plain) / statistics.median(without_colour):.3f}×")


def direct_pipeline_seconds(args, size) -> tuple[list[float], list[float], list[float]]:
    """The same request without HTTP: loader, size resolution and pipeline exactly as the server;
    then the loaded diffusers pipeline called plainly (what the engine adds: seeds per image, the
    progress callback, the NaN/black check, the final resize)."""
    from aura_reflect.api.serving import guidance_for_temperature
    from aura_reflect.core.config import load_settings
    from aura_reflect.engine import pipeline
    from aura_reflect.engine.families import resolve_size
    from aura_reflect.engine.loader import load_model

    model = load_model(load_settings())
    output = resolve_size(model.family, args.aspect, args.resolution)
    width, height = model.render_size(args.aspect, output)
    request = pipeline.GenerationRequest(
        args.prompt, width, height, steps=model.default_steps,
        guidance_scale=guidance_for_temperature(model.default_guidance, 1), seeds=list(range(args.images)),
        output_size=output if output != (width, height) else None,
    )
    assert output == size, (output, size)
    for _ in range(2):
        pipeline.generate(model, request)
    times = []
    for i in range(args.requests):
        request.seeds = [i * args.images + k for k in range(args.images)]
        started = time.perf_counter()
        pipeline.generate(model, request)
        times.append(time.perf_counter() - started)
    plain, without_colour = [], []
    colour_guidance = getattr(model.text2img, "colour_guidance", None)
    modes = [(plain, colour_guidance)] + ([(without_colour, None)] if colour_guidance else [])
    for i in range(args.requests):  # alternating, so that both see the same machine
        for runs, hook in modes:
            model.text2img.colour_guidance = hook
            started = time.perf_counter()
            model.text2img(args.prompt, width=width, height=height, num_inference_steps=request.steps,
                           guidance_scale=request.guidance_scale, num_images_per_prompt=args.images)
            runs.append(time.perf_counter() - started)
    model.text2img.colour_guidance = colour_guidance
    return times, plain, without_colour


if __name__ == "__main__":
    main()
