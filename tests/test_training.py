"""The training recipe: the world, its vocabulary, the tokenizer, a resumable run, held-out evaluations."""

from __future__ import annotations

import collections
import json
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from transformers import CLIPTokenizer

from training import vocabulary as V
from training import world
from training.eval import eval_prompts
from training.eval_moods import ENGLISH, SPANISH, filler_prompts, mood_prompts
from training.tokenizer import save_tokenizer
from training.train import SMOKE, Checkpoints, Config, snapshot, train

from .helpers import EngineServer, decode_png, settings_from_env

ROOT = Path(__file__).resolve().parents[1]


def test_smoke_training_produces_a_model_the_engine_serves(tmp_path):
    out = tmp_path / "models" / "smoke"
    summary = train(Config(**SMOKE), out)
    assert (out / "model_index.json").is_file() and (out / "aura.json").is_file()
    assert summary["training"]["final_unet_loss"] > 0
    assert summary["native_sizes"]["1:1"] == [128, 128]
    # The VAE's reconstruction of unseen scenes is measured and recorded (a VAE that loses hues caps
    # the model); averaging over cells can only lower the error.
    vae = summary["training"]
    assert 0 < vae["vae_heldout_colour_error"] <= vae["vae_heldout_error"] < 1
    # Trained on a zero-terminal-SNR schedule predicting v: the sampler it ships with says so, and
    # starts from pure noise (t = 999), so the engine samples as the model was trained.
    scheduler = json.loads((out / "scheduler" / "scheduler_config.json").read_text())
    assert scheduler["prediction_type"] == "v_prediction" and scheduler["rescale_betas_zero_snr"] is True
    assert scheduler["timestep_spacing"] == "trailing"
    settings = settings_from_env(SD_MODEL_ID=str(out), SD_STEPS="2")
    with EngineServer(settings) as server:
        health = server.client.get("/health").json()
        assert health["model"] == "aura-tiny"
        assert health["optimizations"]["colour_guidance"] is True  # the card train.py writes asks for it
        response = server.client.post("/generate", json={"prompt": "atardecer cálido en la playa", "aspectRatio": "21:9",
                                                         "temperature": 1, "numImages": 1})
        assert response.status_code == 200, response.text
        assert decode_png(response.json()["images"][0]).size == (632, 272)
        model = server.worker.model
        assert model.text2img.scheduler.config.prediction_type == "v_prediction"


def _checkpoint_stage(folder: Path) -> tuple[str, int] | None:
    """The stage and step of the run's last complete save in ``folder`` (saves are renamed into place)."""
    saves = sorted(p for p in folder.glob("*") if p.is_dir() and not p.name.endswith(".tmp")) if folder.is_dir() else []
    for save in reversed(saves):
        try:
            with safe_open(save / "shard-00.safetensors", framework="pt") as handle:
                state = json.loads(handle.metadata()["state"])
            return state["stage"], state["step"]
        except (OSError, RuntimeError):  # safetensors says RuntimeError for a missing file
            if (save / "shard-00.safetensors").exists():
                raise
            continue  # removed as a newer save came in, after the listing
    return None


def _kill_at_checkpoint(command: list[str], folder: Path, stage: str) -> None:
    """Start ``command`` and kill it (SIGKILL, no chance to tidy up) once it has saved a checkpoint of ``stage``."""
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    try:
        while (saved := _checkpoint_stage(folder)) is None or saved[0] != stage:
            assert process.poll() is None, "the run ended before it could be interrupted"
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()


