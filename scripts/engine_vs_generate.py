#!/usr/bin/env python3
"""Times greedy decoding of one request: HF `generate` against our engine, interleaved in one run."""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from qwen3_server.engine.engine import LLMEngine
from qwen3_server.engine.types import Request, SamplingParams
from qwen3_server.loader import load_model
from qwen3_server.registry import spec_from_folder


def time_generate(loaded, prompt: list[int], num_tokens: int) -> float:
    start = time.perf_counter()
    loaded.model.generate(torch.tensor([prompt]), max_new_tokens=num_tokens, min_new_tokens=num_tokens,
                          do_sample=False, pad_token_id=151643)
    return time.perf_counter() - start


def time_engine(loaded, prompt: list[int], num_tokens: int) -> float:
    engine = LLMEngine(loaded.model, loaded.tokenizer, loaded.eos_token_ids, loaded.max_model_len)
    params = SamplingParams(max_tokens=num_tokens, temperature=0, ignore_eos=True)
    start = time.perf_counter()
    engine.add_request(Request("bench", tuple(prompt), params))
    while engine.has_unfinished():
        engine.step()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--dtype", default="bfloat16")
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--prompt-tokens", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    torch.manual_seed(0)
    loaded = load_model(spec_from_folder(args.checkpoint), device="auto", dtype=args.dtype)
    prompt = torch.randint(1000, 100000, (args.prompt_tokens,)).tolist()
    time_generate(loaded, prompt, 4), time_engine(loaded, prompt, 4)  # warm-up
    timings = {"generate": [], "engine": []}
    for _ in range(args.rounds):  # interleaved, so machine noise hits both alike
        timings["generate"].append(time_generate(loaded, prompt, args.tokens))
        timings["engine"].append(time_engine(loaded, prompt, args.tokens))
    medians = {name: statistics.median(values) for name, values in timings.items()}
    for name, seconds in medians.items():
        print(f"{name:9s} median {seconds:.3f} s for {args.tokens} tokens = {args.tokens / seconds:.1f} tok/s")
    print(f"engine / generate throughput ratio: {medians['generate'] / medians['engine']:.2f}")


if __name__ == "__main__":
    main()
