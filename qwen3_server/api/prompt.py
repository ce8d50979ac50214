"""Turns client chat messages into Qwen3 prompt token ids through the checkpoint's chat template."""

from __future__ import annotations

from typing import Any, Optional

from jinja2 import TemplateError

from qwen3_server.api.errors import bad_request
from qwen3_server.api.protocol import ChatMessage

_ROLE_ALIASES = {"developer": "system", "function": "tool"}
_TEXT_PART_TYPES = ("text", "input_text", "refusal")
# Template variables a request may not override through chat_template_kwargs.
_RESERVED_TEMPLATE_KWARGS = ("messages", "tools", "add_generation_prompt", "enable_thinking", "documents")


def _text_of(content, index: int) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    texts = []
    for part_index, part in enumerate(content):
        if part.type not in _TEXT_PART_TYPES:
            raise bad_request(
                f"content parts of type '{part.type}' are not supported: Qwen3 models take text only",
                param=f"messages.{index}.content.{part_index}.type",
                code="unsupported_content",
            )
        texts.append(part.text or "")
    return "\n".join(texts)


def normalize_messages(messages: list[ChatMessage]) -> list[dict[str, Any]]:
    """Plain dicts the Qwen3 template understands: string content, `reasoning_content` on assistant
    turns (either field name accepted), developer as system, tool messages with or without ids."""
    normalized = []
    for index, message in enumerate(messages):
        role = _ROLE_ALIASES.get(message.role, message.role)
        entry: dict[str, Any] = {"role": role, "content": _text_of(message.content, index)}
        if role == "assistant":
            reasoning = message.reasoning_content if message.reasoning_content is not None else message.reasoning
            if reasoning is not None:
                entry["reasoning_content"] = reasoning
            if message.tool_calls:
                entry["tool_calls"] = [_tool_call(call, index) for call in message.tool_calls]
        elif role == "tool":
            entry["tool_call_id"] = message.tool_call_id
            entry["name"] = message.name
        normalized.append(entry)
    return normalized


def _tool_call(call: dict[str, Any], index: int) -> dict[str, Any]:
    function = call.get("function") if isinstance(call.get("function"), dict) else call
    if not isinstance(function.get("name"), str):
        raise bad_request("each tool call needs function.name", param=f"messages.{index}.tool_calls")
    arguments = function.get("arguments", "{}")
    return {"type": "function", "id": call.get("id"), "function": {"name": function["name"], "arguments": arguments}}


def render_prompt(
    tokenizer,
    messages: list[dict[str, Any]],
    thinking: bool,
    chat_template_kwargs: Optional[dict[str, Any]] = None,
) -> list[int]:
    """Token ids of the conversation plus the assistant generation prompt, in the resolved mode."""
    extra = {k: v for k, v in (chat_template_kwargs or {}).items() if k not in _RESERVED_TEMPLATE_KWARGS}
    try:
        text = tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True, enable_thinking=thinking, **extra
        )
    except (TemplateError, TypeError, KeyError, AttributeError, ValueError) as exc:
        raise bad_request(f"the chat template could not render these messages: {exc}", param="messages")
    return tokenizer.encode(text, add_special_tokens=False)
