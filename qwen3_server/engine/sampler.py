"""Turns next-token logits into sampled tokens, batched, with per-request sampling parameters."""

from __future__ import annotations

from typing import Optional, Sequence

import torch

from qwen3_server.engine.types import SamplingParams


def apply_penalties(
    logits: torch.Tensor, params: SamplingParams, prompt_token_ids: Sequence[int], output_token_ids: Sequence[int]
) -> None:
    """In place on one row: logit bias, repetition penalty (prompt and output, HF/vLLM style), and
    OpenAI's presence and frequency penalties (output only)."""
    if params.logit_bias:
        ids = torch.tensor([token for token, _ in params.logit_bias], device=logits.device)
        bias = torch.tensor([value for _, value in params.logit_bias], device=logits.device, dtype=logits.dtype)
        logits.index_add_(0, ids, bias)
    if params.repetition_penalty != 1.0:
        seen = torch.tensor(sorted(set(prompt_token_ids) | set(output_token_ids)), device=logits.device)
        if seen.numel():
            chosen = logits[seen]
            logits[seen] = torch.where(
                chosen > 0, chosen / params.repetition_penalty, chosen * params.repetition_penalty
            )
    if output_token_ids and (params.presence_penalty or params.frequency_penalty):
        counts = torch.bincount(
            torch.tensor(output_token_ids, device=logits.device), minlength=logits.shape[-1]
        )[: logits.shape[-1]].to(logits.dtype)
        logits -= params.frequency_penalty * counts + params.presence_penalty * (counts > 0).to(logits.dtype)


def filter_logits(logits: torch.Tensor, params: SamplingParams) -> torch.Tensor:
    """One row, already divided by the temperature: mask tokens outside top-k, top-p and min-p."""
    if params.top_k and params.top_k < logits.shape[-1]:
        kth = torch.topk(logits, params.top_k).values[-1]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if params.min_p > 0:
        probs = torch.softmax(logits, dim=-1)
        logits = logits.masked_fill(probs < params.min_p * probs.max(), float("-inf"))
    if params.top_p < 1.0:
        sorted_logits, order = torch.sort(logits, descending=True)
        cumulative = torch.softmax(sorted_logits, dim=-1).cumsum(dim=-1)
        # Keep the smallest prefix whose mass reaches top_p: drop a token once the mass before it does.
        drop_sorted = (cumulative - torch.softmax(sorted_logits, dim=-1)) >= params.top_p
        logits = logits.masked_fill(drop_sorted.scatter(0, order, drop_sorted), float("-inf"))
    return logits


def sample(
    logits: torch.Tensor,
    params: Sequence[SamplingParams],
    prompt_token_ids: Sequence[Sequence[int]],
    output_token_ids: Sequence[Sequence[int]],
    generators: Sequence[Optional[torch.Generator]],
) -> list[int]:
    """Sample one token per row of `logits` [batch, vocab]."""
    logits = logits.float()
    chosen: list[int] = []
    for row, row_params in enumerate(params):
        row_logits = logits[row].clone()
        apply_penalties(row_logits, row_params, prompt_token_ids[row], output_token_ids[row])
        if row_params.is_greedy:
            chosen.append(int(torch.argmax(row_logits)))
            continue
        row_logits = filter_logits(row_logits / row_params.temperature, row_params)
        probs = torch.softmax(row_logits, dim=-1)
        chosen.append(int(torch.multinomial(probs, 1, generator=generators[row])))
    return chosen
