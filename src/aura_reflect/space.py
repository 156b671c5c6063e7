"""Hugging Face Spaces: build a ready Space bundle, and deploy it with ``huggingface_hub``.

The bundle is a Docker Space: a README with the Spaces YAML header, a Dockerfile (slim Python,
non-root user as Spaces require, writable HF_HOME), ``app.py``, and the engine package itself
(copied from this installation, embedded model and studio included) with a generated pyproject.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from . import __version__

PACKAGE_DIR = Path(__file__).resolve().parent
SPACE_PORT = 7860

README = """---
title: {title}
emoji: 🌈
colorFrom: purple
colorTo: pink
sdk: docker
app_port: {port}
short_description: Moodboard image engine (diffusers) with a studio UI
pinned: false
---

# {title}

The Aura Reflect moodboard engine, version {version}: `POST /generate`,
`POST /refine`, `GET /health`, and the studio at `/`. Point your studio's *Cloud* engine at this
Space's `https://<user>-<space>.hf.space` URL and list your studio's origin in the Space variable
`ALLOW_ORIGINS`.

Variables: `SD_MODEL_ID` (default: the embedded aura-tiny), `ALLOW_ORIGINS`, `SD_PRECISION`, `SD_STEPS`.
"""

DOCKERFILE = """FROM python:3.11-slim

# Spaces run the container as user 1000; give it a home and a writable model cache.
RUN useradd --create-home --uid 1000 user
ENV HOME=/home/user \\
    HF_HOME=/home/user/.cache/huggingface \\
    PYTHONUNBUFFERED=1 \\
    PIP_NO_CACHE_DIR=1 \\
    PORT={port} \\
    HOST=0.0.0.0
WORKDIR /home/user/app

# CPU Spaces take the small CPU build of torch; GPU hardware: build with TORCH_INDEX=https://download.pytorch.org/whl/cu124
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
RUN pip install --index-url $TORCH_INDEX "torch>=2.4"

COPY --chown=user engine ./engine
RUN pip install ./engine
COPY --chown=user app.py .

USER user
EXPOSE {port}
CMD ["python", "app.py"]
"""

APP = '''"""What the Space runs: the engine on 0.0.0.0:$PORT (7860)."""

import os

from aura_reflect.cli import serve

if __name__ == "__main__":
    serve(host=os.environ.get("HOST", "0.0.0.0"))
'''

PYPROJECT = """[build-system]
requires = ["setuptools>=77", "wheel"]
build-backend = "setuptools.build_meta"

[project]
name = "aura-reflect-engine"
version = "{version}"
requires-python = ">=3.11"
dependencies = [
{dependencies}
]

[tool.setuptools.packages.find]
where = ["src"]

[tool.setuptools.package-data]
aura_reflect = ["py.typed", "web/*", "models/*/*.json", "models/*/*/*"]
"""


class SpaceError(Exception):
    """A deploy step failed; the message says which and why (never the token)."""


def _runtime_dependencies() -> list[str]:
    try:
        requires = metadata.requires("aura-reflect-engine") or []
    except metadata.PackageNotFoundError:
        requires = []
    # torch is installed by the Dockerfile from the index that fits the hardware.
    return [r for r in requires if "extra ==" not in r and not r.startswith("torch")]


def build_space(folder: Path | str, title: str = "Aura Reflect Engine") -> Path:
    """Write a ready Docker Space into ``folder`` (created; must be empty if it exists)."""
    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()):
        raise SpaceError(f"{folder} is not empty")
    package_target = folder / "engine" / "src" / "aura_reflect"
    shutil.copytree(PACKAGE_DIR, package_target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.tmp"))
    deps = ",\n".join(f'    "{d}"' for d in _runtime_dependencies())
    (folder / "engine" / "pyproject.toml").write_text(PYPROJECT.format(version=__version__, dependencies=deps))
    (folder / "README.md").write_text(README.format(title=title, port=SPACE_PORT, version=__version__))
    (folder / "Dockerfile").write_text(DOCKERFILE.format(port=SPACE_PORT))
    (folder / "app.py").write_text(APP)
    return folder


@dataclass
class Deployment:
    repo_id: str
    space_url: str
    engine_url: str


def engine_url(repo_id: str) -> str:
    """The public URL of a Space's app: https://<owner>-<name>.hf.space (dots and _ become -)."""
    owner, name = repo_id.split("/", 1)
    slug = f"{owner}-{name}".lower().replace("_", "-").replace(".", "-")
    return f"https://{slug}.hf.space"


def deploy_space(
    repo_id: str,
    hardware: str | None = None,
    variables: dict[str, str] | None = None,
    private: bool = False,
    token: str | None = None,
    endpoint: str | None = None,
    bundle: Path | None = None,
) -> Deployment:
    """Create (or reuse) the Space, upload the bundle, set variables and hardware."""
    import tempfile

    from huggingface_hub import HfApi
    from huggingface_hub.utils import HfHubHTTPError

    if "/" not in repo_id:
        raise SpaceError(f"--repo must be USER/NAME, got {repo_id!r}")
    token = token or os.environ.get("HF_TOKEN")
    api = HfApi(endpoint=endpoint, token=token)
    if not token:
        from huggingface_hub import get_token

        token = get_token()
        if not token:
            raise SpaceError("no Hugging Face token: set HF_TOKEN or run `hf auth login`")
        api = HfApi(endpoint=endpoint, token=token)

    def step(name: str, call):
        try:
            return call()
        except HfHubHTTPError as error:
            status = getattr(error.response, "status_code", "?")
            raise SpaceError(f"{name} failed (HTTP {status}): {str(error).splitlines()[0]}") from None
        except Exception as error:  # transport errors, unexpected answers: say which step, keep it short
            raise SpaceError(f"{name} failed: {type(error).__name__}: {str(error).splitlines()[0]}") from None

    with tempfile.TemporaryDirectory() as tmp:
        folder = bundle or build_space(Path(tmp) / "space")
        step("create_repo", lambda: api.create_repo(repo_id, repo_type="space", space_sdk="docker",
                                                    private=private, exist_ok=True))
        step("upload_folder", lambda: api.upload_folder(repo_id=repo_id, repo_type="space", folder_path=folder,
                                                        commit_message=f"Deploy Aura Reflect Engine {__version__}"))
    for key, value in (variables or {}).items():
        step(f"add_space_variable {key}", lambda key=key, value=value: api.add_space_variable(repo_id, key, value))
    if hardware:
        step("request_space_hardware", lambda: api.request_space_hardware(repo_id, hardware))
    base = (endpoint or "https://huggingface.co").rstrip("/")
    return Deployment(repo_id=repo_id, space_url=f"{base}/spaces/{repo_id}", engine_url=engine_url(repo_id))
