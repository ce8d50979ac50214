"""End to end: the scripted checkpoint through the real server proves the reasoning split per switch."""

from __future__ import annotations

import pytest

from tests.scripted import ANSWER, ANSWER_TOKENS, NUM_THINKING_TOKENS, REASONING

USER = {"role": "user", "content": "What colour is the sky?"}


def ask(client, stream: bool, messages=None, **kwargs):
    """(reasoning, content, finish_reason, usage) from one request, streamed or not."""
    messages = messages or [USER]
    if not stream:
        response = client.chat.completions.create(model="scripted", messages=messages, **kwargs)
        choice = response.choices[0]
        return choice.message.reasoning_content, choice.message.content, choice.finish_reason, response.usage
    reasoning, content, finish, usage = [], [], None, None
    chunks = client.chat.completions.create(
        model="scripted", messages=messages, stream=True, stream_options={"include_usage": True}, **kwargs
    )
    for chunk in chunks:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            delta = choice.delta
            piece_reasoning = (delta.model_extra or {}).get("reasoning_content")
            # Clients such as LobeChat drop content that shares a delta with reasoning.
            assert not (piece_reasoning and delta.content), "reasoning and content in one delta"
            reasoning.append(piece_reasoning or "")
            content.append(delta.content or "")
            finish = choice.finish_reason or finish
    return ("".join(reasoning) or None), "".join(content), finish, usage


THINKING_ON = (REASONING, ANSWER, "stop")
THINKING_OFF = (None, ANSWER, "stop")

CASES = {
    "default-thinks": ({}, THINKING_ON),
    "chat_template_kwargs-off": ({"extra_body": {"chat_template_kwargs": {"enable_thinking": False}}}, THINKING_OFF),
    "chat_template_kwargs-on": ({"extra_body": {"chat_template_kwargs": {"enable_thinking": True}}}, THINKING_ON),
    "top-level-enable_thinking-off": ({"extra_body": {"enable_thinking": False}}, THINKING_OFF),
    "reasoning_effort-none": ({"reasoning_effort": "none"}, THINKING_OFF),
    "reasoning_effort-high": ({"reasoning_effort": "high"}, THINKING_ON),
    "explicit-beats-soft-switch": (
        {"extra_body": {"chat_template_kwargs": {"enable_thinking": True}}, "messages": [
            {"role": "user", "content": "What colour is the sky? /no_think"}]},
        THINKING_ON,
    ),
    "no_think-soft-switch": ({"messages": [{"role": "user", "content": "What colour? /no_think"}]}, THINKING_OFF),
    "no_think-in-system": (
        {"messages": [{"role": "system", "content": "Be brief. /no_think"}, USER]}, THINKING_OFF),
    "no_think-in-a-later-turn": (
        {"messages": [
            {"role": "user", "content": "First question /think"},
            {"role": "assistant", "content": ANSWER, "reasoning_content": REASONING},
            {"role": "user", "content": "And now? /no_think"},
        ]},
        THINKING_OFF,
    ),
    "think-again-after-no_think": (
        {"messages": [
            {"role": "user", "content": "First /no_think"},
            {"role": "assistant", "content": ANSWER},
            {"role": "user", "content": "Second /think"},
        ]},
        THINKING_ON,
    ),
}


@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_reasoning_split_per_switch(scripted_client, case, stream):
    kwargs, expected = CASES[case]
    kwargs = dict(kwargs)
    reasoning, content, finish, usage = ask(scripted_client, stream, **kwargs)
    assert (reasoning, content, finish) == expected
    thinking = expected[0] is not None
    assert usage.completion_tokens == (NUM_THINKING_TOKENS if thinking else len(ANSWER_TOKENS) + 1)
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
def test_truncated_thinking_is_all_reasoning_with_length(scripted_client, stream):
    reasoning, content, finish, usage = ask(scripted_client, stream, max_tokens=4)
    # <think>, "Let", " me", " think": the reasoning so far, no answer yet.
    assert (reasoning, content, finish) == ("Let me think", "", "length")
    assert usage.completion_tokens == 4


@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
def test_truncated_answer_has_length_finish(scripted_client, stream):
    reasoning, content, finish, _ = ask(scripted_client, stream, max_completion_tokens=3, reasoning_effort="none")
    assert (reasoning, content, finish) == (None, "The answer is", "length")


@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
def test_stop_string_applies_to_the_answer_not_the_reasoning(scripted_client, stream):
    # " think" occurs in the reasoning; it must not cut it. " is" occurs in the answer.
    reasoning, content, finish, _ = ask(scripted_client, stream, stop=[" think", " is"])
    assert (reasoning, content, finish) == (REASONING, "The answer", "stop")


@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
def test_sampling_does_not_change_a_scripted_answer(scripted_client, stream):
    # The scripted logits dominate any sane sampling, so sampled output equals greedy output.
    result = ask(scripted_client, stream, temperature=1.0, top_p=0.9, seed=7, extra_body={"top_k": 50, "min_p": 0.05})
    assert result[:3] == THINKING_ON


def test_reasoning_alias_can_be_switched_on(scripted_model):
    from qwen3_server.config import ServerConfig
    from tests.conftest import openai_client, start_server

    live = start_server(scripted_model, ServerConfig(reasoning_alias=True))
    try:
        client = openai_client(live)
        message = client.chat.completions.create(model="scripted", messages=[USER]).choices[0].message
        assert message.model_extra["reasoning"] == message.reasoning_content == REASONING
        deltas = [c.choices[0].delta for c in client.chat.completions.create(
            model="scripted", messages=[USER], stream=True) if c.choices]
        assert "".join((d.model_extra or {}).get("reasoning") or "" for d in deltas) == REASONING
    finally:
        live.stop()


def test_server_default_thinking_off(scripted_model):
    from qwen3_server.config import ServerConfig
    from tests.conftest import openai_client, start_server

    live = start_server(scripted_model, ServerConfig(default_thinking=False))
    try:
        client = openai_client(live)
        assert ask(client, False)[:3] == THINKING_OFF
        assert ask(client, True, messages=[{"role": "user", "content": "Sky? /think"}])[:3] == THINKING_ON
    finally:
        live.stop()


@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
def test_stop_strings_with_thinking_off_keep_the_answer_exact(scripted_client, stream):
    # Thinking off, stop strings active from the first token: held-back text must not leak or vanish.
    result = ask(scripted_client, stream, stop=["blue", "xyz-never"], reasoning_effort="none")
    assert result[:3] == (None, "The answer is ", "stop")


@pytest.mark.parametrize("capability,expected", [("never", THINKING_OFF), ("always", THINKING_ON)])
def test_capability_beats_every_request_switch(scripted_model, capability, expected):
    """An Instruct-2507 never thinks and a Thinking-2507 always does, whatever the request says."""
    import dataclasses

    from tests.conftest import openai_client, start_server

    loaded = dataclasses.replace(scripted_model, spec=scripted_model.spec.with_overrides(
        thinking=capability,
        sampling_thinking=None if capability == "never" else scripted_model.spec.sampling_thinking,
        sampling_non_thinking=None if capability == "always" else scripted_model.spec.sampling_non_thinking))
    live = start_server(loaded)
    try:
        client = openai_client(live)
        against = {"chat_template_kwargs": {"enable_thinking": capability == "never"}}
        assert ask(client, False, extra_body=against)[:3] == expected
        assert ask(client, True, reasoning_effort="none" if capability == "always" else "high")[:3] == expected
    finally:
        live.stop()
