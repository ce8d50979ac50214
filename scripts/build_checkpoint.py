#!/usr/bin/env python3
"""Builds an offline Qwen3 checkpoint with random weights and the real tokenizer, tiny or real-shaped."""

from __future__ import annotations

import argparse
from pathlib import Path

from qwen3_server.checkpoints.build import build_random_checkpoint

# Shapes from the Qwen3 model cards; the weights are random, so output is gibberish at any size.
PRESETS = {
    "tiny-dense": dict(kind="dense", hidden_size=64, num_layers=2),
    "tiny-moe": dict(kind="moe", hidden_size=64, num_layers=2),
    "qwen3-0.6b": dict(kind="dense", hidden_size=1024, num_layers=28, num_attention_heads=16,
                       num_key_value_heads=8, head_dim=128, intermediate_size=3072, init_scale=0.02),
    "qwen3-8b": dict(kind="dense", hidden_size=4096, num_layers=36, num_attention_heads=32, num_key_value_heads=8,
                     head_dim=128, intermediate_size=12288, tie_word_embeddings=False, init_scale=0.02),
    "qwen3-30b-a3b": dict(kind="moe", hidden_size=2048, num_layers=48, num_attention_heads=32,
                          num_key_value_heads=4, head_dim=128, moe_intermediate_size=768, num_experts=128,
                          num_experts_per_tok=8, tie_word_embeddings=False, init_scale=0.02),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("preset", choices=sorted(PRESETS))
    parser.add_argument("output", type=Path, help="folder to write (left as is if it already holds a checkpoint)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(build_random_checkpoint(args.output, seed=args.seed, **PRESETS[args.preset]))


if __name__ == "__main__":
    main()
