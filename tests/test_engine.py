"""The real engine on tiny checkpoints: greedy output equals transformers' generate, alone and concurrently."""

from __future__ import annotations

import asyncio

import pytest
import torch

from qwen3_server.engine.async_engine import AsyncEngine
from qwen3_server.engine.engine import LLMEngine
from qwen3_server.engine.types import Request, SamplingParams

PROMPTS = ["Hi there", "Write a poem about the sea, please, in three verses.", "1+1=", "Why?"]


def prompt_ids(tokenizer, text: str) -> list[int]:
    text = tokenizer.apply_chat_template([{"role": "user", "content": text}], add_generation_prompt=True,
                                         tokenize=False)
    return tokenizer.encode(text, add_special_tokens=False)


def reference(loaded, ids: list[int], max_new_tokens: int) -> list[int]:
    output = loaded.model.generate(torch.tensor([ids]), max_new_tokens=max_new_tokens, do_sample=False,
                                   eos_token_id=sorted(loaded.eos_token_ids), pad_token_id=151643)
    return output[0, len(ids):].tolist()


def run_sync(loaded, requests: list[Request]) -> dict[str, list[int]]:
    engine = LLMEngine(loaded.model, loaded.tokenizer, loaded.eos_token_ids, loaded.max_model_len, max_num_seqs=3)
    for request in requests:
        engine.add_request(request)
    tokens: dict[str, list[int]] = {r.request_id: [] for r in requests}
    while engine.has_unfinished():
        for output in engine.step():
            tokens[output.request_id] += output.token_ids
    return tokens


@pytest.mark.parametrize("model_fixture", ["dense_model", "moe_model"])
def test_greedy_batch_matches_generate_alone(request, model_fixture):
    loaded = request.getfixturevalue(model_fixture)
    greedy = SamplingParams(max_tokens=24, temperature=0)
    # More requests than max_num_seqs, so some wait and join while others are mid-generation.
    requests = [Request(f"r{i}", tuple(prompt_ids(loaded.tokenizer, p)), greedy) for i, p in enumerate(PROMPTS)]
    got = run_sync(loaded, requests)
    for r in requests:
        expected = reference(loaded, list(r.prompt_token_ids), 24)
        assert got[r.request_id] == expected, r.request_id
    assert len({tuple(t) for t in got.values()}) > 1, "outputs should differ across prompts"


def test_seeded_sampling_repeats_and_seeds_differ(dense_model):
    ids = tuple(prompt_ids(dense_model.tokenizer, "Hi"))

    def sampled(seed):
        params = SamplingParams(max_tokens=16, temperature=1.0, seed=seed)
        return run_sync(dense_model, [Request("a", ids, params)])["a"]

    assert sampled(11) == sampled(11)
    assert sampled(11) != sampled(12)


def test_abort_and_max_tokens_and_context_limit(dense_model):
    engine = LLMEngine(dense_model.model, dense_model.tokenizer, dense_model.eos_token_ids, max_model_len=64)
    ids = tuple(prompt_ids(dense_model.tokenizer, "Hi"))
    engine.add_request(Request("long", ids, SamplingParams(max_tokens=64 - len(ids), temperature=0, ignore_eos=True)))
    engine.add_request(Request("gone", ids, SamplingParams(max_tokens=50, temperature=0, ignore_eos=True)))
    engine.add_request(Request("huge", ids, SamplingParams(max_tokens=1000, temperature=0)))
    finished = {}

    def step():
        for output in engine.step():
            if output.finished:
                finished[output.request_id] = output

    step()
    engine.abort_request("gone")
    while engine.has_unfinished():
        step()
    assert finished["gone"].finish_reason == "abort"
    assert finished["huge"].finish_reason == "error" and "context" in finished["huge"].error
    assert finished["long"].finish_reason == "length" and finished["long"].num_output_tokens == 64 - len(ids)


def test_a_failing_sequence_does_not_stop_the_others(dense_model, monkeypatch):
    engine = LLMEngine(dense_model.model, dense_model.tokenizer, dense_model.eos_token_ids, 1024)
    ids = tuple(prompt_ids(dense_model.tokenizer, "Hi"))
    real_forward = engine.runner.forward

    def forward(token_ids, cache):
        if cache is engine_caches.get("bad"):
            raise RuntimeError("boom")
        return real_forward(token_ids, cache)

    engine_caches = {}
    monkeypatch.setattr(engine.runner, "forward", forward)
    engine.add_request(Request("good", ids, SamplingParams(max_tokens=5, temperature=0, ignore_eos=True)))
    engine.add_request(Request("bad", ids, SamplingParams(max_tokens=5, temperature=0, ignore_eos=True)))
    results = {}
    for _ in range(3):
        for output in engine.step():
            results.setdefault(output.request_id, []).append(output)
        for sequence in engine._running:  # from the second step, the "bad" sequence's cache fails
            if sequence.request.request_id == "bad":
                engine_caches["bad"] = sequence.cache
    while engine.has_unfinished():
        for output in engine.step():
            results.setdefault(output.request_id, []).append(output)
    assert results["bad"][-1].finish_reason == "error" and "boom" in results["bad"][-1].error
    assert results["good"][-1].finish_reason == "length" and results["good"][-1].num_output_tokens == 5


async def test_async_engine_serves_concurrent_requests_like_generate(moe_model):
    engine = AsyncEngine(LLMEngine(moe_model.model, moe_model.tokenizer, moe_model.eos_token_ids, 4096))
    engine.start()
    try:
        async def collect(request_id, text):
            ids = prompt_ids(moe_model.tokenizer, text)
            tokens = []
            async for output in engine.generate(ids, SamplingParams(max_tokens=12, temperature=0), request_id):
                tokens += output.token_ids
            return ids, tokens

        results = await asyncio.gather(*(collect(f"c{i}", p) for i, p in enumerate(PROMPTS)))
        for ids, tokens in results:
            assert tokens == reference(moe_model, ids, 12)
        assert engine.stats() == {"running": 0, "waiting": 0, "in_flight": 0}
    finally:
        engine.shutdown()


def test_a_request_that_cannot_be_set_up_fails_alone(dense_model, monkeypatch):
    import qwen3_server.engine.engine as engine_module

    engine = LLMEngine(dense_model.model, dense_model.tokenizer, dense_model.eos_token_ids, 1024)
    ids = tuple(prompt_ids(dense_model.tokenizer, "Hi"))

    def broken_detokenizer(*args, **kwargs):
        raise ValueError("cannot build")

    with monkeypatch.context() as patch:
        patch.setattr(engine_module, "IncrementalDetokenizer", broken_detokenizer)
        engine.add_request(Request("broken", ids, SamplingParams(max_tokens=3, temperature=0)))
    engine.add_request(Request("fine", ids, SamplingParams(max_tokens=3, temperature=0, ignore_eos=True)))
    finished = {}
    while engine.has_unfinished():
        for output in engine.step():
            if output.finished:
                finished[output.request_id] = output
    assert finished["broken"].finish_reason == "error" and "cannot build" in finished["broken"].error
    assert finished["fine"].finish_reason == "length"
