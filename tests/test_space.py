"""The Spaces bundle runs as it would on Spaces; deploy talks to a local stand-in for the Hub API."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from aura_reflect.space import build_space, deploy_space, engine_url

from .helpers import free_port
from .test_cli import wait_for_health

AURA = str(Path(sys.executable).with_name("aura"))


def read_yaml_header(readme: Path) -> dict[str, str]:
    text = readme.read_text()
    assert text.startswith("---\n")
    header = text.split("---\n")[1]
    return dict(line.split(": ", 1) for line in header.strip().splitlines())


def test_build_writes_a_docker_space(tmp_path):
    folder = tmp_path / "space"
    done = subprocess.run([AURA, "space", "build", str(folder)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["Dockerfile", "README.md", "app.py", "engine"]
    header = read_yaml_header(folder / "README.md")
    assert header["sdk"] == "docker" and header["app_port"] == "7860"
    assert {"title", "emoji", "short_description"} <= set(header)
    dockerfile = (folder / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in dockerfile and "USER user" in dockerfile
    assert "HF_HOME=/home/user/.cache/huggingface" in dockerfile and 'CMD ["python", "app.py"]' in dockerfile
    engine = folder / "engine"
    assert (engine / "pyproject.toml").is_file()
    assert (engine / "src" / "aura_reflect" / "web" / "index.html").is_file()
    assert not list(engine.rglob("__pycache__"))
    again = subprocess.run([AURA, "space", "build", str(folder)], capture_output=True, text=True, timeout=60)
    assert again.returncode == 1 and "not empty" in again.stderr


def test_bundle_app_runs_like_on_spaces(tmp_path, tiny_sd):
    folder = build_space(tmp_path / "space")
    port = free_port()
    env = {**os.environ, "PORT": str(port), "SPACE_ID": "someone/aura", "SD_MODEL_ID": tiny_sd, "SD_STEPS": "1",
           "PYTHONPATH": str(folder / "engine" / "src")}
    process = subprocess.Popen([sys.executable, "app.py"], cwd=folder, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        health = wait_for_health(f"http://127.0.0.1:{port}", process).json()
        assert health["model"] == "tiny-sd"
        response = httpx.post(f"http://127.0.0.1:{port}/generate", timeout=60,
                              json={"prompt": "x", "aspectRatio": "1:1", "temperature": 1, "numImages": 1})
        assert response.status_code == 200
        # It is the bundled copy of the engine that serves, not the development checkout.
        module = subprocess.run([sys.executable, "-c", "import aura_reflect; print(aura_reflect.__file__)"],
                                cwd=folder, env=env, capture_output=True, text=True).stdout
        assert str(folder) in module
    finally:
        process.terminate()
        process.wait(30)


class FakeHub:
    """The few Hub API routes `huggingface_hub` calls to deploy a Space, recording each call."""

    def __init__(self):
        self.calls: list[tuple[str, str, object]] = []
        self.files: dict[str, bytes] = {}
        app = FastAPI()
        hub = self

        @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "HEAD"])
        async def anything(path: str, request: Request):
            body = await request.body()
            auth = request.headers.get("authorization", "")
            if auth != "Bearer hf_test_token":
                return JSONResponse({"error": "Invalid credentials"}, status_code=401)
            if path == "api/repos/create":
                hub.calls.append(("create_repo", path, json.loads(body)))
                payload = json.loads(body)
                base = str(request.base_url).rstrip("/")
                return {"url": f"{base}/spaces/{payload.get('organization') or 'someone'}/{payload['name']}"}
            if path == "api/validate-yaml":  # the Hub checks the README's YAML header before a commit
                hub.calls.append(("validate_yaml", path, json.loads(body).get("repoType")))
                return {"errors": [], "warnings": []}
            if path.endswith("/preupload/main"):
                files = json.loads(body)["files"]
                hub.calls.append(("preupload", path, len(files)))
                return {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files]}
            if "/commit/" in path:
                lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
                for line in lines:
                    if line["key"] == "file":
                        hub.files[line["value"]["path"]] = base64.b64decode(line["value"]["content"])
                hub.calls.append(("commit", path, lines[0]["value"]["summary"]))
                base = str(request.base_url).rstrip("/")
                repo = path.removeprefix("api/spaces/").split("/commit/")[0]
                return {"commitUrl": f"{base}/spaces/{repo}/commit/{'a' * 40}", "commitOid": "a" * 40}
            if path.endswith("/variables"):
                hub.calls.append(("add_space_variable", path, json.loads(body)))
                return {}
            if path.endswith("/hardware"):
                hub.calls.append(("request_space_hardware", path, json.loads(body)))
                return {"stage": "BUILDING", "hardware": {"current": None, "requested": json.loads(body)["flavor"]}}
            if path.startswith("api/spaces/") and request.method == "GET":
                return {"id": path.removeprefix("api/spaces/"), "sha": "a" * 40, "siblings": []}
            hub.calls.append(("unexpected", f"{request.method} {path}", None))
            return JSONResponse({"error": f"not emulated: {request.method} {path}"}, status_code=404)

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        while not self.server.started:
            pass
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)


def test_deploy_creates_uploads_and_configures_the_space(monkeypatch):
    with FakeHub() as hub:
        monkeypatch.setenv("HF_TOKEN", "hf_test_token")
        done = subprocess.run(
            [AURA, "space", "deploy", "--repo", "someone/aura-engine", "--hardware", "t4-small",
             "--var", "ALLOW_ORIGINS=https://me.example", "--var", "SD_STEPS=4", "--endpoint", hub.url],
            capture_output=True, text=True, timeout=120,
            # The endpoint is the stand-in on loopback, so the Hub client may go "online" for it alone.
            env={**os.environ, "HF_TOKEN": "hf_test_token", "HF_HUB_OFFLINE": "0"},
        )
        assert done.returncode == 0, done.stderr + done.stdout
        assert "https://someone-aura-engine.hf.space" in done.stdout
        kinds = [kind for kind, _, _ in hub.calls]
        assert "unexpected" not in kinds, hub.calls
        create = next(args for kind, _, args in hub.calls if kind == "create_repo")
        assert create["type"] == "space" and create["sdk"] == "docker" and create["name"] == "aura-engine"
        assert "commit" in kinds
        assert {"README.md", "Dockerfile", "app.py", "engine/pyproject.toml"} <= set(hub.files)
        assert b"sdk: docker" in hub.files["README.md"]
        variables = [args for kind, _, args in hub.calls if kind == "add_space_variable"]
        assert [(v["key"], v["value"]) for v in variables] == [("ALLOW_ORIGINS", "https://me.example"), ("SD_STEPS", "4")]
        hardware = next(args for kind, _, args in hub.calls if kind == "request_space_hardware")
        assert hardware["flavor"] == "t4-small"
        assert "hf_test_token" not in done.stdout + done.stderr


def test_deploy_without_token_or_with_a_rejected_token_fails_clearly(monkeypatch, tmp_path):
    with FakeHub() as hub:
        env = {**os.environ, "HF_TOKEN": "", "HF_HOME": str(tmp_path), "HF_HUB_OFFLINE": "0"}
        done = subprocess.run([AURA, "space", "deploy", "--repo", "someone/x", "--endpoint", hub.url],
                              capture_output=True, text=True, timeout=60, env=env)
        assert done.returncode == 1 and "HF_TOKEN" in done.stderr
        env["HF_TOKEN"] = "hf_wrong"
        done = subprocess.run([AURA, "space", "deploy", "--repo", "someone/x", "--endpoint", hub.url],
                              capture_output=True, text=True, timeout=60, env=env)
        assert done.returncode == 1 and "create_repo failed (HTTP 401)" in done.stderr
        assert "hf_wrong" not in done.stderr


def test_engine_url_of_a_space():
    assert engine_url("Some_User/my.space") == "https://some-user-my-space.hf.space"
    with pytest.raises(Exception):
        deploy_space("no-slash")
