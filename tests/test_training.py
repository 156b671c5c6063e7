"""The training recipe runs end to end (a handful of steps) and its output loads through the engine."""

from __future__ import annotations

import random

from training import world
from training.eval import eval_prompts
from training.train import Config, train

from .helpers import EngineServer, decode_png, settings_from_env


def test_smoke_training_produces_a_model_the_engine_serves(tmp_path):
    out = tmp_path / "models" / "smoke"
    cfg = Config(scenes=40, vae_steps=2, vae_batch=4, unet_steps=2, unet_batch=4, warmup=1)
    summary = train(cfg, out)
    assert (out / "model_index.json").is_file() and (out / "aura.json").is_file()
    assert summary["training"]["final_unet_loss"] > 0
    settings = settings_from_env(SD_MODEL_ID=str(out), SD_STEPS="2")
    with EngineServer(settings) as server:
        assert server.client.get("/health").json()["model"] == "aura-tiny"
        response = server.client.post("/generate", json={"prompt": "pink flower field", "aspectRatio": "21:9",
                                                         "temperature": 1, "numImages": 1})
        assert response.status_code == 200, response.text
        assert decode_png(response.json()["images"][0]).size == (632, 272)


def test_world_renders_every_kind_deterministically():
    rng = random.Random(5)
    seen = set()
    for _ in range(400):
        scene, text = world.sample(rng)
        seen.add(scene.kind)
        assert text and text == text.strip()
        for colour in scene.named:
            assert colour in text
    assert seen == set(world.KINDS)
    scene = world.sample_scene(random.Random(1))
    a, b = world.render(scene, 84, 64, seed=3), world.render(scene, 84, 64, seed=3)
    assert a.shape == (64, 84, 3) and (a == b).all() and 0 <= a.min() and a.max() <= 1


def test_evaluation_prompts_are_held_out():
    prompts = eval_prompts()
    assert len(prompts) >= 60
    texts = {p.text for p in prompts}
    rng = random.Random(0)
    training_captions = {world.sample(rng)[1] for _ in range(50_000)}
    assert not texts & training_captions
    # Their glue words never occur in any training caption.
    training_words = {word for caption in training_captions for word in caption.split()}
    for glue in ("mostly", "image", "colored", "showing", "tones", "against", "behind", "canvas"):
        assert glue not in training_words
