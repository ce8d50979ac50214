"""Wires a loaded model, the engine and the HTTP app together (the composition root)."""

from __future__ import annotations

from fastapi import FastAPI

from qwen3_server.api.app import create_app
from qwen3_server.config import ServerConfig
from qwen3_server.engine.async_engine import AsyncEngine
from qwen3_server.engine.engine import LLMEngine
from qwen3_server.loader import LoadedModel, load_model
from qwen3_server.model_spec import ModelSpec


def build_engine(loaded: LoadedModel, config: ServerConfig) -> AsyncEngine:
    engine = LLMEngine(
        loaded.model, loaded.tokenizer, loaded.eos_token_ids, loaded.max_model_len, max_num_seqs=config.max_num_seqs
    )
    return AsyncEngine(engine, max_queued_requests=config.max_queued_requests)


def build_app(loaded: LoadedModel, config: ServerConfig) -> FastAPI:
    return create_app(build_engine(loaded, config), loaded.tokenizer, loaded.spec, config)


def load_and_build_app(spec: ModelSpec, config: ServerConfig) -> FastAPI:
    loaded = load_model(spec, config.device, config.dtype, config.quantization, config.max_model_len)
    return build_app(loaded, config)
