"""GPU benchmark on the real Stable Diffusion 1.5 and SDXL architectures, with random weights.

    python bench/gpu.py                    # on an NVIDIA GPU: every section, fp16
    python bench/gpu.py --sections sd15 --no-compile
    python bench/gpu.py --tiny             # CPU, scaled-down configs, 2 steps: checks the script runs (CI)

The UNets and VAEs are built from their published configs (diffusers classes, seeded random weights,
nothing downloaded); speed does not depend on weight values. Prompt embeddings are fed directly
(random tensors of the text encoders' output shapes), so no tokenizer or text encoder is timed.
Each row: warm-up runs, then the median of ``--repeats`` timed runs (CUDA events on a GPU).

Sections
  sd15      SD 1.5, 512×512, 50 steps, CFG, batch 1: UNet it/s — eager SDPA, then cumulatively
            channels_last, fused QKV, torch.compile (--compile-mode, max-autotune by default);
            full VAE decode vs the tiny preview VAE (AutoencoderTiny).
  sdxl      SDXL, 1024×1024, 30 steps, CFG: seconds per image (UNet loop + VAE decode).
  sdxl4     SDXL, 1024×1024, 4 steps, no CFG (the Lightning / LCM shape): seconds per image.
  batch     SD 1.5, 512×512, 20 steps, CFG: images/s at batch 1, 2, 4, 8.

Published anchors and the compute floor (H100, ~790 dense bf16 TFLOP/s measured there) are in
docs/benchmarks.md; this script prints each result as a fraction of that floor when run on a GPU.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

SD15_UNET = dict(cross_attention_dim=768, sample_size=64)  # the rest are UNet2DConditionModel's defaults
SDXL_UNET = dict(
    sample_size=128, block_out_channels=(320, 640, 1280), layers_per_block=2, cross_attention_dim=2048,
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
    attention_head_dim=(5, 10, 20), transformer_layers_per_block=(1, 2, 10), use_linear_projection=True,
    addition_embed_type="text_time", addition_time_embed_dim=256, projection_class_embeddings_input_dim=2816,
)
SD_VAE = dict(block_out_channels=(128, 256, 512, 512), layers_per_block=2, latent_channels=4,
              down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4)
# --tiny: the same block structure, a fraction of the width and depth.
TINY_UNET = dict(block_out_channels=(32, 64, 64, 64), layers_per_block=1, attention_head_dim=4, norm_num_groups=16,
                 cross_attention_dim=32, sample_size=8)
TINY_XL_UNET = dict(SDXL_UNET, block_out_channels=(32, 64, 64), layers_per_block=1, cross_attention_dim=64,
                    attention_head_dim=(2, 4, 4), transformer_layers_per_block=(1, 1, 1), addition_time_embed_dim=8,
                    projection_class_embeddings_input_dim=80, norm_num_groups=16, sample_size=16)
TINY_VAE = dict(SD_VAE, block_out_channels=(16, 32, 32, 32), layers_per_block=1, norm_num_groups=16)

FLOOR = {"sd15_it_s": 490.0, "sdxl30_s": 0.53}  # H100 compute floor from docs/benchmarks.md


class Timer:
    def __init__(self, device: torch.device):
        self.cuda = device.type == "cuda"

    def __call__(self, fn, warmup: int, repeats: int) -> float:
        """Median seconds of ``fn()`` after ``warmup`` calls."""
        for _ in range(warmup):
            fn()
        times = []
        for _ in range(repeats):
            if self.cuda:
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                fn()
                end.record()
                torch.cuda.synchronize()
                times.append(start.elapsed_time(end) / 1000)
            else:
                started = time.perf_counter()
                fn()
                times.append(time.perf_counter() - started)
        return statistics.median(times)


def build_unet(config: dict, device, dtype):
    from diffusers import UNet2DConditionModel

    torch.manual_seed(0)
    with torch.device(device):  # initialised where it runs: seconds, not a minute of CPU for SDXL
        return UNet2DConditionModel(**config).to(dtype).eval()


def build_vae(config: dict, device, dtype):
    from diffusers import AutoencoderKL

    torch.manual_seed(0)
    with torch.device(device):
        return AutoencoderKL(**config).to(dtype).eval()


def denoise_loop(unet, scheduler, latents, embeddings, steps: int, cfg: bool, added=None):
    """What the pipeline does per step: (CFG-doubled) UNet call, guidance, scheduler step."""
    scheduler.set_timesteps(steps, device=latents.device)
    for t in scheduler.timesteps:
        model_input = torch.cat([latents] * 2) if cfg else latents
        model_input = scheduler.scale_model_input(model_input, t)
        noise = unet(model_input, t, encoder_hidden_states=embeddings, added_cond_kwargs=added).sample
        if cfg:
            uncond, text = noise.chunk(2)
            noise = uncond + 7.5 * (text - uncond)
        latents = scheduler.step(noise, t, latents).prev_sample
    return latents


def make_inputs(unet, batch: int, size: int, cfg: bool, device, dtype, sdxl: bool):
    rows = batch * (2 if cfg else 1)
    latents = torch.randn(batch, 4, size // 8, size // 8, device=device, dtype=dtype)
    embeddings = torch.randn(rows, 77, unet.config.cross_attention_dim, device=device, dtype=dtype)
    added = None
    if sdxl:
        pooled = unet.config.projection_class_embeddings_input_dim - 6 * unet.config.addition_time_embed_dim
        added = {"text_embeds": torch.randn(rows, pooled, device=device, dtype=dtype),
                 "time_ids": torch.tensor([[size, size, 0, 0, size, size]] * rows, device=device, dtype=dtype)}
    return latents, embeddings, added


def scheduler_for(steps: int, trailing: bool = False):
    from diffusers import EulerDiscreteScheduler

    return EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                  timestep_spacing="trailing" if trailing else "leading", steps_offset=1)


def section_sd15(args, device, dtype, timer) -> None:
    from diffusers import AutoencoderTiny

    size, steps = (64, 2) if args.tiny else (512, 50)
    unet = build_unet(TINY_UNET if args.tiny else SD15_UNET, device, dtype)
    latents, embeddings, _ = make_inputs(unet, 1, size, True, device, dtype, sdxl=False)
    scheduler = scheduler_for(steps)
    print(f"\n[sd15] {size}×{size}, {steps} steps, CFG, batch 1 ({sum(p.numel() for p in unet.parameters()) / 1e6:.0f} M UNet parameters)")
    print(f"  {'configuration':46s} {'it/s':>8s} {'vs eager':>9s} {'of floor':>9s}")
    eager = None

    def row(label):
        nonlocal eager
        with torch.inference_mode():
            seconds = timer(lambda: denoise_loop(unet, scheduler, latents, embeddings, steps, True),
                            args.warmup, args.repeats)
        rate = steps / seconds
        eager = eager or rate
        floor = f"{rate / FLOOR['sd15_it_s']:8.1%}" if device.type == "cuda" and not args.tiny else "       -"
        print(f"  {label:46s} {rate:8.2f} {rate / eager:8.2f}× {floor}", flush=True)

    row("eager, SDPA attention")
    unet.to(memory_format=torch.channels_last)
    row("+ channels_last")
    unet.fuse_qkv_projections()
    row("+ fused QKV projections")
    if args.compile:
        mode = args.compile_mode if device.type == "cuda" else "default"
        unet = torch.compile(unet, mode=mode, fullgraph=True)
        started = time.perf_counter()
        with torch.inference_mode():
            denoise_loop(unet, scheduler, latents, embeddings, 1, True)  # compiles
        if device.type == "cuda":
            torch.cuda.synchronize()
        compile_seconds = time.perf_counter() - started
        row(f"+ torch.compile ({mode}; {compile_seconds:.0f} s to compile)")

    vae = build_vae(TINY_VAE if args.tiny else SD_VAE, device, dtype)
    torch.manual_seed(0)
    tiny_vae = AutoencoderTiny().to(device, dtype).eval()
    z = torch.randn(1, 4, size // 8, size // 8, device=device, dtype=dtype)
    with torch.inference_mode():
        full = timer(lambda: vae.decode(z).sample, args.warmup, args.repeats)
        preview = timer(lambda: tiny_vae.decode(z).sample, args.warmup, args.repeats)
    print(f"  VAE decode: full {full * 1000:.1f} ms, tiny preview VAE {preview * 1000:.1f} ms (full / preview: {full / preview:.2f}×)")


def section_sdxl(args, device, dtype, timer, steps: int, cfg: bool, label: str) -> None:
    size = 128 if args.tiny else 1024
    steps = min(steps, 2) if args.tiny else steps
    unet = build_unet(TINY_XL_UNET if args.tiny else SDXL_UNET, device, dtype)
    vae = build_vae(TINY_VAE if args.tiny else SD_VAE, device, dtype)
    unet.to(memory_format=torch.channels_last)
    latents, embeddings, added = make_inputs(unet, 1, size, cfg, device, dtype, sdxl=True)
    scheduler = scheduler_for(steps, trailing=not cfg)

    def image():
        out = denoise_loop(unet, scheduler, latents, embeddings, steps, cfg, added)
        return vae.decode(out).sample

    with torch.inference_mode():
        seconds = timer(image, args.warmup, args.repeats)
    floor = f" ({FLOOR['sdxl30_s'] / seconds:.1%} of the compute floor)" if label == "sdxl" and device.type == "cuda" and not args.tiny else ""
    print(f"\n[{label}] {size}×{size}, {steps} steps, {'CFG' if cfg else 'no CFG'}, channels_last: "
          f"{seconds:.3f} s per image{floor}", flush=True)


def section_batch(args, device, dtype, timer) -> None:
    size, steps = (64, 2) if args.tiny else (512, 20)
    unet = build_unet(TINY_UNET if args.tiny else SD15_UNET, device, dtype).to(memory_format=torch.channels_last)
    vae = build_vae(TINY_VAE if args.tiny else SD_VAE, device, dtype)
    scheduler = scheduler_for(steps)
    print(f"\n[batch] SD 1.5, {size}×{size}, {steps} steps, CFG, channels_last")
    base = None
    for batch in (1, 2, 4, 8):
        latents, embeddings, _ = make_inputs(unet, batch, size, True, device, dtype, sdxl=False)
        with torch.inference_mode():
            seconds = timer(lambda: vae.decode(denoise_loop(unet, scheduler, latents, embeddings, steps, True)).sample,
                            args.warmup, args.repeats)
        rate = batch / seconds
        base = base or rate
        print(f"  batch {batch}: {rate:7.2f} images/s ({rate / base:.2f}× batch 1)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="CPU, scaled-down configs (CI smoke run)")
    parser.add_argument("--sections", default="sd15,sdxl,sdxl4,batch")
    parser.add_argument("--no-compile", dest="compile", action="store_false")
    parser.add_argument("--compile-mode", default="max-autotune",
                        help="torch.compile mode on CUDA: max-autotune (Triton autotuning + CUDA graphs, minutes "
                             "to compile), reduce-overhead (CUDA graphs only), default")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    device = torch.device("cpu" if args.tiny or not torch.cuda.is_available() else "cuda")
    dtype = torch.float16 if device.type == "cuda" else torch.float32
    if args.tiny:
        args.warmup, args.repeats, args.compile = 1, 2, False
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        name = torch.cuda.get_device_name(device)
    else:
        name = f"CPU ({torch.get_num_threads()} threads)"
    print(f"device: {name}; torch {torch.__version__}; {str(dtype).removeprefix('torch.')}; "
          f"median of {args.repeats} after {args.warmup} warm-up runs")
    timer = Timer(device)
    sections = args.sections.split(",")
    if "sd15" in sections:
        section_sd15(args, device, dtype, timer)
    if "sdxl" in sections:
        section_sdxl(args, device, dtype, timer, steps=30, cfg=True, label="sdxl")
    if "sdxl4" in sections:
        section_sdxl(args, device, dtype, timer, steps=4, cfg=False, label="sdxl4")
    if "batch" in sections:
        section_batch(args, device, dtype, timer)


if __name__ == "__main__":
    main()