def test_an_interrupted_run_resumes_to_the_same_weights(tmp_path):
    """Kill a smoke run inside the UNet stage, run the same command again: it resumes from its
    checkpoint and ends with exactly the weights of a run that was never stopped."""
    command = [sys.executable, "-m", "training.train", "--smoke", "--checkpoints", str(tmp_path / "ckpt")]
    whole = subprocess.run(command[:-2] + ["--checkpoints", str(tmp_path / "ckpt-whole"), "--out", str(tmp_path / "whole")],
                           cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert whole.returncode == 0, whole.stdout[-2000:] + whole.stderr[-2000:]

    out = tmp_path / "resumed"
    _kill_at_checkpoint(command + ["--out", str(out)], tmp_path / "ckpt", "unet")
    assert not (out / "model_index.json").exists()

    # The run in progress can be looked at: its last checkpoint's EMA weights, saved as a model.
    snap = snapshot(Config(**SMOKE), tmp_path / "ckpt", tmp_path / "snap")
    stage, step = _checkpoint_stage(tmp_path / "ckpt")
    assert snap["training"]["snapshot_of"].startswith(f"1-unet-{step:06d} (stage unet, step {step}")
    shard = load_file(next((tmp_path / "ckpt").glob("1-unet-*")) / "shard-00.safetensors")
    saved = load_file(tmp_path / "snap" / "unet" / "diffusion_pytorch_model.safetensors")
    assert all((saved[k] == shard[f"ema_unet.{k}"].half()).all() for k in saved)
    # Without rendering the dataset again, it is the run's model in every other part: the tokenizer and
    # latent scale come from the checkpoint, the previews' colour map from the same square scenes.
    whole_card, snap_card = (json.loads((d / "aura.json").read_text()) for d in (tmp_path / "whole", tmp_path / "snap"))
    tokenizers = [CLIPTokenizer.from_pretrained(d / "tokenizer") for d in (tmp_path / "whole", tmp_path / "snap")]
    assert tokenizers[0].get_vocab() == tokenizers[1].get_vocab()
    assert tokenizers[0]("atardecer cálido").input_ids == tokenizers[1]("atardecer cálido").input_ids
    assert snap_card["training"]["latent_scaling_factor"] == whole_card["training"]["latent_scaling_factor"]
    assert snap_card["latent_rgb"] == whole_card["latent_rgb"]

    # A copy of the checkpoint, as if it had been taken on a GPU: it resumes here all the same.
    shutil.copytree(tmp_path / "ckpt", tmp_path / "ckpt-gpu")
    gpu_shard = next((tmp_path / "ckpt-gpu").glob("1-unet-*")) / "shard-00.safetensors"
    with safe_open(gpu_shard, framework="pt") as handle:
        state = json.loads(handle.metadata()["state"])
    save_file(load_file(gpu_shard), gpu_shard, metadata={"state": json.dumps({**state, "device": "cuda"})})

    resumed = subprocess.run(command + ["--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    assert f"resuming from {tmp_path / 'ckpt'}" in resumed.stdout and ": stage unet" in resumed.stdout
    assert json.loads((out / "aura.json").read_text())["training"]["resumed"] == 1
    assert not any((tmp_path / "ckpt").iterdir())  # a finished run leaves nothing to resume
    for part in ("unet/diffusion_pytorch_model.safetensors", "text_encoder/model.safetensors",
                 "vae/diffusion_pytorch_model.safetensors"):
        a, b = load_file(tmp_path / "whole" / part), load_file(out / part)
        assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a), part

    from_gpu = subprocess.run(command[:-2] + ["--checkpoints", str(tmp_path / "ckpt-gpu"), "--out", str(tmp_path / "from-gpu")],
                              cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert from_gpu.returncode == 0, from_gpu.stdout[-2000:] + from_gpu.stderr[-2000:]
    assert "checkpoint taken on cuda, resumed on cpu: the device's noise generator is reseeded" in from_gpu.stdout
    assert (tmp_path / "from-gpu" / "model_index.json").is_file()


def test_the_tune_stage_alone_ends_as_the_whole_run_and_resumes(tmp_path):
    """``--from-base`` runs only the tune stage, from a model the earlier stages saved: from the
    same base it ends with exactly the whole command's weights (the tune starts from the base as
    saved, in both), and a run killed inside the tune resumes there to the same weights."""
    whole = subprocess.run([sys.executable, "-m", "training.train", "--smoke", "--checkpoints", str(tmp_path / "ckpt-whole"),
                            "--out", str(tmp_path / "whole")], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert whole.returncode == 0, whole.stdout[-2000:] + whole.stderr[-2000:]
    assert not (tmp_path / "whole-base").exists()  # the whole command's base, kept apart until it completed
    base = tmp_path / "base"
    train(Config(**{**SMOKE, "tune_steps": 0}), base)
    assert "tune" not in json.loads((base / "aura.json").read_text())["training"]

    command = [sys.executable, "-m", "training.train", "--smoke", "--from-base", str(base),
               "--checkpoints", str(tmp_path / "ckpt"), "--out", str(tmp_path / "tuned")]
    _kill_at_checkpoint(command, tmp_path / "ckpt", "tune")
    snap = snapshot(Config(**SMOKE), tmp_path / "ckpt", tmp_path / "snap")  # a tune in progress, as a model
    assert snap["training"]["snapshot_of"].startswith("2-tune-") and snap["latent_rgb"] == json.loads(
        (base / "aura.json").read_text())["latent_rgb"]

    # The checkpoint resumes only from the base it tuned, as it was.
    with pytest.raises(SystemExit, match="tunes .*, not"):
        train(Config(**SMOKE), tmp_path / "y", checkpoint_dir=tmp_path / "ckpt", base=tmp_path / "whole")
    card_text = (base / "aura.json").read_text()
    (base / "aura.json").write_text(card_text + "\n")
    with pytest.raises(SystemExit, match="has changed since"):
        train(Config(**SMOKE), tmp_path / "y", checkpoint_dir=tmp_path / "ckpt", base=base)
    (base / "aura.json").write_text(card_text)

    resumed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    assert ": stage tune" in resumed.stdout
    card = json.loads((tmp_path / "tuned" / "aura.json").read_text())
    assert card["training"]["tune"]["from"] == str(base.resolve()) and card["training"]["resumed"] == 1
    assert card["latent_rgb"] == json.loads((tmp_path / "whole" / "aura.json").read_text())["latent_rgb"]
    for part in ("unet/diffusion_pytorch_model.safetensors", "text_encoder/model.safetensors",
                 "vae/diffusion_pytorch_model.safetensors"):
        a, b = load_file(tmp_path / "whole" / part), load_file(tmp_path / "tuned" / part)
        assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a), part
    base_unet, tuned_unet = (load_file(d / "unet" / "diffusion_pytorch_model.safetensors") for d in (base, tmp_path / "tuned"))
    assert any((base_unet[k] != tuned_unet[k]).any() for k in base_unet)  # the tune changed the UNet

    # Bases the tune cannot go on from are refused before any work, by what is wrong with them.
    for kwargs, match in (({"base": tmp_path / "nothing"}, "no aura.json"), ({"base": base, "out": base}, "same folder"),
                          ({"base": tmp_path / "tuned"}, "already tuned"),
                          ({"base": base, "cfg": Config(**{**SMOKE, "unet_steps": 9})}, r"another config \(unet_steps\)"),
                          ({"base": base, "cfg": Config(**{**SMOKE, "tune_steps": 0})}, "tune_steps=0")):
        with pytest.raises(SystemExit, match=match):
            train(kwargs.get("cfg", Config(**SMOKE)), kwargs.get("out", tmp_path / "x"), base=kwargs["base"])

    # A leftover checkpoint of another stage is not silently tuned over.
    Checkpoints(tmp_path / "other", Config(**SMOKE)).save({"x": torch.zeros(1)},
                                                           {"stage": "unet", "step": 2, "rows": [], "elapsed": 1.0})
    with pytest.raises(SystemExit, match="checkpoint of the unet stage"):
        train(Config(**SMOKE), tmp_path / "x", checkpoint_dir=tmp_path / "other", base=base)


def test_config_fields_are_set_from_the_command_line_by_name_and_type():
    from training.train import config_overrides

    assert config_overrides(["tune_steps=2_000", "tune_styled=0", "vae_bf16=false"]) == {
        "tune_steps": 2000, "tune_styled": 0.0, "vae_bf16": False}
    for bad in ("tune_step=3", "tune_steps=many", "tune_steps", "seed=1", "vae_bf16=maybe"):
        with pytest.raises(SystemExit, match="--set"):
            config_overrides([bad])


def test_the_tune_stage_draws_fresh_scenes_that_name_a_colour_over_a_style():
    from training.train import tune_jobs, scene_jobs

    cfg = Config(tune_scenes=400, tune_styled=0.5)
    jobs = tune_jobs(cfg)
    assert [j[0] for j in jobs] == list(range(cfg.scenes, cfg.scenes + 400))  # after every index the dataset draws
    assert max(j[0] for j in scene_jobs(Config(scenes=50))) < 50
    assert 0.4 < sum(j[4] for j in jobs) / len(jobs) < 0.6
    rng = random.Random(1)
    for _ in range(200):
        scene = world.sample_mood(rng, styled=True)
        assert scene.style and scene.named and scene.main.name == scene.named[0]


def test_a_checkpoint_of_another_config_is_refused(tmp_path):
    Checkpoints(tmp_path, Config(**SMOKE)).save({"x": torch.zeros(1)}, {"stage": "vae", "step": 2})
    with pytest.raises(SystemExit, match="another config"):
        Checkpoints(tmp_path, Config(**{**SMOKE, "seed": 1})).load()


def test_a_checkpoint_from_before_a_config_field_existed_resumes_at_its_default(tmp_path):
    """Options added to Config while a run is under way do not strand its checkpoints, as long as
    they keep the old behaviour (their default); a run asked to use them is refused."""
    import json
    from dataclasses import asdict

    from safetensors.torch import save_file

    def save_older(config: dict) -> None:
        shutil.rmtree(tmp_path / "0-vae-000002", ignore_errors=True)
        (tmp_path / "0-vae-000002").mkdir()
        save_file({"x": torch.ones(1)}, tmp_path / "0-vae-000002" / "shard-00.safetensors",
                  metadata={"state": json.dumps({"stage": "vae", "step": 2, "config": config})})

    older = asdict(Config(**SMOKE))
    del older["vae_bf16"]  # as a save written before the field was added
    save_older(older)
    tensors, state = Checkpoints(tmp_path, Config(**SMOKE)).load()
    assert state["step"] == 2 and float(tensors["x"]) == 1.0
    with pytest.raises(SystemExit, match=r"another config \(vae_bf16\)"):
        Checkpoints(tmp_path, Config(**{**SMOKE, "vae_bf16": not Config().vae_bf16})).load()
    # A field whose default is newer than the field (the spared world) reads as the old behaviour: a tune
    # begun on v4's world does not resume on the spared one.
    del older["tune_spare_neutrals"]
    save_older(older)
    assert Checkpoints(tmp_path, Config(**{**SMOKE, "tune_spare_neutrals": False})).load()[1]["step"] == 2
    with pytest.raises(SystemExit, match=r"another config \(tune_spare_neutrals\)"):
        Checkpoints(tmp_path, Config(**SMOKE)).load()


def test_checkpoints_are_committable_shards_and_keep_only_the_last_whole_save(tmp_path):
    """A large save is split into shards under the size limit and loads back whole; an unfinished
    save (.tmp) is never resumed from; a newer save replaces the older one."""
    checkpoints = Checkpoints(tmp_path, Config(**SMOKE))
    checkpoints.SHARD_BYTES = 1000
    tensors = {f"w{i}": torch.full((100,), float(i)) for i in range(5)}  # 400 bytes each
    checkpoints.save(tensors, {"stage": "vae", "step": 2})
    checkpoints.save(tensors, {"stage": "unet", "step": 4})
    (tmp_path / "1-unet-000006.tmp").mkdir()  # a save killed half-way
    assert [p.name for p in checkpoints.saves()] == ["1-unet-000004"]
    shards = sorted(checkpoints.path.glob("*.safetensors"))
    assert len(shards) == 3 and all(p.stat().st_size < 1000 + 1024 for p in shards)
    loaded, state = checkpoints.load()
    assert (state["stage"], state["step"]) == ("unet", 4)
    assert loaded.keys() == tensors.keys() and all(torch.equal(loaded[k], tensors[k]) for k in tensors)
    checkpoints.clear()
    assert checkpoints.load() is None


def test_the_vocabulary_is_large_and_bilingual():
    assert len(V.content_words("en")) >= 300
    assert len(V.COLOURS) >= 39  # the basic nine and 30 more
    for table in (V.COLOURS, V.MODIFIERS, V.GRADES, V.TIMES, V.SEASONS, V.WEATHER, V.PLACES, V.STYLES):
        for key, entry in table.items():
            assert entry.en and entry.es, key
    for word in ("atardecer", "mar", "playa", "bosque", "niebla", "otoño", "acogedor", "melancólico"):
        assert word in V.content_words("es"), word
    table = V.markdown_table()
    assert "| colour | terracotta |" in table and "| mood & style | cozy |" in table
    # docs/models.md shows the vocabulary the world draws, not an older copy of it
    docs = (Path(__file__).parents[1] / "docs" / "models.md").read_text(encoding="utf-8")
    assert table.strip() in docs, "docs/models.md: paste training.vocabulary.markdown_table() into 'The vocabulary'"


def test_world_renders_every_layout_deterministically():
    rng = random.Random(5)
    kinds, classic = set(), set()
    for _ in range(1500):
        scene, text = world.sample(rng)
        kinds.add(scene.kind)
        assert text and text == text.strip()
        if scene.classic:
            classic.add(scene.kind)
        for colour in scene.named:  # every named colour is said, in English or Spanish
            said = V.COLOURS[colour].en + V.COLOURS[colour].es
            plain = world._strip_accents(text)
            assert any(w in text or world._strip_accents(w) in plain for w in said), (colour, text)
    assert kinds == set(world.LAYOUTS)
    assert classic == set(world.KINDS)
    for kind in world.LAYOUTS:
        scene = world.Scene(kind, world.Paint("teal", "pale"), world.Paint("coral"), named=("teal",),
                            time="dusk", season="winter", weather="fog", grades=("warm",), style="cozy")
        a, b = world.render(scene, 168, 128, seed=3), world.render(scene, 168, 128, seed=3)
        assert a.shape == (128, 168, 3) and (a == b).all() and 0 <= a.min() and a.max() <= 1, kind


def test_grade_words_move_the_picture_the_way_they_say():
    from training.looks import statistics

    base = world.Scene("field", world.Paint("green"), named=("green",))
    stats = {g: statistics(world.render(world.replace(base, grades=(g,)), 128, 128, seed=1)) for g in ("dark", "light", "muted", "vivid", "warm", "cool")}
    plain = statistics(world.render(base, 128, 128, seed=1))
    assert stats["dark"]["luma"] < plain["luma"] < stats["light"]["luma"]
    assert stats["muted"]["saturation"] < plain["saturation"] < stats["vivid"]["saturation"]
    assert stats["cool"]["warmth"] < plain["warmth"] < stats["warm"]["warmth"]


def test_grades_keep_a_named_colour_and_the_shapes_of_a_light_picture():
    from training.looks import Looks, checks

    # "dreamy" (pastel, soft, glowing) once lifted lavender to white; the colour now stays lavender.
    dreamy = world.Scene("field", world.Paint("lavender"), named=("lavender",), style="dreamy")
    assert checks(Looks(hues=("lavender",)), world.render(dreamy, 128, 128, seed=1), None) == {"hue": 1}
    # Light grades stop each pixel at white instead of clipping: a minimalist white and beige room
    # keeps its beige floor apart from its white wall.
    room = world.Scene("room", world.Paint("white"), world.Paint("beige"), named=("white", "beige"), style="minimalist")
    image = world.render(room, 128, 128, seed=1)
    assert np.abs(image[-8:].mean((0, 1)) - image[20:40].mean((0, 1))).max() > 0.04
    # Grades that drain colour (monochrome) still do.
    grey = world.render(world.replace(dreamy, style=None, grades=("monochrome",)), 128, 128, seed=1)
    assert checks(Looks(saturation="muted"), grey, None) == {"saturation": 1}


def test_a_world_that_spares_neutrals_keeps_a_cool_grey_grey():
    from training.looks import hue_classes, promised
    from training.train import Config, tune_jobs

    # v4's world casts a fifth of "cool" onto greys, which turns a charcoal street blue; the world
    # that spares neutrals (the tune stage's with tune_spare_neutrals) leaves them grey and tints the
    # coloured pixels exactly as before.
    street = world.Scene("street", world.Paint("charcoal"), world.Paint("orange"), named=("charcoal",), grades=("cool",))
    cast, spared = (world.render(street, 128, 128, seed=2, spare_neutrals=s) for s in (False, True))
    assert (hue_classes(spared) == "blue").mean() < (hue_classes(cast) == "blue").mean()
    assert (hue_classes(spared) == "grey").mean() > (hue_classes(cast) == "grey").mean() + 0.1
    _, saturation = world.value_saturation(spared)
    coloured = saturation >= 2 * world.NEUTRAL_SATURATION
    assert coloured.mean() > 0.02 and np.abs(cast[coloured] - spared[coloured]).max() < 0.02
    # A named neutral promises no temperature there, so the data filter stops keeping only blue greys.
    assert promised(street).temperature == "cool" and promised(street, spare_neutrals=True).temperature is None
    assert not any(job[5] for job in tune_jobs(Config(tune_scenes=20, tune_spare_neutrals=False)))
    assert all(job[5] for job in tune_jobs(Config(tune_scenes=20)))  # the shipped config's
    # ... and a tune job renders its scene in that world: the same scene, other pixels where a cast met a grey.
    from training.train import _render_one

    jobs = tune_jobs(Config(tune_scenes=40))
    pairs = [(_render_one(job), _render_one((*job[:5], False))) for job in jobs]
    assert any(spared[1].tobytes() != cast[1].tobytes() for spared, cast in pairs)


def test_the_world_still_renders_the_data_the_shipped_weights_were_trained_on():
    from training.train import SHIPPED, Config, data_sample

    # python -m training.train reproduces the shipped weights only while the world draws the same
    # data; its card records the dataset's first scenes. A change to the world (v5's was one) fails
    # here until a model trained on the new world ships.
    recorded = json.loads((SHIPPED / "aura.json").read_text(encoding="utf-8"))["training"]
    # The dataset's scenes, and the tune stage's (v6 is tuned on the world that spares neutrals the casts).
    for name, sample, tune in (("dataset", recorded["data_sample"], False), ("tune", recorded["tune"]["data_sample"], True)):
        today = data_sample(Config(**recorded["config"]), sample["scenes"], tune=tune)
        assert today["captions_sha256"] == sample["captions_sha256"], f"the {name}'s scenes or captions changed"
        drift = np.abs(np.array(today["mean_rgb"]) - np.array(sample["mean_rgb"])).max()
        assert drift < 0.5, f"the {name}'s pictures changed: mean colour moved {drift:.2f} levels"


def test_training_pictures_show_what_their_words_promise():
    from training.looks import promised, shows
    from training.train import sample_shown

    rng, draws = random.Random(3), []
    for _ in range(60):
        scene, pixels, n = sample_shown(rng, 128, 128)
        assert shows(scene, pixels), (scene, promised(scene))
        draws.append(n)
    assert 60 < sum(draws) < 60 * 1.6, draws  # some scenes are drawn again, most are not
    # A named colour the picture hides is refused: an amber river is a thin line on a green field.
    river = world.Scene("river", world.Paint("amber"), named=("amber",), place="river")
    assert not shows(river, world.render(river, 128, 128, seed=0))


def test_place_words_are_drawn_about_equally_often():
    rng = random.Random(0)
    counts = collections.Counter(world.sample_mood(rng).place for _ in range(6000))
    per_word = {p: counts[p] / len(V.PLACES[p].en) for p in V.PLACES}
    assert max(per_word.values()) < 1.6 * min(per_word.values()), per_word
    assert counts["room"] > 3 * counts["island"]  # ten ways to say it against two


def test_the_world_draws_what_the_mood_evaluation_checks():
    """The evaluation's checks on the world's own renders of each prompt's words (read with the
    vocabulary's tables): a model cannot score above its world, so the world must pass them."""
    from training.eval_moods import prompt_ceiling, scene_for

    scene = scene_for("atardecer cálido en la playa")
    assert (scene.kind, scene.time, scene.grades) == ("beach", "sunset", ("warm",))
    assert scene_for("a dark room with amber lights").grades == ("dark",)
    assert scene_for("dark teal sea").main == world.Paint("teal", "dark")
    ceiling = prompt_ceiling(None, seeds=2)["attributes"]
    assert ceiling["hue"] >= 0.9 and all(value >= 0.9 for value in ceiling.values()), ceiling


def test_tokenizer_knows_spanish_and_splits_unknown_words(tmp_path):
    from transformers import CLIPTokenizer

    rng = random.Random(0)
    captions = [world.sample(rng)[1] for _ in range(4000)]
    save_tokenizer(tmp_path, captions, 48)
    tokenizer = CLIPTokenizer.from_pretrained(tmp_path)
    words = {w for c in captions for w in c.lower().replace(",", " ").split()}
    for word in ("otoño", "cálido", "melancólico", "niebla", "playa"):
        assert word in words, word
        assert len(tokenizer.tokenize(word)) == 1, tokenizer.tokenize(word)
    # Capitals and decomposed accents are normalised (NFC, lower case) to the same token.
    import unicodedata

    assert tokenizer.tokenize(unicodedata.normalize("NFD", "Otoño")) == tokenizer.tokenize("otoño")
    # A word outside the vocabulary is split into learned pieces, never an unknown token.
    ids = tokenizer("quokka vibes", add_special_tokens=False).input_ids
    assert len(ids) > 2 and tokenizer.unk_token_id not in ids
    assert tokenizer.decode(ids).replace(" ", "") == "quokkavibes"


@pytest.fixture(scope="module")
def training_captions():
    rng = random.Random(0)
    return {world.sample(rng)[1] for _ in range(60_000)}


def test_evaluation_prompts_are_held_out(training_captions):
    prompts = eval_prompts()
    assert len(prompts) >= 60
    assert not {p.text for p in prompts} & training_captions
    # The first evaluation's glue words never occur in any training caption.
    training_words = {word for caption in training_captions for word in caption.split()}
    for glue in ("mostly", "image", "colored", "showing", "tones", "against", "behind", "canvas"):
        assert glue not in training_words


def test_mood_evaluation_is_held_out_and_balanced(training_captions):
    prompts = mood_prompts()
    assert len(prompts) >= 100
    langs = [p.lang for p in prompts]
    assert langs.count("en") * 2 == len(prompts) and langs.count("es") * 4 == len(prompts) == langs.count("filler") * 4
    texts = {p.text for p in prompts}
    assert len(texts) == len(prompts) and not texts & training_captions
    # No prompt is a caption of the world even ignoring punctuation and accents.
    normal = {world._strip_accents(c).replace(",", "") for c in training_captions}
    assert not {world._strip_accents(t).replace(",", "") for t in texts} & normal
    # Filler words are words the training never inserts nor captions.
    from training.train import distractor_words

    train_words, held_out = distractor_words(V.content_words("en") | V.content_words("es"))
    assert not set(train_words) & set(held_out)
    for prompt in filler_prompts():
        added = set(prompt.text.split()) - set(prompt.source.split())
        assert added and added <= set(held_out), prompt
    assert all(p.hues or p.light or p.saturation or p.temperature or p.scene for p in ENGLISH + SPANISH)


def test_the_mood_validation_set_is_held_out_from_training_and_from_the_evaluation(training_captions):
    from training import mood_validation
    from training.eval import SEEDS

    prompts = mood_prompts(validation=True)
    langs = [p.lang for p in prompts]
    assert len(prompts) == 96 and langs.count("en") == 48 and langs.count("es") == langs.count("filler") == 24
    normal = lambda text: world._strip_accents(text.lower()).replace(",", "")  # noqa: E731
    texts = {normal(p.text) for p in prompts}
    assert len(texts) == len(prompts)
    assert not texts & {normal(c) for c in training_captions}
    assert not texts & {normal(p.text) for p in mood_prompts()}  # none is an evaluation prompt
    assert not set(mood_validation.SEEDS) & set(SEEDS)
    for prompt in prompts:  # every check names what the world and the judge know
        assert set(prompt.hues) <= set(V.COLOURS) and prompt.scene in (None, *world.FAMILIES), prompt
        assert prompt.hues or prompt.light or prompt.saturation or prompt.temperature or prompt.scene, prompt
    assert all(p.source in {q.text for q in mood_validation.ENGLISH} for p in prompts if p.lang == "filler")


def test_latent_rgb_fit_recovers_a_linear_map():
    import torch

    from training.latent_rgb import fit_latent_rgb

    gen = torch.Generator().manual_seed(0)
    latents = torch.randn(6, 4, 8, 8, generator=gen)
    factors = torch.randn(4, 3, generator=gen) * 0.3
    bias = torch.tensor([0.1, -0.2, 0.05])
    small = torch.einsum("nchw,ck->nkhw", latents, factors) + bias.view(1, 3, 1, 1)
    images = small.repeat_interleave(4, dim=2).repeat_interleave(4, dim=3)  # each latent pixel covers 4×4
    mapping, error = fit_latent_rgb(latents, images)
    assert torch.allclose(torch.tensor(mapping.factors), factors, atol=1e-4)
    assert torch.allclose(torch.tensor(mapping.bias), bias, atol=1e-4)
    assert error < 0.01


def test_settings_validation_set_is_the_worlds_own_and_not_the_evaluation():
    """training.validate_settings chooses inference defaults on world captions whose own render keeps
    every promise, never on the mood evaluation's prompts."""
    from training.validate_settings import validation_set

    items = validation_set(12)
    assert len(items) == 12 and len({text for text, _, _ in items}) == 12
    evaluation = {p.text.lower() for p in mood_prompts()}
    assert not evaluation & {text.lower() for text, _, _ in items}
    assert all(looks.hues or looks.light or looks.saturation or looks.temperature for _, looks, _ in items)


def test_mean_preserving_guidance_keeps_the_captions_own_mean_colour():
    """training.compare_guidance: at mean guidance g it is plain guidance; at 1 the guided picture's mean
    (per channel) is the conditional prediction's while its structure is guided as before."""
    from training.compare_guidance import guided

    gen = torch.Generator().manual_seed(0)
    uncond, cond = torch.randn(2, 4, 16, 16, generator=gen), torch.randn(2, 4, 16, 16, generator=gen)
    plain = uncond + 5 * (cond - uncond)
    assert torch.allclose(guided(uncond, cond, 5.0, 5.0), plain, atol=1e-5)
    kept = guided(uncond, cond, 5.0, 1.0)
    assert torch.allclose(kept.mean((2, 3)), cond.mean((2, 3)), atol=1e-5)
    centred = lambda x: x - x.mean((2, 3), keepdim=True)  # noqa: E731
    assert torch.allclose(centred(kept), centred(plain), atol=1e-5)
    # Splitting off the brightness: the mean's part along the luma direction is guided fully.
    factors = torch.tensor([[-0.09, 0.52, 0.07], [-0.46, -0.48, -0.07], [0.07, -0.07, -0.53], [0.11, 0.22, 0.13]])
    direction = torch.ones(1, 3) @ torch.linalg.pinv(factors)
    luma_of = factors @ torch.tensor([0.3, 0.59, 0.11])
    split = guided(uncond, cond, 5.0, 1.0, direction, luma_of)
    assert torch.allclose(split.mean((2, 3)) @ luma_of, plain.mean((2, 3)) @ luma_of, atol=1e-4)
    assert not torch.allclose(split.mean((2, 3)), plain.mean((2, 3)), atol=1e-2)
