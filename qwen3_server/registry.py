"""Model registry: loads configs/models/*.yaml into ModelSpecs and resolves names, aliases, repo ids and folders."""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
from pathlib import Path
from typing import Any, Iterable, Optional

import yaml

from qwen3_server.model_spec import (
    DTYPES, Architecture, ModelSpec, RegistryError, SamplingDefaults, as_number, recommended_sampling, require,
)

_HF_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")
DEFAULT_CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs" / "models"

_SPEC_FIELDS = {f.name for f in dataclasses.fields(ModelSpec)} - {"sampling_thinking", "sampling_non_thinking"}
_REQUIRED = [f.name for f in dataclasses.fields(ModelSpec) if f.default is dataclasses.MISSING]


def _parse_nested(cls: type, data: Any, field: str) -> Any:
    """A SamplingDefaults or Architecture from a YAML mapping; errors name e.g. 'sampling.thinking.top_p'."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    require(isinstance(data, dict), field, f"must be a mapping with keys from {sorted(fields)}")
    require(not set(data) - set(fields), field, f"unknown key(s) {sorted(set(data) - set(fields))}")
    missing = [n for n, f in fields.items() if f.default is dataclasses.MISSING and n not in data]
    require(not missing, field, f"missing key(s): {', '.join(missing)}")
    values = {k: as_number(v, f"{field}.{k}") if fields[k].type == "float" else v for k, v in data.items()}
    try:
        return cls(**values)
    except RegistryError as exc:
        raise RegistryError(str(exc).replace("field '", f"field '{field}.", 1)) from None


def parse_spec(data: dict, origin: str) -> ModelSpec:
    """Build a validated ModelSpec from one YAML document; errors name the origin and the field."""
    try:
        require(isinstance(data, dict), "(top level)", "expected a mapping of model fields")
        for field in sorted(set(data) - _SPEC_FIELDS - {"sampling"}):
            require(False, field, f"unknown field; known fields: {', '.join(sorted(_SPEC_FIELDS | {'sampling'}))}")
        missing = [field for field in _REQUIRED if data.get(field) is None]
        require(not missing, ", ".join(missing), "required but missing")
        values = {k: v for k, v in data.items() if k != "sampling" and v is not None}
        require(isinstance(values.get("aliases", []), list), "aliases", "must be a list, e.g. [qwen3:8b]")
        if "architecture" in values:
            values["architecture"] = _parse_nested(Architecture, values["architecture"], "architecture")
        sampling = data.get("sampling")
        if sampling is None:
            values.update(recommended_sampling(str(data["thinking"])))
        else:
            require(isinstance(sampling, dict) and not set(sampling) - {"thinking", "non_thinking"}, "sampling",
                    "must be a mapping with keys 'thinking' and/or 'non_thinking'")
            for mode, excluded_by in (("thinking", "never"), ("non_thinking", "always")):
                if sampling.get(mode) is not None:
                    require(data["thinking"] != excluded_by, f"sampling.{mode}",
                            f"given but the model has thinking: {excluded_by}; remove it")
                    values[f"sampling_{mode}"] = _parse_nested(SamplingDefaults, sampling[mode], f"sampling.{mode}")
        return ModelSpec(**values)
    except RegistryError as exc:
        raise RegistryError(f"{origin}: {exc}") from None


def _guess_kind(text: str) -> str:
    return "moe" if any(tag in text.lower() for tag in ("a3b", "a22b", "moe")) else "dense"


def _guess_thinking(text: str) -> str:
    lowered = text.lower()
    return "never" if "instruct-2507" in lowered else "always" if "thinking-2507" in lowered else "hybrid"


def _sort_key(spec: ModelSpec) -> tuple:
    # Family = the release: the April 2025 hybrids first, then dated updates such as -2507.
    release = re.search(r"-(\d{4})(?:-|$)", spec.name)
    size = re.search(r"(\d+(?:\.\d+)?)B", spec.name)
    params = spec.architecture.num_params if spec.architecture else float(size.group(1)) * 1e9 if size else 1e15
    return (release.group(1) if release else "", spec.kind != "dense", params, spec.name.lower())


class Registry:
    """The known models, looked up by name, alias or Hugging Face repo id (all case-insensitive)."""

    def __init__(self, specs: Iterable[ModelSpec]):
        self._specs = sorted(specs, key=_sort_key)
        self._by_key: dict[str, ModelSpec] = {}
        for spec in self._specs:
            for key in {spec.name.lower(), *(a.lower() for a in spec.aliases)}:
                other = self._by_key.setdefault(key, spec)
                if other is not spec:
                    raise RegistryError(f"'{key}' is used by both {other.name} and {spec.name}; "
                                        "model names and aliases must be unique: rename or drop one")
        # Several specs may share a source (e.g. a 4-bit variant); prefer the one named like the repo.
        self._by_source: dict[str, ModelSpec] = {}
        for spec in self._specs:
            source = spec.source.lower()
            if source not in self._by_source or spec.name.lower() == source.rsplit("/", 1)[-1]:
                self._by_source[source] = spec

    @classmethod
    def load(cls, config_dir: Path = DEFAULT_CONFIG_DIR) -> "Registry":
        """Read every *.yaml in config_dir."""
        config_dir = Path(config_dir)
        if not config_dir.is_dir():
            raise RegistryError(f"model config folder {config_dir} does not exist")
        specs = []
        for path in sorted(config_dir.glob("*.yaml")):
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8"))
            except yaml.YAMLError as exc:
                raise RegistryError(f"{path}: not valid YAML: {exc}") from None
            specs.append(parse_spec(data, str(path)))
        return cls(specs)

    def all(self) -> list[ModelSpec]:
        return list(self._specs)

    def get(self, name: str) -> Optional[ModelSpec]:
        key = name.strip().lower()
        return self._by_key.get(key) or self._by_source.get(key)

    def resolve(self, name_or_path: str) -> ModelSpec:
        """A registered model, else a local checkpoint folder, else an unregistered HF repo id."""
        spec = self.get(name_or_path)
        if spec is not None:
            return spec
        path = Path(name_or_path).expanduser()
        if path.is_dir():
            return spec_from_folder(path)
        repo_id = name_or_path.strip()
        if _HF_REPO_ID.match(repo_id):
            model_name = repo_id.split("/", 1)[1]
            thinking = _guess_thinking(model_name)
            return ModelSpec(name=model_name, source=repo_id, kind=_guess_kind(model_name), thinking=thinking,
                             context_length=32768, dtype="bfloat16",
                             description="not in the registry; settings guessed from the repo name",
                             **recommended_sampling(thinking))
        raise RegistryError(self._unknown_message(name_or_path))

    def _unknown_message(self, name: str) -> str:
        labels: dict[str, str] = {}
        for spec in self._specs:
            for label in (spec.name, *spec.aliases):
                labels.setdefault(label.lower(), spec.name)
        close = difflib.get_close_matches(name.strip().lower(), list(labels), n=6, cutoff=0.6)
        suggestions = list(dict.fromkeys(labels[c] for c in close))
        message = f"unknown model '{name}'" + (" (no such folder)" if name.startswith(("/", ".", "~")) else "")
        if suggestions:
            message += f"; did you mean {', '.join(suggestions)}?"
        return message + (" Run `qwen3-server models` to list the registered models, or pass a local "
                          "checkpoint folder or a Hugging Face repo id (org/name).")


def _estimate_params(cfg: dict, moe: bool) -> tuple[float, float]:
    """(total, active) parameter counts from the config shapes."""
    hidden, heads, layers = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"]
    kv_heads = cfg.get("num_key_value_heads") or heads
    head_dim = cfg.get("head_dim") or hidden // heads
    # q/k/v/o projections + q_norm/k_norm + the two layer norms
    attention = hidden * head_dim * (2 * heads + 2 * kv_heads) + 2 * head_dim + 2 * hidden
    if cfg.get("attention_bias"):
        attention += head_dim * (heads + 2 * kv_heads) + hidden
    dense_mlp = 3 * hidden * cfg.get("intermediate_size", 0)
    total = active = 0.0
    for layer in range(layers):
        step = cfg.get("decoder_sparse_step", 1) or 1
        if moe and layer not in cfg.get("mlp_only_layers", []) and (layer + 1) % step == 0:
            expert, router = 3 * hidden * cfg["moe_intermediate_size"], hidden * cfg["num_experts"]
            total += attention + router + expert * cfg["num_experts"]
            active += attention + router + expert * cfg["num_experts_per_tok"]
        else:
            total += attention + dense_mlp
            active += attention + dense_mlp
    embeddings = cfg["vocab_size"] * hidden * (1 if cfg.get("tie_word_embeddings", False) else 2) + hidden
    return total + embeddings, active + embeddings


def spec_from_folder(path: Path, name: Optional[str] = None) -> ModelSpec:
    """A spec for a local HF checkpoint folder, read from its config.json (no transformers needed)."""
    folder = Path(path).expanduser().resolve()
    if not folder.is_dir():
        raise RegistryError(f"{folder} is not a folder; pass a Hugging Face checkpoint folder")
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise RegistryError(f"{folder} has no config.json; pass the checkpoint folder that holds config.json "
                            "and the *.safetensors files")
    try:
        cfg = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RegistryError(f"{config_path}: cannot read it as JSON: {exc}") from None
    model_type = cfg.get("model_type") if isinstance(cfg, dict) else None
    if model_type not in ("qwen3", "qwen3_moe"):
        raise RegistryError(f"{config_path}: model_type is {model_type!r}; only Qwen3 checkpoints "
                            "(model_type qwen3 or qwen3_moe) are supported")
    moe = model_type == "qwen3_moe"
    if moe and "num_experts" not in cfg and "num_local_experts" in cfg:
        cfg["num_experts"] = cfg["num_local_experts"]  # the name transformers 5 writes
    try:
        total, active = _estimate_params(cfg, moe)
        heads = cfg["num_attention_heads"]
        architecture = Architecture(
            num_params=total, num_active_params=active, num_layers=cfg["num_hidden_layers"],
            num_attention_heads=heads, num_kv_heads=cfg.get("num_key_value_heads") or heads,
            head_dim=cfg.get("head_dim") or cfg["hidden_size"] // heads, hidden_size=cfg["hidden_size"],
            vocab_size=cfg["vocab_size"], tie_word_embeddings=bool(cfg.get("tie_word_embeddings", False)),
            num_experts=cfg["num_experts"] if moe else 0,
            num_experts_per_tok=cfg["num_experts_per_tok"] if moe else 0)
    except KeyError as exc:
        raise RegistryError(f"{config_path}: missing key {exc}; is this a complete Qwen3 config?") from None
    except (TypeError, ZeroDivisionError, RegistryError) as exc:
        raise RegistryError(f"{config_path}: unexpected value: {exc}") from None
    context = cfg.get("max_position_embeddings") or 32768
    rope = cfg.get("rope_scaling") if isinstance(cfg.get("rope_scaling"), dict) else {}
    yarn = None
    if (rope.get("rope_type") or rope.get("type")) == "yarn" and rope.get("factor"):
        yarn = int(rope["factor"] * rope.get("original_max_position_embeddings", context))
    dtype = cfg.get("dtype") or cfg.get("torch_dtype") or "bfloat16"
    thinking = _guess_thinking(folder.name)
    return ModelSpec(name=name or folder.name, source=str(folder), kind="moe" if moe else "dense",
                     thinking=thinking, context_length=int(context), dtype=dtype if dtype in DTYPES else "auto",
                     architecture=architecture, description=f"local checkpoint at {folder}",
                     yarn_context_length=yarn, **recommended_sampling(thinking))
