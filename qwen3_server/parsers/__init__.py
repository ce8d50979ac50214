"""Parsers that turn raw Qwen3 output into OpenAI message fields."""
