"""Where does a model take a picture's overall colour from: the caption, or what the noise leaves of it?

    python -m training.colour_source [--model DIR] [--scenes 200]

At the noisiest training step, Stable Diffusion's schedule keeps sqrt(ᾱ) = 0.068 of the picture. At a
16 × 16 latent grid the per-channel mean of that remainder (the picture's overall colour) stands out
of the noise, and a UNet can learn to read it there instead of from the caption; at inference the
sampler starts from pure noise, where there is nothing to read, and every prompt gets the same colour.

For captioned renders of the world, the model's x0 prediction at its noisiest step is compared with
the picture's own per-channel latent mean (correlation per channel, averaged), from:

* *leak*: the picture noised as in training (what the schedule leaves of it is there to read);
* *pure*: pure noise, as the sampler starts (only the caption can say the colour);

each with the caption and with an empty one. A model that follows its captions scores well on
caption/pure; one that reads the leak scores well on empty/leak and near zero on caption/pure.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from .eval import MODEL


@torch.no_grad()
def colour_source(pipe, images: np.ndarray, captions: list[str], seed: int = 0) -> dict[str, float]:
    """{"caption/leak", "caption/pure", "empty/leak", "empty/pure"}: correlations (see the module)."""
    from .train import to_tensor

    scheduler = pipe.scheduler
    alphas = scheduler.alphas_cumprod
    t = int(scheduler.config.num_train_timesteps) - 1
    # A zero-terminal-SNR schedule's last step is pure noise (ᾱ = 0; DPM-Solver already stores 2⁻²⁴).
    a = alphas[t].clamp(min=2.0**-24)
    z0 = pipe.vae.encode(to_tensor(images)).latent_dist.mean * pipe.vae.config.scaling_factor
    noise = torch.randn(z0.shape, generator=torch.Generator().manual_seed(seed))
    inputs = {"leak": a.sqrt() * z0 + (1 - a).sqrt() * noise, "pure": noise}
    v_prediction = scheduler.config.prediction_type == "v_prediction"
    truth = z0.mean(dim=(2, 3))
    scores = {}
    for label, texts in (("caption", captions), ("empty", [""] * len(captions))):
        ids = pipe.tokenizer(texts, padding="max_length", max_length=pipe.tokenizer.model_max_length,
                             truncation=True, return_tensors="pt").input_ids
        states = pipe.text_encoder(ids)[0]
        for source, zt in inputs.items():
            out = pipe.unet(zt, t, states).sample
            # x0 from the prediction: v = sqrt(ᾱ)·ε − sqrt(1−ᾱ)·x0, or ε.
            x0 = a.sqrt() * zt - (1 - a).sqrt() * out if v_prediction else (zt - (1 - a).sqrt() * out) / a.sqrt()
            guess = x0.mean(dim=(2, 3))
            scores[f"{label}/{source}"] = float(np.mean([
                np.corrcoef(guess[:, c].numpy(), truth[:, c].numpy())[0, 1] for c in range(truth.shape[1])
            ]))
    return scores


def main() -> None:
    from .eval import load_pipeline
    from .train import Config, build_dataset

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--scenes", type=int, default=200, help="rendered; the square ones are used")
    args = parser.parse_args()
    pipe = load_pipeline(args.model)[0]
    size = tuple(json.loads((args.model / "aura.json").read_text())["native_sizes"]["1:1"])
    bucket = build_dataset(Config(scenes=args.scenes), 2)["1:1"]
    images = bucket["images"]
    if images.shape[1:3] != size[::-1]:
        raise SystemExit(f"{args.model} draws {size}, the world renders {images.shape[2]}×{images.shape[1]}")
    scores = colour_source(pipe, images[:64], [c[0] for c in bucket["captions"][:64]])
    for key, value in scores.items():
        print(f"{key:14s} {value:+.3f}")


if __name__ == "__main__":
    main()
