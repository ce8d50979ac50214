"""Frozen server settings, merged from command-line flags and QWEN3_SERVER_* environment variables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8000
    api_key: Optional[str] = None
    allowed_origins: tuple[str, ...] = ()
    # Thinking when neither the request nor the model's registry entry decides (Qwen3's own default).
    default_thinking: bool = True
    # Also emit the reasoning under `reasoning` (vLLM and Ollama's name) next to `reasoning_content`.
    reasoning_alias: bool = False
    served_model_name: Optional[str] = None
    max_model_len: Optional[int] = None
    max_num_seqs: int = 8
    max_queued_requests: int = 256
    max_request_bytes: int = 16 * 1024 * 1024
    device: str = "auto"
    dtype: Optional[str] = None
    quantization: Optional[str] = None
