"""Tests for the model registry: YAML configs, lookups, local folders and validation."""

import json
from pathlib import Path

import pytest
import yaml

from qwen3_server.model_spec import ModelSpec, RegistryError, SamplingDefaults
from qwen3_server.registry import DEFAULT_CONFIG_DIR, Registry, parse_spec, spec_from_folder

EXPECTED = {
    "Qwen3-0.6B": ("dense", "hybrid"),
    "Qwen3-1.7B": ("dense", "hybrid"),
    "Qwen3-4B": ("dense", "hybrid"),
    "Qwen3-8B": ("dense", "hybrid"),
    "Qwen3-14B": ("dense", "hybrid"),
    "Qwen3-32B": ("dense", "hybrid"),
    "Qwen3-30B-A3B": ("moe", "hybrid"),
    "Qwen3-235B-A22B": ("moe", "hybrid"),
    "Qwen3-4B-Instruct-2507": ("dense", "never"),
    "Qwen3-4B-Thinking-2507": ("dense", "always"),
    "Qwen3-30B-A3B-Instruct-2507": ("moe", "never"),
    "Qwen3-30B-A3B-Thinking-2507": ("moe", "always"),
    "Qwen3-235B-A22B-Instruct-2507": ("moe", "never"),
    "Qwen3-235B-A22B-Thinking-2507": ("moe", "always"),
}

QWEN3_8B_CONFIG = {
    "model_type": "qwen3", "hidden_size": 4096, "intermediate_size": 12288, "num_hidden_layers": 36,
    "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 128, "vocab_size": 151936,
    "tie_word_embeddings": False, "max_position_embeddings": 40960, "torch_dtype": "bfloat16",
}
QWEN3_30B_A3B_CONFIG = {
    "model_type": "qwen3_moe", "hidden_size": 2048, "intermediate_size": 6144, "moe_intermediate_size": 768,
    "num_hidden_layers": 48, "num_attention_heads": 32, "num_key_value_heads": 4, "head_dim": 128,
    "vocab_size": 151936, "tie_word_embeddings": False, "max_position_embeddings": 40960,
    "num_experts": 128, "num_experts_per_tok": 8, "decoder_sparse_step": 1, "mlp_only_layers": [],
    "dtype": "bfloat16",
}


def minimal(**changes):
    data = {"name": "Test-1B", "source": "org/Test-1B", "kind": "dense", "thinking": "hybrid",
            "context_length": 4096, "dtype": "bfloat16"}
    data.update(changes)
    return data


def make_folder(tmp_path: Path, name: str, config) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    if config is not None:
        (folder / "config.json").write_text(json.dumps(config))
    return folder


def test_every_yaml_parses_and_file_name_matches_model_name():
    files = sorted(DEFAULT_CONFIG_DIR.glob("*.yaml"))
    assert len(files) == len(EXPECTED)
    for path in files:
        spec = parse_spec(yaml.safe_load(path.read_text()), str(path))
        assert path.stem == spec.name.lower()
        assert spec.source == f"Qwen/{spec.name}"
        assert spec.architecture is not None and spec.architecture.vocab_size == 151936


def test_all_models_present_with_kind_and_thinking():
    registry = Registry.load()
    assert {s.name: (s.kind, s.thinking) for s in registry.all()} == EXPECTED


def test_order_is_family_then_size():
    names = [s.name for s in Registry.load().all()]
    assert names[:6] == ["Qwen3-0.6B", "Qwen3-1.7B", "Qwen3-4B", "Qwen3-8B", "Qwen3-14B", "Qwen3-32B"]
    assert names.index("Qwen3-235B-A22B") < names.index("Qwen3-4B-Instruct-2507")


def test_architecture_and_context_facts():
    registry = Registry.load()
    moe = registry.get("Qwen3-30B-A3B").architecture
    assert (moe.num_experts, moe.num_experts_per_tok, moe.num_kv_heads, moe.num_active_params) == (128, 8, 4, 3.3e9)
    assert registry.get("Qwen3-4B").architecture.tie_word_embeddings
    assert not registry.get("Qwen3-8B").architecture.tie_word_embeddings
    assert registry.get("Qwen3-8B").context_length == 32768
    assert registry.get("Qwen3-8B").yarn_context_length == 131072
    assert registry.get("Qwen3-0.6B").yarn_context_length is None
    assert registry.get("Qwen3-4B-Instruct-2507").context_length == 262144
    assert registry.get("Qwen3-4B-Instruct-2507").architecture == registry.get("Qwen3-4B").architecture


