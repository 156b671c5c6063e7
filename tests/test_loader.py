"""The loader users hit: SD_MODEL_ID folders, safetensors only, shared img2img, model paths."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from aura_reflect.engine.loader import load_model, resolve_device, resolve_model_path
from aura_reflect.errors import InvalidInput, ModelLoadError

from .helpers import settings_from_env


@pytest.mark.parametrize("family, pipeline_class", [("sd", "StableDiffusionPipeline"), ("sdxl", "StableDiffusionXLPipeline")])
def test_loads_both_families_with_shared_img2img(family, pipeline_class, request):
    folder = request.getfixturevalue(f"tiny_{family}")
    model = load_model(settings_from_env(SD_MODEL_ID=folder))
    assert model.family == family
    assert pipeline_class in type(model.text2img).__name__
    assert "Img2Img" in type(model.img2img).__name__
    # from_pipe shares every component: no second copy of the weights in memory.
    assert model.img2img.unet is model.text2img.unet
    assert model.img2img.vae is model.text2img.vae
    assert model.device == torch.device("cpu") and model.dtype == torch.float32
    assert model.name == Path(folder).name
    # Warmed up before it is handed over: /health is "ready" only after first-call costs are paid.
    assert model.optimizations["warmup_seconds"] > 0
    assert model.load_seconds >= model.optimizations["warmup_seconds"]


def test_scheduler_setting_applies(tiny_sd):
    model = load_model(settings_from_env(SD_MODEL_ID=tiny_sd, SD_SCHEDULER="euler_a"))
    assert model.scheduler_name == "EulerAncestralDiscreteScheduler"
    assert type(model.img2img.scheduler).__name__ == "EulerAncestralDiscreteScheduler"


def test_a_zero_terminal_snr_model_keeps_its_schedule_or_refuses_a_scheduler_that_cannot(tiny_sd, tmp_path):
    """aura-tiny v2 trains on rescaled betas with v-prediction; PNDM, LMS and Heun cannot rescale and
    would sample on SD's plain betas (diffusers only warns)."""
    import json

    model_dir = Path(shutil.copytree(tiny_sd, tmp_path / "zero-snr"))
    config_file = model_dir / "scheduler" / "scheduler_config.json"
    config = json.loads(config_file.read_text())
    config.update(prediction_type="v_prediction", rescale_betas_zero_snr=True, timestep_spacing="trailing")
    config_file.write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match="SD_SCHEDULER=pndm: PNDMScheduler cannot follow .* zero-terminal-SNR"):
        load_model(settings_from_env(SD_MODEL_ID=str(model_dir), SD_SCHEDULER="pndm"))
    model = load_model(settings_from_env(SD_MODEL_ID=str(model_dir), SD_SCHEDULER="euler"))
    scheduler = model.text2img.scheduler
    assert scheduler.config.rescale_betas_zero_snr and scheduler.config.prediction_type == "v_prediction"
    scheduler.set_timesteps(4)
    assert int(scheduler.timesteps[0]) == 999  # sampling starts from pure noise, as trained


def test_separate_img2img_model(tiny_sd, tmp_path):
    other = shutil.copytree(tiny_sd, tmp_path / "other-sd")
    model = load_model(settings_from_env(SD_MODEL_ID=tiny_sd, SD_IMG2IMG_MODEL_ID=str(other)))
    assert model.img2img.unet is not model.text2img.unet


def test_pickle_only_folder_is_refused(tiny_sd, tmp_path):
    folder = Path(shutil.copytree(tiny_sd, tmp_path / "pickled"))
    weights = folder / "unet" / "diffusion_pytorch_model.safetensors"
    weights.rename(folder / "unet" / "diffusion_pytorch_model.bin")
    with pytest.raises(ModelLoadError, match="only pickle checkpoints.*diffusion_pytorch_model.bin"):
        load_model(settings_from_env(SD_MODEL_ID=str(folder)))


def test_single_checkpoint_files_are_refused(tmp_path):
    ckpt = tmp_path / "model.ckpt"
    ckpt.write_bytes(b"not really a checkpoint")
    with pytest.raises(ModelLoadError, match="pickle checkpoint"):
        load_model(settings_from_env(SD_MODEL_ID=str(ckpt)))
    single = tmp_path / "model.safetensors"
    single.write_bytes(b"x")
    with pytest.raises(ModelLoadError, match="diffusers folders"):
        load_model(settings_from_env(SD_MODEL_ID=str(single)))


def test_folder_without_model_index_is_refused(tmp_path):
    with pytest.raises(ModelLoadError, match="no model_index.json"):
        load_model(settings_from_env(SD_MODEL_ID=str(tmp_path)))


def test_unset_model_id_means_the_embedded_model(monkeypatch, tmp_path):
    """With SD_MODEL_ID unset the loader goes to the shipped folder (and says so if it is missing)."""
    from aura_reflect.engine import loader

    monkeypatch.delenv("SD_MODEL_ID", raising=False)
    monkeypatch.setattr(loader, "EMBEDDED_MODEL", tmp_path / "aura-tiny")
    with pytest.raises(ModelLoadError, match="aura-tiny does not exist"):
        load_model(settings_from_env())


def test_requested_missing_device_is_an_error_not_a_fallback():
    if not torch.cuda.is_available():
        with pytest.raises(ModelLoadError, match="SD_DEVICE=cuda"):
            resolve_device("cuda")
    assert resolve_device("cpu") == torch.device("cpu")


def test_model_paths_stay_inside_the_models_folder(tiny_sd, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    shutil.copytree(tiny_sd, models / "mine")
    (tmp_path / "outside").mkdir()
    shutil.copytree(tiny_sd, tmp_path / "outside" / "secret")
    (models / "link").symlink_to(tmp_path / "outside" / "secret")

    assert resolve_model_path(models, "mine") == (models / "mine").resolve()
    assert resolve_model_path(models, str(models / "mine")) == (models / "mine").resolve()
    for bad, words in [
        ("../outside/secret", "'..'"),
        (str(tmp_path / "outside" / "secret"), "inside the models folder"),
        ("link", "inside the models folder"),
        ("https://example.com/model", "URL"),
        ("absent", "no diffusers model"),
    ]:
        with pytest.raises(InvalidInput, match=words) as raised:
            resolve_model_path(models, bad)
        assert raised.value.field == "config.modelPath"
    with pytest.raises(InvalidInput, match="AURA_MODELS_DIR"):
        resolve_model_path(None, "mine")


@pytest.mark.parametrize("family", ["sd", "sdxl"])
def test_fp16_stays_fp16_in_both_pipelines(tmp_path, family):
    """img2img shares text2img's components; building it must not cast them (diffusers' from_pipe
    casts to fp32 unless told the dtype: the engine once served fp16 models in fp32 that way)."""
    import torch

    from aura_reflect.testing import save_tiny_pipeline

    folder = save_tiny_pipeline(tmp_path / family, family)
    model = load_model(settings_from_env(SD_MODEL_ID=str(folder), SD_PRECISION="fp16", AURA_WARMUP="false"))
    assert model.dtype == torch.float16
    for pipe in (model.text2img, model.img2img):
        for name, component in pipe.components.items():
            if isinstance(component, torch.nn.Module):
                assert component.dtype == torch.float16, (type(pipe).__name__, name, component.dtype)
    assert model.img2img.unet is model.text2img.unet
