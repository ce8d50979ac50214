"""Runs the transformers model forward for one sequence at a time over its own KV cache."""

from __future__ import annotations

import torch
from transformers import DynamicCache


class ModelRunner:
    """Prefill and decode through the loaded model; the engine owns one cache per sequence."""

    def __init__(self, model):
        self.model = model
        self.input_device = model.get_input_embeddings().weight.device

    def new_cache(self) -> DynamicCache:
        return DynamicCache(config=self.model.config)

    @torch.inference_mode()
    def forward(self, token_ids: list[int], cache: DynamicCache) -> torch.Tensor:
        """Logits [1, vocab] for the position after `token_ids`, appended to what `cache` holds."""
        input_ids = torch.tensor([token_ids], device=self.input_device)
        output = self.model(input_ids=input_ids, past_key_values=cache, use_cache=True, logits_to_keep=1)
        return output.logits[:, -1, :]
