"""How a chat request becomes SamplingParams: per-mode recommended defaults, overrides, limits."""

from __future__ import annotations

import pytest

from qwen3_server.api.errors import APIError
from qwen3_server.api.protocol import ChatCompletionRequest
from qwen3_server.api.sampling import build_sampling_params, resolve_max_tokens
from qwen3_server.model_spec import QWEN_NON_THINKING_SAMPLING, QWEN_THINKING_SAMPLING

VOCAB = 151669


def request(**fields) -> ChatCompletionRequest:
    return ChatCompletionRequest(model="m", messages=[{"role": "user", "content": "hi"}], **fields)


@pytest.mark.parametrize("defaults,expected", [
    (QWEN_THINKING_SAMPLING, (0.6, 0.95, 20, 0.0)),
    (QWEN_NON_THINKING_SAMPLING, (0.7, 0.8, 20, 0.0)),
    (None, (1.0, 1.0, 0, 0.0)),
], ids=["thinking", "non-thinking", "no-defaults"])
def test_unset_sampling_takes_the_modes_recommendation(defaults, expected):
    params = build_sampling_params(request(), defaults, 10, VOCAB, reasoning_open=True)
    assert (params.temperature, params.top_p, params.top_k, params.min_p) == expected


def test_request_values_win_and_top_k_minus_one_means_off():
    params = build_sampling_params(
        request(temperature=0, top_p=0.5, top_k=-1, min_p=0.1, presence_penalty=1.5, frequency_penalty=0.5,
                repetition_penalty=1.1, seed=3, stop="END", logit_bias={"42": -100}, stop_token_ids=[7]),
        QWEN_THINKING_SAMPLING, 10, VOCAB, reasoning_open=False)
    assert (params.temperature, params.top_p, params.top_k, params.min_p) == (0, 0.5, 0, 0.1)
    assert (params.presence_penalty, params.frequency_penalty, params.repetition_penalty) == (1.5, 0.5, 1.1)
    assert params.is_greedy and params.seed == 3 and params.stop == ("END",)
    assert params.logit_bias == ((42, -100.0),) and params.stop_token_ids == (7,)
    assert params.reasoning_delimiters == (151667, 151668) and not params.starts_in_reasoning


@pytest.mark.parametrize("fields,prompt,expected", [
    ({}, 100, 924),
    ({"max_tokens": 50}, 100, 50),
    ({"max_completion_tokens": 60, "max_tokens": 50}, 100, 60),
    ({"max_tokens": 924}, 100, 924),
])
def test_max_tokens_defaults_to_the_room_left(fields, prompt, expected):
    assert resolve_max_tokens(request(**fields), prompt, 1024) == expected


@pytest.mark.parametrize("fields,prompt,param", [
    ({"max_tokens": 925}, 100, "max_tokens"),
    ({"max_completion_tokens": 2000}, 100, "max_completion_tokens"),
    ({}, 1024, "messages"),
])
def test_over_the_context_is_context_length_exceeded(fields, prompt, param):
    with pytest.raises(APIError) as raised:
        resolve_max_tokens(request(**fields), prompt, 1024)
    assert (raised.value.status, raised.value.code, raised.value.param) == (400, "context_length_exceeded", param)
