"""The `qwen3-server` command: serve a model, list the registry with memory estimates, pull weights."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Optional

from qwen3_server import __version__


def _env(name: str, default=None):
    return os.environ.get(f"QWEN3_SERVER_{name}", default)


def _add_serve(commands) -> None:
    serve = commands.add_parser("serve", help="serve a model over the OpenAI API")
    serve.add_argument("model", nargs="?", default=_env("MODEL", "demo"),
                       help="registry name or alias (qwen3:8b), HF repo id, local folder, or 'demo' (default)")
    serve.add_argument("--host", default=_env("HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(_env("PORT", "8000")))
    serve.add_argument("--device", default=_env("DEVICE", "auto"), help="auto, cuda, cuda:N or cpu")
    serve.add_argument("--dtype", default=_env("DTYPE"), help="auto, bfloat16, float16 or float32")
    serve.add_argument("--quantization", default=_env("QUANTIZATION"), choices=["bnb-8bit", "bnb-4bit"])
    serve.add_argument("--max-model-len", type=int, default=_env("MAX_MODEL_LEN"))
    serve.add_argument("--max-num-seqs", type=int, default=int(_env("MAX_NUM_SEQS", "8")))
    serve.add_argument("--max-queued-requests", type=int, default=int(_env("MAX_QUEUED_REQUESTS", "256")))
    serve.add_argument("--api-key", default=_env("API_KEY"), help="require this Bearer key on /v1 routes")
    serve.add_argument("--allowed-origins", default=_env("ALLOWED_ORIGINS", ""),
                       help="comma-separated CORS origins, e.g. '*' for LobeChat in browser mode")
    serve.add_argument("--default-thinking", choices=["on", "off"], default=_env("DEFAULT_THINKING", "on"),
                       help="thinking when neither the request nor the model's registry entry decides")
    serve.add_argument("--reasoning-alias", action="store_true", default=_env("REASONING_ALIAS") == "1",
                       help="also send reasoning as `reasoning` (vLLM/Ollama name) beside `reasoning_content`")
    serve.add_argument("--served-model-name", default=_env("SERVED_MODEL_NAME"))
    serve.add_argument("--log-level", default=_env("LOG_LEVEL", "info"))


def _add_models(commands) -> None:
    models = commands.add_parser("models", help="list the registry with estimated memory and GPU fit")
    models.add_argument("--gpu-memory", help="GPU memory to compare against, e.g. 12GiB (default: the local GPU)")
    models.add_argument("--context", type=int, default=8192, help="context tokens for the KV-cache estimate")
    models.add_argument("--precision", action="append",
                        help="bfloat16, bnb-8bit, bnb-4bit (repeatable; default all three)")


def _add_pull(commands) -> None:
    pull = commands.add_parser("pull", help="download a model's weights into the Hugging Face cache")
    pull.add_argument("model")


def serve(args) -> int:
    from qwen3_server.config import ServerConfig
    from qwen3_server.loader import LoadError

    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    config = ServerConfig(
        host=args.host,
        port=args.port,
        api_key=args.api_key,
        allowed_origins=tuple(o.strip() for o in args.allowed_origins.split(",") if o.strip()),
        default_thinking=args.default_thinking == "on",
        reasoning_alias=args.reasoning_alias,
        served_model_name=args.served_model_name,
        max_model_len=int(args.max_model_len) if args.max_model_len else None,
        max_num_seqs=args.max_num_seqs,
        max_queued_requests=args.max_queued_requests,
        device=args.device,
        dtype=args.dtype,
        quantization=args.quantization,
    )
    try:
        spec = _resolve(args.model)
        from qwen3_server.server import load_and_build_app

        app = load_and_build_app(spec, config)
    except (LoadError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    import uvicorn

    if spec.description:
        print(spec.description, file=sys.stderr)
    print(f"Serving {spec.name} on http://{config.host}:{config.port}/v1", file=sys.stderr)
    uvicorn.run(app, host=config.host, port=config.port, log_level=args.log_level.lower())
    return 0


def _resolve(name: str):
    from qwen3_server.demo import DEMO_NAMES, demo_spec
    from qwen3_server.registry import Registry

    if name.lower() in DEMO_NAMES:
        return demo_spec()
    return Registry.load().resolve(name)


def models(args) -> int:
    from qwen3_server.memory import local_gpu_memory, parse_size, render_models_table
    from qwen3_server.registry import Registry

    try:
        gpu_bytes: Optional[int] = parse_size(args.gpu_memory) if args.gpu_memory else local_gpu_memory()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    precisions = args.precision or ["bfloat16", "bnb-8bit", "bnb-4bit"]
    try:
        print(render_models_table(Registry.load().all(), precisions, args.context, gpu_bytes))
    except ValueError as exc:  # an unknown precision, a context that is not positive
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def pull(args) -> int:
    from huggingface_hub import snapshot_download

    try:
        spec = _resolve(args.model)
        path = snapshot_download(spec.source)
    except Exception as exc:  # network, auth, not found: one line, not a traceback
        print(f"error: could not download '{args.model}': {exc}", file=sys.stderr)
        return 2
    print(path)
    return 0


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="qwen3-server", description="OpenAI-compatible server for Qwen3")
    parser.add_argument("--version", action="version", version=f"qwen3-server {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    _add_serve(commands)
    _add_models(commands)
    _add_pull(commands)
    args = parser.parse_args(argv)
    sys.exit({"serve": serve, "models": models, "pull": pull}[args.command](args))
