"""qwen3-server: an OpenAI-compatible inference server for the Qwen3 model family."""

__version__ = "0.1.0"
