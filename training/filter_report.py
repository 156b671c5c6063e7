"""How the training data's filter (``looks.shows``) treats scenes naming a grey, by temperature.

    python -m training.filter_report [--scenes 150]

For mood scenes naming grey, charcoal or silver, drawn with seed 7 and grouped by the temperature
their words sum to (none, cool, warm): the share the filter keeps, and the grey and blue pixel
shares (``looks.hue_classes``) of the pictures it keeps. Then, over 600 scenes of the whole
dataset's mix (seed 11), the share kept at the first draw and how often a promised temperature is
refused. Run it at another commit (``git worktree``) to compare worlds; docs/models.md has v4's and v5's.
"""

from __future__ import annotations

import argparse
import random
from dataclasses import replace

import numpy as np

from . import looks, world
from . import vocabulary as V

GREYS = {"grey", "charcoal", "silver"}


def temperature_of(scene: world.Scene) -> str:
    return looks.temperature_word(sum(V.GRADES[g].temperature for g in scene.all_grades())) or "none"


def greys_by_temperature(count: int, seed: int = 7) -> dict[str, dict[str, float]]:
    rng = random.Random(seed)
    rows: dict[str, list[tuple[bool, float, float]]] = {"none": [], "cool": [], "warm": []}
    while min(len(r) for r in rows.values()) < count:
        scene = world.sample_mood(rng)
        group = rows[temperature_of(scene)]
        if not GREYS & set(scene.named) or len(group) >= count:
            continue
        image = world.render(scene, 128, 128, seed=rng.randrange(2**31))
        labels = looks.hue_classes(image)
        group.append((looks.shows(scene, image), float((labels == "grey").mean()), float((labels == "blue").mean())))
    out = {}
    for name, group in rows.items():
        kept = [r for r in group if r[0]]
        out[name] = {"kept": len(kept) / len(group), "grey": float(np.mean([r[1] for r in kept])),
                     "blue": float(np.mean([r[2] for r in kept]))}
    return out


def first_draws(count: int = 600, seed: int = 11) -> dict[str, float]:
    rng = random.Random(seed)
    kept = promised = refused = 0
    for _ in range(count):
        scene = world.sample_scene(rng)
        image = world.render(scene, 128, 128, seed=rng.randrange(2**31))
        result = looks.checks(replace(looks.promised(scene), scene=None), image, None)
        kept += all(result.values())
        promised += "temperature" in result
        refused += result.get("temperature", 1) == 0
    return {"kept": kept / count, "temperature_promised": promised, "temperature_refused": refused}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenes", type=int, default=150, help="scenes naming a grey per temperature group")
    args = parser.parse_args()
    for name, r in greys_by_temperature(args.scenes).items():
        print(f"naming a grey, {name:4s}: kept {r['kept']:.0%}, kept pictures grey {r['grey']:.2f} blue {r['blue']:.2f}")
    d = first_draws()
    print(f"all scenes: first-draw keep {d['kept']:.1%}; temperature promised {d['temperature_promised']}, "
          f"refused {d['temperature_refused']}")


if __name__ == "__main__":
    main()