@pytest.mark.parametrize("query, expected", [
    ("qwen3:8b", "Qwen3-8B"),
    ("qwen3-8b", "Qwen3-8B"),
    ("QWEN3-8B", "Qwen3-8B"),
    ("Qwen/Qwen3-8B", "Qwen3-8B"),
    ("qwen3:30b", "Qwen3-30B-A3B"),
    ("qwen3:235b", "Qwen3-235B-A22B"),
    ("qwen3:30b-a3b-instruct-2507", "Qwen3-30B-A3B-Instruct-2507"),
    (" Qwen3-4B-Thinking-2507 ", "Qwen3-4B-Thinking-2507"),
])
def test_names_aliases_and_repo_ids_resolve(query, expected):
    registry = Registry.load()
    assert registry.get(query).name == expected
    assert registry.resolve(query).name == expected


def test_get_unknown_returns_none():
    assert Registry.load().get("qwen3:9b") is None


def test_duplicate_alias_across_specs_raises():
    a = parse_spec(minimal(name="A-1B", aliases=["shared"]), "a.yaml")
    b = parse_spec(minimal(name="B-1B", aliases=["SHARED"]), "b.yaml")
    with pytest.raises(RegistryError, match="shared"):
        Registry([a, b])


def test_duplicate_name_across_yaml_files_raises(tmp_path):
    for file_name in ("one.yaml", "two.yaml"):
        (tmp_path / file_name).write_text(yaml.safe_dump(minimal()))
    with pytest.raises(RegistryError, match="test-1b"):
        Registry.load(tmp_path)


def test_shared_source_prefers_spec_named_like_repo():
    plain = parse_spec(minimal(), "a.yaml")
    quantized = parse_spec(minimal(name="Test-1B-4bit", quantization="bnb-4bit"), "b.yaml")
    assert Registry([quantized, plain]).get("org/Test-1B") is plain


def test_bad_yaml_names_the_file(tmp_path):
    (tmp_path / "broken.yaml").write_text("name: [unclosed\n")
    with pytest.raises(RegistryError, match="broken.yaml"):
        Registry.load(tmp_path)


def test_resolve_dense_folder(tmp_path):
    folder = make_folder(tmp_path, "my-qwen3-8b", QWEN3_8B_CONFIG)
    spec = Registry.load().resolve(str(folder))
    assert (spec.kind, spec.thinking, spec.name) == ("dense", "hybrid", "my-qwen3-8b")
    assert spec.source == str(folder.resolve())
    assert spec.context_length == 40960 and spec.dtype == "bfloat16"
    assert spec.architecture.num_params == pytest.approx(8.2e9, rel=0.01)
    assert spec.sampling_for(True).temperature == 0.6


def test_resolve_moe_folder_estimates_total_and_active_params(tmp_path):
    folder = make_folder(tmp_path, "Qwen3-30B-A3B-Thinking-2507", QWEN3_30B_A3B_CONFIG)
    spec = Registry.load().resolve(str(folder))
    assert (spec.kind, spec.thinking) == ("moe", "always")
    assert spec.sampling_non_thinking is None
    assert spec.architecture.num_params == pytest.approx(30.5e9, rel=0.01)
    assert spec.architecture.num_active_params == pytest.approx(3.3e9, rel=0.02)


def test_moe_folder_written_by_transformers_5_names_experts_num_local_experts(tmp_path):
    config = dict(QWEN3_30B_A3B_CONFIG)
    config["num_local_experts"] = config.pop("num_experts")
    spec = spec_from_folder(make_folder(tmp_path, "my-moe", config))
    assert spec.kind == "moe" and spec.architecture.num_experts == 128
    assert spec.architecture.num_params == pytest.approx(30.5e9, rel=0.01)


def test_folder_name_and_dtype_defaults(tmp_path):
    config = {k: v for k, v in QWEN3_8B_CONFIG.items() if k != "torch_dtype"}
    folder = make_folder(tmp_path, "Qwen3-4B-Instruct-2507", config)
    spec = spec_from_folder(folder, name="local-instruct")
    assert (spec.name, spec.thinking, spec.dtype) == ("local-instruct", "never", "bfloat16")
    assert spec.sampling_thinking is None


def test_non_qwen3_folder_raises(tmp_path):
    folder = make_folder(tmp_path, "llama", {"model_type": "llama", "hidden_size": 4096})
    with pytest.raises(RegistryError, match="llama"):
        Registry.load().resolve(str(folder))


def test_folder_without_config_raises(tmp_path):
    folder = make_folder(tmp_path, "empty", None)
    with pytest.raises(RegistryError, match="config.json"):
        Registry.load().resolve(str(folder))


