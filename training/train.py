"""Train aura-tiny, the embedded default model, from nothing but the procedural world.

    python -m training.train                       # the next weights (CPU, 2 cores; resumable across sessions)
    python -m training.train --device cuda         # the same config and seed on a GPU
    python -m training.train --smoke --out /tmp/x  # a handful of steps, for tests
    python -m training.train --snapshot /tmp/snap  # the model at the last checkpoint, to evaluate a run in progress
    python -m training.train --from-base DIR       # only the tune stage, from a model the stages before it saved

Which commit and device made the shipped weights: docs/models.md, "Training".

Stages: render a captioned dataset (``world.py``, words from ``vocabulary.py``; only pictures that
show what their words promise, as ``looks.py`` checks them) → learn the BPE
tokenizer → train the VAE (factor 8, 128 px) → encode the dataset to latents → train the UNet and the
text encoder together (v objective on a zero-terminal-SNR schedule, 10% empty captions for
classifier-free guidance, real unknown words inserted and words dropped, EMA weights) →
``save_pretrained`` a StableDiffusionPipeline plus ``aura.json`` (native sizes, defaults and
live-preview factors for the engine). With ``tune_steps`` (4,000 in the shipped config) that is the base model:
the tune stage loads it back as saved, trains the UNet and text encoder on at a low rate on fresh
scenes, and saves the model again; ``--from-base`` runs that stage alone, to the same weights.

Every ``checkpoint_every`` steps the run saves itself under ``--checkpoints`` (weights, EMA,
optimizer moments, random generator states, the loss log); run the same command again after any
interruption and it resumes there, ending with the same weights as a run never stopped on the
same machine. Another processor rounds differently (oneDNN picks its kernels per CPU): the v3 run's
VAE loss equalled v2's at step 0 and read 0.4321 against 0.4329 at step 100, same code and seed.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import os
import random
import shutil
import time
import zlib
from dataclasses import asdict, dataclass
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import looks, vocabulary, world
from .latent_rgb import fit_latent_rgb
from .tokenizer import save_tokenizer

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "src" / "aura_reflect" / "models" / "aura-tiny"
LOSS_LOG = ROOT / "training" / "runs" / "aura-tiny-loss.csv"  # the shipped model's


# --- config ----------------------------------------------------------------------------------
@dataclass
class Config:
    seed: int = 0
    scenes: int = 20_000  # captioned scenes rendered once, each at one native shape
    captions_per_scene: int = 4
    # 2,500 steps at 1e-3 left the VAE of both first v2 runs unable to keep hues apart (held-out error
    # 0.073, turquoise drawn blue, green brown, pink grey): every model over it drew in its few colours.
    vae_steps: int = 10_000
    vae_batch: int = 16
    vae_crop: int = 64  # the VAE is convolutional: it learns 128 px pictures from 64 px crops of them
    vae_lr: float = 2e-3
    # 7,000 left v2 underfit: it drew its own training captions as blobs (docs/models.md).
    unet_steps: int = 14_000
    unet_batch: int = 64
    unet_lr: float = 4e-4
    warmup: int = 300
    ema_decay: float = 0.999
    cfg_dropout: float = 0.1  # share of empty captions, for classifier-free guidance
    distractor_p: float = 0.3  # share of captions with 1-3 real but unknown words inserted (learn to ignore them)
    word_dropout_p: float = 0.1  # share of captions with one word dropped (partial prompts still work)
    # Zero terminal SNR with v-prediction (Lin et al. 2024, "Common Diffusion Noise Schedules and Sample
    # Steps are Flawed"). SD's own schedule leaves sqrt(ᾱ) = 0.068 of the picture in its noisiest step;
    # at a 16 × 16 latent grid that is enough of each picture's overall colour for the UNet to read it
    # from the noise rather than from the caption. v2's first run (eps, SD's schedule) learned exactly
    # that, and from pure noise drew every mood blue-grey (docs/models.md). Off: v1's objective.
    zero_terminal_snr: bool = True
    min_snr_gamma: float = 5.0  # min-SNR weighting of the eps objective (zero_terminal_snr off)
    max_tokens: int = 48
    threads: int = 2
    # Measured by bench/train_step.py on this CPU: the VAE's step 2.4× faster in channels-last memory
    # with bf16 autocast, the UNet's 1.13× faster in channels-last (bf16 made it slower; it stays fp32).
    channels_last: bool = True
    vae_bf16: bool = True
    # The tune stage: the finished base model (v4) trained on at a low rate on fresh scenes,
    # ``tune_styled`` of them a style with its own palette and a named colour the picture takes instead
    # ("melancholic grey"). The shipped v6 is v4 tuned 4,000 steps on 20,000 scenes of the world that
    # spares neutrals the casts; tune_steps=0 gives v4 (docs/models.md, "aura-tiny v6").
    tune_scenes: int = 20_000
    tune_styled: float = 0.0
    tune_steps: int = 4_000
    tune_lr: float = 1e-4  # v4's UNet stage ended at 4e-5
    tune_warmup: int = 100
    # The tune's scenes from a world whose warm and cool casts spare neutral pixels, where a named grey
    # promises no temperature (v5's world, `world.render`): the base stages keep the world they were
    # trained on, so the whole command still reproduces their weights.
    tune_spare_neutrals: bool = True
    checkpoint_every: int = 500  # steps between checkpoints, in every stage


# Native shapes (width, height) per aspect ratio: short side 128, long side a multiple of 8 (diffusers
# pipelines take nothing else), ratio within 1.6%; the engine's final resize to the requested size
# restores the exact ratio. The VAE downsamples by 8, so latents are 16 × (16..37).
TRAIN_SIZES: dict[str, tuple[int, int]] = {
    "1:1": (128, 128),
    "16:9": (224, 128),
    "9:16": (128, 224),
    "4:3": (168, 128),
    "3:4": (128, 168),
    "3:2": (192, 128),
    "2:3": (128, 192),
    "5:4": (160, 128),
    "4:5": (128, 160),
    "21:9": (296, 128),
}
SHORT_SIDE = 128
SQUARE_SHARE = 0.4  # of scenes rendered square; the rest spread over the other shapes
WORDS = ROOT / "training" / "data" / "words.txt"  # Debian's wamerican, 3-10 lower-case letters


# --- data ------------------------------------------------------------------------------------
def sample_shown(rng: random.Random, width: int, height: int, styled: bool = False,
                 spare_neutrals: bool = False) -> tuple[world.Scene, np.ndarray, int]:
    """A scene whose picture shows what its words promise (looks.py: each named colour on at least
    10% of the picture; dark, light, muted, vivid, warm, cool as said), so a word always means what a
    person sees. About one scene in four is drawn again: a named colour that night or a grade hid,
    a grade that a bright colour outweighs. Returns (scene, picture, draws it took)."""
    draws = 0
    while True:
        draws += 1
        scene = world.sample_mood(rng, styled=True) if styled else world.sample_scene(rng)
        pixels = world.render(scene, width, height, seed=rng.randrange(2**31), spare_neutrals=spare_neutrals)
        if looks.shows(scene, pixels, spare_neutrals):
            return scene, pixels, draws


def _render_one(args):
    index, seed, shape_key, captions_per_scene, styled, spare_neutrals = args
    rng = random.Random(seed * 1_000_003 + index)
    scene, pixels, _ = sample_shown(rng, *TRAIN_SIZES[shape_key], styled=styled, spare_neutrals=spare_neutrals)
    captions = [world.caption(scene, rng) for _ in range(captions_per_scene)]
    return shape_key, (pixels * 255 + 0.5).astype(np.uint8), captions


def build_dataset(cfg: Config, workers: int) -> dict[str, dict]:
    """Render ``cfg.scenes`` scenes; returns {shape: {"images": uint8 NHWC, "captions": [[str]]}}.

    Each scene is seeded by its index, so the data is the same whatever the number of workers."""
    return render_jobs(scene_jobs(cfg), workers)


DATA_SAMPLE_SCENES = 32


def data_sample(cfg: Config, count: int = DATA_SAMPLE_SCENES, tune: bool = False) -> dict:
    """The dataset's (or with ``tune`` the tune stage's) first ``count`` scenes as the card records
    them (a hash of their shapes and captions, each picture's mean colour in 8-bit levels), so a test
    can tell whether today's world still renders the data the shipped weights were trained on."""
    rendered = [_render_one(job) for job in (tune_jobs(cfg) if tune else scene_jobs(cfg))[:count]]
    words = json.dumps([[shape, captions] for shape, _, captions in rendered], ensure_ascii=False)
    return {
        "scenes": count,
        "captions_sha256": hashlib.sha256(words.encode()).hexdigest(),
        "mean_rgb": [[round(float(c), 2) for c in pixels.reshape(-1, 3).mean(0)] for _, pixels, _ in rendered],
    }


def scene_jobs(cfg: Config) -> list[tuple[int, int, str, int, bool, bool]]:
    """Each scene's (index, seed, shape, captions, styled, spare_neutrals): which shape every scene is
    rendered at; the dataset's are drawn as ``world.sample_scene`` draws them, in v4's world."""
    rng = random.Random(cfg.seed)
    others = [key for key in TRAIN_SIZES if key != "1:1"]
    return [
        (i, cfg.seed, "1:1" if rng.random() < SQUARE_SHARE else rng.choice(others), cfg.captions_per_scene, False, False)
        for i in range(cfg.scenes)
    ]


def tune_jobs(cfg: Config) -> list[tuple[int, int, str, int, bool, bool]]:
    """The tune stage's scenes: indices after the dataset's (scenes it never drew), shapes as it
    spreads them, ``tune_styled`` of them a style with a named colour (world.sample_mood), all from
    a world that spares neutrals the casts where ``tune_spare_neutrals`` says."""
    rng = random.Random(cfg.seed + 100)
    others = [key for key in TRAIN_SIZES if key != "1:1"]
    return [
        (cfg.scenes + i, cfg.seed, "1:1" if rng.random() < SQUARE_SHARE else rng.choice(others),
         cfg.captions_per_scene, rng.random() < cfg.tune_styled, cfg.tune_spare_neutrals)
        for i in range(cfg.tune_scenes)
    ]


def render_jobs(jobs: list[tuple[int, int, str, int, bool, bool]], workers: int) -> dict[str, dict]:
    with Pool(workers) as pool:
        rendered = pool.map(_render_one, jobs, chunksize=64)
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


def distractor_words(vocabulary_words: set[str]) -> tuple[list[str], list[str]]:
    """Real English words the model never sees as content: (for training, held out for evaluation).

    A fixed fifth of the list (by a stable hash) is never used in training, so the evaluation's
    filler words are words the model has not seen at all."""
    words = [w for w in WORDS.read_text(encoding="utf-8").split() if w not in vocabulary_words]
    held_out = [w for w in words if zlib.crc32(w.encode()) % 5 == 0]
    return [w for w in words if zlib.crc32(w.encode()) % 5 != 0], held_out


def with_distractors(text: str, words: list[str], rng: random.Random) -> str:
    """Insert 1-3 unknown words: the model should learn that such words change nothing."""
    parts = text.split()
    for _ in range(rng.choice([1, 1, 2, 3])):
        parts.insert(rng.randint(0, len(parts)), rng.choice(words))
    return " ".join(parts)


def with_word_dropped(text: str, rng: random.Random) -> str:
    parts = text.split()
    if len(parts) > 2:
        parts.pop(rng.randrange(len(parts)))
    return " ".join(parts)


# --- models ----------------------------------------------------------------------------------
def make_vae():
    from diffusers import AutoencoderKL

    # Four levels: Stable Diffusion's factor of 8, so 128 px pictures keep a 16 × 16 latent grid.
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(16, 32, 64, 64),
        layers_per_block=1,
        latent_channels=4,
        # One group: GroupNorm then keeps the ratios between channels and removes only their common
        # mean and scale. With a group per channel (16 groups of the first level's 16) it removes each
        # channel's own mean over the picture, which in the world's flat areas of colour is the colour;
        # measured on the same 1,500 steps, held-out error 0.098 with 16 groups, 0.063 with one.
        norm_num_groups=1,
        sample_size=SHORT_SIDE,
        mid_block_add_attention=False,
    )


