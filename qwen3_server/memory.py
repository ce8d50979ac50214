"""GPU memory estimates (weights + KV cache + overhead) per precision, fit checks, and the `models` table."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from qwen3_server.model_spec import Architecture, ModelSpec

GiB = 1024**3
MiB = 1024**2

_UNITS = {"": None, "b": 1, "k": 1024, "m": MiB, "g": GiB, "t": 1024 * GiB}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$")

# NF4 stores 4 bits per weight plus one absmax per 64-weight block; with double quantization that absmax
# is itself 8-bit, with one fp32 scale per 256 absmax values: 4 + 8/64 + 32/(64*256) ≈ 4.127 bits.
NF4_BITS_PER_PARAM = 4 + 8 / 64 + 32 / (64 * 256)

_BYTES_PER_PARAM = {
    "bfloat16": 2.0, "float16": 2.0, "float32": 4.0,
    "auto": 2.0,  # Qwen3 checkpoints ship in bfloat16
    "bnb-8bit": 1.0, "bnb-4bit": NF4_BITS_PER_PARAM / 8,
}
_PRECISION_ALIASES = {"bf16": "bfloat16", "fp16": "float16", "half": "float16", "fp32": "float32",
                      "float": "float32", "8bit": "bnb-8bit", "int8": "bnb-8bit", "4bit": "bnb-4bit",
                      "nf4": "bnb-4bit"}
QUANTIZED = ("bnb-8bit", "bnb-4bit")


def parse_size(text: str) -> int:
    """Bytes from a size like "12GiB", "12 GB", "24G", "512MiB" or "80gib".

    Units are B, K, M, G, T with optional "B"/"iB"; all are binary (GB and G are treated as GiB, since
    that is how GPU memory is reported). A bare number is refused because its unit would be a guess.
    """
    match = _SIZE.match(str(text).lower())
    unit = match.group(2) if match else "?"
    unit = unit if unit == "b" else unit.removesuffix("ib").removesuffix("b")
    if not match or unit not in _UNITS:
        raise ValueError(f"cannot read memory size {text!r}: use a number with a unit, e.g. 12GiB, 24G or 512MiB")
    if _UNITS[unit] is None:
        raise ValueError(f"memory size {text!r} has no unit: write e.g. {match.group(1)}GiB")
    size = round(float(match.group(1)) * _UNITS[unit])
    if size <= 0:
        raise ValueError(f"memory size {text!r} must be greater than zero")
    return size


def format_size(num_bytes: float) -> str:
    """A short human size: "7.6 GiB", "512.0 MiB", "900 B"."""
    if num_bytes >= GiB:
        return f"{num_bytes / GiB:.1f} GiB"
    if num_bytes >= MiB:
        return f"{num_bytes / MiB:.1f} MiB"
    if num_bytes >= 1024:
        return f"{num_bytes / 1024:.1f} KiB"
    return f"{int(num_bytes)} B"


def normalize_precision(dtype_or_quant: str) -> str:
    """The canonical name ("bfloat16", "bnb-4bit", ...) for a precision or one of its short forms."""
    key = dtype_or_quant.strip().lower()
    key = _PRECISION_ALIASES.get(key, key)
    if key not in _BYTES_PER_PARAM:
        known = ", ".join(sorted(_BYTES_PER_PARAM))
        raise ValueError(f"unknown precision {dtype_or_quant!r}; use one of {known} (or bf16, fp16, 8bit, 4bit)")
    return key


def bytes_per_param(dtype_or_quant: str) -> float:
    """Bytes per weight: bfloat16/float16 2, float32 4, bnb-8bit 1, bnb-4bit ≈ 0.516 (see NF4_BITS_PER_PARAM)."""
    return _BYTES_PER_PARAM[normalize_precision(dtype_or_quant)]


@dataclass(frozen=True)
class MemoryEstimate:
    weights_bytes: int
    kv_cache_bytes: int
    overhead_bytes: int

    @property
    def total_bytes(self) -> int:
        return self.weights_bytes + self.kv_cache_bytes + self.overhead_bytes


def kv_cache_bytes_per_token(arch: Architecture, kv_dtype_bytes: int = 2) -> int:
    """K and V for every layer and KV head: 2 * layers * kv_heads * head_dim * bytes."""
    return 2 * arch.num_layers * arch.num_kv_heads * arch.head_dim * kv_dtype_bytes


def estimate_memory(arch: Architecture, precision: str, context_tokens: int, num_sequences: int = 1,
                    kv_dtype_bytes: int = 2) -> MemoryEstimate:
    """Memory to serve `num_sequences` sequences of `context_tokens` tokens each.

    Weights: bitsandbytes quantizes only the Linear layers, so the embedding (and the lm_head when it is
    not tied to it) stays 16-bit; everything else costs bytes_per_param(precision).
    Overhead: 0.5 GiB (CUDA context, allocator slack) + 5% of the weights (activations, temporary buffers).
    """
    if context_tokens < 0 or num_sequences < 1:
        raise ValueError("context_tokens must be >= 0 and num_sequences >= 1")
    precision = normalize_precision(precision)
    per_param = bytes_per_param(precision)
    embedding_params = arch.vocab_size * arch.hidden_size * (1 if arch.tie_word_embeddings else 2)
    embedding_params = min(embedding_params, arch.num_params)
    embedding_bytes_per_param = 2.0 if precision in QUANTIZED else per_param
    weights = embedding_params * embedding_bytes_per_param + (arch.num_params - embedding_params) * per_param
    kv_cache = kv_cache_bytes_per_token(arch, kv_dtype_bytes) * context_tokens * num_sequences
    overhead = 0.5 * GiB + 0.05 * weights
    return MemoryEstimate(weights_bytes=round(weights), kv_cache_bytes=kv_cache, overhead_bytes=round(overhead))


def fits(estimate: MemoryEstimate, gpu_bytes: int) -> bool:
    return estimate.total_bytes <= gpu_bytes


def local_gpu_memory() -> Optional[int]:
    """Total memory of CUDA device 0, or None without torch or a GPU. Never raises."""
    try:
        import torch  # lazily: the `models` command must stay fast when no GPU check is needed

        if torch.cuda.is_available():
            return int(torch.cuda.get_device_properties(0).total_memory)
    except Exception:
        pass
    return None


def _format_tokens(tokens: int) -> str:
    return f"{tokens // 1024}K" if tokens >= 1024 and tokens % 1024 == 0 else str(tokens)


def render_models_table(specs: list[ModelSpec], precisions: list[str], context_tokens: int,
                        gpu_bytes: Optional[int]) -> str:
    """The plain-text table printed by `qwen3-server models`, one row per model."""
    precisions = [normalize_precision(p) for p in precisions]
    if gpu_bytes:
        gpu_line = f"Compared against {format_size(gpu_bytes)} of GPU memory (✓ fits, ✗ does not)."
    else:
        gpu_line = "No GPU given/detected: pass --gpu-memory 12GiB to check which models fit."
    header = [
        f"Estimated GPU memory: weights + KV cache for {context_tokens:,} tokens of context + overhead.",
        gpu_line,
    ]
    rows = [["MODEL", "ALIAS", "KIND", "THINKING", "CONTEXT", *precisions]]
    for spec in specs:
        row = [spec.name, spec.aliases[0] if spec.aliases else "-", spec.kind, spec.thinking,
               _format_tokens(spec.context_length)]
        for precision in precisions:
            if spec.architecture is None:
                row.append("?")
                continue
            estimate = estimate_memory(spec.architecture, precision, context_tokens)
            cell = format_size(estimate.total_bytes)
            if gpu_bytes:
                cell += " ✓" if fits(estimate, gpu_bytes) else " ✗"
            row.append(cell)
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    numeric = set(range(4, len(widths)))  # right-align context and sizes
    lines = ["  ".join(cell.rjust(w) if i in numeric else cell.ljust(w)
                       for i, (cell, w) in enumerate(zip(row, widths))).rstrip() for row in rows]
    return "\n".join(header + [""] + lines)
