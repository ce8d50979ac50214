"""Writes tiny Qwen3 checkpoints (random or scripted weights) with the real tokenizer, for demos and tests."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterable, Literal, Sequence

from qwen3_server.checkpoints.tokenizer import build_qwen3_tokenizer

VOCAB_SIZE = 151936
IM_END_ID = 151645
ENDOFTEXT_ID = 151643
# Bump when what a builder writes changes, so cached checkpoints are rebuilt.
BUILD_VERSION = 1

_TOKENIZER = None


def qwen3_tokenizer():
    """The offline Qwen3 tokenizer, built once per process (building takes a few seconds)."""
    global _TOKENIZER
    if _TOKENIZER is None:
        _TOKENIZER = build_qwen3_tokenizer()
    return _TOKENIZER


def _small_config(kind: Literal["dense", "moe"], hidden_size: int, num_layers: int, init_scale: float, **overrides):
    """A Qwen3 or Qwen3-MoE config: small defaults, real vocabulary and special ids; overrides win."""
    from transformers import Qwen3Config, Qwen3MoeConfig

    fields = dict(
        vocab_size=VOCAB_SIZE,
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=hidden_size // 4,
        intermediate_size=hidden_size * 3,
        max_position_embeddings=32768,
        initializer_range=init_scale,
        bos_token_id=ENDOFTEXT_ID,
        eos_token_id=IM_END_ID,
        pad_token_id=ENDOFTEXT_ID,
        tie_word_embeddings=True,
    )
    if kind == "moe":
        fields.update(moe_intermediate_size=hidden_size, num_experts=8, num_experts_per_tok=2, norm_topk_prob=True)
    fields.update(overrides)
    return (Qwen3MoeConfig if kind == "moe" else Qwen3Config)(**fields)


def _write_atomically(target: Path, write) -> Path:
    """Build into a temporary sibling folder, then rename, so a crash never leaves half a checkpoint."""
    target = Path(target)
    if (target / "config.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        write(staging)
        try:
            os.replace(staging, target)
        except OSError:  # another process finished first
            shutil.rmtree(staging, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _save(model, folder: Path, note: str) -> None:
    from transformers import GenerationConfig

    model.save_pretrained(folder)
    qwen3_tokenizer().save_pretrained(folder)
    GenerationConfig(
        bos_token_id=ENDOFTEXT_ID, eos_token_id=[IM_END_ID, ENDOFTEXT_ID], pad_token_id=ENDOFTEXT_ID
    ).save_pretrained(folder)
    (folder / "README.md").write_text(note + "\n")


def build_random_checkpoint(
    target: Path,
    kind: Literal["dense", "moe"] = "dense",
    hidden_size: int = 64,
    num_layers: int = 2,
    seed: int = 0,
    init_scale: float = 0.4,
    **config_overrides,
) -> Path:
    """A tiny Qwen3 (dense) or Qwen3-MoE with random weights; its output is gibberish by design.

    The init scale is far above transformers' 0.02 because small random weights make greedy decoding
    collapse onto one repeated token, which would make tests prove little.
    """
    import torch
    from transformers import AutoModelForCausalLM

    def write(folder: Path) -> None:
        torch.manual_seed(seed)
        config = _small_config(kind, hidden_size, num_layers, init_scale, **config_overrides)
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        _save(model, folder, f"Tiny random Qwen3 ({kind}) built by qwen3-server. It talks gibberish.")

    return _write_atomically(target, write)


def chain_transitions(chains: Iterable[Sequence[int]]) -> dict[int, int]:
    """Merges token chains into one next-token table; chains may share tails but never disagree."""
    transitions: dict[int, int] = {}
    for chain in chains:
        for current, following in zip(chain, chain[1:]):
            if transitions.setdefault(current, following) != following:
                raise ValueError(f"token {current} is followed by both {transitions[current]} and {following}")
    return transitions


def build_scripted_checkpoint(target: Path, chains: Iterable[Sequence[int]], hidden_size: int = 64) -> Path:
    """A 1-layer Qwen3 whose greedy (and any sane sampled) output follows fixed token chains.

    Attention and MLP outputs are zeroed so the last hidden state is the embedding of the last token:
    chain token k embeds to one-hot dimension k+1, and the untied lm_head maps that dimension to the
    token that follows it with a large logit. Dimension 0 is a small constant in every embedding that
    lm_head maps to <|im_end|>, so any token off the script ends the generation.
    """
    import torch
    from transformers import AutoModelForCausalLM

    transitions = chain_transitions(chains)
    if len(transitions) >= hidden_size:
        raise ValueError(f"{len(transitions)} chain tokens need hidden_size > {len(transitions)}")

    def write(folder: Path) -> None:
        config = _small_config("dense", hidden_size, 1, 0.02, tie_word_embeddings=False)
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        with torch.no_grad():
            layer = model.model.layers[0]
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
            embedding = model.model.embed_tokens.weight
            embedding.zero_()
            embedding[:, 0] = 0.1
            head = model.lm_head.weight
            head.zero_()
            head[IM_END_ID, 0] = 10.0
            for dimension, (current, following) in enumerate(sorted(transitions.items()), start=1):
                embedding[current, dimension] = 1.0
                head[following, dimension] = 10.0
        script = {"chains": [list(chain) for chain in chains] if isinstance(chains, list) else None}
        _save(model, folder, "Scripted Qwen3 built by qwen3-server tests: " + json.dumps(script))

    return _write_atomically(target, write)