def test_unregistered_repo_id_gets_guessed_spec():
    registry = Registry.load()
    spec = registry.resolve("someone/Qwen3-30B-A3B-Instruct-2507-abliterated")
    assert (spec.name, spec.source) == ("Qwen3-30B-A3B-Instruct-2507-abliterated",
                                       "someone/Qwen3-30B-A3B-Instruct-2507-abliterated")
    assert (spec.kind, spec.thinking, spec.context_length, spec.dtype) == ("moe", "never", 32768, "bfloat16")
    assert spec.sampling_thinking is None and spec.sampling_for(False).top_p == 0.8
    hybrid = registry.resolve("someone/Qwen3-8B-finetune")
    assert (hybrid.kind, hybrid.thinking) == ("dense", "hybrid")
    assert registry.resolve("someone/Qwen3-4B-Thinking-2507-x").thinking == "always"


def test_unknown_name_suggests_close_match():
    with pytest.raises(RegistryError) as info:
        Registry.load().resolve("qwen3-8")
    assert "Qwen3-8B" in str(info.value)
    assert "qwen3-server models" in str(info.value)


def test_sampling_for_picks_mode_and_falls_back():
    registry = Registry.load()
    hybrid = registry.get("Qwen3-8B")
    assert hybrid.sampling_for(True) == SamplingDefaults(temperature=0.6, top_p=0.95, top_k=20, min_p=0.0)
    assert hybrid.sampling_for(False) == SamplingDefaults(temperature=0.7, top_p=0.8, top_k=20, min_p=0.0)
    instruct = registry.get("Qwen3-4B-Instruct-2507")
    assert instruct.sampling_thinking is None
    assert instruct.sampling_for(True) == instruct.sampling_non_thinking
    thinking = registry.get("Qwen3-4B-Thinking-2507")
    assert thinking.sampling_non_thinking is None
    assert thinking.sampling_for(False) == thinking.sampling_thinking
    bare = ModelSpec(name="x", source="x", kind="dense", thinking="hybrid", context_length=1, dtype="auto")
    assert bare.sampling_for(True) is None


def test_missing_sampling_section_gets_qwen_defaults():
    spec = parse_spec(minimal(thinking="never"), "t.yaml")
    assert spec.sampling_thinking is None and spec.sampling_non_thinking.temperature == 0.7


def test_numbers_written_without_exponent_sign_are_accepted():
    # YAML 1.1 reads 8.2e9 as a string; the parser must still accept it.
    arch = yaml.safe_load("{num_params: 8.2e9, num_active_params: 8.2e9, num_layers: 36, num_attention_heads: 32,"
                          " num_kv_heads: 8, head_dim: 128, hidden_size: 4096, vocab_size: 151936,"
                          " tie_word_embeddings: false}")
    assert parse_spec(minimal(architecture=arch), "t.yaml").architecture.num_params == 8.2e9


@pytest.mark.parametrize("changes, field", [
    ({"thinking": "sometimes"}, "thinking"),
    ({"quantization": "gptq"}, "quantization"),
    ({"kind": "sparse"}, "kind"),
    ({"dtype": "int8"}, "dtype"),
    ({"context_length": -5}, "context_length"),
    ({"thinking_budget": 0}, "thinking_budget"),
    ({"temperature": 0.5}, "temperature"),
    ({"aliases": "qwen3:1b"}, "aliases"),
    ({"thinking": "never", "default_thinking": True}, "default_thinking"),
    ({"sampling": {"thinking": {"temperature": 0.6, "top_p": 1.5, "top_k": 20}}}, "sampling.thinking.top_p"),
    ({"thinking": "never", "sampling": {"thinking": {"temperature": 0.6, "top_p": 0.9, "top_k": 20}}},
     "sampling.thinking"),
    ({"kind": "moe", "architecture": {"num_params": 1e9, "num_active_params": 1e9, "num_layers": 2,
                                      "num_attention_heads": 2, "num_kv_heads": 2, "head_dim": 8,
                                      "hidden_size": 16, "vocab_size": 10, "tie_word_embeddings": True}},
     "architecture.num_experts"),
])
def test_parse_spec_rejects_bad_fields_naming_origin_and_field(changes, field):
    with pytest.raises(RegistryError) as info:
        parse_spec(minimal(**changes), "configs/models/bad.yaml")
    assert "configs/models/bad.yaml" in str(info.value)
    assert f"'{field}'" in str(info.value)


def test_parse_spec_reports_missing_required_field():
    data = minimal()
    del data["source"]
    with pytest.raises(RegistryError, match="source"):
        parse_spec(data, "x.yaml")


def test_with_overrides_validates():
    spec = Registry.load().get("Qwen3-8B")
    quantized = spec.with_overrides(quantization="bnb-4bit", default_thinking=False)
    assert (quantized.quantization, quantized.default_thinking, quantized.name) == ("bnb-4bit", False, "Qwen3-8B")
    assert spec.quantization is None
    with pytest.raises(RegistryError, match="quantization"):
        spec.with_overrides(quantization="awq")
    with pytest.raises(RegistryError, match="colour"):
        spec.with_overrides(colour="red")
