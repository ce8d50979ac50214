"""The synchronous engine loop: admit requests, run one step for each, sample, detokenize, stop."""

from __future__ import annotations

import collections
import logging
from dataclasses import dataclass, field
from typing import Optional

import torch

from qwen3_server.engine.detokenizer import IncrementalDetokenizer
from qwen3_server.engine.model_runner import ModelRunner
from qwen3_server.engine.sampler import sample
from qwen3_server.engine.types import FinishReason, Request, RequestOutput

logger = logging.getLogger(__name__)


@dataclass
class _Sequence:
    request: Request
    detokenizer: Optional[IncrementalDetokenizer]
    generator: Optional[torch.Generator]
    cache: object = None
    output_token_ids: list[int] = field(default_factory=list)

    @property
    def num_tokens(self) -> int:
        return len(self.request.prompt_token_ids) + len(self.output_token_ids)


class LLMEngine:
    """Serves requests round-robin, one forward per running sequence per step.

    This first engine gives every sequence its own transformers DynamicCache; continuous batching
    over a paged cache replaces its inside later without changing this interface.
    """

    def __init__(self, model, tokenizer, eos_token_ids: set[int], max_model_len: int, max_num_seqs: int = 8):
        self.runner = ModelRunner(model)
        self.tokenizer = tokenizer
        self.eos_token_ids = frozenset(eos_token_ids)
        self.max_model_len = max_model_len
        self.max_num_seqs = max_num_seqs
        self._waiting: collections.deque[_Sequence] = collections.deque()
        self._running: list[_Sequence] = []
        self._finished_outputs: list[RequestOutput] = []

    def add_request(self, request: Request) -> None:
        """Queue a request; one that cannot be set up finishes with an error instead of reaching the loop."""
        params = request.sampling_params
        sequence = _Sequence(request, detokenizer=None, generator=None)
        try:
            if not params.is_greedy:
                sequence.generator = torch.Generator(device=self.runner.input_device)
                seed = params.seed if params.seed is not None else int(torch.randint(2**62, ()).item())
                sequence.generator.manual_seed(seed & 0xFFFF_FFFF_FFFF_FFFF)  # any int, folded into 64 bits
            sequence.detokenizer = IncrementalDetokenizer(
                self.tokenizer, params.stop, params.reasoning_delimiters, params.starts_in_reasoning
            )
        except Exception as exc:
            logger.exception("request %s could not be set up", request.request_id)
            self._finish(sequence, "error", error=f"engine error: {exc}")
            return
        if len(request.prompt_token_ids) + params.max_tokens > self.max_model_len:
            self._finish(sequence, "error", error=f"prompt plus max_tokens exceeds the context of {self.max_model_len}")
            return
        self._waiting.append(sequence)

    def abort_request(self, request_id: str) -> None:
        for queue in (self._waiting, self._running):
            for sequence in list(queue):
                if sequence.request.request_id == request_id:
                    queue.remove(sequence)
                    self._finish(sequence, "abort")

    def has_unfinished(self) -> bool:
        return bool(self._waiting or self._running or self._finished_outputs)

    @property
    def num_running(self) -> int:
        return len(self._running)

    @property
    def num_waiting(self) -> int:
        return len(self._waiting)

    def step(self) -> list[RequestOutput]:
        """One token for every running sequence (prefill first for newly admitted ones)."""
        while self._waiting and len(self._running) < self.max_num_seqs:
            self._running.append(self._waiting.popleft())
        outputs, self._finished_outputs = self._finished_outputs, []
        for sequence in list(self._running):
            try:
                output = self._advance(sequence)
            except Exception as exc:  # one bad sequence must not take the engine down
                logger.exception("request %s failed", sequence.request.request_id)
                self._running.remove(sequence)
                output = self._finish(sequence, "error", error=f"engine error: {exc}", collect=False)
            if output.finished and sequence in self._running:
                self._running.remove(sequence)
            outputs.append(output)
        return outputs

    def _advance(self, sequence: _Sequence) -> RequestOutput:
        if sequence.cache is None:
            sequence.cache = self.runner.new_cache()
            logits = self.runner.forward(list(sequence.request.prompt_token_ids), sequence.cache)
        else:
            logits = self.runner.forward(sequence.output_token_ids[-1:], sequence.cache)
        params = sequence.request.sampling_params
        (token,) = sample(
            logits, [params], [sequence.request.prompt_token_ids], [sequence.output_token_ids], [sequence.generator]
        )
        sequence.output_token_ids.append(token)
        text = sequence.detokenizer.step(token)
        finish_reason = self._check_stop(sequence, token)
        if finish_reason is not None and not sequence.detokenizer.stopped:
            text += sequence.detokenizer.flush()
        return self._output(sequence, [token], [text], finish_reason)

    def _check_stop(self, sequence: _Sequence, token: int) -> Optional[FinishReason]:
        params = sequence.request.sampling_params
        if sequence.detokenizer.stopped or token in params.stop_token_ids:
            return "stop"
        if token in self.eos_token_ids and not params.ignore_eos:
            return "stop"
        if len(sequence.output_token_ids) >= params.max_tokens or sequence.num_tokens >= self.max_model_len:
            return "length"
        return None

    def _output(self, sequence, token_ids, texts, finish_reason, error=None) -> RequestOutput:
        return RequestOutput(
            request_id=sequence.request.request_id,
            token_ids=token_ids,
            texts=texts,
            num_prompt_tokens=len(sequence.request.prompt_token_ids),
            num_output_tokens=len(sequence.output_token_ids),
            finish_reason=finish_reason,
            error=error,
        )

    def _finish(self, sequence, reason: FinishReason, error: Optional[str] = None, collect: bool = True):
        sequence.cache = None
        output = self._output(sequence, [], [], reason, error)
        if collect:
            self._finished_outputs.append(output)
        return output
