"""The ``aura`` command line."""

from __future__ import annotations

import logging
import sys
import uuid
from pathlib import Path

import typer

from .core.config import ConfigError, load_settings

app = typer.Typer(help="Aura Reflect Engine: moodboard image generation.", no_args_is_help=True)


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "httpcore", "diffusers", "transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def serve(host: str | None = None, port: int | None = None, replicas: int | None = None) -> None:
    """Validate the settings, then run the engine with uvicorn (used by `aura serve` and app.py),
    or with ``replicas`` as that many Ray Serve replicas on a local Ray cluster."""
    configure_logging()
    try:
        settings = load_settings(**({"AURA_MIN_REPLICAS": replicas, "AURA_MAX_REPLICAS": replicas} if replicas else {}))
    except ConfigError as error:
        print(f"aura: invalid configuration\n{error}", file=sys.stderr)
        raise SystemExit(2) from None
    # The address actually bound decides what the app allows (CORS for local pages on loopback only).
    settings = settings.model_copy(update={"host": host or settings.host})
    if replicas:
        try:
            from .scale.deployment import run_local
        except ImportError:
            print("aura: --replicas needs Ray Serve: pip install 'aura-reflect-engine[ray]'", file=sys.stderr)
            raise SystemExit(2) from None
        run_local(settings, settings.host, port or settings.effective_port)
        return
    import uvicorn

    from .app import create_app

    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=port or settings.effective_port,
        log_level="info",
        timeout_graceful_shutdown=settings.shutdown_grace_s,
        # The engine decides itself whether X-Forwarded-For is trusted (AURA_TRUST_PROXY).
        proxy_headers=False,
    )
    _graceful_server_class()(config).run()


def _graceful_server_class():
    import signal

    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn re-raises SIGTERM after draining, so the process would die by the signal; a
        platform (Spaces, Kubernetes) reads a drained SIGTERM shutdown as success, so exit 0."""

        def handle_exit(self, sig, frame):
            # New requests on open connections get 503 while accepted ones finish (uvicorn waits
            # up to timeout_graceful_shutdown for them, then the lifespan cancels what is left).
            worker = getattr(getattr(self.config.app, "state", None), "worker", None)
            if worker is not None:
                worker.begin_drain()
            super().handle_exit(sig, frame)
            if sig == signal.SIGTERM and sig in self._captured_signals:
                self._captured_signals.remove(sig)

    return Server


@app.command("serve")
def serve_command(
    host: str = typer.Option(None, help="Interface to bind (default HOST or 127.0.0.1)."),
    port: int = typer.Option(None, help="Port (default PORT, 7860 in a Space, else 8000)."),
    replicas: int = typer.Option(
        None, "--replicas", min=1, help="Serve N engine replicas on a local Ray cluster (needs the [ray] extra)."
    ),
) -> None:
    """Run the engine's HTTP server."""
    serve(host, port, replicas)


# --- client commands -------------------------------------------------------------------------
def _save(result, out_dir: Path, stem: str, params: dict) -> list[tuple[Path, list[dict]]]:
    """PNG files that say how they were made: the parameters and the palette as PNG text chunks.
    Returns each file with its palette (the engine's, or computed here for an engine without them)."""
    from PIL.PngImagePlugin import PngInfo

    from .engine.palette import PNG_TEXT_KEY, dominant_colours, palette_json

    out_dir.mkdir(parents=True, exist_ok=True)
    saved = []
    for i, image in enumerate(result.images):
        info = PngInfo()
        seed = result.seeds[i] if i < len(result.seeds) else None
        palette = result.palettes[i] if i < len(result.palettes) else dominant_colours(image)
        chunks = {**params, "seed": seed, "steps": result.steps, "guidance_scale": result.guidance_scale,
                  "model": result.model, "engine": result.engine, "software": "aura-reflect-engine",
                  PNG_TEXT_KEY: palette_json(palette)}
        for key, value in chunks.items():
            if value is not None:
                info.add_text(key, str(value))
        path = out_dir / f"{stem}-{seed if seed is not None else i}.png"
        image.save(path, pnginfo=info)
        saved.append((path, palette))
    return saved


def _report(saved: list[tuple[Path, list[dict]]]) -> None:
    """One line per file: its path, a tab, then its palette's colours, largest share first."""
    for path, palette in saved:
        print(f"{path}\t{' '.join(entry['hex'] for entry in palette)}")


