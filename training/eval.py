"""Measure how well a model follows moodboard prompts it never saw in training.

    python -m training.eval [--model DIR] [--sheet docs/aura-tiny-contact-sheet.png]

64 held-out prompts (phrasings no training caption uses) × 4 seeds are rendered through the real
diffusers pipeline at the model's native size, then scored:

* colour: every colour the prompt names covers at least 10% of the image (HSV pixel classes);
* scene/shape: a small CNN "judge", trained only on the procedural world's own renders and labels,
  names the prompt's scene or shape; a night prompt also needs a dark sky (upper half);
* diversity: mean absolute per-pixel difference (0–255) between images of the same prompt.

Targets: colour ≥ 90%, scene/shape ≥ 75%, diversity well above zero.
"""

from __future__ import annotations

import argparse
import colorsys
import json
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from . import world

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "src" / "aura_reflect" / "models" / "aura-tiny"
JUDGE = ROOT / "training" / "runs" / "judge.safetensors"
SEEDS = (11, 22, 33, 44)
COLOR_SHARE = 0.10
TARGETS = {"colour": 0.90, "scene": 0.75}


# --- held-out prompts ------------------------------------------------------------------------
@dataclass(frozen=True)
class EvalPrompt:
    text: str
    kind: str
    colors: tuple[str, ...]
    night: bool = False


# Phrasings that training captions never use: other word orders, and glue words ("mostly",
# "tones", "colored", "image", "of", "showing") the training grammar does not contain.
SCENE_TEMPLATES = (
    "{noun} mostly {color}",
    "image of {color} {noun}",
    "{color} colored {noun}",
    "{noun} showing {color} tones",
)
SHAPE_TEMPLATES = (
    "{color} {noun} against {color2}",
    "image of {color} {noun} with {color2} behind",
    "{color2} canvas showing {color} {noun}",
    "{noun} colored {color} and {color2}",
)
SCENE_COLORS = {
    "sunset": ("orange", "pink", "red", "purple"),
    "ocean": ("blue", "green", "purple", "pink"),
    "mountains": ("purple", "blue", "green", "red"),
    "forest": ("green", "orange", "yellow", "blue"),
    "city": ("yellow", "pink", "blue", "orange"),
    "night": ("blue", "purple", "black", "pink"),
    "desert": ("orange", "yellow", "red", "pink"),
    "flowers": ("pink", "yellow", "red", "purple"),
    "rain": ("blue", "purple", "green", "red"),
}
SHAPE_PAIRS = (("yellow", "blue"), ("red", "white"), ("green", "purple"), ("pink", "black"))
EVAL_NOUNS = {
    "sunset": "sunset", "ocean": "sea", "mountains": "mountains", "forest": "forest", "city": "city skyline",
    "night": "night sky", "desert": "desert dunes", "flowers": "flower field", "rain": "rain",
    "circle": "circle", "square": "square", "triangle": "triangle", "stripes": "stripes",
    "gradient": "gradient", "grid": "grid", "dots": "dots",
}


def eval_prompts() -> list[EvalPrompt]:
    prompts = []
    for kind, colors in SCENE_COLORS.items():
        for template, color in zip(SCENE_TEMPLATES, colors):
            text = template.format(noun=EVAL_NOUNS[kind], color=color)
            prompts.append(EvalPrompt(text, kind, (color,), night=kind == "night"))
    for kind in world.SHAPES:
        for template, (color, color2) in zip(SHAPE_TEMPLATES, SHAPE_PAIRS):
            text = template.format(noun=EVAL_NOUNS[kind], color=color, color2=color2)
            prompts.append(EvalPrompt(text, kind, (color, color2)))
    # Two night scenes that are not the "night" kind: city and mountains after dark.
    prompts[prompts.index(next(p for p in prompts if p.kind == "city"))] = EvalPrompt(
        "city skyline mostly yellow after night falls", "city", ("yellow",), night=True
    )
    return prompts


# --- colour ----------------------------------------------------------------------------------
HUE_BINS = (("red", 0, 12), ("orange", 12, 40), ("yellow", 40, 70), ("green", 70, 165),
            ("blue", 165, 255), ("purple", 255, 290), ("pink", 290, 340), ("red", 340, 361))


