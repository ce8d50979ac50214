"""Shared fixtures: offline Qwen3 checkpoints built once per session, and live servers over them."""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from qwen3_server.checkpoints.build import build_random_checkpoint, build_scripted_checkpoint
from qwen3_server.config import ServerConfig
from qwen3_server.loader import LoadedModel, load_model
from qwen3_server.registry import spec_from_folder
from qwen3_server.server import build_app
from tests.scripted import CHAINS


@pytest.fixture(scope="session")
def checkpoint_root(tmp_path_factory) -> Path:
    """QWEN3_SERVER_TEST_CACHE keeps built checkpoints between runs; by default they are per session."""
    cached = os.environ.get("QWEN3_SERVER_TEST_CACHE")
    return Path(cached) if cached else tmp_path_factory.mktemp("checkpoints")


@pytest.fixture(scope="session")
def dense_checkpoint(checkpoint_root) -> Path:
    return build_random_checkpoint(checkpoint_root / "tiny-dense", kind="dense")


@pytest.fixture(scope="session")
def moe_checkpoint(checkpoint_root) -> Path:
    return build_random_checkpoint(checkpoint_root / "tiny-moe", kind="moe")


@pytest.fixture(scope="session")
def scripted_checkpoint(checkpoint_root) -> Path:
    return build_scripted_checkpoint(checkpoint_root / "scripted", CHAINS)


def load_cpu(path: Path, **overrides) -> LoadedModel:
    return load_model(spec_from_folder(path), device="cpu", dtype="float32", **overrides)


@pytest.fixture(scope="session")
def scripted_model(scripted_checkpoint) -> LoadedModel:
    return load_cpu(scripted_checkpoint)


@pytest.fixture(scope="session")
def dense_model(dense_checkpoint) -> LoadedModel:
    return load_cpu(dense_checkpoint)


@pytest.fixture(scope="session")
def moe_model(moe_checkpoint) -> LoadedModel:
    return load_cpu(moe_checkpoint)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class LiveServer:
    """A real uvicorn server on a loopback port, running the real engine, in a background thread."""

    app: object
    server: uvicorn.Server
    thread: threading.Thread
    base_url: str

    @property
    def engine(self):
        return self.app.state.engine

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def start_server(loaded: LoadedModel, config: ServerConfig | None = None) -> LiveServer:
    port = _free_port()
    config = config or ServerConfig()
    app = build_app(loaded, config)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                return LiveServer(app, server, thread, base_url)
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    server.should_exit = True
    raise RuntimeError("the test server did not start")


@pytest.fixture(scope="session")
def scripted_server(scripted_model):
    live = start_server(scripted_model)
    yield live
    live.stop()


@pytest.fixture(scope="session")
def dense_server(dense_model):
    live = start_server(dense_model)
    yield live
    live.stop()


def openai_client(live: LiveServer, **kwargs):
    """The OpenAI SDK in strict mode: every response must validate against its models."""
    from openai import OpenAI

    return OpenAI(
        base_url=f"{live.base_url}/v1", api_key="any", max_retries=0, _strict_response_validation=True, **kwargs
    )


@pytest.fixture
def scripted_client(scripted_server):
    return openai_client(scripted_server)
