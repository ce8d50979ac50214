"""Loads a Qwen3 checkpoint and tokenizer through transformers + accelerate (dtype, device, bitsandbytes)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from qwen3_server.model_spec import ModelSpec

logger = logging.getLogger(__name__)

QWEN3_MODEL_TYPES = ("qwen3", "qwen3_moe")
QWEN3_EOS_IDS = (151645, 151643)  # <|im_end|>, <|endoftext|>
DTYPES = ("auto", "bfloat16", "float16", "float32")
QUANTIZATIONS = ("bnb-8bit", "bnb-4bit")


class LoadError(RuntimeError):
    """The checkpoint could not be loaded; the message says why and what to do."""


@dataclass
class LoadedModel:
    model: object
    tokenizer: object
    spec: ModelSpec
    max_model_len: int
    eos_token_ids: set[int]


def resolve_device(device: str) -> str:
    """'auto' picks CUDA when present; otherwise the name as given ('cpu', 'cuda', 'cuda:1')."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise LoadError(f"device '{device}' was asked for, but PyTorch sees no CUDA GPU (use --device cpu)")
    return device


def _not_found_message(source: str, exc: Exception) -> str:
    if Path(source).expanduser().exists():
        return f"could not load the checkpoint in '{source}': {exc}"
    return (
        f"could not find the weights for '{source}'. They are not in the local Hugging Face cache and "
        f"could not be downloaded ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}). "
        f"Download them on a connected machine (`hf download {source}`), or pass a local folder, "
        f"or run `qwen3-server serve demo` for the offline demo checkpoint."
    )


def _quantization_config(quantization: Optional[str], compute_dtype):
    if quantization is None:
        return None
    if quantization not in QUANTIZATIONS:
        raise LoadError(f"unknown quantization '{quantization}': choose {', '.join(QUANTIZATIONS)}")
    try:
        from transformers import BitsAndBytesConfig
        import bitsandbytes  # noqa: F401  (fail here with a clear message rather than deep in transformers)
    except ImportError as exc:
        raise LoadError(f"{quantization} needs bitsandbytes: pip install bitsandbytes ({exc})")
    if quantization == "bnb-8bit":
        return BitsAndBytesConfig(load_in_8bit=True)
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=compute_dtype,
    )


def load_model(
    spec: ModelSpec,
    device: str = "auto",
    dtype: Optional[str] = None,
    quantization: Optional[str] = None,
    max_model_len: Optional[int] = None,
) -> LoadedModel:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    dtype_name = dtype or spec.dtype
    if dtype_name not in DTYPES:
        raise LoadError(f"unknown dtype '{dtype_name}': choose {', '.join(DTYPES)}")
    quantization = quantization if quantization is not None else spec.quantization
    device = resolve_device(device)
    try:
        config = AutoConfig.from_pretrained(spec.source)
    except (OSError, ValueError) as exc:
        raise LoadError(_not_found_message(spec.source, exc)) from None
    if config.model_type not in QWEN3_MODEL_TYPES:
        raise LoadError(f"'{spec.source}' is a '{config.model_type}' model; this server serves Qwen3 and Qwen3-MoE")
    torch_dtype = "auto" if dtype_name == "auto" else getattr(torch, dtype_name)
    compute_dtype = torch.bfloat16 if torch_dtype == "auto" else torch_dtype
    # device_map "auto" lets accelerate spread a model over several GPUs (and offload when it must).
    device_map = "auto" if device == "cuda" else {"": device}
    logger.info("loading %s (%s, %s, %s)", spec.source, dtype_name, quantization or "no quantization", device)
    try:
        model = AutoModelForCausalLM.from_pretrained(
            spec.source,
            dtype=torch_dtype,
            device_map=device_map,
            quantization_config=_quantization_config(quantization, compute_dtype),
        )
        tokenizer = AutoTokenizer.from_pretrained(spec.source)
    except (OSError, ValueError) as exc:
        raise LoadError(_not_found_message(spec.source, exc)) from None
    model.eval()
    if not tokenizer.chat_template:
        from qwen3_server.checkpoints.tokenizer import CHAT_TEMPLATE_PATH

        logger.warning("%s has no chat template; using qwen3-server's Qwen3 template", spec.source)
        tokenizer.chat_template = CHAT_TEMPLATE_PATH.read_text()
    context = min(spec.context_length, config.max_position_embeddings)
    if max_model_len is not None:
        if max_model_len > config.max_position_embeddings:
            raise LoadError(
                f"--max-model-len {max_model_len} is beyond the model's {config.max_position_embeddings} positions"
            )
        context = max_model_len
    eos = set(QWEN3_EOS_IDS)
    generation_eos = getattr(model.generation_config, "eos_token_id", None)
    eos.update(generation_eos if isinstance(generation_eos, list) else [generation_eos] if generation_eos else [])
    return LoadedModel(model, tokenizer, spec, context, eos)
