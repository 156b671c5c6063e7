"""LCM-LoRA, SDXL-Lightning and torch.compile, switched on by environment variables as users do.

Everything runs the real diffusers code paths on tiny seeded pipelines: a LoRA built with peft and
saved in diffusers' LoRA format, and a Lightning-style UNet checkpoint saved as one safetensors file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from aura_reflect.engine import pipeline
from aura_reflect.engine.fast_paths import is_compiled
from aura_reflect.engine.loader import load_model
from aura_reflect.errors import ModelLoadError
from aura_reflect.testing import build_tiny_pipeline, save_tiny_lightning_unet, save_tiny_lora

from .helpers import EngineServer, decode_png, settings_from_env

BODY = {"prompt": "neon city at night", "aspectRatio": "1:1", "temperature": 1, "numImages": 2, "seed": 3}
Q_WEIGHT = "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q.weight"


@pytest.fixture(scope="module")
def loras(tmp_path_factory):
    root = tmp_path_factory.mktemp("loras")
    return {family: save_tiny_lora(root / f"lcm-lora-{family}", family) for family in ("sd", "sdxl")}


@pytest.fixture(scope="module")
def lightning_file(tmp_path_factory):
    return save_tiny_lightning_unet(tmp_path_factory.mktemp("lightning") / "tiny_sdxl_lightning_4step_unet.safetensors")


def expected_fused(folder, family: str, name: str = Q_WEIGHT) -> torch.Tensor:
    """base + B @ A, computed from the LoRA file by hand (alpha = rank: scale 1)."""
    lora = load_file(str(next(folder.glob("*.safetensors"))))
    module = name.removesuffix(".weight")
    down, up = lora[f"unet.{module}.lora.down.weight"], lora[f"unet.{module}.lora.up.weight"]
    base = build_tiny_pipeline(family).unet.state_dict()[name]
    return base + up @ down


@pytest.mark.parametrize("family", ["sd", "sdxl"])
def test_lcm_lora_is_fused_and_switches_to_lcm(family, loras, request):
    model = load_model(settings_from_env(SD_MODEL_ID=request.getfixturevalue(f"tiny_{family}"),
                                         SD_LCM_LORA_ID=str(loras[family])))
    assert model.scheduler_name == "LCMScheduler"
    assert type(model.img2img.scheduler).__name__ == "LCMScheduler"
    assert (model.default_steps, model.default_guidance) == (4, 1.0)
    assert model.optimizations["lcm"] is True and model.optimizations["lcm_source"] == str(loras[family])
    # Fused into the UNet's own weights, adapter layers gone: nothing extra runs per step.
    weights = model.text2img.unet.state_dict()
    assert not any("lora_" in key for key in weights)
    torch.testing.assert_close(weights[Q_WEIGHT], expected_fused(loras[family], family))
    assert not torch.allclose(weights[Q_WEIGHT], build_tiny_pipeline(family).unet.state_dict()[Q_WEIGHT])


def test_lcm_lora_as_a_single_file_with_step_and_guidance_overrides(tiny_sd, loras):
    lora_file = next(loras["sd"].glob("*.safetensors"))
    model = load_model(settings_from_env(SD_MODEL_ID=tiny_sd, SD_LCM_LORA_ID=str(lora_file), SD_STEPS="6",
                                         SD_GUIDANCE="1.5"))
    assert model.scheduler_name == "LCMScheduler"
    assert (model.default_steps, model.default_guidance) == (6, 1.5)


@pytest.mark.parametrize("model_family, lora_family", [("sd", "sdxl"), ("sdxl", "sd")])
def test_a_lora_of_the_other_family_stops_start_up_naming_the_variable(model_family, lora_family, loras, request):
    with pytest.raises(ModelLoadError, match=r"SD_LCM_LORA_ID=.*does not fit this") as raised:
        load_model(settings_from_env(SD_MODEL_ID=request.getfixturevalue(f"tiny_{model_family}"),
                                     SD_LCM_LORA_ID=str(loras[lora_family])))
    assert ("SDXL" if model_family == "sdxl" else "SD 1.x/2.x") in raised.value.message


def test_pickle_lora_and_missing_files_are_refused(tiny_sd, tmp_path):
    pickled = tmp_path / "lcm.bin"
    pickled.write_bytes(b"x")
    with pytest.raises(ModelLoadError, match="only .safetensors"):
        load_model(settings_from_env(SD_MODEL_ID=tiny_sd, SD_LCM_LORA_ID=str(pickled)))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match="holds no .safetensors"):
        load_model(settings_from_env(SD_MODEL_ID=tiny_sd, SD_LCM_LORA_ID=str(tmp_path / "empty")))


def test_lightning_unet_euler_trailing_no_cfg_over_http(tiny_sdxl, lightning_file):
    settings = settings_from_env(SD_MODEL_ID=tiny_sdxl, SD_LIGHTNING_UNET=str(lightning_file))
    with EngineServer(settings) as server:
        model = server.worker.model
        scheduler = model.text2img.scheduler
        assert type(scheduler).__name__ == "EulerDiscreteScheduler"
        assert scheduler.config.timestep_spacing == "trailing"
        assert (model.default_steps, model.default_guidance) == (4, 0.0)
        # The weights in use are the Lightning checkpoint's, not the base UNet's.
        in_use = model.text2img.unet.state_dict()
        for key, value in load_file(str(lightning_file)).items():
            torch.testing.assert_close(in_use[key], value)
        assert model.img2img.unet is model.text2img.unet

        health = server.client.get("/health").json()
        assert health["optimizations"]["lightning"] is True
        assert health["optimizations"]["lightning_steps"] == 4
        assert health["defaultSteps"] == 4

        generated = server.client.post("/generate", json=BODY)
        assert generated.status_code == 200, generated.text
        assert generated.json()["steps"] == 4
        refined = server.client.post("/refine", json={"refinePrompt": "darker", "images": generated.json()["images"][:1]})
        assert refined.status_code == 200, refined.text
        assert decode_png(refined.json()["images"][0]).size == decode_png(generated.json()["images"][0]).size


def test_lightning_step_count_comes_from_the_name_or_the_variable(tiny_sdxl, lightning_file, tmp_path):
    unnamed = shutil.copy(lightning_file, tmp_path / "distilled_unet.safetensors")
    with pytest.raises(ModelLoadError, match="SD_LIGHTNING_STEPS"):
        load_model(settings_from_env(SD_MODEL_ID=tiny_sdxl, SD_LIGHTNING_UNET=str(unnamed)))
    model = load_model(settings_from_env(SD_MODEL_ID=tiny_sdxl, SD_LIGHTNING_UNET=str(unnamed), SD_LIGHTNING_STEPS="2"))
    assert model.default_steps == 2


def test_lightning_needs_sdxl_and_a_matching_unet(tiny_sd, tiny_sdxl, lightning_file, tmp_path):
    with pytest.raises(ModelLoadError, match="SD_LIGHTNING_UNET needs an SDXL base"):
        load_model(settings_from_env(SD_MODEL_ID=tiny_sd, SD_LIGHTNING_UNET=str(lightning_file)))
    from safetensors.torch import save_file

    wrong = tmp_path / "wrong_4step_unet.safetensors"
    save_file({k: v.contiguous() for k, v in build_tiny_pipeline("sd").unet.state_dict().items()}, str(wrong))
    with pytest.raises(ModelLoadError, match="does not fit this SDXL UNet"):
        load_model(settings_from_env(SD_MODEL_ID=tiny_sdxl, SD_LIGHTNING_UNET=str(wrong)))


def test_only_one_few_step_path_at_a_time(tiny_sdxl, lightning_file, loras):
    from aura_reflect.core.config import ConfigError

    with pytest.raises(ConfigError, match="choose one"):
        settings_from_env(SD_MODEL_ID=tiny_sdxl, SD_LIGHTNING_UNET=str(lightning_file), SD_LCM_LORA_ID=str(loras["sdxl"]))


def _images(model, seed=5):
    request = pipeline.GenerationRequest("warm pastel gradient", 64, 64, steps=3, guidance_scale=5.0, seeds=[seed])
    return np.asarray(pipeline.generate(model, request).images[0], dtype=np.float32)


@pytest.fixture(scope="module")
def small_native_sd(tiny_sd, tmp_path_factory) -> str:
    """The tiny SD model with small native sizes, as aura-tiny has: compiling every served shape
    stays cheap on a CPU."""
    model = tmp_path_factory.mktemp("models") / "native"
    shutil.copytree(tiny_sd, model)
    native = {"1:1": [64, 64], "16:9": [112, 64], "9:16": [64, 112], "4:3": [88, 64], "3:4": [64, 88],
              "3:2": [96, 64], "2:3": [64, 96], "5:4": [80, 64], "4:5": [64, 80], "21:9": [152, 64]}
    (model / "aura.json").write_text(json.dumps({"native_sizes": native}))
    return str(model)


def test_torch_compile_compiles_every_shape_before_ready_and_serves_the_same_images(small_native_sd, tmp_path):
    """No request pays for compilation: every ratio, tier, image count and guidance, and a refinement
    of a served image, run on code compiled during start-up."""
    from torch._dynamo.utils import counters

    model = small_native_sd
    torch._dynamo.reset()
    plain = load_model(settings_from_env(SD_MODEL_ID=model))
    settings = settings_from_env(SD_MODEL_ID=model, SD_STEPS="2", TORCH_COMPILE="1", AURA_RATE_LIMIT="0",
                                 AURA_COMPILE_CACHE=str(tmp_path / "cache"))
    with EngineServer(settings, wait_ready=False) as server:
        assert server.worker.wait_ready(600), server.worker.error  # compiling every shape takes a while
        compiled = server.worker.model
        optimizations = server.client.get("/health").json()["optimizations"]
        assert optimizations["compile"] is True and optimizations["compile_regional"] is True
        assert optimizations["compile_seconds"] > 0 and optimizations["compile_shapes"] >= 10
        assert optimizations["compile_cache"] == str(tmp_path / "cache")
        assert (tmp_path / "cache" / "inductor").is_dir()
        assert is_compiled(compiled.text2img) and is_compiled(compiled.img2img)  # img2img shares the UNet
        graphs = counters["stats"]["unique_graphs"]
        for ratio, tier, count, guidance in (("16:9", "standard", 1, None), ("21:9", "high", 3, None),
                                             ("4:5", "standard", 2, 1.0), ("Auto", "high", 1, 9.0)):
            body = {"prompt": "calm sea", "aspectRatio": ratio, "resolution": tier, "temperature": 1,
                    "numImages": count, "config": {"guidanceScale": guidance} if guidance else None}
            response = server.client.post("/generate", json=body)
            assert response.status_code == 200
            assert counters["stats"]["unique_graphs"] == graphs, f"{ratio} {tier} ×{count} compiled on request"
        refine = {"refinePrompt": "darker", "images": response.json()["images"]}
        assert server.client.post("/refine", json=refine).status_code == 200
        assert counters["stats"]["unique_graphs"] == graphs, "the refinement compiled on request"
        assert np.abs(_images(plain) - _images(compiled)).max() <= 2  # 0-255 scale: float tolerance only
    torch._dynamo.reset()


def test_a_restart_reuses_the_compile_cache(small_native_sd, tmp_path):
    """Two processes, one cache folder: the second compiles nothing anew (Inductor's graph cache)."""
    script = ("import json; from aura_reflect.core.config import load_settings; "
              "from aura_reflect.engine.loader import load_model; "
              "print(json.dumps(load_model(load_settings()).optimizations))")
    env = {**os.environ, "SD_MODEL_ID": small_native_sd, "TORCH_COMPILE": "1", "AURA_COMPILE_CACHE": str(tmp_path / "cache")}
    runs = []
    for _ in range(2):
        result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, result.stderr[-2000:]
        runs.append(json.loads(result.stdout.strip().splitlines()[-1]))
    first, second = runs
    assert first["compile"] and second["compile"]
    assert first["compile_cache_misses"] > 0
    assert second["compile_cache_hits"] > 0 and second["compile_cache_misses"] == 0


def test_a_compile_failure_is_reported_and_the_engine_serves_uncompiled(tiny_sd):
    import torch._inductor.config as inductor_config

    torch._dynamo.reset()
    with inductor_config.patch({"cpp.cxx": ("/nonexistent/c++",)}):
        model = load_model(settings_from_env(SD_MODEL_ID=tiny_sd, TORCH_COMPILE="1"))
    torch._dynamo.reset()
    assert model.optimizations["compile"] is False
    assert model.optimizations["compile_error"]
    assert not is_compiled(model.text2img) and not is_compiled(model.img2img)
    assert _images(model).std() > 0


# SD 1.5's UNet layout (UNet2DConditionModel's defaults) at a fraction of the width and one attention
# head: the same blocks at the same resolutions, so dynamo sees the same pattern of shapes.
NARROW_SD15_UNET = dict(block_out_channels=(32, 64, 128, 128), attention_head_dim=1, cross_attention_dim=32)


@pytest.mark.parametrize("dynamic", ["auto", "off"])  # the default (as on the H100) and the most graphs
def test_every_warm_up_shape_compiles_within_dynamos_recompile_limit(tiny_sd, dynamic):
    """SD 1.5's transformer block recompiles past dynamo's default limit of 8 over the warm-up's
    shapes, a hard error under fullgraph=True (most likely why the compiled engine served eager on an
    H100). Here the engine's own warm-up shapes go through SD 1.5's UNet layout, compiled regionally
    as the engine does, with dynamo's eager backend: the same guards and recompilations, without
    generating code."""
    import torch._dynamo
    from diffusers import UNet2DConditionModel
    from torch._dynamo.utils import counters

    from aura_reflect.engine.fast_paths import DYNAMIC, allow_recompiles
    from aura_reflect.engine.loader import warmup_calls

    settings = settings_from_env(SD_MODEL_ID=tiny_sd, TORCH_COMPILE="1", TORCH_COMPILE_DYNAMIC=dynamic)
    calls = warmup_calls(load_model(settings_from_env(SD_MODEL_ID=tiny_sd)), settings, compiled=True)
    assert len(calls) >= 20  # every ratio of both tiers, and the batch shapes
    torch.manual_seed(0)
    unet = UNet2DConditionModel(**NARROW_SD15_UNET).eval()
    torch._dynamo.reset()
    graphs_before = counters["stats"]["unique_graphs"]
    try:
        with torch._dynamo.config.patch(cache_size_limit=8, accumulated_cache_size_limit=256), torch.no_grad():
            allow_recompiles(len(calls) + 1)
            unet.compile_repeated_blocks(fullgraph=True, dynamic=DYNAMIC[dynamic], backend="eager")
            for (width, height), images, guidance in calls:
                batch = images * (2 if guidance > 1 else 1)  # classifier-free guidance doubles the batch
                sample = torch.randn(batch, 4, height // 8, width // 8)
                assert unet(sample, 10, torch.randn(batch, 77, 32)).sample.shape == sample.shape
        # More graphs than dynamo's default limit of 8 allows one function: the sweep does test the limit.
        assert counters["stats"]["unique_graphs"] - graphs_before > 8
    finally:
        torch._dynamo.reset()
