"""The `qwen3-server` command as a user runs it: models table, clear errors, serving the demo."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

from tests.conftest import _free_port


def run_cli(*args, env=None, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qwen3_server", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def test_models_answers_what_fits_a_12_gib_gpu():
    result = run_cli("models", "--gpu-memory", "12GiB", "--context", "8192")
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines() if line.startswith("Qwen3-")}
    assert len(rows) == 14
    assert "✓" in rows["Qwen3-8B"] and "✗" in rows["Qwen3-32B"]
    assert rows["Qwen3-235B-A22B"].count("✗") == 3


@pytest.mark.parametrize("args,needle", [
    (["models", "--gpu-memory", "twelve"], "error:"),
    (["models", "--precision", "int3"], "error:"),
    (["serve", "no-such-model-anywhere"], "unknown model"),
])
def test_bad_input_is_one_line_not_a_traceback(args, needle):
    result = run_cli(*args)
    assert result.returncode == 2
    assert needle in result.stderr and "Traceback" not in result.stderr


def test_serving_unreachable_weights_fails_cleanly(tmp_path):
    result = run_cli("serve", "qwen3:0.6b", env={"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path)})
    assert result.returncode == 2
    assert "could not find the weights" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_serve_demo_offline_answers_chat(tmp_path):
    port = _free_port()
    env = {**os.environ, "QWEN3_SERVER_CACHE": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen([sys.executable, "-m", "qwen3_server", "serve", "--port", str(port)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        reply = httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions", timeout=60, json={
            "model": "demo", "messages": [{"role": "user", "content": "Hello"}], "max_tokens": 5})
        assert reply.status_code == 200 and reply.json()["model"] == "qwen3-demo"
        assert reply.json()["usage"]["completion_tokens"] == 5
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
    assert "gibberish" in output
