"""Train aura-tiny, the embedded default model, from nothing but the procedural world.

    python -m training.train                       # the shipped weights (about 2 h on 2 CPU cores)
    python -m training.train --smoke --out /tmp/x  # a handful of steps, for tests

Stages: render a captioned dataset → learn the BPE tokenizer → train the VAE → encode the dataset to
latents → train the UNet and the text encoder together (epsilon objective, min-SNR weighting, 10%
empty captions for classifier-free guidance, EMA weights) → ``save_pretrained`` a
StableDiffusionPipeline plus ``aura.json`` (native sizes and defaults for the engine).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import random
import shutil
import string
import time
from dataclasses import asdict, dataclass
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import world
from .tokenizer import save_tokenizer

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "src" / "aura_reflect" / "models" / "aura-tiny"


# --- config ----------------------------------------------------------------------------------
@dataclass
class Config:
    seed: int = 0
    scenes: int = 24_000  # captioned scenes rendered once, each at one native shape
    captions_per_scene: int = 3
    vae_steps: int = 6_000
    vae_batch: int = 16
    vae_lr: float = 1e-3
    unet_steps: int = 7_000
    unet_batch: int = 64
    unet_lr: float = 3e-4
    warmup: int = 300
    ema_decay: float = 0.999
    cfg_dropout: float = 0.1  # share of empty captions, for classifier-free guidance
    distractor_p: float = 0.1  # share of captions with an unknown word inserted (learn to ignore it)
    min_snr_gamma: float = 5.0
    max_tokens: int = 32
    threads: int = 2


# Native shapes (width, height) per aspect ratio: short side 64, long side a multiple of 8 (diffusers
# pipelines take nothing else), ratio within 3.2%; the engine's final resize to the requested size
# restores the exact ratio. The VAE downsamples by 4, so latents are 16 × (16..38).
TRAIN_SIZES: dict[str, tuple[int, int]] = {
    "1:1": (64, 64),
    "16:9": (112, 64),
    "9:16": (64, 112),
    "4:3": (88, 64),
    "3:4": (64, 88),
    "3:2": (96, 64),
    "2:3": (64, 96),
    "5:4": (80, 64),
    "4:5": (64, 80),
    "21:9": (152, 64),
}
SQUARE_SHARE = 0.4  # of scenes rendered square; the rest spread over the other shapes


# --- data ------------------------------------------------------------------------------------
def _render_one(args):
    index, seed, shape_key, captions_per_scene = args
    rng = random.Random(seed * 1_000_003 + index)
    scene = world.sample_scene(rng)
    captions = [world.caption(scene, rng) for _ in range(captions_per_scene)]
    width, height = TRAIN_SIZES[shape_key]
    pixels = world.render(scene, width, height, seed=rng.randrange(2**31))
    return shape_key, (pixels * 255 + 0.5).astype(np.uint8), captions


def build_dataset(cfg: Config) -> dict[str, dict]:
    """Render ``cfg.scenes`` scenes; returns {shape: {"images": uint8 NHWC, "captions": [[str]]}}."""
    rng = random.Random(cfg.seed)
    others = [key for key in TRAIN_SIZES if key != "1:1"]
    jobs = [
        (i, cfg.seed, "1:1" if rng.random() < SQUARE_SHARE else rng.choice(others), cfg.captions_per_scene)
        for i in range(cfg.scenes)
    ]
    with Pool(cfg.threads) as pool:
        rendered = pool.map(_render_one, jobs, chunksize=256)
    buckets: dict[str, dict] = {}
    for shape_key, pixels, captions in rendered:
        bucket = buckets.setdefault(shape_key, {"images": [], "captions": []})
        bucket["images"].append(pixels)
        bucket["captions"].append(captions)
    for bucket in buckets.values():
        bucket["images"] = np.stack(bucket["images"])
    return buckets


def to_tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


def with_distractor(text: str, rng: random.Random) -> str:
    """Insert a made-up word: the model should learn that unknown words change nothing."""
    word = "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 8)))
    parts = text.split()
    parts.insert(rng.randint(0, len(parts)), word)
    return " ".join(parts)


# --- models ----------------------------------------------------------------------------------
def make_vae():
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 3,
        up_block_types=("UpDecoderBlock2D",) * 3,
        block_out_channels=(16, 32, 64),
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=16,
        sample_size=64,
        mid_block_add_attention=False,
    )


def make_text_encoder(vocab_size: int, cfg: Config):
    from transformers import CLIPTextConfig, CLIPTextModel

    return CLIPTextModel(
        CLIPTextConfig(
            vocab_size=vocab_size,
            hidden_size=128,
            intermediate_size=512,
            num_hidden_layers=3,
            num_attention_heads=4,
            max_position_embeddings=cfg.max_tokens,
            bos_token_id=vocab_size - 2,
            eos_token_id=vocab_size - 1,
            pad_token_id=vocab_size - 1,
        )
    )


def make_unet():
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(
        sample_size=16,
        in_channels=4,
        out_channels=4,
        block_out_channels=(32, 64, 128),
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
        layers_per_block=1,
        cross_attention_dim=128,
        attention_head_dim=4,
        norm_num_groups=16,
    )


def make_noise_scheduler():
    from diffusers import DDPMScheduler

    # Stable Diffusion's schedule, so every diffusers scheduler configured for SD fits this model.
    return DDPMScheduler(
        num_train_timesteps=1000,
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        steps_offset=1,
    )


# --- training loops --------------------------------------------------------------------------
def lr_at(step: int, total: int, base: float, warmup: int) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return base * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def train_vae(vae, data: dict[str, dict], cfg: Config, log) -> float:
    gen = torch.Generator().manual_seed(cfg.seed + 1)
    # Every shape has a short side of 64: train on random 64×64 crops of all of them.
    pools = [bucket["images"] for bucket in data.values()]
    opt = torch.optim.AdamW(vae.parameters(), lr=cfg.vae_lr, weight_decay=0.0)
    vae.train()
    recent = []
    for step in range(cfg.vae_steps):
        for group in opt.param_groups:
            group["lr"] = lr_at(step, cfg.vae_steps, cfg.vae_lr, min(cfg.warmup, cfg.vae_steps // 10 + 1))
        crops = []
        for _ in range(cfg.vae_batch):
            pool = pools[int(torch.randint(0, len(pools), (1,), generator=gen))]
            image = pool[int(torch.randint(0, len(pool), (1,), generator=gen))]
            top = int(torch.randint(0, image.shape[0] - 63, (1,), generator=gen))
            left = int(torch.randint(0, image.shape[1] - 63, (1,), generator=gen))
            crops.append(image[top : top + 64, left : left + 64])
        x = to_tensor(np.stack(crops))
        if torch.rand((), generator=gen) < 0.5:
            x = x.flip(-1)
        posterior = vae.encode(x).latent_dist
        z = posterior.sample(generator=gen)
        recon = vae.decode(z).sample
        rec_loss = F.mse_loss(recon, x) + 0.5 * F.l1_loss(recon, x)
        kl = posterior.kl().mean() / (x.shape[1] * x.shape[2] * x.shape[3])
        loss = rec_loss + 1e-4 * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        opt.step()
        recent.append(rec_loss.item())
        if step % 100 == 0 or step == cfg.vae_steps - 1:
            log("vae", step, float(np.mean(recent[-100:])))
    vae.eval()
    return float(np.mean(recent[-100:]))


@torch.no_grad()
def encode_latents(vae, data: dict[str, dict]) -> dict[str, torch.Tensor]:
    latents = {}
    for key, bucket in data.items():
        chunks = []
        for start in range(0, len(bucket["images"]), 256):
            x = to_tensor(bucket["images"][start : start + 256])
            chunks.append(vae.encode(x).latent_dist.mean)
        latents[key] = torch.cat(chunks)
    return latents


def train_unet(unet, text_encoder, tokenizer, latents, data, cfg: Config, log) -> float:
    noise_scheduler = make_noise_scheduler()
    alphas = noise_scheduler.alphas_cumprod
    snr = alphas / (1 - alphas)
    gen = torch.Generator().manual_seed(cfg.seed + 2)
    rng = random.Random(cfg.seed + 3)
    keys = sorted(latents)
    weights = np.array([len(latents[k]) for k in keys], dtype=np.float64)
    weights /= weights.sum()
    params = list(unet.parameters()) + list(text_encoder.parameters())
    opt = torch.optim.AdamW(params, lr=cfg.unet_lr, weight_decay=0.01)
    ema_unet = _ema_copy(unet)
    ema_text = _ema_copy(text_encoder)
    unet.train()
    text_encoder.train()
    np_rng = np.random.default_rng(cfg.seed + 4)
    recent = []
    for step in range(cfg.unet_steps):
        for group in opt.param_groups:
            group["lr"] = lr_at(step, cfg.unet_steps, cfg.unet_lr, cfg.warmup)
        key = keys[np_rng.choice(len(keys), p=weights)]
        pool = latents[key]
        idx = torch.randint(0, len(pool), (cfg.unet_batch,), generator=gen)
        z0 = pool[idx]
        captions = []
        for i in idx.tolist():
            text = rng.choice(data[key]["captions"][i])
            roll = rng.random()
            if roll < cfg.cfg_dropout:
                text = ""
            elif roll < cfg.cfg_dropout + cfg.distractor_p:
                text = with_distractor(text, rng)
            captions.append(text)
        ids = tokenizer(
            captions, padding="max_length", max_length=cfg.max_tokens, truncation=True, return_tensors="pt"
        ).input_ids
        noise = torch.randn(z0.shape, generator=gen)
        t = torch.randint(0, noise_scheduler.config.num_train_timesteps, (len(z0),), generator=gen)
        zt = noise_scheduler.add_noise(z0, noise, t)
        states = text_encoder(ids)[0]
        pred = unet(zt, t, states).sample
        # min-SNR-γ weighting (Hang et al. 2023): faster convergence for epsilon prediction.
        weight = torch.clamp(snr[t], max=cfg.min_snr_gamma) / snr[t]
        loss = (weight * (pred - noise).pow(2).mean(dim=(1, 2, 3))).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        decay = min(cfg.ema_decay, (1 + step) / (10 + step))
        _ema_update(ema_unet, unet, decay)
        _ema_update(ema_text, text_encoder, decay)
        recent.append(F.mse_loss(pred.detach(), noise).item())
        if step % 100 == 0 or step == cfg.unet_steps - 1:
            log("unet", step, float(np.mean(recent[-100:])))
    unet.load_state_dict(ema_unet)
    text_encoder.load_state_dict(ema_text)
    unet.eval()
    text_encoder.eval()
    return float(np.mean(recent[-100:]))


def _ema_copy(module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


@torch.no_grad()
def _ema_update(ema: dict[str, torch.Tensor], module, decay: float) -> None:
    for k, v in module.state_dict().items():
        if v.dtype.is_floating_point:
            ema[k].mul_(decay).add_(v.detach(), alpha=1 - decay)
        else:
            ema[k].copy_(v)


# --- main ------------------------------------------------------------------------------------
def train(cfg: Config, out: Path, log_path: Path | None = None) -> dict:
    from diffusers import DPMSolverMultistepScheduler, StableDiffusionPipeline
    from transformers import CLIPTokenizer

    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    started = time.perf_counter()
    rows: list[tuple[str, int, float, float]] = []

    def log(stage: str, step: int, loss: float) -> None:
        elapsed = time.perf_counter() - started
        rows.append((stage, step, loss, elapsed))
        print(f"[{elapsed:7.1f}s] {stage} step {step:5d} loss {loss:.5f}", flush=True)

    data = build_dataset(cfg)
    print(f"[{time.perf_counter() - started:7.1f}s] rendered {cfg.scenes} scenes", flush=True)
    work = out.with_name(out.name + ".tmp")
    shutil.rmtree(work, ignore_errors=True)
    all_captions = [c for bucket in data.values() for caps in bucket["captions"] for c in caps]
    vocab_size = save_tokenizer(work / "tokenizer", all_captions, cfg.max_tokens)
    tokenizer = CLIPTokenizer.from_pretrained(work / "tokenizer")

    vae = make_vae()
    vae_loss = train_vae(vae, data, cfg, log)
    latents = encode_latents(vae, data)
    scale = 1.0 / float(torch.cat([z.flatten() for z in latents.values()]).std())
    vae.register_to_config(scaling_factor=scale)
    latents = {k: z * scale for k, z in latents.items()}

    text_encoder = make_text_encoder(vocab_size, cfg)
    unet = make_unet()
    unet_loss = train_unet(unet, text_encoder, tokenizer, latents, data, cfg, log)

    scheduler = DPMSolverMultistepScheduler.from_config(make_noise_scheduler().config)
    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.to(torch.float16)  # halves the shipped size; the engine loads it back in fp32 on CPU
    shutil.rmtree(out, ignore_errors=True)
    pipe.save_pretrained(out, safe_serialization=True)
    shutil.rmtree(work, ignore_errors=True)
    wall = time.perf_counter() - started
    summary = {
        "name": "aura-tiny",
        "native_sizes": {k: list(v) for k, v in TRAIN_SIZES.items()},
        "default_steps": 20,
        "default_guidance": 5.0,
        "training": {
            "config": asdict(cfg),
            "wall_seconds": round(wall, 1),
            "final_vae_loss": round(vae_loss, 5),
            "final_unet_loss": round(unet_loss, 5),
            "vocab_size": vocab_size,
            "latent_scaling_factor": round(scale, 5),
        },
    }
    (out / "aura.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["stage", "step", "loss", "seconds"])
            writer.writerows((s, i, f"{l:.6f}", f"{t:.1f}") for s, i, l, t in rows)
    print(f"done in {wall:.0f}s → {out}", flush=True)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=SHIPPED)
    parser.add_argument("--log", type=Path, default=ROOT / "training" / "runs" / "aura-tiny-loss.csv")
    parser.add_argument("--smoke", action="store_true", help="a few steps on a few scenes (tests)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    cfg = Config(seed=args.seed)
    if args.smoke:
        cfg = Config(seed=args.seed, scenes=48, vae_steps=3, vae_batch=4, unet_steps=3, unet_batch=4, warmup=1)
    train(cfg, args.out, None if args.smoke else args.log)


if __name__ == "__main__":
    main()
