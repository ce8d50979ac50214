"""The thinking-mode router: decides per request whether the model thinks, and why."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Literal, Optional

REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")
# Qwen3's soft switches: a slash command standing alone as a word, e.g. "Why? /no_think".
SOFT_SWITCH = re.compile(r"(?<!\S)/(no_)?think\b")

ThinkingSource = Literal[
    "capability", "chat_template_kwargs", "enable_thinking", "reasoning_effort", "soft_switch",
    "model_default", "server_default",
]


@dataclass(frozen=True)
class ThinkingDecision:
    enabled: bool
    source: ThinkingSource


def latest_soft_switch(messages: Iterable[tuple[str, str]]) -> Optional[bool]:
    """The last /think (True) or /no_think (False) in user or system turns, newest message first."""
    for role, text in reversed(list(messages)):
        if role not in ("user", "system"):
            continue
        matches = SOFT_SWITCH.findall(text)
        if matches:
            return matches[-1] != "no_"
    return None


def decide_thinking(
    capability: Literal["hybrid", "always", "never"],
    chat_template_kwargs: Optional[dict[str, Any]],
    enable_thinking: Optional[bool],
    reasoning_effort: Optional[str],
    messages: Iterable[tuple[str, str]],
    model_default: Optional[bool],
    server_default: bool,
) -> ThinkingDecision:
    """Precedence: the request's explicit switch (chat_template_kwargs.enable_thinking, then a top-level
    enable_thinking, then reasoning_effort with "none" meaning off) > the latest /think or /no_think
    in the conversation > the model's registry default > the server-wide default. A model that
    always or never thinks is not switchable."""
    if capability != "hybrid":
        return ThinkingDecision(capability == "always", "capability")
    explicit = (chat_template_kwargs or {}).get("enable_thinking")
    if explicit is not None:
        return ThinkingDecision(bool(explicit), "chat_template_kwargs")
    if enable_thinking is not None:
        return ThinkingDecision(enable_thinking, "enable_thinking")
    if reasoning_effort is not None:
        return ThinkingDecision(reasoning_effort != "none", "reasoning_effort")
    soft = latest_soft_switch(messages)
    if soft is not None:
        return ThinkingDecision(soft, "soft_switch")
    if model_default is not None:
        return ThinkingDecision(model_default, "model_default")
    return ThinkingDecision(server_default, "server_default")
