"""Incremental detokenization with stop strings: never a broken UTF-8 character, never a leaked stop."""

from __future__ import annotations

from typing import Optional

from tokenizers.decoders import DecodeStream


class IncrementalDetokenizer:
    """Feeds one token at a time; returns the text that may be released now.

    While stop strings are active it holds back up to `max(len(stop)) - 1` characters, the longest
    tail that could still grow into a stop string. Inside a reasoning block stop strings pause and
    nothing is held, so the text released with a delimiter token always ends with that delimiter
    in full, and parsers can split on it.
    """

    def __init__(
        self,
        tokenizer,
        stop: tuple[str, ...] = (),
        reasoning_delimiters: Optional[tuple[int, int]] = None,
        starts_in_reasoning: bool = False,
    ):
        self._backend = tokenizer.backend_tokenizer
        self._stream = DecodeStream(skip_special_tokens=True)
        self._stop = tuple(s for s in stop if s)
        self._hold = max((len(s) for s in self._stop), default=1) - 1
        self._delimiters = reasoning_delimiters
        self._in_reasoning = reasoning_delimiters is not None and starts_in_reasoning
        self._held = ""
        self.stopped = False

    def step(self, token_id: int) -> str:
        """The text released by this token. Sets `stopped` when a stop string completes."""
        assert not self.stopped
        piece = self._stream.step(self._backend, token_id) or ""
        if not self._stop:
            return piece
        if self._in_reasoning:
            if token_id == self._delimiters[1]:
                self._in_reasoning = False
            return piece
        released = self._match(piece)
        if not self.stopped and self._delimiters is not None and token_id == self._delimiters[0]:
            self._in_reasoning = True
            released += self.flush()
        return released

    def _match(self, piece: str) -> str:
        pending = self._held + piece
        cut = min((i for i in (pending.find(s) for s in self._stop) if i >= 0), default=-1)
        if cut >= 0:
            self.stopped = True
            self._held = ""
            return pending[:cut]
        split = max(len(pending) - self._hold, 0)
        self._held = pending[split:]
        return pending[:split]

    def flush(self) -> str:
        """Everything still held back, for a request that ends for another reason."""
        held, self._held = self._held, ""
        return held
