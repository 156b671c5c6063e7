"""A short A/B of the UNet objective on a small dataset: SD's schedule with ε-prediction (v1's and the
first v2 run's) against zero terminal SNR with v-prediction (train.py's default now).

    python -m training.compare_objectives --vae DIR [--scenes 3000] [--steps 800] [--batch 32]

Both train a fresh UNet and text encoder with train.py's own loop, on the same renders, latents and
seed, over a finished VAE (``--vae``: a model folder whose ``vae/`` to use). Then, per objective:
``colour_source`` (does the colour come from the caption?) and the mean absolute error of the mean
colour of generated pictures against their own training renders (16 captions, the model's sampler,
15 steps, guidance 5), next to the error of always answering the dataset's mean colour.
A few hundred steps cannot make a good model; the comparison is of where each objective is heading.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def main() -> None:
    from diffusers import AutoencoderKL

    from . import vocabulary
    from .colour_source import colour_source
    from .train import (
        Checkpoints, Config, Run, distractor_words, make_pipeline, make_text_encoder, make_unet, prepare,
        scaled_latents, train_unet,
    )

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vae", type=Path, required=True)
    parser.add_argument("--scenes", type=int, default=3000)
    parser.add_argument("--steps", type=int, default=800)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()
    torch.set_num_threads(Config.threads)
    base = Config(scenes=args.scenes, unet_steps=args.steps, unet_batch=args.batch, warmup=min(300, args.steps // 8))
    with tempfile.TemporaryDirectory() as work:
        data, tokenizer, vocab_size = prepare(base, Path(work), None)
    vae = AutoencoderKL.from_pretrained(args.vae / "vae", torch_dtype=torch.float32).eval()
    latents, _ = scaled_latents(vae, data, torch.device("cpu"))
    distractors, _ = distractor_words(vocabulary.content_words("en") | vocabulary.content_words("es"))
    square = data["1:1"]
    mean_colour = square["images"].reshape(-1, 3).mean(0) / 255
    for zero_snr in (False, True):
        cfg = dataclasses.replace(base, zero_terminal_snr=zero_snr)
        torch.manual_seed(cfg.seed)
        text_encoder, unet = make_text_encoder(vocab_size, cfg), make_unet()
        started = time.perf_counter()
        run = Run(cfg, torch.device("cpu"), Checkpoints(None, cfg))
        loss = train_unet(unet, text_encoder, tokenizer, latents, data, cfg, run, distractors)
        pipe = make_pipeline(vae, text_encoder, tokenizer, unet, cfg)
        pipe.set_progress_bar_config(disable=True)
        scores = colour_source(pipe, square["images"][:64], [c[0] for c in square["captions"][:64]])
        errors, baseline = [], []
        for i in range(16):
            target = square["images"][i].reshape(-1, 3).mean(0) / 255
            image = pipe(square["captions"][i][0], width=128, height=128, num_inference_steps=15, guidance_scale=5.0,
                         generator=torch.Generator().manual_seed(i), output_type="np").images[0]
            errors.append(np.abs(image.reshape(-1, 3).mean(0) - target).mean())
            baseline.append(np.abs(mean_colour - target).mean())
        name = "zero terminal SNR, v" if zero_snr else "SD schedule, eps"
        print(f"{name}: {args.steps} steps × {args.batch} in {time.perf_counter() - started:.0f} s, final loss {loss:.4f}; "
              + ", ".join(f"{k} {v:+.3f}" for k, v in scores.items())
              + f"; colour error {np.mean(errors):.3f} (dataset mean colour: {np.mean(baseline):.3f})", flush=True)


if __name__ == "__main__":
    main()
