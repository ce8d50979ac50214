"""Runs the engine loop on one persistent inference thread and serves it to asyncio as an EngineClient."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from typing import AsyncIterator, Optional

from qwen3_server.engine.client import EngineOverloadedError, EngineUnavailableError
from qwen3_server.engine.engine import LLMEngine
from qwen3_server.engine.types import Request, RequestOutput, SamplingParams

logger = logging.getLogger(__name__)


class _Collector:
    """Holds a request's undelivered output; merges outputs if the consumer falls behind."""

    def __init__(self) -> None:
        self._pending: Optional[RequestOutput] = None
        self._ready = asyncio.Event()

    def put(self, output: RequestOutput) -> None:
        self._pending = output if self._pending is None else self._pending.merged_with(output)
        self._ready.set()

    async def get(self) -> RequestOutput:
        await self._ready.wait()
        self._ready.clear()
        output, self._pending = self._pending, None
        return output


class AsyncEngine:
    """EngineClient over an LLMEngine stepped by a dedicated thread.

    Model state (caches, compiled graphs) stays on that one thread; requests and aborts reach it
    through a queue, and outputs come back to the event loop with call_soon_threadsafe.
    """

    def __init__(self, engine: LLMEngine, max_queued_requests: int = 256):
        self.engine = engine
        self.max_model_len = engine.max_model_len
        self.max_queued_requests = max_queued_requests
        self._inbox: queue.SimpleQueue = queue.SimpleQueue()
        self._collectors: dict[str, _Collector] = {}
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[threading.Thread] = None
        self._stopping = threading.Event()
        self._dead_reason: Optional[str] = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run, name="qwen3-engine", daemon=True)
        self._thread.start()

    def shutdown(self) -> None:
        self._stopping.set()
        self._inbox.put(("wake", None))
        if self._thread is not None:
            self._thread.join(timeout=30)

    def is_healthy(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self._dead_reason is None

    def stats(self) -> dict[str, int]:
        return {
            "running": self.engine.num_running,
            "waiting": self.engine.num_waiting,
            "in_flight": len(self._collectors),
        }

    async def generate(
        self, prompt_token_ids: list[int], sampling_params: SamplingParams, request_id: str
    ) -> AsyncIterator[RequestOutput]:
        if not self.is_healthy():
            raise EngineUnavailableError(self._dead_reason or "the engine is not running")
        if len(self._collectors) >= self.max_queued_requests:
            raise EngineOverloadedError(f"{len(self._collectors)} requests are already in flight; retry later")
        if request_id in self._collectors:
            raise ValueError(f"duplicate request id {request_id}")
        collector = _Collector()
        self._collectors[request_id] = collector
        self._inbox.put(("add", Request(request_id, tuple(prompt_token_ids), sampling_params)))
        finished = False
        try:
            while not finished:
                output = await collector.get()
                finished = output.finished
                yield output
        finally:
            self._collectors.pop(request_id, None)
            if not finished:  # the consumer went away (client disconnect, cancellation)
                self._inbox.put(("abort", request_id))

    async def abort(self, request_id: str) -> None:
        self._inbox.put(("abort", request_id))

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                self._drain_inbox(block=not self.engine.has_unfinished())
                if self._stopping.is_set():
                    break
                for output in self.engine.step():
                    self._loop.call_soon_threadsafe(self._deliver, output)
        except Exception as exc:  # a bug in the loop itself: fail every request rather than hang them
            logger.exception("engine loop died")
            self._dead_reason = f"the engine loop died: {exc}"
            self._loop.call_soon_threadsafe(self._fail_all, self._dead_reason)

    def _drain_inbox(self, block: bool) -> None:
        while True:
            try:
                kind, payload = self._inbox.get(block=block, timeout=0.5 if block else None)
            except queue.Empty:
                return
            block = False
            if kind == "add":
                self.engine.add_request(payload)
            elif kind == "abort":
                self.engine.abort_request(payload)

    def _deliver(self, output: RequestOutput) -> None:
        collector = self._collectors.get(output.request_id)
        if collector is not None:
            collector.put(output)

    def _fail_all(self, reason: str) -> None:
        for request_id, collector in list(self._collectors.items()):
            collector.put(RequestOutput(request_id=request_id, finish_reason="error", error=reason))
