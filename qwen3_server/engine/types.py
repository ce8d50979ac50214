"""Plain data types shared by the engine and its clients: sampling parameters, requests, outputs."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal, Optional

FinishReason = Literal["stop", "length", "abort", "error"]


@dataclass(frozen=True)
class SamplingParams:
    """How one request samples and when it stops. temperature 0 means greedy."""

    max_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0  # 0 disables top-k
    min_p: float = 0.0
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    repetition_penalty: float = 1.0
    logit_bias: tuple[tuple[int, float], ...] = ()
    seed: Optional[int] = None
    stop: tuple[str, ...] = ()
    stop_token_ids: tuple[int, ...] = ()
    ignore_eos: bool = False
    # (start, end) token ids of a reasoning block (Qwen3: <think>, </think>). Stop strings are meant
    # for the answer: they do not match inside such a block. None: they match everywhere.
    reasoning_delimiters: Optional[tuple[int, int]] = None
    starts_in_reasoning: bool = False  # the prompt opened the block (thinking on)

    def __post_init__(self) -> None:
        assert self.max_tokens >= 1, "max_tokens must be validated by the caller"
        assert self.temperature >= 0 and 0 < self.top_p <= 1 and self.top_k >= 0

    @property
    def is_greedy(self) -> bool:
        # Below this, dividing logits by the temperature overflows to inf: it is argmax anyway.
        return self.temperature < 1e-5


@dataclass(frozen=True)
class Request:
    request_id: str
    prompt_token_ids: tuple[int, ...]
    sampling_params: SamplingParams


@dataclass
class RequestOutput:
    """What one request produced since its previous output. `texts[i]` is the text released with
    `token_ids[i]` (empty while a multi-byte character or a possible stop string is held back)."""

    request_id: str
    token_ids: list[int] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    num_prompt_tokens: int = 0
    num_output_tokens: int = 0  # cumulative
    finish_reason: Optional[FinishReason] = None
    error: Optional[str] = None

    @property
    def finished(self) -> bool:
        return self.finish_reason is not None

    @property
    def text(self) -> str:
        return "".join(self.texts)

    def merged_with(self, later: "RequestOutput") -> "RequestOutput":
        """One output equal to this one followed by `later` (for a consumer that fell behind)."""
        return dataclasses.replace(
            later,
            token_ids=self.token_ids + later.token_ids,
            texts=self.texts + later.texts,
        )
