"""Streams under stress on the real server: client disconnects, engine failures, a full queue, auth, CORS."""

from __future__ import annotations

import json
import threading
import time

import httpx
import openai
import pytest

from qwen3_server.config import ServerConfig
from tests.conftest import openai_client, start_server
from tests.scripted import ANSWER

USER = {"role": "user", "content": "Tell me a long story."}
LONG = {"model": "tiny-dense", "messages": [USER], "max_tokens": 4000, "ignore_eos": True, "stream": True}


def wait_until(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_client_disconnect_aborts_the_generation(dense_server):
    llm = dense_server.engine.engine
    with httpx.stream("POST", f"{dense_server.base_url}/v1/chat/completions", json=LONG, timeout=30) as response:
        lines = response.iter_lines()
        received = [next(lines) for _ in range(6)]
    assert any(line.startswith("data: ") for line in received)
    # The stream is closed: the engine must drop the request long before its 4000 tokens.
    assert wait_until(lambda: llm.num_running == 0 and llm.num_waiting == 0)
    assert wait_until(lambda: dense_server.engine.stats()["in_flight"] == 0)


def test_non_streaming_client_disconnect_aborts_too(dense_server):
    llm = dense_server.engine.engine
    body = {**LONG, "stream": False, "max_tokens": 20000}
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{dense_server.base_url}/v1/chat/completions", json=body, timeout=1.0)
    assert wait_until(lambda: llm.num_running == 0, timeout=10)


def test_engine_failure_mid_stream_sends_an_error_event_and_the_engine_survives(scripted_model, monkeypatch):
    live = start_server(scripted_model)
    try:
        runner = live.engine.engine.runner
        real_forward, calls = runner.forward, {"n": 0}

        def failing_forward(token_ids, cache):
            calls["n"] += 1
            if calls["n"] == 4:
                raise RuntimeError("simulated CUDA error")
            return real_forward(token_ids, cache)

        monkeypatch.setattr(runner, "forward", failing_forward)
        with httpx.stream("POST", f"{live.base_url}/v1/chat/completions", timeout=30,
                          json={"model": "scripted", "messages": [USER], "stream": True}) as response:
            assert response.status_code == 200
            events = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
        assert events[-1] == "[DONE]"
        error = json.loads(events[-2])["error"]
        assert "simulated CUDA error" in error["message"] and error["code"] == "engine_error"
        # The SDK surfaces it as an APIError, and the next request is served normally.
        calls["n"] = -1000
        client = openai_client(live)
        assert client.chat.completions.create(model="scripted", messages=[USER]).choices[0].message.content == ANSWER
        calls["n"] = 3
        with pytest.raises(openai.APIError, match="simulated CUDA error"):
            for _ in client.chat.completions.create(model="scripted", messages=[USER], stream=True):
                pass
        calls["n"] = 3
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(model="scripted", messages=[USER])
        assert httpx.get(f"{live.base_url}/health").status_code == 200
    finally:
        live.stop()


def test_full_queue_answers_429_and_loses_nothing(dense_model):
    live = start_server(dense_model, ServerConfig(max_queued_requests=1))
    try:
        opened = threading.Event()
        finished = {}

        def first_request():
            body = {**LONG, "max_tokens": 300}
            with httpx.stream("POST", f"{live.base_url}/v1/chat/completions", json=body, timeout=60) as r:
                for line in r.iter_lines():
                    opened.set()
                finished["status"] = r.status_code

        worker = threading.Thread(target=first_request)
        worker.start()
        assert opened.wait(30)
        second = httpx.post(f"{live.base_url}/v1/chat/completions", json={**LONG, "stream": False}, timeout=30)
        assert second.status_code == 429 and second.json()["error"]["type"] == "rate_limit_error"
        worker.join(60)
        assert finished["status"] == 200
        # Once the first is done, the server takes new work again.
        ok = httpx.post(f"{live.base_url}/v1/chat/completions", timeout=30,
                        json={**LONG, "stream": False, "max_tokens": 3})
        assert ok.status_code == 200 and ok.json()["usage"]["completion_tokens"] == 3
    finally:
        live.stop()


def test_api_key_guards_v1_and_cors_echoes_headers(scripted_model):
    live = start_server(scripted_model, ServerConfig(api_key="secret", allowed_origins=("*",)))
    try:
        url = f"{live.base_url}/v1/chat/completions"
        body = {"model": "scripted", "messages": [USER]}
        missing = httpx.post(url, json=body)
        assert missing.status_code == 401 and missing.json()["error"]["code"] == "invalid_api_key"
        assert httpx.post(url, json=body, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert httpx.post(url, json=body, headers={"Authorization": "Bearer secret"}).status_code == 200
        assert httpx.get(f"{live.base_url}/health").status_code == 200  # health stays open for probes
        preflight = httpx.options(url, headers={
            "Origin": "https://chat.example", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,x-stainless-os",
            "Access-Control-Request-Private-Network": "true"})
        assert preflight.status_code == 200
        allowed = preflight.headers["access-control-allow-headers"].lower()
        assert "authorization" in allowed and "x-stainless-os" in allowed
        assert preflight.headers.get("access-control-allow-private-network") == "true"
    finally:
        live.stop()


def test_a_client_that_leaves_while_queued_takes_its_request_with_it(dense_model):
    live = start_server(dense_model, ServerConfig(max_num_seqs=1))
    llm = live.engine.engine
    try:
        with httpx.stream("POST", f"{live.base_url}/v1/chat/completions", json=LONG, timeout=60) as running:
            lines = running.iter_lines()
            next(lines)  # the first request holds the only slot
            with pytest.raises(httpx.ReadTimeout):
                httpx.post(f"{live.base_url}/v1/chat/completions", json={**LONG, "stream": False}, timeout=1.0)
            assert wait_until(lambda: llm.num_waiting == 0)  # the queued one is gone...
            assert llm.num_running == 1  # ...while the first is still generating
    finally:
        live.stop()
