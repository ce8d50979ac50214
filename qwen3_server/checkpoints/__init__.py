"""Builders for offline Qwen3 checkpoints: the real tokenizer, tiny random and scripted weights."""
