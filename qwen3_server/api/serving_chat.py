"""Serves /v1/chat/completions: prompt, thinking mode, engine call, reasoning split, stream or not."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any, AsyncIterator, Optional

from fastapi import Request
from fastapi.responses import JSONResponse
from sse_starlette import EventSourceResponse

from qwen3_server.api.errors import APIError
from qwen3_server.api.prompt import normalize_messages, render_prompt
from qwen3_server.api.protocol import (
    ChatCompletion, ChatCompletionRequest, Choice, CompletionTokensDetails, ResponseMessage, Usage, now,
)
from qwen3_server.api.sampling import build_sampling_params, reject_unsupported, resolve_max_tokens
from qwen3_server.api.thinking import decide_thinking
from qwen3_server.config import ServerConfig
from qwen3_server.engine.client import EngineClient, EngineOverloadedError, EngineUnavailableError
from qwen3_server.engine.types import RequestOutput, SamplingParams
from qwen3_server.parsers.reasoning import ReasoningParser, Segment, prompt_opens_reasoning
from qwen3_server.model_spec import ModelSpec

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PreparedChat:
    request_id: str
    prompt_token_ids: list[int]
    sampling_params: SamplingParams
    reasoning_open: bool  # the output starts inside the think block


class ChatService:
    def __init__(self, engine: EngineClient, tokenizer, spec: ModelSpec, config: ServerConfig, model_names: set[str]):
        self.engine = engine
        self.tokenizer = tokenizer
        self.spec = spec
        self.config = config
        self.model_names = model_names
        self.vocab_size = len(tokenizer)

    def prepare(self, request: ChatCompletionRequest) -> PreparedChat:
        if request.model.lower() not in self.model_names:
            raise APIError(
                404,
                f"The model '{request.model}' does not exist. This server serves '{self.spec.name}'.",
                param="model",
                code="model_not_found",
            )
        reject_unsupported(request)
        messages = normalize_messages(request.messages)
        decision = decide_thinking(
            self.spec.thinking,
            request.chat_template_kwargs,
            request.enable_thinking,
            request.reasoning_effort,
            [(m["role"], m["content"]) for m in messages],
            self.spec.default_thinking,
            self.config.default_thinking,
        )
        prompt = render_prompt(self.tokenizer, messages, decision.enabled, request.chat_template_kwargs)
        reasoning_open = decision.enabled and prompt_opens_reasoning(prompt)
        max_tokens = resolve_max_tokens(request, len(prompt), self.engine.max_model_len)
        params = build_sampling_params(
            request, self.spec.sampling_for(decision.enabled), max_tokens, self.vocab_size, reasoning_open
        )
        request_id = f"chatcmpl-{uuid.uuid4().hex}"
        logger.debug("%s: thinking %s (%s), %d prompt tokens", request_id, decision.enabled, decision.source, len(prompt))
        return PreparedChat(request_id, prompt, params, reasoning_open)

    async def _prepare_off_loop(self, request: ChatCompletionRequest) -> PreparedChat:
        # Rendering and tokenizing a long conversation takes a while: keep other streams flowing.
        return await asyncio.to_thread(self.prepare, request)

    async def _start(self, chat: PreparedChat, raw: Request) -> tuple[AsyncIterator[RequestOutput], RequestOutput]:
        """The output stream and its first output; engine refusals become 429 / 503 before any byte is sent,
        and a client that leaves while its request waits in the queue takes the request with it."""
        outputs = self.engine.generate(chat.prompt_token_ids, chat.sampling_params, chat.request_id)
        try:
            first = await _unless_disconnected(outputs.__anext__(), raw)
        except EngineOverloadedError as exc:
            raise APIError(429, str(exc), code="server_busy")
        except EngineUnavailableError as exc:
            raise APIError(503, str(exc), code="engine_unavailable")
        return outputs, first

    def _reasoning_fields(self, text: Optional[str]) -> dict[str, Any]:
        fields = {"reasoning_content": text}
        if self.config.reasoning_alias:
            fields["reasoning"] = text
        return fields

    async def complete(self, request: ChatCompletionRequest, raw: Request) -> JSONResponse:
        chat = await self._prepare_off_loop(request)
        outputs, first = await self._start(chat, raw)
        parser = ReasoningParser(chat.reasoning_open)
        output, segments = await _unless_disconnected(self._collect(outputs, first, parser), raw)
        if output.finish_reason == "error":
            raise APIError(500, output.error or "the engine failed", code="engine_error")
        reasoning = "".join(s.text for s in segments if s.kind == "reasoning") or None
        content = "".join(s.text for s in segments if s.kind == "content")
        message = ResponseMessage(content=content, **self._reasoning_fields(reasoning))
        completion = ChatCompletion(
            id=chat.request_id,
            model=self.spec.name,
            choices=[Choice(message=message, finish_reason=_finish_reason(output))],
            usage=_usage(output, parser),
        )
        return JSONResponse(completion.model_dump())

    @staticmethod
    async def _collect(outputs, output: RequestOutput, parser: ReasoningParser):
        """Runs the same parser as streaming over every output, so both modes give the same text."""
        segments: list[Segment] = []
        try:
            while True:
                segments += parser.feed(output.token_ids, output.texts)
                if output.finished:
                    return output, segments + parser.finish()
                output = await outputs.__anext__()
        finally:
            await outputs.aclose()  # on cancellation this aborts the request in the engine

    async def stream(self, request: ChatCompletionRequest, raw: Request) -> EventSourceResponse:
        chat = await self._prepare_off_loop(request)
        outputs, first = await self._start(chat, raw)
        include_usage = bool(request.stream_options and request.stream_options.include_usage)
        return EventSourceResponse(self._events(chat, outputs, first, include_usage), sep="\n", ping=15)

    async def _events(self, chat: PreparedChat, outputs, output: RequestOutput, include_usage: bool):
        created = now()
        parser = ReasoningParser(chat.reasoning_open)

        def chunk(delta: dict[str, Any], finish_reason: Optional[str] = None) -> dict[str, str]:
            choice = {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
            body = {"id": chat.request_id, "object": "chat.completion.chunk", "created": created,
                    "model": self.spec.name, "choices": [choice]}
            return {"data": json.dumps(body, ensure_ascii=False)}

        try:
            yield chunk({"role": "assistant", "content": ""})
            while True:
                for segment in parser.feed(output.token_ids, output.texts):
                    # One kind per delta: LobeChat drops content that shares a delta with reasoning.
                    if segment.kind == "reasoning":
                        yield chunk(self._reasoning_fields(segment.text))
                    else:
                        yield chunk({"content": segment.text})
                if output.finished:
                    break
                output = await outputs.__anext__()
            if output.finish_reason == "error":
                error = APIError(500, output.error or "the engine failed", code="engine_error")
                yield {"data": json.dumps(error.body())}
            else:
                yield chunk({}, _finish_reason(output))
                if include_usage:
                    usage = _usage(output, parser).model_dump()
                    yield {"data": json.dumps({"id": chat.request_id, "object": "chat.completion.chunk",
                                               "created": created, "model": self.spec.name, "choices": [],
                                               "usage": usage})}
            yield {"data": "[DONE]"}
        finally:
            await outputs.aclose()  # on client disconnect this aborts the request in the engine


def _finish_reason(output: RequestOutput) -> str:
    return "length" if output.finish_reason == "length" else "stop"


def _usage(output: RequestOutput, parser: ReasoningParser) -> Usage:
    return Usage(
        prompt_tokens=output.num_prompt_tokens,
        completion_tokens=output.num_output_tokens,
        total_tokens=output.num_prompt_tokens + output.num_output_tokens,
        completion_tokens_details=CompletionTokensDetails(reasoning_tokens=parser.num_reasoning_tokens),
    )


async def _unless_disconnected(work, raw: Request, poll_seconds: float = 0.25):
    """Awaits `work`, cancelling it if the client hangs up before it is done (no response has started yet)."""
    task = asyncio.ensure_future(work)
    while True:
        done, _ = await asyncio.wait({task}, timeout=poll_seconds)
        if done:
            return task.result()
        if await raw.is_disconnected():
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
            raise asyncio.CancelledError("client disconnected")