def _run_with_progress(client, call, request_id: str, label: str):
    """Run ``call`` while a progress bar follows the engine's /jobs/{request_id}."""
    import threading

    from tqdm import tqdm

    done = threading.Event()
    bar = tqdm(total=1, desc=label, unit="step", leave=False, disable=not sys.stderr.isatty())

    def follow():
        while not done.wait(0.25):
            progress = client.progress(request_id)
            if progress:
                bar.total = progress["total"]
                bar.n = progress["step"]
                bar.refresh()

    watcher = threading.Thread(target=follow, daemon=True)
    watcher.start()
    try:
        return call()
    finally:
        done.set()
        bar.close()


def _client(engine: str, local: str | None, cloud: str | None, api_key: str | None):
    from .client import AutoClient, EngineClient

    if engine == "local":
        return EngineClient(local, api_key=api_key, name="local") if local else None
    if engine == "cloud":
        if not cloud:
            raise typer.BadParameter("--engine cloud needs --cloud URL (or AURA_CLOUD_URL)", param_hint="--cloud")
        return EngineClient(cloud, api_key=api_key, name="cloud")
    if not (local and cloud):
        raise typer.BadParameter("--engine auto needs both --local and --cloud URLs", param_hint="--engine")
    return AutoClient(EngineClient(local, api_key=api_key), EngineClient(cloud, api_key=api_key))


def _fail(error) -> None:
    print(f"aura: {type(error).__name__}: {error}", file=sys.stderr)
    raise SystemExit(1)


ENGINE_HELP = "local (the --local URL, or in-process on the configured model), cloud, or auto"


@app.command("generate")
def generate_command(
    prompt: str = typer.Argument(..., help="The mood to draw."),
    aspect: str = typer.Option("1:1", "--aspect", help="Aspect ratio, e.g. 16:9."),
    n: int = typer.Option(2, "--n", min=1, max=8, help="Number of images."),
    seed: int = typer.Option(None, help="Base seed; image i uses seed + i."),
    temperature: float = typer.Option(1.0, min=0, max=2),
    resolution: str = typer.Option("standard", help="standard or high."),
    steps: int = typer.Option(None, min=1, max=150),
    engine: str = typer.Option("local", help=ENGINE_HELP),
    local: str = typer.Option(None, envvar="AURA_LOCAL_URL", help="Local engine URL."),
    cloud: str = typer.Option(None, envvar="AURA_CLOUD_URL", help="Cloud engine URL."),
    api_key: str = typer.Option(None, envvar="AURA_API_KEY", help="Bearer key for the engines."),
    out: Path = typer.Option(Path("aura-out"), "-o", "--out", help="Folder for the PNG files."),
) -> None:
    """Generate images and save them as PNG files (parameters and palette embedded as text chunks);
    print each file's path and, after a tab, its dominant colours."""
    from .client import EngineError
    from .errors import EngineError as EngineFailure

    params = {"prompt": prompt, "aspect_ratio": aspect, "temperature": temperature, "resolution": resolution}
    client = _client(engine, local, cloud, api_key)
    try:
        if client is None:
            result = _generate_in_process(prompt, aspect, n, seed, temperature, resolution, steps)
        else:
            request_id = uuid.uuid4().hex
            target = client.local if hasattr(client, "local") else client
            result = _run_with_progress(
                target,
                lambda: client.generate(prompt, aspect_ratio=aspect, temperature=temperature, resolution=resolution,
                                        num_images=n, seed=seed, steps=steps, request_id=request_id),
                request_id,
                "generating",
            )
    except (EngineError, EngineFailure) as error:
        _fail(error)
    _report(_save(result, out, "aura", params))