def color_shares(image: np.ndarray) -> dict[str, float]:
    """Share of pixels in each named colour class (image: HxWx3 floats in [0, 1])."""
    flat = image.reshape(-1, 3)
    hsv = np.array([colorsys.rgb_to_hsv(*px) for px in flat[:: max(1, len(flat) // 4096)]])
    h, s, v = hsv[:, 0] * 360, hsv[:, 1], hsv[:, 2]
    labels = np.full(len(hsv), "grey", dtype=object)
    chromatic = (s >= 0.22) & (v >= 0.22)
    for name, lo, hi in HUE_BINS:
        labels[chromatic & (h >= lo) & (h < hi)] = name
    labels[v < 0.22] = "black"
    labels[(s < 0.22) & (v > 0.75)] = "white"
    names, counts = np.unique(labels, return_counts=True)
    return {str(n): c / len(labels) for n, c in zip(names, counts)}


# --- the judge: a small CNN trained on the world's own renders -------------------------------
class Judge(nn.Module):
    def __init__(self, classes: int = len(world.KINDS)):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 96, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(96, 128, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        )
        self.head = nn.Linear(128, classes)

    def forward(self, x):
        return self.head(self.features(x).flatten(1))


def _judge_input(images: list[np.ndarray]) -> torch.Tensor:
    """Resize to 64×64 (any aspect), blur slightly: the judge should read layout, not crisp edges."""
    batch = torch.stack([torch.from_numpy(np.ascontiguousarray(im)).permute(2, 0, 1).float() for im in images]) \
        if len({im.shape for im in images}) == 1 else None
    if batch is None:
        return torch.cat([_judge_input([im]) for im in images])
    batch = F.interpolate(batch, size=(64, 64), mode="bilinear", align_corners=False, antialias=True)
    return batch * 2 - 1


def train_judge(steps: int = 1500, seed: int = 1234, sample=None, label=None, classes: int = len(world.KINDS)) -> Judge:
    """Train on fresh renders of the procedural world, labelled with their scene kind (or family)."""
    sample = sample or world.sample_classic
    label = label or (lambda scene: world.KINDS.index(scene.kind))
    rng = random.Random(seed)
    torch.manual_seed(seed)
    judge = Judge(classes)
    opt = torch.optim.AdamW(judge.parameters(), lr=2e-3)
    shapes = [(64, 64), (112, 64), (64, 112), (88, 64), (96, 64), (152, 64)]
    for step in range(steps):
        scenes, images = [], []
        size = rng.choice(shapes)
        for _ in range(32):
            scene = sample(rng)
            scenes.append(label(scene))
            images.append(world.render(scene, size[0], size[1], rng.randrange(2**31)))
        x = _judge_input(images)
        # Look like a small decoder's output: soft edges and some noise, half of the time each.
        if rng.random() < 0.5:
            x = F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
        if rng.random() < 0.5:
            x = x + 0.08 * torch.randn(x.shape, generator=torch.Generator().manual_seed(step))
        loss = F.cross_entropy(judge(x), torch.tensor(scenes))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 250 == 0:
            print(f"judge step {step} loss {loss.item():.3f}", flush=True)
    judge.eval()
    return judge


def load_judge(retrain: bool = False) -> Judge:
    from safetensors.torch import load_file, save_file

    if JUDGE.is_file() and not retrain:
        judge = Judge()
        judge.load_state_dict(load_file(JUDGE))
        return judge.eval()
    judge = train_judge()
    JUDGE.parent.mkdir(parents=True, exist_ok=True)
    save_file(judge.state_dict(), JUDGE)
    return judge


def judge_accuracy_on_world(judge: Judge, count: int = 320, seed: int = 99) -> float:
    """The judge's own accuracy on fresh renders: an upper bound on what it can certify."""
    rng = random.Random(seed)
    hits = 0
    for _ in range(count):
        scene = world.sample_classic(rng)
        image = world.render(scene, 64, 64, rng.randrange(2**31))
        with torch.no_grad():
            hits += int(judge(_judge_input([image])).argmax(1).item() == world.KINDS.index(scene.kind))
    return hits / count


def colour_check_on_world(count: int = 600, seed: int = 7) -> float:
    """The colour check on the world's own renders of captioned scenes: the ceiling a model trained
    on them can reach (a small shape, a tint or a blend can put a named colour under 10%)."""
    rng = random.Random(seed)
    hits = []
    for _ in range(count):
        scene = world.sample_classic(rng)
        shares = color_shares(world.render(scene, 64, 64, rng.randrange(2**31)))
        hits += [int(shares.get(color, 0.0) >= COLOR_SHARE) for color in scene.named]
    return float(np.mean(hits))


# --- evaluation ------------------------------------------------------------------------------
def generate(pipe, prompt: str, size: tuple[int, int], steps: int, guidance: float,
             seeds: tuple[int, ...] = SEEDS, guidance_rescale: float = 0.0) -> list[np.ndarray]:
    generators = [torch.Generator("cpu").manual_seed(s) for s in seeds]
    out = pipe(prompt, width=size[0], height=size[1], num_inference_steps=steps, guidance_scale=guidance,
               guidance_rescale=guidance_rescale, num_images_per_prompt=len(seeds), generator=generators,
               output_type="np")
    return [np.asarray(im, dtype=np.float32) for im in out.images]


def load_pipeline(model_dir: Path, steps: int | None = None, guidance: float | None = None,
                  colour_guidance: dict | None | bool = True):
    """The model through diffusers' pipeline as the engine runs it, with its card's defaults unless
    ``steps`` / ``guidance`` are given: (pipe, steps, guidance, 1:1 size). ``colour_guidance``: True, the
    card's (engine/guidance.py); False, plain classifier-free guidance; a dict, that card entry instead."""
    from aura_reflect.engine.guidance import ColourGuidance, ColourGuidanceConfig, guided_pipeline_classes
    from aura_reflect.engine.previews import LatentRGB

    card = json.loads((model_dir / "aura.json").read_text())
    pipe = guided_pipeline_classes()[0].from_pretrained(model_dir, torch_dtype=torch.float32, use_safetensors=True)
    pipe.set_progress_bar_config(disable=True)
    entry = card.get("colour_guidance") if colour_guidance is True else None if colour_guidance is False else colour_guidance
    if entry is not None:
        ColourGuidance(LatentRGB.from_card(card["latent_rgb"]), ColourGuidanceConfig.from_card(entry)).attach(pipe)
    steps = card["default_steps"] if steps is None else steps
    guidance = card["default_guidance"] if guidance is None else guidance
    return pipe, steps, guidance, tuple(card["native_sizes"]["1:1"])


def evaluate(model_dir: Path = MODEL, sheet: Path | None = None, retrain_judge: bool = False,
             steps: int | None = None, guidance: float | None = None) -> dict:
    pipe, steps, guidance, size = load_pipeline(model_dir, steps, guidance)
    judge = load_judge(retrain_judge)
    prompts = eval_prompts()
    per_attr: dict[str, list[int]] = {}
    colour_hits, scene_hits, diversities, rendered = [], [], [], []
    started = time.perf_counter()
    for prompt in prompts:
        images = generate(pipe, prompt.text, size, steps, guidance)
        rendered.append((prompt, images))
        with torch.no_grad():
            predicted = judge(_judge_input(images)).argmax(1).tolist()
        for image, kind_index in zip(images, predicted):
            shares = color_shares(image)
            for color in prompt.colors:
                hit = int(shares.get(color, 0.0) >= COLOR_SHARE)
                colour_hits.append(hit)
                per_attr.setdefault(f"colour:{color}", []).append(hit)
            hit = int(world.KINDS[kind_index] == prompt.kind)
            if prompt.night:
                hit &= int(float(image[: image.shape[0] // 2].mean()) < 0.35)
            scene_hits.append(hit)
            per_attr.setdefault(f"scene:{prompt.kind}", []).append(hit)
        pairs = [(a, b) for i, a in enumerate(images) for b in images[i + 1:]]
        diversities.append(float(np.mean([np.abs(a - b).mean() * 255 for a, b in pairs])))
    results = {
        "prompts": len(prompts),
        "images": len(prompts) * len(SEEDS),
        "steps": steps,
        "guidance": guidance,
        "colour_adherence": float(np.mean(colour_hits)),
        "scene_adherence": float(np.mean(scene_hits)),
        "overall": float(np.mean(colour_hits + scene_hits)),
        "diversity_mean_abs_diff_0_255": float(np.mean(diversities)),
        "judge_accuracy_on_world": judge_accuracy_on_world(judge),
        "colour_check_on_world": colour_check_on_world(),
        "seconds": round(time.perf_counter() - started, 1),
        "per_attribute": {k: round(float(np.mean(v)), 3) for k, v in sorted(per_attr.items())},
    }
    if sheet is not None:
        contact_sheet(rendered, sheet)
    return results


def contact_sheet(rendered, path: Path, per_row: int = 8, scale: int = 2) -> None:
    """Two seeds of every prompt, with the prompt under each pair."""
    from PIL import Image, ImageDraw, ImageFont

    tile_w, tile_h = 64 * scale, 64 * scale
    cell_w, cell_h = tile_w * 2 + 6, tile_h + 30
    rows = (len(rendered) + per_row - 1) // per_row
    sheet = Image.new("RGB", (cell_w * per_row, cell_h * rows), (250, 250, 248))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for index, (prompt, images) in enumerate(rendered):
        x0, y0 = (index % per_row) * cell_w, (index // per_row) * cell_h
        for j, image in enumerate(images[:2]):
            tile = Image.fromarray((np.clip(image, 0, 1) * 255).astype(np.uint8)).resize((tile_w, tile_h), Image.LANCZOS)
            sheet.paste(tile, (x0 + j * (tile_w + 2), y0))
        words, lines = prompt.text.split(), [""]
        for word in words:
            if len(lines[-1]) + len(word) + 1 > 42:
                lines.append("")
            lines[-1] = f"{lines[-1]} {word}".strip()
        draw.text((x0 + 2, y0 + tile_h + 2), "\n".join(lines[:2]), fill=(20, 20, 20), font=font)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)


def parse_args(doc: str, validation: bool = False) -> argparse.Namespace:
    """The command line both evaluations take (the mood one also ``--validation``); sets the two
    threads they are measured with."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--sheet", type=Path, default=None)
    parser.add_argument("--retrain-judge", action="store_true")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--steps", type=int, default=None, help="denoising steps (default: the model's own)")
    parser.add_argument("--guidance", type=float, default=None, help="guidance scale (default: the model's own)")
    if validation:
        parser.add_argument("--validation", action="store_true",
                            help="score the validation set (training/mood_validation.py), the one to choose models on")
    torch.set_num_threads(2)
    return parser.parse_args()


def main() -> None:
    args = parse_args(__doc__)
    results = evaluate(args.model, args.sheet, args.retrain_judge, args.steps, args.guidance)
    for key, value in results["per_attribute"].items():
        print(f"  {key:18s} {value:6.1%}")
    print(f"judge accuracy on fresh world renders: {results['judge_accuracy_on_world']:.1%}")
    print(f"colour check on the world's own renders: {results['colour_check_on_world']:.1%} (the ceiling)")
    print(f"colour adherence  {results['colour_adherence']:.1%}  (target ≥ {TARGETS['colour']:.0%})")
    print(f"scene adherence   {results['scene_adherence']:.1%}  (target ≥ {TARGETS['scene']:.0%})")
    print(f"overall           {results['overall']:.1%}")
    print(f"diversity         {results['diversity_mean_abs_diff_0_255']:.1f} / 255 mean abs difference between seeds")
    print(f"{results['prompts']} prompts × {len(SEEDS)} seeds in {results['seconds']}s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    met = results["colour_adherence"] >= TARGETS["colour"] and results["scene_adherence"] >= TARGETS["scene"]
    print("targets met" if met else "targets NOT met")


if __name__ == "__main__":
    main()
