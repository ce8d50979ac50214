"""Tests for the thinking-mode router: precedence of request switches, soft switches and defaults."""

import pytest

from qwen3_server.api.thinking import decide_thinking, latest_soft_switch

U, S, A = "user", "system", "assistant"


@pytest.mark.parametrize(
    "messages, expected",
    [
        ([], None),
        ([(U, "Hello there")], None),
        ([(U, "Why is the sky blue? /no_think")], False),
        ([(U, "/think Why is the sky blue?")], True),
        ([(U, "Explain.\n/think")], True),
        ([(S, "You are terse. /no_think"), (U, "Hi")], False),
        ([(U, "/no_think first"), (U, "then /think")], True),
        ([(U, "/think first"), (U, "then /no_think")], False),
        ([(U, "/think and then /no_think")], False),
        ([(U, "/no_think and then /think")], True),
        ([(U, "/no_think"), (U, "no switch here")], False),
        ([(U, "/no_think"), (A, "sure /think")], False),
        ([(A, "/no_think")], None),
        ([(U, "/think"), ("tool", "/no_think")], True),
        ([(U, "use /thinking mode")], None),
        ([(U, "see http://a.b/no_think please")], None),
        ([(U, "a/no_think")], None),
        ([(U, "a/think")], None),
        ([(U, "/no_thinking")], None),
        ([(U, "/think_hard")], None),
        ([(U, "ok /no_think.")], False),
        ([(U, "\t/think\n")], True),
    ],
    ids=[
        "none", "no_switch", "no_think_suffix", "think_prefix", "think_after_newline", "system_message",
        "newest_user_wins_think", "newest_user_wins_no_think", "last_in_message_no_think",
        "last_in_message_think", "older_message_still_counts", "assistant_ignored", "only_assistant",
        "tool_ignored", "thinking_word_no_match", "url_no_match", "glued_no_think_no_match",
        "glued_think_no_match", "no_thinking_no_match", "think_underscore_no_match", "trailing_period",
        "tabs_newlines",
    ],
)
def test_latest_soft_switch(messages, expected):
    assert latest_soft_switch(messages) is expected


def test_latest_soft_switch_accepts_generator():
    assert latest_soft_switch(m for m in [(U, "/think"), (U, "/no_think")]) is False


BASE = dict(
    capability="hybrid", chat_template_kwargs=None, enable_thinking=None, reasoning_effort=None,
    messages=[], model_default=None, server_default=True,
)

# (overrides of BASE, expected enabled, expected source)
PRECEDENCE = {
    "server_default_on": ({}, True, "server_default"),
    "server_default_off": ({"server_default": False}, False, "server_default"),
    "model_default_beats_server": ({"model_default": False}, False, "model_default"),
    "model_default_on": ({"model_default": True, "server_default": False}, True, "model_default"),
    "soft_switch_beats_model_default": (
        {"messages": [(U, "hi /no_think")], "model_default": True}, False, "soft_switch"),
    "soft_switch_think_beats_defaults": (
        {"messages": [(U, "hi /think")], "model_default": False, "server_default": False}, True, "soft_switch"),
    "assistant_switch_ignored": ({"messages": [(A, "/no_think")], "model_default": True}, True, "model_default"),
    "effort_none_off": ({"reasoning_effort": "none", "messages": [(U, "/think")]}, False, "reasoning_effort"),
    "effort_low_on": ({"reasoning_effort": "low", "messages": [(U, "/no_think")]}, True, "reasoning_effort"),
    "effort_medium_on": ({"reasoning_effort": "medium", "server_default": False}, True, "reasoning_effort"),
    "effort_high_on": ({"reasoning_effort": "high", "model_default": False}, True, "reasoning_effort"),
    "enable_false_beats_effort": (
        {"enable_thinking": False, "reasoning_effort": "high", "messages": [(U, "/think")]},
        False, "enable_thinking"),
    "enable_true_beats_effort_none": (
        {"enable_thinking": True, "reasoning_effort": "none", "messages": [(U, "/no_think")]},
        True, "enable_thinking"),
    "kwargs_false_beats_all": (
        {"chat_template_kwargs": {"enable_thinking": False}, "enable_thinking": True,
         "reasoning_effort": "high", "messages": [(U, "/think")], "model_default": True},
        False, "chat_template_kwargs"),
    "kwargs_true_beats_all": (
        {"chat_template_kwargs": {"enable_thinking": True}, "enable_thinking": False,
         "reasoning_effort": "none", "messages": [(U, "/no_think")], "model_default": False,
         "server_default": False},
        True, "chat_template_kwargs"),
    "kwargs_without_enable_thinking_falls_through": (
        {"chat_template_kwargs": {"other": 1}, "enable_thinking": False}, False, "enable_thinking"),
    "kwargs_empty_falls_through": ({"chat_template_kwargs": {}, "reasoning_effort": "none"}, False, "reasoning_effort"),
    "kwargs_none_value_falls_through": (
        {"chat_template_kwargs": {"enable_thinking": None}, "messages": [(U, "/no_think")]}, False, "soft_switch"),
    "newest_soft_switch_wins": (
        {"messages": [(S, "/no_think"), (U, "q /think"), (A, "a"), (U, "q2")]}, True, "soft_switch"),
    "always_ignores_request_off": (
        {"capability": "always", "chat_template_kwargs": {"enable_thinking": False}, "enable_thinking": False,
         "reasoning_effort": "none", "messages": [(U, "/no_think")], "model_default": False,
         "server_default": False},
        True, "capability"),
    "never_ignores_request_on": (
        {"capability": "never", "chat_template_kwargs": {"enable_thinking": True}, "enable_thinking": True,
         "reasoning_effort": "high", "messages": [(U, "/think")], "model_default": True},
        False, "capability"),
    "always_plain": ({"capability": "always", "server_default": False}, True, "capability"),
    "never_plain": ({"capability": "never"}, False, "capability"),
}


@pytest.mark.parametrize("overrides, enabled, source", list(PRECEDENCE.values()), ids=list(PRECEDENCE))
def test_decide_thinking_precedence(overrides, enabled, source):
    decision = decide_thinking(**{**BASE, **overrides})
    assert decision.enabled is enabled
    assert decision.source == source