def _generate_in_process(prompt, aspect, n, seed, temperature, resolution, steps):
    """No engine URL: load the configured model (the embedded one by default) and run it here."""
    from .api.serving import draw_seeds, guidance_for_temperature
    from .client import GenerationResult
    from .engine import pipeline
    from .engine.families import ASPECT_RATIOS, resolve_size
    from .engine.loader import load_model

    if aspect not in ASPECT_RATIOS:
        raise typer.BadParameter(f"choose one of {', '.join(ASPECT_RATIOS)}", param_hint="--aspect")
    if resolution not in ("standard", "high"):
        raise typer.BadParameter("standard or high", param_hint="--resolution")
    from .errors import EngineError as EngineFailure

    try:
        model = load_model(load_settings())
    except (ConfigError, EngineFailure) as error:
        _fail(error)
    output_size = resolve_size(model.family, aspect, resolution)
    width, height = model.render_size(aspect, output_size)
    request = pipeline.GenerationRequest(
        prompt=prompt, width=width, height=height, steps=steps or model.default_steps,
        guidance_scale=guidance_for_temperature(model.default_guidance, temperature),
        seeds=draw_seeds(seed, n), output_size=output_size if output_size != (width, height) else None,
    )
    output = pipeline.generate(model, request)
    return GenerationResult(images=output.images, seeds=output.seeds, model=output.model, width=output_size[0],
                            height=output_size[1], steps=output.steps, guidance_scale=output.guidance_scale,
                            engine="in-process")


@app.command("refine")
def refine_command(
    images: list[Path] = typer.Argument(..., exists=True, dir_okay=False, help="PNG/JPEG/WebP files."),
    prompt: str = typer.Option(..., "--prompt", help="How to change them."),
    strength: float = typer.Option(None, min=0.05, max=1),
    seed: int = typer.Option(None),
    engine: str = typer.Option("local", help="local, cloud or auto"),
    local: str = typer.Option("http://127.0.0.1:8000", envvar="AURA_LOCAL_URL"),
    cloud: str = typer.Option(None, envvar="AURA_CLOUD_URL"),
    api_key: str = typer.Option(None, envvar="AURA_API_KEY"),
    out: Path = typer.Option(Path("aura-out"), "-o", "--out"),
) -> None:
    """Refine images on an engine (image-to-image), save the results and print them as `generate` does."""
    from .client import EngineError

    client = _client(engine, local, cloud, api_key)
    request_id = uuid.uuid4().hex
    target = client.local if hasattr(client, "local") else client
    try:
        result = _run_with_progress(
            target,
            lambda: client.refine([str(p) for p in images], prompt, strength=strength, seed=seed,
                                  request_id=request_id),
            request_id,
            "refining",
        )
    except EngineError as error:
        _fail(error)
    _report(_save(result, out, "aura-refined", {"refine_prompt": prompt}))


@app.command("health")
def health_command(url: str = typer.Argument("http://127.0.0.1:8000", help="Engine URL.")) -> None:
    """Print an engine's /health as JSON (exit 1 when it is not serving)."""
    import json

    from .client import EngineClient, EngineError

    with EngineClient(url, timeout=15) as client:
        try:
            print(json.dumps(client.health(), indent=2))
        except EngineError as error:
            _fail(error)


space_app = typer.Typer(help="Deploy the engine to a Hugging Face Space.", no_args_is_help=True)
app.add_typer(space_app, name="space")


@space_app.command("build")
def space_build(
    folder: Path = typer.Argument(..., help="Empty (or new) folder for the Space files."),
    title: str = typer.Option("Aura Reflect Engine", help="The Space's title."),
) -> None:
    """Write a ready Docker Space (README with Spaces YAML, Dockerfile, app.py, the engine)."""
    from .space import SpaceError, build_space

    try:
        build_space(folder, title=title)
    except SpaceError as error:
        _fail(error)
    print(f"Space files written to {folder}")


@space_app.command("deploy")
def space_deploy(
    repo: str = typer.Option(..., "--repo", help="USER/NAME of the Space."),
    hardware: str = typer.Option(None, help="e.g. cpu-basic, t4-small, a10g-small."),
    var: list[str] = typer.Option([], "--var", help="KEY=VALUE Space variable; repeatable."),
    private: bool = typer.Option(False, "--private"),
    endpoint: str = typer.Option(None, envvar="HF_ENDPOINT", help="Hub URL (default huggingface.co)."),
) -> None:
    """Create or update the Space, upload the engine, set its variables and hardware."""
    from .space import SpaceError, deploy_space

    variables = {}
    for item in var:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="--var")
        variables[key] = value
    try:
        deployment = deploy_space(repo, hardware=hardware, variables=variables, private=private, endpoint=endpoint)
    except SpaceError as error:
        _fail(error)
    print(f"Space:  {deployment.space_url}")
    print(f"Engine: {deployment.engine_url}   (paste this as the studio's Cloud engine URL)")


@app.command("version")
def version() -> None:
    """Print the version."""
    from . import __version__

    print(__version__)


if __name__ == "__main__":
    app()
