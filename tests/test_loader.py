"""Loading real (tiny) checkpoints through transformers: dtypes, bitsandbytes on CPU, clear failures."""

from __future__ import annotations

import json

import pytest
import torch

from qwen3_server.loader import LoadError, load_model
from qwen3_server.registry import Registry, spec_from_folder


def forward_ok(loaded) -> torch.Tensor:
    ids = torch.tensor([loaded.tokenizer.encode("Hello world!")])
    with torch.inference_mode():
        logits = loaded.model(ids).logits
    assert logits.shape == (1, 3, 151936) and torch.isfinite(logits.float()).all()
    return logits


@pytest.mark.parametrize("checkpoint", ["dense_checkpoint", "moe_checkpoint"])
@pytest.mark.parametrize("quantization,expected_layer", [("bnb-8bit", "Linear8bitLt"), ("bnb-4bit", "Linear4bit")])
def test_bitsandbytes_quantized_load_runs_on_cpu(request, checkpoint, quantization, expected_layer):
    path = request.getfixturevalue(checkpoint)
    loaded = load_model(spec_from_folder(path), device="cpu", dtype="bfloat16", quantization=quantization)
    assert type(loaded.model.model.layers[0].self_attn.q_proj).__name__ == expected_layer
    reference = load_model(spec_from_folder(path), device="cpu", dtype="float32")
    quantized, full = forward_ok(loaded).float(), forward_ok(reference)
    # Quantized logits stay close to full precision: same shape, strongly correlated.
    correlation = torch.corrcoef(torch.stack([quantized.flatten(), full.flatten()]))[0, 1]
    assert correlation > 0.9


def test_dtype_and_facts_of_a_loaded_checkpoint(dense_checkpoint):
    loaded = load_model(spec_from_folder(dense_checkpoint), device="cpu", dtype="bfloat16")
    assert loaded.model.dtype == torch.bfloat16
    assert loaded.eos_token_ids >= {151645, 151643}
    assert loaded.max_model_len == 32768
    assert loaded.tokenizer.chat_template and "<think>" in loaded.tokenizer.chat_template
    forward_ok(loaded)


def test_max_model_len_override_is_checked(dense_checkpoint):
    spec = spec_from_folder(dense_checkpoint)
    assert load_model(spec, device="cpu", max_model_len=1024).max_model_len == 1024
    with pytest.raises(LoadError, match="positions"):
        load_model(spec, device="cpu", max_model_len=10**7)


def test_unreachable_weights_give_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    spec = Registry.load().resolve("qwen3:8b")
    with pytest.raises(LoadError) as raised:
        load_model(spec, device="cpu")
    message = str(raised.value)
    assert "Qwen/Qwen3-8B" in message and "hf download" in message and "Traceback" not in message


def test_non_qwen3_checkpoint_is_refused(tmp_path, dense_checkpoint):
    folder = tmp_path / "llama"
    folder.mkdir()
    config = json.loads((dense_checkpoint / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "model_type": "llama"}))
    spec = spec_from_folder(dense_checkpoint).with_overrides(source=str(folder))
    with pytest.raises(LoadError, match="llama"):
        load_model(spec, device="cpu")


def test_cuda_without_a_gpu_is_a_clear_error(dense_checkpoint):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(LoadError, match="no CUDA GPU"):
        load_model(spec_from_folder(dense_checkpoint), device="cuda")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_device_auto_places_the_model_on_the_gpu(dense_checkpoint):
    loaded = load_model(spec_from_folder(dense_checkpoint), device="auto", dtype="bfloat16")
    assert loaded.model.get_input_embeddings().weight.device.type == "cuda"
