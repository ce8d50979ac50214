"""Incremental detokenization with stop strings: never a broken UTF-8 character, never a leaked stop."""

from __future__ import annotations

from typing import Optional

from tokenizers.decoders import DecodeStream


class IncrementalDetokenizer:
    """Feeds one token at a time; returns the text that may be released now.

    While stop strings are active it holds back up to `max(len(stop)) - 1` characters, the longest
    tail that could still grow into a stop string.
    """

    def __init__(self, tokenizer, stop: tuple[str, ...] = (), stop_strings_after_token_id: Optional[int] = None):
        self._backend = tokenizer.backend_tokenizer
        self._stream = DecodeStream(skip_special_tokens=True)
        self._stop = tuple(s for s in stop if s)
        self._hold = max((len(s) for s in self._stop), default=1) - 1
        self._stops_active = stop_strings_after_token_id is None
        self._activate_on = stop_strings_after_token_id
        self._held = ""
        self.stopped = False

    def step(self, token_id: int) -> str:
        """The text released by this token. Sets `stopped` when a stop string completes."""
        assert not self.stopped
        piece = self._stream.step(self._backend, token_id) or ""
        if not self._stops_active or not self._stop:
            if token_id == self._activate_on:
                self._stops_active = True
            return piece
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