TEXT_WIDTH = 192


def make_text_encoder(vocab_size: int, cfg: Config):
    from transformers import CLIPTextConfig, CLIPTextModel

    return CLIPTextModel(
        CLIPTextConfig(
            vocab_size=vocab_size,
            hidden_size=TEXT_WIDTH,
            intermediate_size=4 * TEXT_WIDTH,
            num_hidden_layers=4,
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
        cross_attention_dim=TEXT_WIDTH,
        attention_head_dim=4,
        norm_num_groups=16,
    )


def make_noise_scheduler(cfg: Config):
    """Stable Diffusion's betas, so every diffusers scheduler configured for SD fits this model; with
    ``zero_terminal_snr`` rescaled so the last step is pure noise, predicting v, sampled from t = 999
    ("trailing"). Saved with the model, so the engine's sampler follows the same schedule."""
    from diffusers import DDPMScheduler

    return DDPMScheduler(
        num_train_timesteps=1000,
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        **OBJECTIVES[cfg.zero_terminal_snr],
    )


# The schedule's own settings per objective (Config.zero_terminal_snr). The ε one passes no spacing,
# so a converted sampler keeps its own default (DPM-Solver: "linspace"), as v1 shipped.
OBJECTIVES = {
    False: {"prediction_type": "epsilon", "steps_offset": 1},
    True: {"prediction_type": "v_prediction", "rescale_betas_zero_snr": True, "timestep_spacing": "trailing"},
}


# --- checkpoints: a folder per save, of safetensors shards, renamed into place when complete ------
# Fields added to Config whose default is not what runs did before they existed: a checkpoint saved
# before them reads as this, so a tune begun on v4's world does not resume on the spared one.
UNSAVED_FIELDS = {"tune_spare_neutrals": False}
STAGES = ("vae", "unet", "tune")


class Checkpoints:
    """Saves under ``folder``, each a sub-folder named by stage and step (``1-unet-003500``): shards
    of at most ``SHARD_BYTES`` (so each file stays committable) and the run's JSON "state" in the
    first shard's metadata. A save is written to ``<name>.tmp`` and renamed into place only when
    complete, then older saves are removed: a run killed at any moment leaves its last whole save.

    Everything a stage needs to go on as if never stopped is in it: weights, EMA weights, the
    optimizer's moments, every random generator's state, the loss log and the elapsed time."""

    SHARD_BYTES = 48 * 2**20

    def __init__(self, folder: Path | None, cfg: Config):
        self.folder, self.cfg = folder, cfg

    def saves(self) -> list[Path]:
        """Complete saves, oldest first."""
        if self.folder is None or not self.folder.is_dir():
            return []
        return sorted(p for p in self.folder.iterdir() if p.is_dir() and not p.name.endswith(".tmp"))

    @property
    def path(self) -> Path | None:
        """The save a run resumes from (None when there is none)."""
        saves = self.saves()
        return saves[-1] if saves else None

    def load(self) -> tuple[dict[str, torch.Tensor], dict] | None:
        from safetensors import safe_open

        if self.path is None:
            return None
        tensors, state = {}, None
        for shard in sorted(self.path.glob("*.safetensors")):
            with safe_open(shard, framework="pt") as handle:
                state = state or json.loads((handle.metadata() or {}).get("state", "null"))
                tensors.update({key: handle.get_tensor(key) for key in handle.keys()})
        if state is None:
            raise SystemExit(f"checkpoint {self.path} has no run state; remove it")
        # A field added to Config after the save reads as what runs did before it existed (its default,
        # or the old behaviour where the default is new: UNSAVED_FIELDS); any value that differs refuses.
        saved = {**asdict(Config()), **UNSAVED_FIELDS, **state["config"]}
        differ = sorted(k for k, v in asdict(self.cfg).items() if saved.get(k) != v)
        if differ:
            raise SystemExit(f"checkpoint {self.path} was made with another config ({', '.join(differ)}); "
                             "remove it or pass the same one")
        return tensors, state

    def save(self, tensors: dict[str, torch.Tensor], state: dict) -> None:
        from safetensors.torch import save_file

        if self.folder is None:
            return
        name = f"{STAGES.index(state['stage'])}-{state['stage']}-{state['step']:06d}"
        tmp = self.folder / f"{name}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        shards: list[dict[str, torch.Tensor]] = [{}]
        size = 0
        for key, value in tensors.items():
            value = value.detach().to("cpu").contiguous()
            nbytes = value.numel() * value.element_size()
            if shards[-1] and size + nbytes > self.SHARD_BYTES:
                shards.append({})
                size = 0
            shards[-1][key] = value
            size += nbytes
        metadata = {"state": json.dumps({**state, "config": asdict(self.cfg)})}
        for i, shard in enumerate(shards):
            save_file(shard, tmp / f"shard-{i:02d}.safetensors", metadata=metadata if i == 0 else None)
        shutil.rmtree(self.folder / name, ignore_errors=True)
        os.replace(tmp, self.folder / name)
        for old in self.saves()[:-1]:
            shutil.rmtree(old)

    def clear(self) -> None:
        """The run is complete: nothing left to resume."""
        for old in self.saves():
            shutil.rmtree(old)


def module_tensors(prefix: str, module_or_state) -> dict[str, torch.Tensor]:
    state = module_or_state.state_dict() if hasattr(module_or_state, "state_dict") else module_or_state
    return {f"{prefix}.{k}": v.contiguous() for k, v in state.items()}  # channels-last weights saved plainly


def take(prefix: str, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k[len(prefix) + 1:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}


def optimizer_tensors(opt) -> tuple[dict[str, torch.Tensor], list]:
    state = opt.state_dict()
    tensors = {f"opt.{i}.{name}": value for i, entry in state["state"].items() for name, value in entry.items()}
    return tensors, state["param_groups"]


def load_optimizer(opt, tensors: dict[str, torch.Tensor], groups: list, device) -> None:
    entries: dict[int, dict] = {}
    for key, value in take("opt", tensors).items():
        index, name = key.split(".", 1)
        entries.setdefault(int(index), {})[name] = value if name == "step" else value.to(device)
    opt.load_state_dict({"state": entries, "param_groups": groups})


def restore_device_generator(generator: torch.Generator, tensors: dict, state: dict, seed: int) -> None:
    """Put back the device's noise generator. A checkpoint taken on another kind of device (a CPU run
    resumed on a GPU, or back) has a state this generator cannot take: reseed it from the seed and
    the step instead, so the run goes on (its noise stream differs from an uninterrupted run's)."""
    saved_on = state.get("device", "cpu")
    if saved_on == generator.device.type:
        generator.set_state(tensors["noise_gen"])
        return
    generator.manual_seed(seed + 1_000_003 * state["step"])
    print(f"checkpoint taken on {saved_on}, resumed on {generator.device.type}: the device's noise generator "
          f"is reseeded", flush=True)


def to_device(tensor: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Host → device without waiting for the device (pinned memory), so the CPU prepares the next
    step while the GPU runs this one. A plain copy on the CPU."""
    if device.type != "cuda":
        return tensor
    return tensor.pin_memory().to(device, non_blocking=True)


class Losses:
    """The last 100 losses, kept on the device: reading them back (a sync) only when logging."""

    def __init__(self, values: list[float] | None = None):
        self.values: list = list(values or [])

    def add(self, loss: torch.Tensor) -> None:
        self.values = (self.values + [loss.detach()])[-100:]

    def mean(self) -> float:
        return float(np.mean([float(v) for v in self.values]))

    def state(self) -> list[float]:
        return [float(v) for v in self.values]


# --- training loops --------------------------------------------------------------------------
def lr_at(step: int, total: int, base: float, warmup: int) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return base * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def make_optimizer(params, lr: float, weight_decay: float, device: torch.device):
    # The fused kernel on CUDA: one launch instead of several per parameter (same update rule).
    return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, fused=device.type == "cuda")


def vae_losses(vae, x: torch.Tensor, eps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The VAE's objective on a batch of pictures, with ``eps`` the posterior's sampling noise:
    (reconstruction loss, MSE + 0.5·L1; the loss trained on, plus 1e-4·KL per value)."""
    posterior = vae.encode(x).latent_dist
    z = posterior.mean + posterior.std * eps
    recon = vae.decode(z).sample
    rec_loss = F.mse_loss(recon, x) + 0.5 * F.l1_loss(recon, x)
    kl = posterior.kl().mean() / (x.shape[1] * x.shape[2] * x.shape[3])
    return rec_loss, rec_loss + 1e-4 * kl


def memory_format(cfg: Config) -> torch.memory_format:
    """The layout the networks train in (``Config.channels_last``)."""
    return torch.channels_last if cfg.channels_last else torch.contiguous_format


def train_vae(vae, data: dict[str, dict], cfg: Config, run: "Run") -> float:
    device = run.device
    gen = torch.Generator().manual_seed(cfg.seed + 1)  # which crops (read on the host)
    noise_gen = torch.Generator(device).manual_seed(cfg.seed + 5)  # drawn where it is used
    # Random square crops of every shape.
    pools = [bucket["images"] for bucket in data.values()]
    memory = memory_format(cfg)
    vae.to(memory_format=memory)
    opt = make_optimizer(vae.parameters(), cfg.vae_lr, 0.0, device)
    start, recent = 0, Losses()
    resumed = run.resume_stage("vae")
    if resumed:
        tensors, state = resumed
        vae.load_state_dict(take("vae", tensors))
        load_optimizer(opt, tensors, state["param_groups"], device)
        gen.set_state(tensors["gen"])
        restore_device_generator(noise_gen, tensors, state, cfg.seed + 5)
        start, recent = state["step"], Losses(state["recent"])
    vae.train()
    side = cfg.vae_crop
    for step in range(start, cfg.vae_steps):
        for group in opt.param_groups:
            group["lr"] = lr_at(step, cfg.vae_steps, cfg.vae_lr, min(cfg.warmup, cfg.vae_steps // 10 + 1))
        crops = []
        for _ in range(cfg.vae_batch):
            pool = pools[int(torch.randint(0, len(pools), (1,), generator=gen))]
            image = pool[int(torch.randint(0, len(pool), (1,), generator=gen))]
            top = int(torch.randint(0, image.shape[0] - side + 1, (1,), generator=gen))
            left = int(torch.randint(0, image.shape[1] - side + 1, (1,), generator=gen))
            crops.append(image[top : top + side, left : left + side])
        x = to_tensor(np.stack(crops))
        if torch.rand((), generator=gen) < 0.5:
            x = x.flip(-1)
        x = to_device(x, device).contiguous(memory_format=memory)
        eps = torch.randn((len(x), 4, side // 8, side // 8), generator=noise_gen, device=device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.vae_bf16):
            rec_loss, loss = vae_losses(vae, x, eps)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        opt.step()
        recent.add(rec_loss)
        if step % 100 == 0 or step == cfg.vae_steps - 1:
            run.log("vae", step, recent.mean())
        if (step + 1) % cfg.checkpoint_every == 0 and step + 1 < cfg.vae_steps:
            tensors, groups = optimizer_tensors(opt)
            run.save("vae", step + 1, {**module_tensors("vae", vae), **tensors, "gen": gen.get_state(),
                                       "noise_gen": noise_gen.get_state()},
                     {"param_groups": groups, "recent": recent.state()})
    vae.to(memory_format=torch.contiguous_format)
    vae.eval()
    return recent.mean()


@torch.no_grad()
def vae_report(vae, seed: int, count: int = 64) -> dict[str, float]:
    """How well the VAE keeps what the UNet must draw, on ``count`` square scenes it never saw: the mean
    absolute error of the reconstruction and of its colour averaged over 16 × 16 pixel cells (0..1).
    A VAE that loses a hue caps every model trained over it, so the run prints these and records them."""
    # Rendered as the dataset is, from a seed whose scenes the dataset's seed never draws.
    pixels = np.stack([_render_one((i, seed + 999_331, "1:1", 0, False, False))[1] for i in range(count)])
    x = to_tensor(pixels).to(next(vae.parameters()).device)
    y = torch.cat([vae.decode(vae.encode(x[i : i + 16]).latent_dist.mean).sample.clamp(-1, 1)
                   for i in range(0, count, 16)])
    return {
        "vae_heldout_error": round(float((y - x).abs().mean()) / 2, 4),
        "vae_heldout_colour_error": round(float((F.avg_pool2d(y, 16) - F.avg_pool2d(x, 16)).abs().mean()) / 2, 4),
    }


@torch.no_grad()
def encode_latents(vae, data: dict[str, dict], device) -> dict[str, torch.Tensor]:
    latents = {}
    for key, bucket in data.items():
        chunks = []
        for start in range(0, len(bucket["images"]), 256):
            x = to_tensor(bucket["images"][start : start + 256]).to(device)
            chunks.append(vae.encode(x).latent_dist.mean)
        latents[key] = torch.cat(chunks)
    return latents


def unet_schedule(cfg: Config, stage: str) -> tuple[int, float, int, int]:
    """(steps, peak learning rate, warmup steps, seed) of a stage that trains the UNet and text encoder."""
    if stage == "unet":
        return cfg.unet_steps, cfg.unet_lr, cfg.warmup, cfg.seed
    return cfg.tune_steps, cfg.tune_lr, cfg.tune_warmup, cfg.seed + 100


def train_unet(unet, text_encoder, tokenizer, latents, data, cfg: Config, run: "Run", distractors: list[str],
               stage: str = "unet") -> float:
    """The UNet and text encoder trained together from where they stand; ends with their EMA weights."""
    device = run.device
    steps, base_lr, warmup, seed = unet_schedule(cfg, stage)
    noise_scheduler = make_noise_scheduler(cfg)
    alphas = noise_scheduler.alphas_cumprod
    snr = (alphas / (1 - alphas)).to(device)
    v_prediction = noise_scheduler.config.prediction_type == "v_prediction"
    gen = torch.Generator().manual_seed(seed + 2)  # which latents (read on the host)
    noise_gen = torch.Generator(device).manual_seed(seed + 6)  # noise and timesteps, on the device
    rng = random.Random(seed + 3)
    np_rng = np.random.default_rng(seed + 4)
    keys = sorted(latents)
    weights = np.array([len(latents[k]) for k in keys], dtype=np.float64)
    weights /= weights.sum()
    # Before the EMA pairs itself with the weights: a change of memory format gives them new storage.
    memory = memory_format(cfg)
    unet.to(memory_format=memory)
    params = list(unet.parameters()) + list(text_encoder.parameters())
    opt = make_optimizer(params, base_lr, 0.01, device)
    ema_unet, ema_text = Ema(unet), Ema(text_encoder)
    start, recent = 0, Losses()
    resumed = run.resume_stage(stage)
    if resumed:
        tensors, state = resumed
        unet.load_state_dict(take("unet", tensors))
        text_encoder.load_state_dict(take("text", tensors))
        for ema, prefix in ((ema_unet, "ema_unet"), (ema_text, "ema_text")):
            for k, v in take(prefix, tensors).items():
                ema.state[k].copy_(v)
        load_optimizer(opt, tensors, state["param_groups"], device)
        gen.set_state(tensors["gen"])
        restore_device_generator(noise_gen, tensors, state, seed + 6)
        rng.setstate(_tuple_state(state["rng"]))
        np_rng.bit_generator.state = state["np_rng"]
        start, recent = state["step"], Losses(state["recent"])
    unet.train()
    text_encoder.train()
    for step in range(start, steps):
        for group in opt.param_groups:
            group["lr"] = lr_at(step, steps, base_lr, warmup)
        key = keys[np_rng.choice(len(keys), p=weights)]
        pool = latents[key]
        idx = torch.randint(0, len(pool), (cfg.unet_batch,), generator=gen)
        z0 = pool[to_device(idx, device)]
        captions = []
        for i in idx.tolist():
            text = rng.choice(data[key]["captions"][i])
            roll = rng.random()
            if roll < cfg.cfg_dropout:
                text = ""
            else:
                if rng.random() < cfg.word_dropout_p:
                    text = with_word_dropped(text, rng)
                if rng.random() < cfg.distractor_p:
                    text = with_distractors(text, distractors, rng)
            captions.append(text)
        ids = tokenizer(
            captions, padding="max_length", max_length=cfg.max_tokens, truncation=True, return_tensors="pt"
        ).input_ids
        ids = to_device(ids, device)
        noise = torch.randn(z0.shape, generator=noise_gen, device=device)
        t = torch.randint(0, noise_scheduler.config.num_train_timesteps, (len(z0),), generator=noise_gen, device=device)
        zt = noise_scheduler.add_noise(z0, noise, t).contiguous(memory_format=memory)
        states = text_encoder(ids)[0]
        pred = unet(zt, t, states).sample
        if v_prediction:
            # Plain v loss: at the noisiest steps v is the picture itself, and there the caption alone
            # says its colours; min-SNR weighting would give those steps almost no weight.
            mse = (pred - noise_scheduler.get_velocity(z0, noise, t)).pow(2).mean(dim=(1, 2, 3))
            loss = mse.mean()
        else:
            # min-SNR-γ weighting (Hang et al. 2023): faster convergence for epsilon prediction.
            weight = torch.clamp(snr[t], max=cfg.min_snr_gamma) / snr[t]
            mse = (pred - noise).pow(2).mean(dim=(1, 2, 3))
            loss = (weight * mse).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        decay = min(cfg.ema_decay, (1 + step) / (10 + step))
        ema_unet.update(decay)
        ema_text.update(decay)
        recent.add(mse.mean())
        if step % 100 == 0 or step == steps - 1:
            run.log(stage, step, recent.mean())
        if (step + 1) % cfg.checkpoint_every == 0 and step + 1 < steps:
            tensors, groups = optimizer_tensors(opt)
            run.save(stage, step + 1, {
                **module_tensors("unet", unet), **module_tensors("text", text_encoder),
                **module_tensors("ema_unet", ema_unet.state), **module_tensors("ema_text", ema_text.state),
                **tensors, "gen": gen.get_state(), "noise_gen": noise_gen.get_state(),
            }, {"param_groups": groups, "recent": recent.state(), "rng": rng.getstate(), "np_rng": np_rng.bit_generator.state})
    unet.load_state_dict(ema_unet.state)
    text_encoder.load_state_dict(ema_text.state)
    unet.to(memory_format=torch.contiguous_format)
    unet.eval()
    text_encoder.eval()
    return recent.mean()


def _tuple_state(state):
    """random.Random's state back from JSON lists."""
    return tuple(_tuple_state(x) for x in state) if isinstance(state, list) else state


class Ema:
    """An exponential moving average of a module's weights (its state dict's tensors, updated in
    place by the optimizer, so the pairs are looked up once)."""

    def __init__(self, module):
        current = module.state_dict(keep_vars=False)
        self.state = {k: v.detach().clone() for k, v in current.items()}
        self.floats = [(self.state[k], v) for k, v in current.items() if v.dtype.is_floating_point]
        self.others = [(self.state[k], v) for k, v in current.items() if not v.dtype.is_floating_point]

    @torch.no_grad()
    def update(self, decay: float) -> None:
        torch._foreach_lerp_([e for e, _ in self.floats], [v for _, v in self.floats], 1 - decay)
        for e, v in self.others:
            e.copy_(v)


# --- a run: logging, time and checkpoints across interruptions ------------------------------------
class Run:
    def __init__(self, cfg: Config, device: torch.device, checkpoints: Checkpoints):
        self.cfg, self.device, self.checkpoints = cfg, device, checkpoints
        self.rows: list[tuple[str, int, float, float]] = []
        self.elapsed_before, self.started = 0.0, time.perf_counter()
        self.resumes = 0
        self.saved = self.checkpoints.load()
        # Saved with every later checkpoint: the finished VAE and latent scale (tensors), the tokenizer's
        # files (state), so a snapshot of a run in progress needs no re-render of the dataset.
        self.carry: dict[str, torch.Tensor] = {}
        self.carry_state: dict = {}
        if self.saved:
            tensors, state = self.saved
            self.rows = [tuple(row) for row in state["rows"]]
            self.elapsed_before = state["elapsed"]
            self.resumes = state.get("resumes", 0) + 1
            print(f"resuming from {checkpoints.path}: stage {state['stage']} step {state['step']}", flush=True)

    def elapsed(self) -> float:
        return self.elapsed_before + time.perf_counter() - self.started

    def log(self, stage: str, step: int, loss: float) -> None:
        self.rows.append((stage, step, loss, self.elapsed()))
        print(f"[{self.elapsed():7.1f}s] {stage} step {step:5d} loss {loss:.5f}", flush=True)

    def resume_stage(self, stage: str):
        """The checkpoint's tensors and state if it was taken inside ``stage``."""
        if self.saved and self.saved[1]["stage"] == stage:
            return self.saved
        return None

    def finished_vae(self) -> dict[str, torch.Tensor] | None:
        """The trained VAE (and latent scale) when the checkpoint is already past the VAE stage."""
        if self.saved and self.saved[1]["stage"] == "unet":
            return self.saved[0]
        return None

    def save(self, stage: str, step: int, tensors: dict[str, torch.Tensor], state: dict) -> None:
        state = {**state, **self.carry_state, "stage": stage, "step": step, "rows": self.rows, "elapsed": self.elapsed(),
                 "resumes": self.resumes, "device": self.device.type}
        self.checkpoints.save({**tensors, **self.carry}, state)


# --- main ------------------------------------------------------------------------------------
def prepare(cfg: Config, work: Path, workers: int | None):
    """The rendered dataset and the tokenizer learned from its captions (saved under ``work``)."""
    from transformers import CLIPTokenizer

    data = build_dataset(cfg, workers or cfg.threads)
    all_captions = [c for bucket in data.values() for caps in bucket["captions"] for c in caps]
    vocab_size = save_tokenizer(work / "tokenizer", all_captions, cfg.max_tokens)
    return data, CLIPTokenizer.from_pretrained(work / "tokenizer"), vocab_size


def scaled_latents(vae, data: dict[str, dict], device, scale: float | None = None) -> tuple[dict[str, torch.Tensor], float]:
    """The dataset's latents at unit standard deviation, and the scale that does it (in the VAE's config);
    or at a ``scale`` measured before (a snapshot's, on a few scenes of the run's dataset)."""
    latents = encode_latents(vae, data, device)
    if scale is None:
        scale = 1.0 / float(torch.cat([z.flatten() for z in latents.values()]).std())
    vae.register_to_config(scaling_factor=scale)
    return {k: z * scale for k, z in latents.items()}, scale


def make_pipeline(vae, text_encoder, tokenizer, unet, cfg: Config):
    """The StableDiffusionPipeline users get: these modules and the sampler for ``cfg``'s objective."""
    from diffusers import DPMSolverMultistepScheduler, StableDiffusionPipeline

    return StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=DPMSolverMultistepScheduler.from_config(make_noise_scheduler(cfg).config),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


PREVIEW_FIT_SCENES = 512  # the first square scenes: the live previews' latent → RGB map is fitted on them


def save_model(out: Path, vae, text_encoder, tokenizer, unet, training: dict, latent_rgb: dict, cfg: Config) -> dict:
    """``save_pretrained`` the pipeline (fp16) with ``aura.json``; returns the latter."""
    pipe = make_pipeline(vae, text_encoder, tokenizer, unet, cfg)
    pipe.to("cpu", torch.float16)  # halves the shipped size; the engine loads it back in fp32 on CPU
    shutil.rmtree(out, ignore_errors=True)
    pipe.save_pretrained(out, safe_serialization=True)
    summary = {
        "name": "aura-tiny",
        "version": 2,
        "native_sizes": {k: list(v) for k, v in TRAIN_SIZES.items()},
        "default_steps": DEFAULT_STEPS,
        "default_guidance": DEFAULT_GUIDANCE,
        "colour_guidance": COLOUR_GUIDANCE,
        "training": training,
        "latent_rgb": latent_rgb,
    }
    (out / "aura.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def preview_map(latents: dict[str, torch.Tensor], data: dict[str, dict]) -> dict:
    """The live previews' latent → RGB map for this VAE (training/latent_rgb.py), as the card keeps it."""
    fit = PREVIEW_FIT_SCENES
    fitted, error = fit_latent_rgb(latents["1:1"][:fit].cpu(), to_tensor(data["1:1"]["images"][:fit]))
    return {**fitted.as_card(), "mean_abs_error_8bit": round(error, 2)}


def load_model(folder: Path, device) -> tuple:
    """A saved model's (vae, text_encoder, tokenizer, unet, card), the networks in fp32 (their saved
    fp16 values): where the tune stage starts, whether its base was trained by this run or not."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    vae = AutoencoderKL.from_pretrained(folder / "vae", torch_dtype=torch.float32).to(device).eval()
    text_encoder = CLIPTextModel.from_pretrained(folder / "text_encoder", torch_dtype=torch.float32).to(device)
    unet = UNet2DConditionModel.from_pretrained(folder / "unet", torch_dtype=torch.float32).to(device)
    tokenizer = CLIPTokenizer.from_pretrained(folder / "tokenizer")
    card = json.loads((folder / "aura.json").read_text(encoding="utf-8"))
    return vae, text_encoder, tokenizer, unet, card


def _portable(path: Path) -> str:
    """``path`` as a checkpoint records it: relative to the repository when inside it, so a committed
    checkpoint resumes in another clone."""
    path = path.resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def train(cfg: Config, out: Path, log_path: Path | None = None, device: str = "cpu",
          checkpoint_dir: Path | None = None, workers: int | None = None, base: Path | None = None) -> dict:
    """Every stage: the VAE and UNet stages save the model to ``out``; with a tune to follow, to
    ``<out>-base`` instead, which the tune goes on from and which is removed when the run completes.
    With ``base`` (a model saved by those stages before), only the tune stage runs."""
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    dev = torch.device(device)
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    run = Run(cfg, dev, Checkpoints(checkpoint_dir, cfg))
    saved_stage = run.saved[1]["stage"] if run.saved else None
    if saved_stage == "tune":
        recorded = ROOT / run.saved[1]["base"]
        if base is not None and base.resolve() != recorded.resolve():
            raise SystemExit(f"{run.checkpoints.path} tunes {recorded}, not {base}: resume it with that base, or remove it")
        base, here = recorded, run.saved[1]["base_trained_here"]
    elif base is not None and not cfg.tune_steps:
        raise SystemExit(f"--from-base {base} asks for the tune stage alone, but the config has tune_steps=0")
    elif base is not None and saved_stage is not None:
        raise SystemExit(f"{run.checkpoints.path} is a checkpoint of the {saved_stage} stage, not of a tune from "
                         f"{base}: resume it without --from-base, or remove it")
    else:
        here = base is None
    if base is not None:
        check_base(base, cfg, out)
    distractors, _ = distractor_words(vocabulary.content_words("en") | vocabulary.content_words("es"))
    if base is None:
        # The tune's checkpoints refer to the base, and its final save replaces ``out``: a tuned run
        # keeps its base apart until it completes.
        base = out.with_name(out.name + "-base") if cfg.tune_steps else out
        summary = train_base(cfg, base, run, workers, distractors)
    if cfg.tune_steps:
        summary = tune(cfg, base, out, run, here, workers, distractors)
    if log_path is not None:  # this run's stages (a tune alone: its own rows, timed from its start)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["stage", "step", "loss", "seconds"])
            writer.writerows((s, i, f"{l:.6f}", f"{t:.1f}") for s, i, l, t in run.rows)
    run.checkpoints.clear()  # the run is complete: nothing to resume
    if here and cfg.tune_steps:
        shutil.rmtree(base)
    print(f"done in {run.elapsed():.0f}s → {out}", flush=True)
    return summary


def check_base(base: Path, cfg: Config, out: Path) -> None:
    """Refuse, before any work, a base the tune stage cannot go on from: no model saved by this
    script there, the output folder itself (the final save would replace the base its checkpoints
    refer to), or a model whose own stages had another config (the tune's scenes would not be fresh,
    nor its weights the whole command's)."""
    card_path = base / "aura.json"
    if not card_path.is_file():
        raise SystemExit(f"--from-base {base}: no aura.json there; expected a model saved by training.train")
    card = json.loads(card_path.read_text(encoding="utf-8"))
    if "latent_rgb" not in card:
        raise SystemExit(f"--from-base {base}: its aura.json has no latent_rgb (a model older than the live previews)")
    if base.resolve() == out.resolve():
        raise SystemExit(f"--from-base and --out are the same folder ({out}): write the tuned model elsewhere")
    if "tune" in card.get("training", {}):
        raise SystemExit(f"--from-base {base} is already tuned (its card's training.tune); tune the base it was "
                         f"made from ({card['training']['tune'].get('from')})")
    theirs = {**asdict(Config()), **card.get("training", {}).get("config", {})}
    differ = sorted(k for k, v in asdict(cfg).items() if not k.startswith("tune_") and theirs.get(k) != v)
    if differ:
        raise SystemExit(f"--from-base {base} was trained with another config ({', '.join(differ)}); pass the same")


def fingerprint(folder: Path) -> str:
    """A hash of every file of a saved model: a tune resumes only from the base it started from."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def train_base(cfg: Config, out: Path, run: Run, workers: int | None, distractors: list[str]) -> dict:
    """The data, tokenizer, VAE and UNet stages; saves the model they make to ``out``."""
    dev = run.device
    work = out.with_name(out.name + ".tmp")
    shutil.rmtree(work, ignore_errors=True)
    data, tokenizer, vocab_size = prepare(cfg, work, workers)
    print(f"[{run.elapsed():7.1f}s] rendered {cfg.scenes} scenes", flush=True)

    vae = make_vae().to(dev)
    done = run.finished_vae()
    if done is None:
        vae_loss = train_vae(vae, data, cfg, run)
    else:
        vae.load_state_dict(take("vae", done))
        vae.eval()
        vae_loss = float(done["vae_loss"])
    vae_quality = vae_report(vae, cfg.seed)
    print(f"[{run.elapsed():7.1f}s] VAE on unseen scenes: " + ", ".join(f"{k} {v}" for k, v in vae_quality.items()),
          flush=True)
    latents, scale = scaled_latents(vae, data, dev)
    # Later checkpoints carry the finished VAE, so a resume skips its stage.
    run.carry = {**module_tensors("vae", vae), "vae_loss": torch.tensor(vae_loss),
                 "latent_scale": torch.tensor(scale, dtype=torch.float64)}
    run.carry_state = {"tokenizer": {p.name: p.read_text(encoding="utf-8") for p in sorted((work / "tokenizer").iterdir())}}

    text_encoder = make_text_encoder(vocab_size, cfg).to(dev)
    unet = make_unet().to(dev)
    unet_loss = train_unet(unet, text_encoder, tokenizer, latents, data, cfg, run, distractors)

    summary = save_model(out, vae, text_encoder, tokenizer, unet, {
        "config": asdict(cfg),
        "device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"cpu ({cfg.threads} threads)",
        "torch": torch.__version__,
        "wall_seconds": round(run.elapsed(), 1),
        "resumed": run.resumes,
        "final_vae_loss": round(vae_loss, 5),
        **vae_quality,
        "final_unet_loss": round(unet_loss, 5),
        "vocab_size": vocab_size,
        "latent_scaling_factor": round(scale, 5),
        "data_sample": data_sample(cfg),
    }, preview_map(latents, data), cfg)
    shutil.rmtree(work, ignore_errors=True)
    return summary


def tune(cfg: Config, base: Path, out: Path, run: Run, here: bool, workers: int | None,
         distractors: list[str]) -> dict:
    """The tune stage: the base model as saved, trained on for ``tune_steps`` at a low rate on
    ``tune_scenes`` fresh scenes; saved to ``out`` with the base's card (same VAE, same preview map).
    ``here``: the base was trained by this run (its time and resumes are already the run's)."""
    resumed = run.resume_stage("tune")
    base_print = fingerprint(base)
    if resumed and resumed[1]["base_fingerprint"] != base_print:
        raise SystemExit(f"{run.checkpoints.path} tuned {base} as it was; the folder has changed since: remove the checkpoint")
    vae, text_encoder, tokenizer, unet, card = load_model(base, run.device)
    base_training = card.get("training", {})
    run.carry = {}
    run.carry_state = {"base": _portable(base), "base_trained_here": here, "base_fingerprint": base_print,
                       "tune_started": resumed[1]["tune_started"] if resumed else run.elapsed()}
    data = render_jobs(tune_jobs(cfg), workers or cfg.threads)
    print(f"[{run.elapsed():7.1f}s] rendered {cfg.tune_scenes} scenes to tune {base} on", flush=True)
    latents = {k: z * vae.config.scaling_factor for k, z in encode_latents(vae, data, run.device).items()}
    loss = train_unet(unet, text_encoder, tokenizer, latents, data, cfg, run, distractors, stage="tune")
    wall = run.elapsed()
    training = {
        **base_training,
        "config": asdict(cfg),
        "wall_seconds": round(wall + (0 if here else base_training.get("wall_seconds", 0)), 1),
        "resumed": run.resumes + (0 if here else base_training.get("resumed", 0)),
        "tune": {
            "from": "this run's UNet stage" if here else _portable(base),
            "device": torch.cuda.get_device_name(run.device) if run.device.type == "cuda" else f"cpu ({cfg.threads} threads)",
            "torch": torch.__version__,
            "wall_seconds": round(wall - run.carry_state["tune_started"], 1),
            "final_loss": round(loss, 5),
            "data_sample": data_sample(cfg, tune=True),
        },
    }
    return save_model(out, vae, text_encoder, tokenizer, unet, training, card["latent_rgb"], cfg)


def snapshot(cfg: Config, checkpoint_dir: Path, out: Path, workers: int | None = None) -> dict:
    """The model as it stands at a run's last checkpoint (its EMA weights), saved as the finished
    model is: to evaluate a run in progress. The run itself is left as it was.

    A UNet-stage checkpoint carries the tokenizer and the latent scale, so only the square scenes the
    live previews' colour map is fitted on are rendered again (seconds, not the whole dataset); a
    tune-stage one takes everything but its two networks from its base model."""
    from transformers import CLIPTokenizer

    torch.set_num_threads(cfg.threads)
    checkpoints = Checkpoints(checkpoint_dir, cfg)
    saved = checkpoints.load()
    if saved is None or saved[1]["stage"] not in ("unet", "tune"):
        raise SystemExit(f"no UNet- or tune-stage checkpoint under {checkpoint_dir}: nothing to snapshot yet")
    tensors, state = saved
    snapshot_of = f"{checkpoints.path.name} (stage {state['stage']}, step {state['step']}, EMA weights)"
    if state["stage"] == "tune":
        vae, text_encoder, tokenizer, unet, card = load_model(ROOT / state["base"], "cpu")
        text_encoder.load_state_dict(take("ema_text", tensors))
        unet.load_state_dict(take("ema_unet", tensors))
        training = {**card["training"], "snapshot_of": snapshot_of, "tune": {"from": state["base"]}}
        summary = save_model(out, vae, text_encoder.eval(), tokenizer, unet.eval(), training, card["latent_rgb"], cfg)
        print(f"snapshot of {checkpoints.path} → {out}", flush=True)
        return summary
    work = out.with_name(out.name + ".tmp")
    shutil.rmtree(work, ignore_errors=True)
    (work / "tokenizer").mkdir(parents=True)
    for name, text in state["tokenizer"].items():
        (work / "tokenizer" / name).write_text(text, encoding="utf-8")
    tokenizer = CLIPTokenizer.from_pretrained(work / "tokenizer")
    vocab_size = len(json.loads(state["tokenizer"]["vocab.json"]))
    vae = make_vae()
    vae.load_state_dict(take("vae", tensors))
    vae.eval()
    squares = [job for job in scene_jobs(cfg) if job[2] == "1:1"][:PREVIEW_FIT_SCENES]
    data = render_jobs(squares, workers or cfg.threads)
    latents, scale = scaled_latents(vae, data, torch.device("cpu"), float(tensors["latent_scale"]))
    text_encoder, unet = make_text_encoder(vocab_size, cfg), make_unet()
    text_encoder.load_state_dict(take("ema_text", tensors))
    unet.load_state_dict(take("ema_unet", tensors))
    summary = save_model(out, vae, text_encoder.eval(), tokenizer, unet.eval(), {
        "config": asdict(cfg),
        "snapshot_of": snapshot_of,
        "wall_seconds": round(state["elapsed"], 1),
        "vocab_size": vocab_size,
        "latent_scaling_factor": round(scale, 5),
    }, preview_map(latents, data), cfg)
    shutil.rmtree(work, ignore_errors=True)
    print(f"snapshot of {checkpoints.path} → {out}", flush=True)
    return summary


DEFAULT_STEPS = 15
DEFAULT_GUIDANCE = 5.0
# Guidance that keeps each picture's colour strength the caption's own (engine/guidance.py): chosen on
# the validation set (training/compare_guidance.py, docs/models.md), where plain guidance paints greys blue.
COLOUR_GUIDANCE = {"chroma": 1.0}
SMOKE = dict(scenes=48, vae_steps=6, vae_batch=4, unet_steps=8, unet_batch=4, warmup=1, checkpoint_every=2,
             tune_scenes=16, tune_steps=6, tune_warmup=1)


def config_overrides(pairs: list[str]) -> dict:
    """``FIELD=VALUE`` pairs as Config fields, each value read as its field's type."""
    fields = asdict(Config())
    overrides = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        if name not in fields or name == "seed" or not value:
            raise SystemExit(f"--set {pair!r}: expected FIELD=VALUE with FIELD one of {sorted(set(fields) - {'seed'})}")
        kind = type(fields[name])
        try:
            overrides[name] = {"true": True, "false": False}[value.lower()] if kind is bool else kind(value)
        except (KeyError, ValueError):
            raise SystemExit(f"--set {pair!r}: {name} takes a {kind.__name__}") from None
    return overrides


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=SHIPPED)
    parser.add_argument("--log", type=Path, default=None,
                        help=f"the loss log (default: {LOSS_LOG.relative_to(ROOT)} for a whole run; none for --smoke or --from-base)")
    parser.add_argument("--checkpoints", type=Path, default=ROOT / "training" / "runs" / "checkpoint",
                        help="where the run checkpoints itself and resumes from (deleted when it completes)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (same seed and config either way)")
    parser.add_argument("--workers", type=int, default=None, help="processes rendering the data (default: threads)")
    parser.add_argument("--smoke", action="store_true", help="a few steps on a few scenes (tests)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--from-base", type=Path, default=None, metavar="DIR",
                        help="only the tune stage, from the model the earlier stages saved to DIR")
    parser.add_argument("--snapshot", type=Path, default=None, metavar="DIR",
                        help="do not train: save the model at the last checkpoint to DIR (to evaluate a run in progress)")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="another value for a Config field, e.g. --set tune_steps=2000 (a resume needs the same)")
    args = parser.parse_args()
    cfg = Config(**{"seed": args.seed, **(SMOKE if args.smoke else {}), **config_overrides(args.set)})
    if args.snapshot:
        snapshot(cfg, args.checkpoints, args.snapshot, args.workers)
        return
    log = args.log or (None if args.smoke or args.from_base else LOSS_LOG)
    train(cfg, args.out, log, args.device, args.checkpoints, args.workers, args.from_base)


if __name__ == "__main__":
    main()
