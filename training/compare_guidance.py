"""Compare guidance formulas on the mood evaluation, the first evaluation or the validation set.

    python -m training.compare_guidance [--model DIR] [--plain | --chroma C | --mean-guidance M [--split-luma]]
                                        [--scenes 288] moods|old|validation

Without options the model runs as the engine runs it: with its card's guidance (aura-tiny's card asks
for colour-keeping guidance, ``engine/guidance.py``). ``--plain``: plain classifier-free guidance;
``--chroma C``: colour-keeping guidance with that ``chroma`` (1 keeps the caption's colour strength,
0 is plain guidance).

Plain guidance moves the prediction by ``g · (cond − uncond)``. Its mean over the picture (per latent
channel) is the picture's overall colour and brightness, and for a grey the unconditional picture (the
world's average, warm) lies on the other side of it: the step away from it is blue. "grey street" is
50% grey at g 1 and 6% at g 5 (74% blue). ``--mean-guidance M`` (an earlier measurement, kept for the
figures in docs/models.md) scales that mean part of ``cond − uncond`` by ``M`` instead of ``g`` (1: the
conditional model's own colour and brightness) and the rest by ``g``; ``--split-luma`` keeps ``g`` on
the mean's brightness (read through the model's fitted latent → RGB map) and applies ``M`` to its
colour only. It patches the UNet's output of a plain pipeline so that the pipeline's own guidance
formula gives that guidance; the engine's colour-keeping guidance hooks the UNet the same way.

The validation set is ``validate_settings``'s (``--scenes`` captions).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from . import eval as first_eval
from . import eval_moods, validate_settings, world
from .eval import MODEL


def guided(uncond: torch.Tensor, cond: torch.Tensor, guidance: float, mean_guidance: float,
           luma_direction: torch.Tensor | None = None, luma_of: torch.Tensor | None = None) -> torch.Tensor:
    """The guided prediction: ``guidance`` on the structure of ``cond − uncond``, ``mean_guidance`` on its
    per-channel mean over the picture (with ``luma_direction`` / ``luma_of`` given, the mean's brightness
    part keeps ``guidance``)."""
    delta = cond - uncond
    mean = delta.mean((2, 3), keepdim=True)
    out = cond + (guidance - 1) * (delta - mean)
    if luma_direction is not None:
        luma = (mean[..., 0, 0] @ luma_of)[:, None] * luma_direction  # (n, channels)
        luma = luma[..., None, None]
        return out + (guidance - 1) * luma + (mean_guidance - 1) * (mean - luma)
    return out + (mean_guidance - 1) * mean


def patch(pipe, guidance: float, mean_guidance: float, card: dict, split_luma: bool) -> None:
    """Make ``pipe``'s own ``uncond + g·(cond − uncond)`` come out as ``guided(...)``: its UNet returns, in
    place of the unconditional half, ``(g·cond − guided) / (g − 1)``."""
    factors = torch.tensor(card["latent_rgb"]["factors"])  # latent channels × RGB
    luma_direction = torch.ones(1, 3) @ torch.linalg.pinv(factors) if split_luma else None  # brightens R, G, B alike
    luma_of = factors @ torch.tensor(world.LUMA) if split_luma else None
    forward = pipe.unet.forward

    def patched(*args, **kwargs):
        out = forward(*args, **kwargs)
        x = out[0] if isinstance(out, tuple) else out.sample
        uncond, cond = x.chunk(2)
        want = guided(uncond, cond, guidance, mean_guidance, luma_direction, luma_of)
        return (torch.cat([(guidance * cond - want) / (guidance - 1), cond]),)

    pipe.unet.forward = patched


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=MODEL)
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--plain", action="store_true", help="plain classifier-free guidance")
    which.add_argument("--chroma", type=float, help="colour-keeping guidance with this chroma")
    which.add_argument("--mean-guidance", type=float, help="the earlier mean-scaled guidance")
    parser.add_argument("--split-luma", action="store_true", help="with --mean-guidance: its brightness guided")
    parser.add_argument("--scenes", type=int, default=96, help="validation captions (validation only)")
    parser.add_argument("evaluation", choices=("moods", "old", "validation"))
    args = parser.parse_args()
    if args.split_luma and args.mean_guidance is None:
        parser.error("--split-luma goes with --mean-guidance")
    torch.set_num_threads(2)
    card = json.loads((args.model / "aura.json").read_text())
    loader = first_eval.load_pipeline
    if args.mean_guidance is not None:
        colour_guidance = False
    else:
        colour_guidance = False if args.plain else {"chroma": args.chroma} if args.chroma is not None else True

    def load(*a, **k):
        pipe, steps, guidance, size = loader(*a, **{**k, "colour_guidance": colour_guidance})
        if args.mean_guidance is not None:
            patch(pipe, guidance, args.mean_guidance, card, args.split_luma)
        return pipe, steps, guidance, size

    for module in (first_eval, eval_moods, validate_settings):
        module.load_pipeline = load
    if args.evaluation == "moods":
        r = eval_moods.evaluate(args.model)
        print(", ".join(f"{k} {v:.1%}" for k, v in r["attributes"].items())
              + f"; overall {r['overall']:.1%}, Spanish gap {r['spanish_gap'] * 100:+.1f}, filler cost {r['filler_cost']:.1%}")
        print("colours under 100%: " + ", ".join(f"{k} {v:.0%}" for k, v in r["per_colour"].items() if v < 1))
    elif args.evaluation == "old":
        r = first_eval.evaluate(args.model)
        print(f"colour {r['colour_adherence']:.1%}, scene {r['scene_adherence']:.1%}")
    else:
        validate_settings.compare(args.model, args.scenes, [(card["default_guidance"], 0.0)])


if __name__ == "__main__":
    main()
