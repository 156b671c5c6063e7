"""The ``aura`` command line."""

from __future__ import annotations

import logging
import sys

import typer

from .core.config import ConfigError, load_settings

app = typer.Typer(help="Aura Reflect Engine: moodboard image generation.", no_args_is_help=True)


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "httpcore", "diffusers", "transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def serve(host: str | None = None, port: int | None = None) -> None:
    """Validate the settings, then run the engine with uvicorn (used by `aura serve` and app.py)."""
    import uvicorn

    configure_logging()
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"aura: invalid configuration\n{error}", file=sys.stderr)
        raise SystemExit(2) from None
    from .app import create_app

    config = uvicorn.Config(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.effective_port,
        log_level="info",
        timeout_graceful_shutdown=30,
    )
    _graceful_server_class()(config).run()


def _graceful_server_class():
    import signal

    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn re-raises SIGTERM after draining, so the process would die by the signal; a
        platform (Spaces, Kubernetes) reads a drained SIGTERM shutdown as success, so exit 0."""

        def handle_exit(self, sig, frame):
            super().handle_exit(sig, frame)
            if sig == signal.SIGTERM and sig in self._captured_signals:
                self._captured_signals.remove(sig)

    return Server


@app.command("serve")
def serve_command(
    host: str = typer.Option(None, help="Interface to bind (default HOST or 127.0.0.1)."),
    port: int = typer.Option(None, help="Port (default PORT, 7860 in a Space, else 8000)."),
) -> None:
    """Run the engine's HTTP server."""
    serve(host, port)


@app.command("version")
def version() -> None:
    """Print the version."""
    from . import __version__

    print(__version__)


if __name__ == "__main__":
    app()
