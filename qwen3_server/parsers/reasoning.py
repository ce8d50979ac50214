"""Splits Qwen3 output at the </think> token into reasoning and content, token by token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional, Sequence

THINK_START_ID = 151667
THINK_END_ID = 151668
THINK_START = "<think>"
THINK_END = "</think>"

SegmentKind = Literal["reasoning", "content"]


@dataclass(frozen=True)
class Segment:
    kind: SegmentKind
    text: str


class ReasoningParser:
    """Streaming splitter; feeding a whole output at once gives the same text as feeding it piece by piece.

    Rules (design.md §3): before token 151668 is reasoning, minus a generated <think>; after it is
    content. Reasoning loses its surrounding whitespace (so a whitespace-only block is no reasoning
    at all) and content its leading newlines. Trailing whitespace of the reasoning is held back until
    more reasoning text shows it was not trailing, which keeps streaming and non-streaming identical.
    """

    def __init__(self, thinking: bool):
        self.in_reasoning = thinking
        self.num_reasoning_tokens = 0
        self._reasoning_started = False
        self._content_started = False
        self._held_whitespace = ""

    def feed(self, token_ids: Sequence[int], texts: Sequence[str]) -> list[Segment]:
        segments: list[Segment] = []
        for token_id, text in zip(token_ids, texts):
            if not self.in_reasoning:
                before, marker, after = text.partition(THINK_START) if token_id == THINK_START_ID else (text, "", "")
                self._add_content(before, segments)
                if not marker:
                    continue
                if self._content_started:  # a literal <think> inside the answer stays answer
                    self._add_content(marker + after, segments)
                    continue
                # A template that ignored enable_thinking=False: the model opened a block anyway.
                self.in_reasoning = True
                text = after
            self.num_reasoning_tokens += 1
            if token_id == THINK_START_ID and not self._reasoning_started:
                text = text.replace(THINK_START, "", 1)
            if token_id == THINK_END_ID:
                before, _, after = text.partition(THINK_END)
                self._add_reasoning(before, segments)
                self._held_whitespace = ""
                self.in_reasoning = False
                self._add_content(after, segments)
            else:
                self._add_reasoning(text, segments)
        return _merge(segments)

    def finish(self) -> list[Segment]:
        """Called once at the end; whitespace still held back was trailing and is dropped."""
        self._held_whitespace = ""
        return []

    def _add_reasoning(self, text: str, segments: list[Segment]) -> None:
        pending = self._held_whitespace + text
        if not self._reasoning_started:
            pending = pending.lstrip()
        body = pending.rstrip()
        self._held_whitespace = pending[len(body):]
        if body:
            self._reasoning_started = True
            segments.append(Segment("reasoning", body))

    def _add_content(self, text: str, segments: list[Segment]) -> None:
        if not self._content_started:
            text = text.lstrip("\n")
        if text:
            self._content_started = True
            segments.append(Segment("content", text))


def _merge(segments: list[Segment]) -> list[Segment]:
    merged: list[Segment] = []
    for segment in segments:
        if merged and merged[-1].kind == segment.kind:
            merged[-1] = Segment(segment.kind, merged[-1].text + segment.text)
        else:
            merged.append(segment)
    return merged


def split_reasoning(token_ids: Sequence[int], texts: Sequence[str], thinking: bool) -> tuple[Optional[str], str]:
    """Non-streaming split: (reasoning or None, content), by the same rules as the streaming parser."""
    parser = ReasoningParser(thinking)
    segments = parser.feed(token_ids, texts) + parser.finish()
    reasoning = "".join(s.text for s in segments if s.kind == "reasoning")
    content = "".join(s.text for s in segments if s.kind == "content")
    return (reasoning or None), content


def prompt_opens_reasoning(prompt_token_ids: Sequence[int]) -> bool:
    """False when the generation prompt already closed the think block (enable_thinking=False
    renders `<think>\\n\\n</think>\\n\\n`), so the output can only be content."""
    for token_id in reversed(prompt_token_ids):
        if token_id == THINK_END_ID:
            return False
        if token_id == 151644:  # <|im_start|> of the assistant turn being generated
            return True
    return True
