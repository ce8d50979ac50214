"""The seam between the API layer and the engine: the EngineClient protocol and its errors."""

from __future__ import annotations

from typing import AsyncIterator, Protocol

from qwen3_server.engine.types import RequestOutput, SamplingParams


class EngineError(Exception):
    """Base for errors the engine reports to its clients."""


class EngineOverloadedError(EngineError):
    """Too many requests are already waiting; the client should retry later."""


class EngineUnavailableError(EngineError):
    """The engine is not running (stopped, or its loop died)."""


class EngineClient(Protocol):
    """What the API layer needs from an engine. A scripted fake can stand in for API unit tests."""

    max_model_len: int

    def start(self) -> None:
        """Begin serving; called from the running event loop."""
        ...

    def shutdown(self) -> None: ...

    def generate(
        self, prompt_token_ids: list[int], sampling_params: SamplingParams, request_id: str
    ) -> AsyncIterator[RequestOutput]:
        """Outputs for one request, the last with finish_reason set. Raises EngineOverloadedError or
        EngineUnavailableError before the first output. Closing the iterator early aborts the request."""
        ...

    async def abort(self, request_id: str) -> None: ...

    def is_healthy(self) -> bool: ...

    def stats(self) -> dict[str, int]:
        """Counters for /health: running and waiting requests."""
        ...
