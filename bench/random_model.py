"""Save a full-size Stable Diffusion 1.5 pipeline with seeded random weights, for GPU benchmarks of
the engine itself (no hub access on benchmark machines; speed does not depend on weight values).

    python bench/random_model.py --out /tmp/sd15-random
    SD_MODEL_ID=/tmp/sd15-random python bench/batching.py

UNet and VAE from their published configs (those of bench/gpu.py), the CLIP ViT-L/14 text encoder's
shape, SD 1.5's PNDM scheduler. The tokenizer is a byte-level CLIP BPE without merges (the real
vocabulary is a download); it changes the embedding table's size, not the encoder's cost.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch
from gpu import SD15_UNET, SD_VAE

from aura_reflect.testing import write_char_tokenizer


def build_sd15(seed: int = 0):
    from diffusers import AutoencoderKL, PNDMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    with tempfile.TemporaryDirectory() as tmp:
        write_char_tokenizer(Path(tmp))
        tokenizer = CLIPTokenizer.from_pretrained(tmp)
    vocab = len(tokenizer)
    torch.manual_seed(seed)
    text_encoder = CLIPTextModel(CLIPTextConfig(
        vocab_size=vocab, hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
        max_position_embeddings=77, hidden_act="quick_gelu", bos_token_id=vocab - 2, eos_token_id=vocab - 1,
        pad_token_id=vocab - 1,
    ))
    return StableDiffusionPipeline(
        unet=UNet2DConditionModel(**SD15_UNET),
        vae=AutoencoderKL(**SD_VAE, sample_size=512, scaling_factor=0.18215),
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        scheduler=PNDMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                skip_prk_steps=True, steps_offset=1),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with torch.device("cuda" if torch.cuda.is_available() else "cpu"):  # random init is quicker there
        pipe = build_sd15(args.seed).to(torch.float16)  # SD 1.5 ships fp16 weights too
    pipe.save_pretrained(args.out, safe_serialization=True)
    params = sum(p.numel() for m in (pipe.unet, pipe.vae, pipe.text_encoder) for p in m.parameters())
    print(f"saved SD 1.5 with random weights ({params / 1e6:.0f} M parameters) to {args.out}")


if __name__ == "__main__":
    main()
