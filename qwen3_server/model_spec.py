"""What the server knows about a Qwen3 checkpoint: validated, frozen ModelSpec and its parts."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal, Optional

KINDS = ("dense", "moe")
THINKING_MODES = ("hybrid", "always", "never")
DTYPES = ("bfloat16", "float16", "float32", "auto")
QUANTIZATIONS = (None, "bnb-8bit", "bnb-4bit")


class RegistryError(ValueError):
    """A user-facing configuration or lookup error; the message says what is wrong and how to fix it."""


def require(ok: bool, field: str, message: str) -> None:
    if not ok:
        raise RegistryError(f"field '{field}': {message}")


def is_int(value: Any, minimum: int = 1) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def as_number(value: Any, field: str) -> float:
    # PyYAML (YAML 1.1) reads "8.2e9" as a string because its float pattern wants "8.2e+9".
    if not isinstance(value, bool):
        try:
            return float(value)
        except (TypeError, ValueError):
            pass
    raise RegistryError(f"field '{field}': expected a number, got {value!r}")


@dataclass(frozen=True)
class SamplingDefaults:
    temperature: float
    top_p: float
    top_k: int
    min_p: float = 0.0
    presence_penalty: float = 0.0

    def __post_init__(self) -> None:
        require(0.0 <= self.temperature <= 2.0, "temperature", f"must be in [0, 2], got {self.temperature}")
        require(0.0 < self.top_p <= 1.0, "top_p", f"must be in (0, 1], got {self.top_p}")
        require(is_int(self.top_k, -1), "top_k", f"must be an integer >= -1 (0/-1: off), got {self.top_k!r}")
        require(0.0 <= self.min_p <= 1.0, "min_p", f"must be in [0, 1], got {self.min_p}")
        require(-2.0 <= self.presence_penalty <= 2.0, "presence_penalty", "must be in [-2, 2]")


QWEN_THINKING_SAMPLING = SamplingDefaults(temperature=0.6, top_p=0.95, top_k=20, min_p=0.0)
QWEN_NON_THINKING_SAMPLING = SamplingDefaults(temperature=0.7, top_p=0.8, top_k=20, min_p=0.0)


@dataclass(frozen=True)
class Architecture:
    num_params: float
    num_active_params: float
    num_layers: int
    num_attention_heads: int
    num_kv_heads: int
    head_dim: int
    hidden_size: int
    vocab_size: int
    tie_word_embeddings: bool
    num_experts: int = 0
    num_experts_per_tok: int = 0

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value, minimum = getattr(self, field.name), 0 if field.name.startswith("num_experts") else 1
            require(field.type != "int" or is_int(value, minimum), field.name,
                    f"must be an integer >= {minimum}, got {value!r}")
        require(0 < self.num_active_params <= self.num_params, "num_active_params", "must be in (0, num_params]")
        require(self.num_kv_heads <= self.num_attention_heads, "num_kv_heads", "cannot exceed num_attention_heads")
        require(self.num_experts_per_tok <= self.num_experts, "num_experts_per_tok", "cannot exceed num_experts")
        require(isinstance(self.tie_word_embeddings, bool), "tie_word_embeddings", "must be true or false")


@dataclass(frozen=True)
class ModelSpec:
    name: str
    source: str
    kind: Literal["dense", "moe"]
    thinking: Literal["hybrid", "always", "never"]
    context_length: int
    dtype: str
    quantization: Optional[str] = None
    aliases: tuple[str, ...] = ()
    sampling_thinking: Optional[SamplingDefaults] = None
    sampling_non_thinking: Optional[SamplingDefaults] = None
    default_thinking: Optional[bool] = None
    thinking_budget: Optional[int] = None
    architecture: Optional[Architecture] = None
    description: str = ""
    yarn_context_length: Optional[int] = None

    def __post_init__(self) -> None:
        if isinstance(self.aliases, list):
            object.__setattr__(self, "aliases", tuple(self.aliases))
        for field in ("name", "source"):
            value = getattr(self, field)
            require(isinstance(value, str) and value.strip() == value != "", field,
                    f"must be a non-empty string without surrounding spaces, got {value!r}")
        require(isinstance(self.aliases, tuple) and all(isinstance(a, str) and a.strip() for a in self.aliases),
                "aliases", f"must be a list of non-empty strings, got {self.aliases!r}")
        require(self.kind in KINDS, "kind", f"must be one of {', '.join(KINDS)}; got {self.kind!r}")
        require(self.thinking in THINKING_MODES, "thinking",
                f"must be one of {', '.join(THINKING_MODES)}; got {self.thinking!r}")
        require(is_int(self.context_length), "context_length", f"must be a positive integer, got "
                f"{self.context_length!r}")
        require(self.dtype in DTYPES, "dtype", f"must be one of {', '.join(DTYPES)}; got {self.dtype!r}")
        require(self.quantization in QUANTIZATIONS, "quantization",
                f"must be null, bnb-8bit or bnb-4bit; got {self.quantization!r}")
        require(self.default_thinking in (None, True, False), "default_thinking", "must be true, false or null")
        require((self.thinking, self.default_thinking) not in (("never", True), ("always", False)),
                "default_thinking", f"{self.default_thinking} contradicts thinking: {self.thinking}; use null")
        for field in ("thinking_budget", "yarn_context_length"):
            value = getattr(self, field)
            require(value is None or is_int(value), field, f"must be a positive integer or null, got {value!r}")
        require(isinstance(self.description, str), "description", "must be a string")
        if self.architecture is not None:
            require((self.architecture.num_experts > 0) == (self.kind == "moe"), "architecture.num_experts",
                    f"must be > 0 exactly when kind is moe (kind is {self.kind})")

    def with_overrides(self, **changes: Any) -> "ModelSpec":
        """A copy with some fields changed, validated like a YAML-loaded spec."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise RegistryError(f"unknown ModelSpec field(s): {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **changes)

    def sampling_for(self, thinking: bool) -> Optional[SamplingDefaults]:
        """Recommended sampling for the given mode, falling back to the other mode's defaults."""
        preferred, other = self.sampling_thinking, self.sampling_non_thinking
        if not thinking:
            preferred, other = other, preferred
        return preferred if preferred is not None else other


def recommended_sampling(thinking: str) -> dict[str, Optional[SamplingDefaults]]:
    return {"sampling_thinking": None if thinking == "never" else QWEN_THINKING_SAMPLING,
            "sampling_non_thinking": None if thinking == "always" else QWEN_NON_THINKING_SAMPLING}
