"""Measure how well a model follows moods written the way people write them.

    python -m training.eval_moods [--model DIR] [--sheet docs/aura-tiny-moods.png] [--json FILE]
    python -m training.eval_moods --validation [--model DIR]   # the set to choose models on (mood_validation)

104 held-out prompts, written by hand (none of them, nor their phrasing, comes from the caption
grammar; a test checks none is a training caption): 52 in English, 26 in Spanish and 26 English ones
with two unknown filler words inserted (words from a part of the word list training never uses).
Each prompt lists what a person would check by eye (hue families, dark or light, muted or vivid,
warm or cool, scene), and each check is made on the image as ``looks.py`` defines it; the scene by
the judge, a small CNN trained only on the world's own renders, naming the place's family.

4 seeds each, at the model's defaults. Targets: every attribute ≥ 85%, colour (hue) ≥ 90%, Spanish
within 5 points of English, the filler prompts within 5% of the same prompts without fillers.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from . import vocabulary as V
from . import world
from .eval import MODEL, SEEDS, Judge, _judge_input, contact_sheet, generate, load_pipeline, parse_args, train_judge
from .looks import checks, promised

ROOT = Path(__file__).resolve().parents[1]
JUDGE = ROOT / "training" / "runs" / "judge-families.safetensors"
TARGETS = {"attribute": 0.85, "hue": 0.90, "spanish_gap": 0.05, "filler_cost": 0.05}
ATTRIBUTES = ("hue", "light", "saturation", "temperature", "scene")


@dataclass(frozen=True)
class MoodPrompt:
    text: str
    lang: str  # en, es, or filler (English with unknown words)
    hues: tuple[str, ...] = ()  # vocabulary.COLOURS keys
    light: str | None = None  # dark | light
    saturation: str | None = None  # muted | vivid
    temperature: str | None = None  # warm | cool
    scene: str | None = None  # a family of world.FAMILIES
    source: str | None = field(default=None, compare=False)  # the English prompt a filler one was made from


def _p(text, lang="en", hues="", light=None, sat=None, temp=None, scene=None) -> MoodPrompt:
    return MoodPrompt(text, lang, tuple(hues.split()), light, sat, temp, scene)


ENGLISH = [
    _p("rainy afternoon in tokyo", scene="city"),
    _p("cozy autumn cabin", temp="warm", scene="room"),
    _p("minimalist scandinavian interior", light="light", sat="muted", scene="room"),
    _p("melancholic grey winter", hues="grey", sat="muted"),
    _p("tropical summer beach", sat="vivid", scene="beach"),
    _p("a mostly teal mood", hues="teal"),
    _p("pink everywhere, soft light", hues="pink"),
    _p("dreamy lavender tones", hues="lavender"),
    _p("moody dark forest", light="dark", scene="forest"),
    _p("golden hour over the desert", temp="warm", scene="desert"),
    _p("neon cyberpunk city at night", light="dark", scene="city"),
    _p("calm blue ocean at noon", hues="blue", scene="water"),
    _p("misty mountains at dawn", scene="mountains"),
    _p("warm terracotta and cream palette", hues="terracotta", temp="warm"),
    _p("cold navy night sky", hues="navy", light="dark", temp="cool", scene="sky"),
    _p("pastel pink flower field", hues="pink", light="light", scene="field"),
    _p("emerald jungle after the rain", hues="emerald", scene="forest"),
    _p("sunset over the sea in orange and purple", hues="orange"),
    _p("black and gold luxury", hues="black gold", light="dark"),
    _p("romantic pink sunset", hues="pink", temp="warm"),
    _p("vivid red poppy meadow", hues="red", sat="vivid", scene="field"),
    _p("snowy mountains in winter", temp="cool", scene="mountains"),
    _p("mysterious indigo twilight", hues="indigo", light="dark"),
    _p("energetic orange and yellow stripes", hues="orange yellow", sat="vivid", scene="abstract"),
    _p("serene sage green garden", hues="sage", scene="field"),
    _p("industrial charcoal street", hues="charcoal", sat="muted", scene="city"),
    _p("vaporwave sky in pink and cyan", hues="pink cyan", scene="sky"),
    _p("retro mustard and brown 70s living room", hues="mustard brown", scene="room"),
    _p("quiet turquoise lake", hues="turquoise", scene="water"),
    _p("stormy grey sea", hues="grey", light="dark", scene="water"),
    _p("bright yellow sunflower field", hues="yellow", light="light", scene="field"),
    _p("earthy rust canyon", hues="rust", temp="warm", scene="mountains"),
    _p("elegant black interior", hues="black", light="dark", scene="room"),
    _p("airy white room with morning light", hues="white", light="light", scene="room"),
    _p("deep purple dusk over the hills", hues="purple", light="dark", scene="mountains"),
    _p("crimson gothic night", hues="crimson", light="dark"),
    _p("happy coral beach day", hues="coral", scene="beach"),
    _p("peaceful mint and cream mood", hues="mint"),
    _p("muted olive fields in autumn", hues="olive", sat="muted", scene="field"),
    _p("glowing amber lights in a dark room", hues="amber", light="dark", temp="warm", scene="room"),
    _p("cool silver winter morning", hues="silver", temp="cool"),
    _p("japanese garden with crimson accents", hues="crimson", scene="field"),
    _p("playful polka dots in pink and yellow", hues="pink yellow", scene="abstract"),
    _p("lush green rainforest", hues="green", scene="forest"),
    _p("dark academia burgundy room", hues="burgundy", light="dark", scene="room"),
    _p("hazy peach sunrise", hues="peach", temp="warm"),
    _p("monochrome city skyline", sat="muted", scene="city"),
    _p("faded vintage beach photo", sat="muted", scene="beach"),
    _p("bohemian terracotta desert", hues="terracotta", temp="warm", scene="desert"),
    _p("icy blue glacier lake", hues="blue", temp="cool", scene="water"),
    _p("lonely lighthouse on a foggy coast", scene="water"),
    _p("cheerful yellow kitchen", hues="yellow", scene="room"),
]
SPANISH = [
    _p("atardecer cálido en la playa", "es", temp="warm", scene="beach"),
    _p("cabaña acogedora en otoño", "es", temp="warm", scene="room"),
    _p("interior escandinavo minimalista", "es", light="light", sat="muted", scene="room"),
    _p("invierno gris y melancólico", "es", hues="grey", sat="muted"),
    _p("playa tropical de verano", "es", sat="vivid", scene="beach"),
    _p("bosque oscuro y misterioso", "es", light="dark", scene="forest"),
    _p("ciudad ciberpunk de noche con neón", "es", light="dark", scene="city"),
    _p("océano azul en calma al mediodía", "es", hues="blue", scene="water"),
    _p("montañas con niebla al amanecer", "es", scene="mountains"),
    _p("paleta terracota y crema, cálida", "es", hues="terracotta", temp="warm"),
    _p("cielo nocturno azul marino y frío", "es", hues="navy", light="dark", temp="cool", scene="sky"),
    _p("campo de flores rosa pastel", "es", hues="pink", light="light", scene="field"),
    _p("selva esmeralda después de la lluvia", "es", hues="emerald", scene="forest"),
    _p("lujo negro y dorado", "es", hues="black gold", light="dark"),
    _p("lago turquesa tranquilo", "es", hues="turquoise", scene="water"),
    _p("mar gris y tormentoso", "es", hues="grey", light="dark", scene="water"),
    _p("cañón terroso color óxido", "es", hues="rust", temp="warm", scene="mountains"),
    _p("habitación blanca y luminosa por la mañana", "es", hues="white", light="light", scene="room"),
    _p("colinas moradas al anochecer", "es", hues="purple", light="dark", scene="mountains"),
    _p("jardín japonés con toques carmesí", "es", hues="crimson", scene="field"),
    _p("lunares rosa y amarillo", "es", hues="pink yellow", scene="abstract"),
    _p("habitación oscura con luces ámbar", "es", hues="amber", light="dark", temp="warm", scene="room"),
    _p("desierto bohemio terracota", "es", hues="terracotta", temp="warm", scene="desert"),
    _p("calle industrial gris carbón", "es", hues="charcoal", sat="muted", scene="city"),
    _p("cielo vaporwave rosa y cian", "es", hues="pink cyan", scene="sky"),
    _p("tarde lluviosa en tokio", "es", scene="city"),
]


def filler_prompts(count: int = 26, seed: int = 2026, english: list[MoodPrompt] | None = None) -> list[MoodPrompt]:
    """The first ``count`` English prompts (the evaluation's unless given) with two unknown words
    inserted at random places."""
    from .train import distractor_words

    _, held_out = distractor_words(V.content_words("en") | V.content_words("es"))
    rng = random.Random(seed)
    out = []
    for prompt in (ENGLISH if english is None else english)[:count]:
        words = prompt.text.split()
        for _ in range(2):
            words.insert(rng.randint(0, len(words)), rng.choice(held_out))
        out.append(MoodPrompt(" ".join(words), "filler", prompt.hues, prompt.light, prompt.saturation,
                              prompt.temperature, prompt.scene, source=prompt.text))
    return out


def mood_prompts(validation: bool = False) -> list[MoodPrompt]:
    """The evaluation's prompts, or with ``validation`` the validation set's (``mood_validation``)."""
    if validation:
        from . import mood_validation as MV

        return MV.ENGLISH + MV.SPANISH + filler_prompts(len(MV.SPANISH), MV.FILLER_SEED, MV.ENGLISH)
    return ENGLISH + SPANISH + filler_prompts()


def load_family_judge(retrain: bool = False) -> Judge:
    from safetensors.torch import load_file, save_file

    if JUDGE.is_file() and not retrain:
        judge = Judge(len(world.FAMILIES))
        judge.load_state_dict(load_file(JUDGE))
        return judge.eval()
    judge = train_judge(steps=2500, seed=4321, sample=world.sample_scene,
                        label=lambda scene: world.FAMILIES.index(scene.family), classes=len(world.FAMILIES))
    JUDGE.parent.mkdir(parents=True, exist_ok=True)
    save_file(judge.state_dict(), JUDGE)
    return judge


def judge_families(judge: Judge, images: list[np.ndarray]) -> list[str]:
    """The scene family (of world.FAMILIES) the judge reads in each picture."""
    with torch.no_grad():
        return [world.FAMILIES[i] for i in judge(_judge_input(images)).argmax(1).tolist()]


# --- the world's own renders: the ceiling the checks allow --------------------------------------------
def world_ceiling(judge: Judge, count: int = 600, seed: int = 77) -> dict[str, float]:
    rng = random.Random(seed)
    per: dict[str, list[int]] = {}
    for _ in range(count):
        scene = world.sample_mood(rng)
        image = world.render(scene, 128, 128, rng.randrange(2**31))
        (family,) = judge_families(judge, [image])
        for key, hit in checks(promised(scene), image, family).items():
            per.setdefault(key, []).append(hit)
    return {k: float(np.mean(v)) for k, v in per.items()}


# --- evaluation ------------------------------------------------------------------------------
def score(rows: list[tuple[MoodPrompt, dict[str, int]]]) -> float:
    hits = [hit for _, result in rows for hit in result.values()]
    return float(np.mean(hits)) if hits else 0.0


def evaluate(model_dir: Path = MODEL, sheet: Path | None = None, retrain_judge: bool = False,
             steps: int | None = None, guidance: float | None = None, validation: bool = False) -> dict:
    """The mood evaluation's scores (with ``validation``, the validation set's, at its own seeds)."""
    from . import mood_validation

    seeds = mood_validation.SEEDS if validation else SEEDS
    pipe, steps, guidance, size = load_pipeline(model_dir, steps, guidance)
    judge = load_family_judge(retrain_judge)
    started = time.perf_counter()
    rows: list[tuple[MoodPrompt, dict[str, int]]] = []
    rendered = []
    prompts = mood_prompts(validation)
    for prompt in prompts:
        images = generate(pipe, prompt.text, size, steps, guidance, seeds)
        rendered.append((prompt, images))
        for image, family in zip(images, judge_families(judge, images)):
            rows.append((prompt, checks(prompt, image, family)))
    by_lang = {lang: [r for r in rows if r[0].lang == lang] for lang in ("en", "es", "filler")}
    sources = {p.source for p, _ in by_lang["filler"]}
    clean_twins = [r for r in by_lang["en"] if r[0].text in sources]
    per_attr = {a: [res[a] for _, res in rows if a in res] for a in ATTRIBUTES}
    per_colour: dict[str, list[int]] = {}
    for prompt, res in rows:
        if "hue" in res:
            for c in prompt.hues:
                per_colour.setdefault(c, []).append(res["hue"])
    results = {
        "set": "validation" if validation else "evaluation",
        "prompts": len(rendered),
        "images": len(rendered) * len(seeds),
        "steps": steps,
        "guidance": guidance,
        "attributes": {a: float(np.mean(v)) for a, v in per_attr.items()},
        "checks": {a: len(v) for a, v in per_attr.items()},
        "overall": score(rows),
        "english": score(by_lang["en"]),
        "spanish": score(by_lang["es"]),
        "filler": score(by_lang["filler"]),
        "filler_clean_twins": score(clean_twins),
        "per_language_attributes": {lang: {a: round(float(np.mean([res[a] for _, res in r if a in res])), 3)
                                           for a in ATTRIBUTES if any(a in res for _, res in r)}
                                    for lang, r in by_lang.items()},
        "per_colour": {c: round(float(np.mean(v)), 3) for c, v in sorted(per_colour.items())},
        "per_prompt": {p.text: round(float(np.mean([h for q, res in rows if q == p for h in res.values()] or [1])), 3)
                       for p, _ in rendered},
        "world_ceiling": world_ceiling(judge),
        "prompt_ceiling": prompt_ceiling(judge, [p for p in prompts if p.lang != "filler"]),
        "seconds": round(time.perf_counter() - started, 1),
    }
    results["spanish_gap"] = results["english"] - results["spanish"]
    results["filler_cost"] = 1 - results["filler"] / max(results["filler_clean_twins"], 1e-9)
    results["met"] = targets_met(results)
    if sheet is not None:
        contact_sheet([(p, imgs) for p, imgs in rendered if p.lang != "filler"], sheet, per_row=6)
    return results


# --- the world's own reading of a prompt: how far the world itself meets each check -----------------
def scene_for(text: str) -> world.Scene | None:
    """The scene the vocabulary's tables read in ``text`` (longest phrases first; unknown words
    skipped). Used only to render what the world itself draws for an evaluation prompt — the
    ceiling of each check — never to steer the model."""
    tables = [("colour", V.COLOURS), ("modifier", V.MODIFIERS), ("grade", V.GRADES), ("time", V.TIMES),
              ("season", V.SEASONS), ("weather", V.WEATHER), ("place", V.PLACES), ("style", V.STYLES)]
    phrases = [(phrase, group, key) for group, table in tables for key, entry in table.items()
               for phrase in entry.en + entry.es]
    phrases += [(phrase, "motif", key) for key, (en, es) in V.MOTIFS.items() for phrase in en + es]
    phrases += [(phrase, "city", key) for key, es in V.CITIES.items() for phrase in (key, es)]
    words = world._strip_accents(text.lower().replace(",", " ")).split()
    found: list[tuple[int, str, str]] = []
    i = 0
    while i < len(words):
        for phrase, group, key in sorted(phrases, key=lambda p: -len(p[0].split())):
            n = len(phrase.split())
            if words[i:i + n] == world._strip_accents(phrase).split():
                found.append((i, group, key))
                i += n
                break
        else:
            i += 1
    # A modifier is one only next to a colour ("dark teal", "azul oscuro"); elsewhere it is the
    # grade of the same name ("a dark room").
    colour_at = {i for i, g, _ in found if g == "colour"}
    found = [(i, g if g != "modifier" or (i + 1) in colour_at or (i - 1) in colour_at or key not in V.GRADES
              else "grade", key) for i, g, key in found]
    get = lambda group: [key for _, g, key in found if g == group]  # noqa: E731
    colours, modifiers = get("colour"), get("modifier")
    place = (get("place") or [None])[0]
    motif = (get("motif") or [None])[0]
    city = (get("city") or [None])[0]
    if city and not place:
        place = "city"
    kind = motif or (V.PLACES[place].layout if place else "field")
    time = (get("time") or [None])[0]
    style = (get("style") or [None])[0]
    if style and time is None:
        time = V.STYLES[style].time
    palette = list(V.STYLES[style].colours) if style and not colours else []
    main_name = colours[0] if colours else (palette[0] if palette else world.LAYOUT_DEFAULT.get(kind, "blue"))
    modifier = modifiers[0] if modifiers and colours else None
    second_name = colours[1] if len(colours) > 1 else (palette[1] if len(palette) > 1 else None)
    if kind in world.SHAPES and second_name is None:
        second_name = "white"
    grades = tuple(g for g in get("grade") if not (g in V.MODIFIERS and g == modifier))
    return world.Scene(kind, world.Paint(main_name, modifier), world.Paint(second_name) if second_name else None,
                       night=bool(time and V.TIMES[time].night), named=tuple(colours), time=time,
                       season=(get("season") or [None])[0], weather=(get("weather") or [None])[0], grades=grades,
                       style=style, place=place if place else (motif or None), city=city)


def prompt_ceiling(judge: Judge | None, prompts: list[MoodPrompt] | None = None, seeds: int = 4) -> dict:
    """Each check of every evaluation prompt (or of ``prompts``) on the world's own renders of
    ``scene_for(prompt)`` (the scene family named by ``judge``, or without one the scene's own)."""
    per: dict[str, list[int]] = {}
    failing: dict[str, float] = {}
    for prompt in ENGLISH + SPANISH if prompts is None else prompts:
        scene = scene_for(prompt.text)
        hits = []
        for seed in range(seeds):
            image = world.render(scene, 128, 128, seed)
            if judge is None:
                family = scene.family if scene.place else None
            else:
                (family,) = judge_families(judge, [image])
            for key, hit in checks(prompt, image, family).items():
                per.setdefault(key, []).append(hit)
                hits.append(hit)
        if np.mean(hits) < 1:
            failing[prompt.text] = round(float(np.mean(hits)), 2)
    return {"attributes": {k: round(float(np.mean(v)), 3) for k, v in per.items()}, "failing": failing}


def targets_met(r: dict) -> bool:
    return (all(v >= TARGETS["attribute"] for v in r["attributes"].values()) and r["attributes"]["hue"] >= TARGETS["hue"]
            and r["spanish_gap"] <= TARGETS["spanish_gap"] and r["filler_cost"] <= TARGETS["filler_cost"])


def main() -> None:
    args = parse_args(__doc__, validation=True)
    r = evaluate(args.model, args.sheet, args.retrain_judge, args.steps, args.guidance, args.validation)
    print("the world's own renders of random scenes: " + ", ".join(f"{k} {v:.1%}" for k, v in r["world_ceiling"].items()))
    print("the world's own renders of these prompts (the ceiling): "
          + ", ".join(f"{k} {v:.1%}" for k, v in r["prompt_ceiling"]["attributes"].items()))
    for colour, value in r["per_colour"].items():
        print(f"  colour:{colour:12s} {value:6.1%}")
    for attr, value in r["attributes"].items():
        target = TARGETS["hue"] if attr == "hue" else TARGETS["attribute"]
        print(f"{attr:12s} {value:6.1%}  ({r['checks'][attr]} checks, target ≥ {target:.0%})")
    print(f"English {r['english']:.1%}, Spanish {r['spanish']:.1%} (gap {r['spanish_gap'] * 100:+.1f} points, target ≤ 5)")
    print(f"filler words: {r['filler']:.1%} against {r['filler_clean_twins']:.1%} without them "
          f"(cost {r['filler_cost']:.1%}, target ≤ 5%)")
    print(f"overall {r['overall']:.1%} on the {r['set']} set; {r['prompts']} prompts × {r['images'] // r['prompts']} seeds, {r['steps']} steps, "
          f"guidance {r['guidance']:g}, in {r['seconds']}s")
    if args.json:
        args.json.write_text(json.dumps(r, indent=2, ensure_ascii=False) + "\n")
    print("targets met" if r["met"] else "targets NOT met")


if __name__ == "__main__":
    main()

