"""Save a full-size Stable Diffusion 1.5 or SDXL pipeline with seeded random weights, for GPU
benchmarks of the engine itself (no hub access on benchmark machines; speed does not depend on
weight values).

    python bench/random_model.py --out /tmp/sd15-random
    python bench/random_model.py --family sdxl --out /tmp/sdxl-random
    SD_MODEL_ID=/tmp/sd15-random python bench/batching.py

UNets and VAEs from their published configs (those of bench/gpu.py); the text encoders have the
shapes of CLIP ViT-L/14 (SD 1.5, and SDXL's first) and OpenCLIP ViT-bigG/14 (SDXL's second, with
its projection); SD 1.5's PNDM and SDXL's Euler schedulers. The tokenizer is a byte-level CLIP BPE
without merges (the real vocabulary is a download); it changes the embedding table's size, not the
encoder's cost. ``--tiny`` scales every part down (CPU checks of the benchmark scripts).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch
from gpu import SD15_UNET, SD_VAE, SDXL_UNET, TINY_UNET, TINY_VAE, TINY_XL_UNET

from aura_reflect.testing import write_char_tokenizer


def _tokenizer():
    from transformers import CLIPTokenizer

    with tempfile.TemporaryDirectory() as tmp:
        write_char_tokenizer(Path(tmp))
        return CLIPTokenizer.from_pretrained(tmp)


def _text_encoder(vocab: int, width: int, layers: int, heads: int, projection: int | None = None):
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    config = CLIPTextConfig(
        vocab_size=vocab, hidden_size=width, intermediate_size=4 * width, num_hidden_layers=layers,
        num_attention_heads=heads, max_position_embeddings=77, hidden_act="quick_gelu" if projection is None else "gelu",
        bos_token_id=vocab - 2, eos_token_id=vocab - 1, pad_token_id=vocab - 1, projection_dim=projection or width,
    )
    return CLIPTextModel(config) if projection is None else CLIPTextModelWithProjection(config)


def build_sd15(seed: int = 0, tiny: bool = False):
    from diffusers import AutoencoderKL, PNDMScheduler, StableDiffusionPipeline, UNet2DConditionModel

    tokenizer = _tokenizer()
    torch.manual_seed(seed)
    width = TINY_UNET["cross_attention_dim"] if tiny else 768
    return StableDiffusionPipeline(
        unet=UNet2DConditionModel(**(TINY_UNET if tiny else SD15_UNET)),
        vae=AutoencoderKL(**(TINY_VAE if tiny else SD_VAE), sample_size=512, scaling_factor=0.18215),
        text_encoder=_text_encoder(len(tokenizer), width, 2 if tiny else 12, 2 if tiny else 12),
        tokenizer=tokenizer,
        scheduler=PNDMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                skip_prk_steps=True, steps_offset=1),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def build_sdxl(seed: int = 0, tiny: bool = False):
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel

    tokenizer = _tokenizer()
    torch.manual_seed(seed)
    unet = TINY_XL_UNET if tiny else SDXL_UNET
    # The UNet's context is both encoders' hidden states side by side; its added embedding takes the
    # second's pooled projection and six time ids of addition_time_embed_dim each.
    second = unet["projection_class_embeddings_input_dim"] - 6 * unet["addition_time_embed_dim"]  # 1280
    first = unet["cross_attention_dim"] - second  # 768
    return StableDiffusionXLPipeline(
        unet=UNet2DConditionModel(**unet),
        # SDXL's VAE: SD's architecture, its own scaling factor; it overflows in fp16 (force_upcast).
        vae=AutoencoderKL(**(TINY_VAE if tiny else SD_VAE), sample_size=1024, scaling_factor=0.13025, force_upcast=True),
        text_encoder=_text_encoder(len(tokenizer), first, 2 if tiny else 12, 2 if tiny else 12),
        text_encoder_2=_text_encoder(len(tokenizer), second, 2 if tiny else 32, 2 if tiny else 20, projection=second),
        tokenizer=tokenizer,
        tokenizer_2=tokenizer,
        scheduler=EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                         steps_offset=1, timestep_spacing="leading"),
    )


BUILDERS = {"sd15": build_sd15, "sdxl": build_sdxl}


def save_random_model(family: str, out: Path, seed: int = 0, tiny: bool = False) -> int:
    """Build ``family`` with random weights (on the GPU when there is one: far quicker) and save it
    in fp16 with safetensors; returns its parameter count."""
    with torch.device("cuda" if torch.cuda.is_available() else "cpu"):
        pipe = BUILDERS[family](seed, tiny).to(torch.float16)  # both ship fp16 weights too
    pipe.save_pretrained(out, safe_serialization=True)
    return sum(p.numel() for name, m in pipe.components.items() if isinstance(m, torch.nn.Module)
               for p in m.parameters())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--family", choices=sorted(BUILDERS), default="sd15")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tiny", action="store_true", help="scaled-down configs (CPU checks)")
    args = parser.parse_args()
    params = save_random_model(args.family, args.out, args.seed, args.tiny)
    print(f"saved {args.family} with random weights ({params / 1e6:.0f} M parameters) to {args.out}")


if __name__ == "__main__":
    main()
