"""Tiny Stable Diffusion pipelines with seeded random weights, for tests and CPU benchmarks.

They follow diffusers' own ``get_dummy_components()``: the real model classes, built from small
configs, saved with ``save_pretrained`` so they are loaded back through the engine's loader exactly
like a downloaded model. The VAE keeps SD's downsampling factor of 8 so that every resolution of the
real tables can be produced, at a fraction of the cost.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import torch

Family = Literal["sd", "sdxl"]


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP byte-level BPE alphabet: every byte maps to a printable unicode character."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    printable += list(range(ord("®"), ord("ÿ") + 1))
    mapping, extra = {}, 0
    for byte in range(256):
        if byte in printable:
            mapping[byte] = chr(byte)
        else:
            mapping[byte] = chr(256 + extra)
            extra += 1
    return mapping


def write_char_tokenizer(folder: Path, model_max_length: int = 77) -> None:
    """Write a minimal CLIP BPE tokenizer (byte-level characters, no merges) to ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    chars = list(bytes_to_unicode().values())
    vocab_tokens = chars + [c + "</w>" for c in chars] + ["<|startoftext|>", "<|endoftext|>"]
    vocab = {token: i for i, token in enumerate(vocab_tokens)}
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    (folder / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "tokenizer_class": "CLIPTokenizer",
                "model_max_length": model_max_length,
                "bos_token": "<|startoftext|>",
                "eos_token": "<|endoftext|>",
                "unk_token": "<|endoftext|>",
                "pad_token": "<|endoftext|>",
            }
        ),
        encoding="utf-8",
    )


def _text_encoder_config(hidden_size: int, vocab_size: int, projection_dim: int | None = None):
    from transformers import CLIPTextConfig

    kwargs = dict(
        bos_token_id=vocab_size - 2,
        eos_token_id=vocab_size - 1,
        pad_token_id=vocab_size - 1,
        hidden_size=hidden_size,
        intermediate_size=37,
        layer_norm_eps=1e-05,
        num_attention_heads=4,
        num_hidden_layers=2,
        vocab_size=vocab_size,
        max_position_embeddings=77,
    )
    if projection_dim is not None:
        kwargs.update(projection_dim=projection_dim, hidden_act="gelu")
    return CLIPTextConfig(**kwargs)


def _tiny_vae():
    from diffusers import AutoencoderKL

    # Four blocks: the same factor-8 downsampling as SD's VAE; no mid-block attention so that
    # decoding a 1024 px image stays cheap on a CPU.
    return AutoencoderKL(
        block_out_channels=(8, 8, 16, 16),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        latent_channels=4,
        layers_per_block=1,
        norm_num_groups=4,
        sample_size=64,
        mid_block_add_attention=False,
    )


def build_tiny_pipeline(family: Family = "sd", seed: int = 0):
    """Build a tiny text-to-image pipeline of the given family with seeded random weights."""
    import tempfile

    from diffusers import (
        EulerDiscreteScheduler,
        PNDMScheduler,
        StableDiffusionPipeline,
        StableDiffusionXLPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    with tempfile.TemporaryDirectory() as tmp:
        write_char_tokenizer(Path(tmp))
        tokenizer = CLIPTokenizer.from_pretrained(tmp)
    vocab_size = len(tokenizer)

    torch.manual_seed(seed)
    if family == "sd":
        unet = UNet2DConditionModel(
            block_out_channels=(16, 32),
            layers_per_block=1,
            sample_size=8,
            in_channels=4,
            out_channels=4,
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
            cross_attention_dim=32,
            attention_head_dim=8,
            norm_num_groups=8,
        )
        vae = _tiny_vae()
        text_encoder = CLIPTextModel(_text_encoder_config(32, vocab_size))
        scheduler = PNDMScheduler(skip_prk_steps=True, steps_offset=1)
        return StableDiffusionPipeline(
            unet=unet,
            vae=vae,
            text_encoder=text_encoder,
            tokenizer=tokenizer,
            scheduler=scheduler,
            safety_checker=None,
            feature_extractor=None,
            requires_safety_checker=False,
        )
    if family == "sdxl":
        unet = UNet2DConditionModel(
            block_out_channels=(16, 32),
            layers_per_block=1,
            sample_size=16,
            in_channels=4,
            out_channels=4,
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
            attention_head_dim=(2, 4),
            use_linear_projection=True,
            addition_embed_type="text_time",
            addition_time_embed_dim=8,
            transformer_layers_per_block=(1, 1),
            projection_class_embeddings_input_dim=80,  # 6 * 8 time ids + 32 pooled text
            cross_attention_dim=64,  # both text encoders' hidden states, concatenated
            norm_num_groups=8,
        )
        vae = _tiny_vae()
        text_encoder = CLIPTextModel(_text_encoder_config(32, vocab_size, projection_dim=32))
        text_encoder_2 = CLIPTextModelWithProjection(_text_encoder_config(32, vocab_size, projection_dim=32))
        scheduler = EulerDiscreteScheduler(
            beta_start=0.00085,
            beta_end=0.012,
            beta_schedule="scaled_linear",
            steps_offset=1,
            timestep_spacing="leading",
        )
        return StableDiffusionXLPipeline(
            unet=unet,
            vae=vae,
            text_encoder=text_encoder,
            text_encoder_2=text_encoder_2,
            tokenizer=tokenizer,
            tokenizer_2=tokenizer,
            scheduler=scheduler,
            force_zeros_for_empty_prompt=True,
        )
    raise ValueError(f"family must be 'sd' or 'sdxl', got {family!r}")


def save_tiny_pipeline(folder: Path | str, family: Family = "sd", seed: int = 0) -> Path:
    """Build a tiny pipeline and save it (safetensors) to ``folder``; returns the folder."""
    folder = Path(folder)
    build_tiny_pipeline(family, seed).save_pretrained(folder, safe_serialization=True)
    return folder


def save_tiny_lora(folder: Path | str, family: Family = "sd", seed: int = 1, rank: int = 4) -> Path:
    """Save a LoRA for the tiny pipeline of ``family`` in diffusers' LoRA format (as LCM-LoRA ships).

    Built with peft on the tiny UNet's attention projections; both LoRA matrices are random (not the
    usual zero-initialised B), so fusing it visibly changes the UNet's weights.
    """
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    folder = Path(folder)
    pipe = build_tiny_pipeline(family, seed=0)
    torch.manual_seed(seed)
    pipe.unet.add_adapter(
        LoraConfig(r=rank, lora_alpha=rank, init_lora_weights=False, target_modules=["to_q", "to_k", "to_v", "to_out.0"])
    )
    layers = convert_state_dict_to_diffusers(get_peft_model_state_dict(pipe.unet))
    type(pipe).save_lora_weights(folder, unet_lora_layers=layers, safe_serialization=True)
    return folder


def save_tiny_lightning_unet(path: Path | str, seed: int = 7) -> Path:
    """Save a tiny SDXL UNet state dict as one safetensors file, like SDXL-Lightning's UNet checkpoints.

    Name the file like the real ones (``..._4step_unet.safetensors``): the engine reads the step count
    from it.
    """
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    unet = build_tiny_pipeline("sdxl", seed=seed).unet
    save_file({k: v.contiguous() for k, v in unet.state_dict().items()}, str(path))
    return path
