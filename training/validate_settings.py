"""Compare inference settings on a validation set of the world's own mood captions, not on the evaluation.

    python -m training.validate_settings [--model DIR] [--scenes 96] [--steps N] [--plain] [--spare-neutrals] 5:0 3:0 5:0.7 3:0.7

Each setting is ``guidance:guidance_rescale``, run with the model card's guidance (aura-tiny's:
colour-keeping, ``engine/guidance.py``) or, with ``--plain``, plain classifier-free guidance. The validation scenes are random mood scenes of the
world (seed 4242) whose own render passes the checks of what their words promise, as the training
data's do; each caption is drawn with 2 seeds and checked as ``looks.py`` defines (the scene by the
family judge). Each setting also prints how far the model's pictures drift from the world's own picture
of the same caption (mean luma, saturation of the lit pixels, red minus blue): a model that paints its
world's captions too vivid shows it here even where the pass / fail checks hide it. Choosing a model's
defaults here keeps the mood evaluation's prompts out of the choice. ``--spare-neutrals`` draws the
set from the world whose casts spare neutrals (``world.render``; the tune stage's with
``tune_spare_neutrals``), with its own promises: the same captions, other pictures and checks.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import numpy as np

from . import world
from .eval import MODEL, generate, load_pipeline
from .eval_moods import judge_families, load_family_judge
from .looks import checks, promised, shows, statistics

SEEDS = (101, 202)


def validation_set(count: int, seed: int = 4242, spare_neutrals: bool = False
                   ) -> list[tuple[str, object, dict[str, float]]]:
    """(caption, what its words promise, the statistics of the world's own picture of it)."""
    rng = random.Random(seed)
    items = []
    while len(items) < count:
        scene = world.sample_mood(rng)
        looks = promised(scene, spare_neutrals)
        if not (looks.hues or looks.light or looks.saturation or looks.temperature):
            continue
        picture = world.render(scene, 128, 128, 0, spare_neutrals)
        if not shows(scene, picture, spare_neutrals):  # the training data's own filter
            continue
        items.append((world.mood_caption(scene, rng), looks, statistics(picture)))
    return items


def compare(model: Path, scenes: int, settings: list[tuple[float, float]], plain: bool = False,
            steps: int | None = None, spare_neutrals: bool = False) -> None:
    """Print each (guidance, guidance_rescale) setting's checks and drift on ``scenes`` validation captions,
    at ``steps`` sampling steps (the card's unless given)."""
    pipe, steps, _, size = load_pipeline(model, steps, colour_guidance=not plain)
    judge = load_family_judge()
    items = validation_set(scenes, spare_neutrals=spare_neutrals)
    for guidance, rescale in settings:
        per: dict[str, list[int]] = {}
        drift: dict[str, list[float]] = {}
        for text, looks, drawn in items:
            images = generate(pipe, text, size, steps, guidance, SEEDS, rescale)
            for image, family in zip(images, judge_families(judge, images)):
                for key, hit in checks(looks, image, family).items():
                    per.setdefault(key, []).append(hit)
                for key, value in statistics(image).items():
                    drift.setdefault(key, []).append(value - drawn[key])
        hits = [h for v in per.values() for h in v]
        print(f"{steps} steps, guidance {guidance} rescale {rescale}: "
              + ", ".join(f"{k} {np.mean(v):.1%} ({len(v)})" for k, v in sorted(per.items()))
              + f", all {np.mean(hits):.1%}; against the world's picture: "
              + ", ".join(f"{k} {np.mean(v):+.3f} (mean abs {np.mean(np.abs(v)):.3f})" for k, v in drift.items()),
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--scenes", type=int, default=96)
    parser.add_argument("--plain", action="store_true", help="plain classifier-free guidance, not the card's")
    parser.add_argument("--steps", type=int, help="sampling steps (default: the card's)")
    parser.add_argument("--spare-neutrals", action="store_true",
                        help="the validation set of the world whose casts spare neutrals (the tune's with tune_spare_neutrals)")
    parser.add_argument("settings", nargs="+", help="guidance:guidance_rescale, e.g. 5:0")
    args = parser.parse_args()
    compare(args.model, args.scenes, [tuple(map(float, setting.split(":"))) for setting in args.settings], args.plain,
            args.steps, args.spare_neutrals)


if __name__ == "__main__":
    main()
