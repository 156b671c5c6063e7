"""One training step of aura-tiny's VAE and UNet on this machine, per numeric format, in one run.

    python bench/train_step.py                 # 2 threads, as the training runs
    python bench/train_step.py --repeats 10

A step as training.train takes it (same modules and batch; random data): the VAE at batch 16 of
64 px crops with the run's own loss (``vae_losses``), the UNet with the text encoder at batch 64 of
16 × 16 latents and 48 tokens, its output against a random target (v's loss costs the same). Each
in fp32 (what the run uses), channels-last memory, bf16 autocast, and both; prints the median
seconds a step and its ratio to fp32. Not a training change by itself: a run's numerics must stay
those of its config from start to end, so a faster format is for the next run from scratch.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from training.train import Config, make_text_encoder, make_unet, make_vae, vae_losses  # noqa: E402

FORMATS = {"fp32": (False, False), "channels-last": (True, False), "bf16 autocast": (False, True),
           "channels-last + bf16": (True, True)}


def vae_step(channels_last: bool, bf16: bool):
    vae = make_vae()
    if channels_last:
        vae = vae.to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(vae.parameters(), lr=1e-4)

    def step():
        x = torch.rand(16, 3, 64, 64) * 2 - 1
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        eps = torch.randn(len(x), 4, 8, 8)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            _, loss = vae_losses(vae, x, eps)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def unet_step(channels_last: bool, bf16: bool, vocab: int = 2000):
    cfg = Config()
    unet, text = make_unet(), make_text_encoder(vocab, cfg)
    if channels_last:
        unet = unet.to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(list(unet.parameters()) + list(text.parameters()), lr=1e-4)

    def step():
        z = torch.randn(cfg.unet_batch, 4, 16, 16)
        if channels_last:
            z = z.contiguous(memory_format=torch.channels_last)
        t = torch.randint(0, 1000, (cfg.unet_batch,))
        ids = torch.randint(0, vocab - 2, (cfg.unet_batch, cfg.max_tokens))
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            pred = unet(z, t, text(ids)[0]).sample.float()
        loss = (pred - z).pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def median_step(step, repeats: int) -> float:
    for _ in range(2):
        step()  # warm: allocator, oneDNN primitives
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=Config.threads)
    parser.add_argument("--repeats", type=int, default=6)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {args.threads} threads, median of {args.repeats} steps")
    for name, make in (("VAE", vae_step), ("UNet + text encoder", unet_step)):
        base = None
        for label, (channels_last, bf16) in FORMATS.items():
            seconds = median_step(make(channels_last, bf16), args.repeats)
            base = base or seconds
            print(f"{name:20s} {label:22s} {seconds:6.3f} s/step  {base / seconds:5.2f}× fp32", flush=True)


if __name__ == "__main__":
    main()
