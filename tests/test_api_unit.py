"""API-layer unit tests over a scripted fake engine: engine refusals map to 429 and 503."""

from __future__ import annotations

from fastapi.testclient import TestClient

from qwen3_server.api.app import create_app
from qwen3_server.checkpoints.build import qwen3_tokenizer
from qwen3_server.engine.client import EngineOverloadedError, EngineUnavailableError
from qwen3_server.model_spec import ModelSpec, SamplingDefaults

SPEC = ModelSpec(name="fake", source="fake", kind="dense", thinking="hybrid", context_length=4096, dtype="float32",
                 sampling_thinking=SamplingDefaults(0.6, 0.95, 20), sampling_non_thinking=SamplingDefaults(0.7, 0.8, 20))
BODY = {"model": "fake", "messages": [{"role": "user", "content": "hi"}]}


class RefusingEngine:
    """Stands in for the engine at the EngineClient seam; refuses every request with `error`."""

    max_model_len = 4096

    def __init__(self, error: Exception, healthy: bool = True):
        self.error, self.healthy = error, healthy

    def start(self):
        pass

    def shutdown(self):
        pass

    def is_healthy(self):
        return self.healthy

    def stats(self):
        return {"running": 0, "waiting": 0}

    async def abort(self, request_id):
        pass

    async def generate(self, prompt_token_ids, sampling_params, request_id):
        raise self.error
        yield  # pragma: no cover  (makes this an async generator)


def client_for(engine) -> TestClient:
    return TestClient(create_app(engine, qwen3_tokenizer(), SPEC))


def test_overloaded_engine_is_429_before_any_stream_starts():
    with client_for(RefusingEngine(EngineOverloadedError("full"))) as client:
        for stream in (False, True):
            response = client.post("/v1/chat/completions", json={**BODY, "stream": stream})
            assert response.status_code == 429 and response.json()["error"]["code"] == "server_busy"


def test_unavailable_engine_is_503_and_health_says_so():
    with client_for(RefusingEngine(EngineUnavailableError("loop died"), healthy=False)) as client:
        assert client.get("/health").status_code == 503
        response = client.post("/v1/chat/completions", json=BODY)
        assert response.status_code == 503 and response.json()["error"]["code"] == "engine_unavailable"
