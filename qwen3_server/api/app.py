"""Builds the FastAPI app: routes, JSON body parsing, API key, CORS, size limits, error handlers."""

from __future__ import annotations

import json
import time
from contextlib import asynccontextmanager
from typing import Optional, TypeVar

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from pydantic import BaseModel, ValidationError

from qwen3_server.api.errors import APIError, bad_request, from_validation_error, install_error_handlers
from qwen3_server.api.protocol import ChatCompletionRequest, ModelCard, ModelList
from qwen3_server.api.serving_chat import ChatService
from qwen3_server.config import ServerConfig
from qwen3_server.engine.client import EngineClient
from qwen3_server.model_spec import ModelSpec

RequestModel = TypeVar("RequestModel", bound=BaseModel)


async def read_json(request: Request, model: type[RequestModel], max_bytes: int) -> RequestModel:
    """Parse the body as JSON whatever the Content-Type says (curl -d sends form encoding)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise APIError(413, f"request body over {max_bytes} bytes", code="request_too_large")
    body = await request.body()
    if len(body) > max_bytes:
        raise APIError(413, f"request body over {max_bytes} bytes", code="request_too_large")
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise bad_request(f"the request body is not valid JSON: {exc}", code="invalid_json")
    if not isinstance(data, dict):
        raise bad_request("the request body must be a JSON object", code="invalid_json")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_validation_error(exc)


def served_model_names(spec: ModelSpec, config: ServerConfig) -> set[str]:
    """Every id a request may use for the served model, lower-cased."""
    names = {spec.name, spec.source, *spec.aliases}
    if config.served_model_name:
        names.add(config.served_model_name)
    return {name.lower() for name in names}


def create_app(engine: EngineClient, tokenizer, spec: ModelSpec, config: Optional[ServerConfig] = None) -> FastAPI:
    config = config or ServerConfig()
    if config.served_model_name:
        spec = spec.with_overrides(name=config.served_model_name)
    started = int(time.time())
    model_names = served_model_names(spec, config)
    chat = ChatService(engine, tokenizer, spec, config, model_names)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        engine.start()
        try:
            yield
        finally:
            engine.shutdown()

    app = FastAPI(title="qwen3-server", lifespan=lifespan, docs_url=None, redoc_url=None)
    install_error_handlers(app)
    app.state.engine = engine

    if config.allowed_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(config.allowed_origins),
            allow_methods=["*"],
            allow_headers=["*"],
            allow_private_network=True,
        )

    if config.api_key:
        expected = f"Bearer {config.api_key}"

        @app.middleware("http")
        async def require_api_key(request: Request, call_next):
            if request.method != "OPTIONS" and request.url.path.startswith("/v1") and (
                request.headers.get("authorization") != expected
            ):
                return APIError(401, "invalid or missing API key", code="invalid_api_key").response()
            return await call_next(request)

    def card() -> ModelCard:
        return ModelCard(
            id=spec.name, created=started, max_model_len=engine.max_model_len,
            aliases=list(spec.aliases), thinking=spec.thinking,
        )

    @app.get("/health")
    async def health():
        if not engine.is_healthy():
            return APIError(503, "the engine is not running", code="engine_unavailable").response()
        return {"status": "ok", "model": spec.name, **engine.stats()}

    @app.get("/v1/models")
    async def list_models():
        return ModelList(data=[card()]).model_dump()

    @app.get("/v1/models/{model_id:path}")
    async def get_model(model_id: str):
        if model_id.lower() not in model_names:
            raise APIError(404, f"The model '{model_id}' does not exist.", param="model", code="model_not_found")
        return card().model_dump()

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request):
        body = await read_json(request, ChatCompletionRequest, config.max_request_bytes)
        if body.stream:
            return await chat.stream(body, request)
        return await chat.complete(body, request)

    return app
