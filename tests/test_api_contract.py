"""The HTTP contract on the real server: error shapes and codes, client request quirks, spec-valid responses."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from tests.openapi_check import spec_path, validate
from tests.scripted import ANSWER, REASONING

USER = {"role": "user", "content": "What colour is the sky?"}


def post(live, body, **kwargs) -> httpx.Response:
    kwargs.setdefault("timeout", 30)
    if isinstance(body, (dict, list)):
        kwargs["json"] = body
    else:
        kwargs["content"] = body
    return httpx.post(f"{live.base_url}/v1/chat/completions", **kwargs)


def assert_error(response: httpx.Response, status: int, code=None, param=None) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    if code is not None:
        assert error["code"] == code
    if param is not None:
        assert error["param"] == param
    return error


ERROR_CASES = {
    "no-messages": ({"model": "scripted", "messages": []}, 400, "invalid_value", "messages"),
    "missing-model": ({"messages": [USER]}, 400, "invalid_value", "model"),
    "bad-role": ({"model": "scripted", "messages": [{"role": "robot", "content": "x"}]}, 400, None, None),
    "temperature-out-of-range": ({"model": "scripted", "messages": [USER], "temperature": 5}, 400, None,
                                 "temperature"),
    "max_tokens-zero": ({"model": "scripted", "messages": [USER], "max_tokens": 0}, 400, None, "max_tokens"),
    "unknown-model": ({"model": "gpt-4o", "messages": [USER]}, 404, "model_not_found", "model"),
    "context-exceeded-by-max_tokens": ({"model": "scripted", "messages": [USER], "max_tokens": 10**6}, 400,
                                       "context_length_exceeded", "max_tokens"),
    "context-exceeded-by-prompt": ({"model": "scripted", "messages": [{"role": "user", "content": "hi " * 40000}]},
                                   400, "context_length_exceeded", "messages"),
    "n-greater-than-one": ({"model": "scripted", "messages": [USER], "n": 2}, 400, "unsupported_parameter", "n"),
    "logprobs": ({"model": "scripted", "messages": [USER], "logprobs": True}, 400, "unsupported_parameter",
                 "logprobs"),
    "tools-not-yet": ({"model": "scripted", "messages": [USER], "tools": [
        {"type": "function", "function": {"name": "f", "parameters": {}}}]}, 400, "unsupported_parameter", "tools"),
    "json-schema-not-yet": ({"model": "scripted", "messages": [USER], "response_format": {"type": "json_object"}},
                            400, "unsupported_parameter", "response_format"),
    "thinking-budget-not-yet": ({"model": "scripted", "messages": [USER], "thinking_token_budget": 5}, 400,
                                "unsupported_parameter", "thinking_token_budget"),
    "enable_thinking-as-a-string": ({"model": "scripted", "messages": [USER],
                                     "chat_template_kwargs": {"enable_thinking": "false"}}, 400, "invalid_value",
                                    "chat_template_kwargs.enable_thinking"),
    "bad-reasoning-effort": ({"model": "scripted", "messages": [USER], "reasoning_effort": "maximum"}, 400,
                             "invalid_value", "reasoning_effort"),
    "image-part": ({"model": "scripted", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:,"}}]}]}, 400, "unsupported_content", None),
    "empty-stop-string": ({"model": "scripted", "messages": [USER], "stop": [""]}, 400, None, "stop"),
    "bad-logit-bias-key": ({"model": "scripted", "messages": [USER], "logit_bias": {"abc": 1}}, 400, None,
                           "logit_bias"),
    "stop-token-out-of-vocab": ({"model": "scripted", "messages": [USER], "stop_token_ids": [10**7]}, 400, None,
                                "stop_token_ids"),
    "tool-call-without-name": ({"model": "scripted", "messages": [
        USER, {"role": "assistant", "tool_calls": [{"id": "1", "function": {"arguments": "{}"}}]}]}, 400, None,
        "messages.1.tool_calls"),
}


@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
@pytest.mark.parametrize("case", list(ERROR_CASES), ids=list(ERROR_CASES))
def test_bad_requests_get_openai_errors(scripted_server, case, stream):
    body, status, code, param = ERROR_CASES[case]
    response = post(scripted_server, {**body, "stream": stream})
    error = assert_error(response, status, code, param)
    if spec_path():
        validate("ErrorResponse", {"error": error})


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"\xff\xfe", b""], ids=["broken", "array", "bytes", "empty"])
def test_unparseable_bodies_are_400(scripted_server, body):
    assert_error(post(scripted_server, body), 400, "invalid_json")


def test_body_over_the_limit_is_413(scripted_server):
    huge = json.dumps({"model": "scripted", "messages": [{"role": "user", "content": "x" * (17 * 1024 * 1024)}]})
    assert_error(post(scripted_server, huge), 413, "request_too_large")


def test_unknown_route_and_method_use_the_error_shape(scripted_server):
    assert_error(httpx.get(f"{scripted_server.base_url}/v1/nothing"), 404)
    assert_error(httpx.get(f"{scripted_server.base_url}/v1/chat/completions"), 405)


def test_json_without_content_type_is_accepted(scripted_server):
    # What `curl -d '{...}'` sends: form encoding in the header, JSON in the body.
    body = json.dumps({"model": "scripted", "messages": [USER]})
    response = post(scripted_server, body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == ANSWER


def test_what_real_clients_send_is_accepted(scripted_client):
    """LobeChat: parts, `user`, stream_options, reasoning_content on history; Qwen-Agent: a tool message
    without tool_call_id but with `id` and `extra`, a random seed; unknown keys anywhere."""
    messages = [
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "What colour"}, {"type": "text", "text": "is it?"}]},
        {"role": "assistant", "content": None, "reasoning_content": "need a tool",
         "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "sky", "arguments": "{}"}}]},
        {"role": "tool", "content": "blue", "name": "sky", "id": "call_1", "extra": {"source": "qwen-agent"}},
        {"role": "assistant", "content": "It is blue.", "reasoning": "the tool said so"},
        {"role": "user", "content": "Thanks!", "extra": {"x": 1}},
    ]
    response = scripted_client.chat.completions.create(
        model="scripted", messages=messages, user="u1", seed=123456789, temperature=1, top_p=1,
        frequency_penalty=0, presence_penalty=0,
        extra_body={"metadata_from_client": {"a": 1}, "top_k": 20, "repetition_penalty": 1.0},
    )
    assert response.choices[0].message.content == ANSWER


@pytest.mark.parametrize("model_id", ["scripted", "SCRIPTED"])
def test_model_is_matched_case_insensitively(scripted_client, model_id):
    assert scripted_client.chat.completions.create(model=model_id, messages=[USER]).model == "scripted"


def test_models_endpoints(scripted_server, scripted_client):
    models = scripted_client.models.list()
    assert [m.id for m in models.data] == ["scripted"]
    assert scripted_client.models.retrieve("scripted").id == "scripted"
    with pytest.raises(openai.NotFoundError) as raised:
        scripted_client.models.retrieve("nope")
    assert raised.value.code == "model_not_found"
    if spec_path():
        validate("ListModelsResponse", httpx.get(f"{scripted_server.base_url}/v1/models").json())
        validate("Model", httpx.get(f"{scripted_server.base_url}/v1/models/scripted").json())


def test_health_reports_the_engine(scripted_server):
    health = httpx.get(f"{scripted_server.base_url}/health").json()
    assert health["status"] == "ok" and health["model"] == "scripted"
    assert {"running", "waiting"} <= set(health)


@pytest.mark.skipif(spec_path() is None, reason="../shared/spec is not beside this checkout")
def test_responses_match_the_openai_spec(scripted_server):
    response = post(scripted_server, {"model": "scripted", "messages": [USER]}).json()
    validate("CreateChatCompletionResponse", response)
    assert response["choices"][0]["message"]["refusal"] is None and response["choices"][0]["logprobs"] is None
    with httpx.stream("POST", f"{scripted_server.base_url}/v1/chat/completions", timeout=30, json={
        "model": "scripted", "messages": [USER], "stream": True, "stream_options": {"include_usage": True}}) as r:
        events = [line[len("data: "):] for line in r.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    for chunk in chunks:
        validate("CreateChatCompletionStreamResponse", chunk)
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] > 0
    assert all("finish_reason" in choice for chunk in chunks for choice in chunk["choices"])
    reasoning = "".join(c["choices"][0]["delta"].get("reasoning_content") or "" for c in chunks if c["choices"])
    assert reasoning == REASONING


def test_sdk_raises_typed_errors(scripted_client):
    with pytest.raises(openai.NotFoundError):
        scripted_client.chat.completions.create(model="missing", messages=[USER])
    with pytest.raises(openai.BadRequestError) as raised:
        scripted_client.chat.completions.create(model="scripted", messages=[USER], max_tokens=10**6)
    assert raised.value.code == "context_length_exceeded"


HOSTILE = {
    "seed-over-64-bits": ({"seed": 2**70}, 400),
    "seed-negative": ({"seed": -5}, 200),
    "seed-largest-unsigned": ({"seed": 2**64 - 1}, 200),
    "temperature-denormal": ({"temperature": 1e-40}, 200),
    "top_k-beyond-vocab": ({"top_k": 10**9}, 200),
    "top_p-tiny": ({"top_p": 1e-12}, 200),
    "min_p-one": ({"min_p": 1.0}, 200),
    "repetition-penalty-max": ({"repetition_penalty": 10}, 200),
    "stop-string-huge": ({"stop": ["x" * 100000]}, 200),
    "all-null": ({"temperature": None, "top_p": None, "stop": None, "seed": None, "max_tokens": None}, 200),
    "only-a-tool-message": ({"messages": [{"role": "tool", "content": "x"}]}, 200),
    "assistant-turn-last": ({"messages": [USER, {"role": "assistant", "content": "partial"}]}, 200),
    "text-part-without-text": ({"messages": [{"role": "user", "content": [{"type": "text"}]}]}, 200),
    "nan-temperature": ({"temperature": float("nan")}, 400),
}


@pytest.mark.parametrize("case", list(HOSTILE), ids=list(HOSTILE))
def test_odd_values_get_an_answer_or_a_400_and_the_engine_survives(scripted_server, case):
    extra, status = HOSTILE[case]
    for stream in (False, True):
        body = json.dumps({"model": "scripted", "messages": [USER], **extra, "stream": stream})
        response = post(scripted_server, body)
        assert response.status_code == status, response.text
        assert status != 200 or '"error"' not in response.text
    assert httpx.get(f"{scripted_server.base_url}/health").status_code == 200
