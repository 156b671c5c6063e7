"""Where a generation's time goes: a plain diffusers call against the bare loop doing the same work.

    python bench/profile_step.py                             # the embedded model, 2 images, 1:1 standard
    SD_MODEL_ID=/tmp/sd15 SD_DEVICE=cuda python bench/profile_step.py --images 1 --steps 25

The model is loaded through the engine's loader (device, precision, scheduler, fast paths as
configured). Three timings, each the median of ``--repeats`` runs after a warm-up:

- *plain call*: ``pipe(prompt, ..., output_type="np")``, the way every diffusers app calls it;
- *bare loop*: the same work written out — encode the prompt once, the UNet and ``scheduler.step``
  per step, one VAE decode — with no callback, no progress bar and no checks;
- *parts*: the bare loop again with a device synchronisation around each part (text encoder, UNet,
  CFG arithmetic, scheduler step, VAE decode, post-processing to numpy), so each part's share is
  known. The synchronisations cost a little themselves; the unsynchronised bare loop is the
  reference for what the plain call could take.

The plain call minus the bare loop is the pipeline's own overhead: what is ours to remove.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from collections import defaultdict

import torch

from aura_reflect.core.config import load_settings
from aura_reflect.engine.families import resolve_size
from aura_reflect.engine.loader import load_model


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median_seconds(run, repeats: int, device: torch.device) -> float:
    run()  # warm-up
    times = []
    for _ in range(repeats):
        sync(device)
        started = time.perf_counter()
        run()
        sync(device)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


@torch.no_grad()
def bare_loop(pipe, prompt: str, width: int, height: int, steps: int, guidance: float, images: int,
              seed: int, parts: dict[str, float] | None = None):
    """The denoising loop of StableDiffusionPipeline, written out; ``parts`` (if given) collects
    the synchronised time of each part."""
    device = pipe.device
    cfg = guidance > 1.0
    marks = [time.perf_counter()]

    def mark(name: str) -> None:
        if parts is not None:
            sync(device)
            now = time.perf_counter()
            parts[name] += now - marks[0]
            marks[0] = now

    embeds, negative = pipe.encode_prompt(prompt, device, images, cfg)
    context = torch.cat([negative, embeds]) if cfg else embeds
    mark("text encoder")
    pipe.scheduler.set_timesteps(steps, device=device)
    generator = torch.Generator("cpu").manual_seed(seed)
    shape = (images, pipe.unet.config.in_channels, height // pipe.vae_scale_factor, width // pipe.vae_scale_factor)
    latents = torch.randn(shape, generator=generator).to(device, context.dtype) * pipe.scheduler.init_noise_sigma
    mark("scheduler and noise")
    # A model card's colour-keeping guidance (engine/guidance.py) hooks the UNet for the length of a
    # pipeline call; here, of the loop (its time counts in "unet").
    colour_guidance = getattr(pipe, "colour_guidance", None)
    with colour_guidance.during(pipe, guidance) if colour_guidance else contextlib.nullcontext():
        for t in pipe.scheduler.timesteps:
            model_input = torch.cat([latents] * 2) if cfg else latents
            model_input = pipe.scheduler.scale_model_input(model_input, t)
            mark("scheduler and noise")
            noise = pipe.unet(model_input, t, encoder_hidden_states=context, return_dict=False)[0]
            mark("unet")
            if cfg:
                uncond, cond = noise.chunk(2)
                noise = uncond + guidance * (cond - uncond)
            mark("guidance arithmetic")
            latents = pipe.scheduler.step(noise, t, latents, return_dict=False)[0]
            mark("scheduler and noise")
    decoded = pipe.vae.decode(latents / pipe.vae.config.scaling_factor, return_dict=False)[0]
    mark("vae decode")
    out = pipe.image_processor.postprocess(decoded, output_type="np")
    mark("postprocess to numpy")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=2)
    parser.add_argument("--steps", type=int, default=None, help="default: the model's")
    parser.add_argument("--guidance", type=float, default=None, help="default: the model's")
    parser.add_argument("--aspect", default="1:1")
    parser.add_argument("--resolution", default="standard")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--prompt", default="a purple night sky over dark mountains")
    args = parser.parse_args()

    settings = load_settings()
    model = load_model(settings)
    pipe, device = model.text2img, model.device
    steps = args.steps or model.default_steps
    guidance = model.default_guidance if args.guidance is None else args.guidance
    width, height = model.render_size(args.aspect, resolve_size(model.family, args.aspect, args.resolution))
    prompts = [args.prompt] * args.images

    def plain():
        pipe(prompt=prompts, width=width, height=height, num_inference_steps=steps, guidance_scale=guidance,
             generator=[torch.Generator("cpu").manual_seed(i) for i in range(args.images)], output_type="np")

    def bare():
        bare_loop(pipe, args.prompt, width, height, steps, guidance, args.images, 0)

    plain_s = median_seconds(plain, args.repeats, device)
    bare_s = median_seconds(bare, args.repeats, device)
    parts: dict[str, float] = defaultdict(float)
    bare_loop(pipe, args.prompt, width, height, steps, guidance, args.images, 0)  # warm-up
    for _ in range(args.repeats):
        bare_loop(pipe, args.prompt, width, height, steps, guidance, args.images, 0, parts)

    print(f"model: {model.name} ({model.family}) on {device} ({str(model.dtype).removeprefix('torch.')}), "
          f"scheduler {model.scheduler_name}, {torch.get_num_threads()} threads")
    print(f"{args.images} image(s) at {width}×{height}, {steps} steps, guidance {guidance}, "
          f"median of {args.repeats}")
    print(f"  plain diffusers call       {plain_s * 1000:8.1f} ms")
    print(f"  bare loop                  {bare_s * 1000:8.1f} ms   plain / bare: {plain_s / bare_s:.3f}×")
    total = sum(parts.values()) / args.repeats
    print(f"  bare loop, synchronised parts ({total * 1000:.1f} ms in all):")
    for name, seconds in sorted(parts.items(), key=lambda item: -item[1]):
        share = seconds / args.repeats
        per_step = f"   {share / steps * 1000:6.2f} ms/step" if name in ("unet", "guidance arithmetic") else ""
        print(f"    {name:24s} {share * 1000:8.1f} ms  {share / total:6.1%}{per_step}")


if __name__ == "__main__":
    main()
