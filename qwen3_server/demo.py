"""The built-in demo checkpoint: tiny random weights with the real Qwen3 tokenizer, built once and cached."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from qwen3_server.model_spec import ModelSpec, recommended_sampling

logger = logging.getLogger(__name__)

DEMO_NAMES = ("demo", "qwen3-demo")
DEMO_WARNING = (
    "The demo checkpoint has tiny random weights: it talks gibberish. It exists so that the server, "
    "the tokenizer, the chat template and the API can be tried offline. Serve a real Qwen3 for answers."
)


def cache_dir() -> Path:
    """QWEN3_SERVER_CACHE, else $XDG_CACHE_HOME/qwen3-server, else ~/.cache/qwen3-server."""
    if os.environ.get("QWEN3_SERVER_CACHE"):
        return Path(os.environ["QWEN3_SERVER_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "qwen3-server"


def ensure_demo_checkpoint() -> Path:
    from qwen3_server.checkpoints.build import BUILD_VERSION, build_random_checkpoint

    target = cache_dir() / f"demo-v{BUILD_VERSION}"
    if not (target / "config.json").exists():
        logger.info("building the demo checkpoint in %s (first use only, a few seconds)", target)
    return build_random_checkpoint(target, kind="dense", hidden_size=128, num_layers=2)


def demo_spec() -> ModelSpec:
    return ModelSpec(
        name="qwen3-demo",
        source=str(ensure_demo_checkpoint()),
        kind="dense",
        thinking="hybrid",
        context_length=8192,
        dtype="float32",
        aliases=("demo",),
        description=DEMO_WARNING,
        **recommended_sampling("hybrid"),
    )
