"""Tests for memory estimates, size parsing and the models table."""

import pytest

from qwen3_server.memory import (
    GiB,
    MemoryEstimate,
    bytes_per_param,
    estimate_memory,
    fits,
    format_size,
    local_gpu_memory,
    parse_size,
    render_models_table,
)
from qwen3_server.registry import Registry

MiB = 1024**2


def arch(name):
    return Registry.load().get(name).architecture


@pytest.mark.parametrize("text, expected", [
    ("12GiB", 12 * GiB),
    ("12 GB", 12 * GiB),
    ("24G", 24 * GiB),
    ("512MiB", 512 * MiB),
    ("80gib", 80 * GiB),
    ("1.5 GiB", 3 * GiB // 2),
    ("2TB", 2048 * GiB),
    ("640K", 640 * 1024),
    ("100B", 100),
    (" 16g ", 16 * GiB),
])
def test_parse_size(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "12", "GiB", "twelve GiB", "12 XB", "-4GiB", "0GiB", "12 GiB extra"])
def test_parse_size_rejects_bad_text(text):
    with pytest.raises(ValueError, match="GiB"):
        parse_size(text)


@pytest.mark.parametrize("num_bytes, expected", [
    (7.6 * GiB, "7.6 GiB"), (12 * GiB, "12.0 GiB"), (512 * MiB, "512.0 MiB"), (2048, "2.0 KiB"), (10, "10 B"),
])
def test_format_size(num_bytes, expected):
    assert format_size(num_bytes) == expected


def test_bytes_per_param():
    assert bytes_per_param("bfloat16") == bytes_per_param("float16") == bytes_per_param("bf16") == 2
    assert bytes_per_param("float32") == 4
    assert bytes_per_param("bnb-8bit") == 1
    assert bytes_per_param("bnb-4bit") == pytest.approx(4.127 / 8, abs=1e-3)
    with pytest.raises(ValueError, match="precision"):
        bytes_per_param("int3")


def test_qwen3_8b_bf16_weights():
    estimate = estimate_memory(arch("Qwen3-8B"), "bfloat16", context_tokens=0)
    assert estimate.weights_bytes == pytest.approx(8.2e9 * 2, rel=0.01)
    assert estimate.weights_bytes / GiB == pytest.approx(15.3, rel=0.02)
    assert estimate.kv_cache_bytes == 0
    assert estimate.overhead_bytes == pytest.approx(0.5 * GiB + 0.05 * estimate.weights_bytes, abs=1)


def test_4bit_keeps_embeddings_in_16bit():
    a = arch("Qwen3-8B")
    bf16 = estimate_memory(a, "bfloat16", 0).weights_bytes
    nf4 = estimate_memory(a, "bnb-4bit", 0).weights_bytes
    assert nf4 < bf16 / 2
    assert nf4 > a.num_params * 0.5
    embeddings = 2 * a.vocab_size * a.hidden_size  # embed_tokens + untied lm_head
    expected = embeddings * 2 + (a.num_params - embeddings) * bytes_per_param("bnb-4bit")
    assert nf4 == pytest.approx(expected, abs=1)


def test_kv_cache_is_exact():
    per_token = 2 * 36 * 8 * 128 * 2
    assert per_token == 147456
    estimate = estimate_memory(arch("Qwen3-8B"), "bfloat16", context_tokens=1)
    assert estimate.kv_cache_bytes == per_token
    batched = estimate_memory(arch("Qwen3-8B"), "bnb-4bit", context_tokens=8192, num_sequences=4)
    assert batched.kv_cache_bytes == per_token * 8192 * 4
    fp32_kv = estimate_memory(arch("Qwen3-8B"), "bfloat16", context_tokens=10, kv_dtype_bytes=4)
    assert fp32_kv.kv_cache_bytes == 2 * per_token * 10


def test_total_and_fits():
    estimate = MemoryEstimate(weights_bytes=5, kv_cache_bytes=3, overhead_bytes=2)
    assert estimate.total_bytes == 10
    assert fits(estimate, 10) and not fits(estimate, 9)


def test_12gib_gpu():
    gpu = parse_size("12GiB")
    assert fits(estimate_memory(arch("Qwen3-4B"), "bnb-4bit", 8192), gpu)
    assert not fits(estimate_memory(arch("Qwen3-32B"), "bfloat16", 8192), gpu)


def test_estimate_rejects_bad_arguments():
    with pytest.raises(ValueError):
        estimate_memory(arch("Qwen3-8B"), "bfloat16", context_tokens=-1)
    with pytest.raises(ValueError):
        estimate_memory(arch("Qwen3-8B"), "bfloat16", context_tokens=10, num_sequences=0)


def test_local_gpu_memory_never_raises():
    result = local_gpu_memory()
    assert result is None or result > 0


def test_render_table_with_gpu():
    specs = Registry.load().all()
    table = render_models_table(specs, ["bfloat16", "bnb-4bit"], 8192, parse_size("12GiB"))
    for spec in specs:
        assert spec.name in table
        assert spec.aliases[0] in table
    assert "✓" in table and "✗" in table
    assert "8,192" in table and "12.0 GiB" in table
    assert len(table.splitlines()) == len(specs) + 4  # two header lines, a blank, the column titles


def test_render_table_without_gpu_and_without_architecture():
    spec = Registry.load().get("Qwen3-8B")
    bare = spec.with_overrides(name="Custom-8B", aliases=(), architecture=None)
    table = render_models_table([spec, bare], ["bfloat16"], 4096, None)
    assert "--gpu-memory" in table
    assert "✓" not in table and "✗" not in table
    custom_row = next(line for line in table.splitlines() if line.startswith("Custom-8B"))
    assert custom_row.rstrip().endswith("?")
