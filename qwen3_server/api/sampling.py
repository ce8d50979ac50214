"""Checks a chat request's parameters and turns them into the engine's SamplingParams."""

from __future__ import annotations

from typing import Any, Callable, Optional

from qwen3_server.api.errors import bad_request
from qwen3_server.api.protocol import ChatCompletionRequest
from qwen3_server.api.thinking import REASONING_EFFORTS
from qwen3_server.engine.types import SamplingParams
from qwen3_server.parsers.reasoning import THINK_END_ID, THINK_START_ID
from qwen3_server.model_spec import SamplingDefaults

MAX_STOP_STRINGS = 16

# OpenAI parameters we accept in the request but cannot honour yet, and the values that are harmless.
_NOT_YET: dict[str, Callable[[Any], bool]] = {
    "n": lambda v: v not in (None, 1),
    "logprobs": lambda v: bool(v),
    "top_logprobs": lambda v: v not in (None, 0),
    "tools": lambda v: bool(v),
    "tool_choice": lambda v: v not in (None, "none", "auto"),
    "functions": lambda v: bool(v),
    "function_call": lambda v: v not in (None, "none", "auto"),
    "response_format": lambda v: v is not None and v.get("type") != "text",
    "audio": lambda v: v is not None,
    "modalities": lambda v: v not in (None, ["text"]),
    "prediction": lambda v: v is not None,
    "web_search_options": lambda v: v is not None,
    "thinking_budget": lambda v: v is not None,
    "thinking_token_budget": lambda v: v is not None,
}


def reject_unsupported(request: ChatCompletionRequest) -> None:
    """A 400 naming the first parameter we would otherwise have to ignore silently."""
    for name, is_used in _NOT_YET.items():
        if is_used(getattr(request, name)):
            raise bad_request(
                f"'{name}' is not supported by this server yet; remove it from the request",
                param=name,
                code="unsupported_parameter",
            )
    switch = (request.chat_template_kwargs or {}).get("enable_thinking")
    if switch is not None and not isinstance(switch, bool):
        raise bad_request(
            "chat_template_kwargs.enable_thinking must be true or false",
            param="chat_template_kwargs.enable_thinking",
            code="invalid_value",
        )
    if request.reasoning_effort is not None and request.reasoning_effort not in REASONING_EFFORTS:
        raise bad_request(
            f"reasoning_effort must be one of {', '.join(REASONING_EFFORTS)}",
            param="reasoning_effort",
            code="invalid_value",
        )


def _stop_strings(stop) -> tuple[str, ...]:
    strings = (stop,) if isinstance(stop, str) else tuple(stop or ())
    if len(strings) > MAX_STOP_STRINGS:
        raise bad_request(f"at most {MAX_STOP_STRINGS} stop strings are allowed", param="stop")
    if any(not s for s in strings):
        raise bad_request("stop strings must not be empty", param="stop")
    return strings


def _logit_bias(bias: Optional[dict[str, float]], vocab_size: int) -> tuple[tuple[int, float], ...]:
    pairs = []
    for key, value in (bias or {}).items():
        if not key.lstrip("-").isdigit() or not 0 <= int(key) < vocab_size:
            raise bad_request(f"logit_bias key {key!r} is not a token id below {vocab_size}", param="logit_bias")
        if not -100 <= value <= 100:
            raise bad_request("logit_bias values must be between -100 and 100", param="logit_bias")
        pairs.append((int(key), float(value)))
    return tuple(pairs)


def resolve_max_tokens(request: ChatCompletionRequest, num_prompt_tokens: int, max_model_len: int) -> int:
    """The completion budget; a prompt that leaves no room, or asks for more, is context_length_exceeded."""
    requested = request.max_completion_tokens or request.max_tokens
    room = max_model_len - num_prompt_tokens
    if room <= 0:
        raise bad_request(
            f"This model's maximum context length is {max_model_len} tokens, but the messages use "
            f"{num_prompt_tokens} tokens. Shorten the messages.",
            param="messages",
            code="context_length_exceeded",
        )
    if requested is None:
        return room
    if requested > room:
        param = "max_completion_tokens" if request.max_completion_tokens else "max_tokens"
        raise bad_request(
            f"This model's maximum context length is {max_model_len} tokens. However, you requested "
            f"{num_prompt_tokens + requested} tokens ({num_prompt_tokens} in the messages, {requested} "
            f"in the completion). Reduce the length of the messages or the completion.",
            param=param,
            code="context_length_exceeded",
        )
    return requested


def build_sampling_params(
    request: ChatCompletionRequest,
    defaults: Optional[SamplingDefaults],
    max_tokens: int,
    vocab_size: int,
    reasoning_open: bool,
) -> SamplingParams:
    """Request values win; what the request leaves unset takes the mode's recommended sampling."""

    def pick(name: str, fallback: float):
        value = getattr(request, name)
        if value is not None:
            return value
        return getattr(defaults, name, fallback) if defaults is not None else fallback

    top_k = pick("top_k", 0)
    for token_id in request.stop_token_ids or ():
        if not 0 <= token_id < vocab_size:
            raise bad_request(f"stop_token_ids entry {token_id} is not a token id", param="stop_token_ids")
    return SamplingParams(
        max_tokens=max_tokens,
        temperature=pick("temperature", 1.0),
        top_p=pick("top_p", 1.0),
        top_k=max(int(top_k), 0),  # -1 and 0 both mean "no top-k"
        min_p=pick("min_p", 0.0),
        presence_penalty=pick("presence_penalty", 0.0),
        frequency_penalty=request.frequency_penalty or 0.0,
        repetition_penalty=request.repetition_penalty or 1.0,
        logit_bias=_logit_bias(request.logit_bias, vocab_size),
        seed=request.seed,
        stop=_stop_strings(request.stop),
        stop_token_ids=tuple(request.stop_token_ids or ()),
        ignore_eos=request.ignore_eos,
        reasoning_delimiters=(THINK_START_ID, THINK_END_ID),
        starts_in_reasoning=reasoning_open,
    )
