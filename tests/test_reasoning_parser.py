"""Tests for the Qwen3 reasoning/content splitter: whole-output, token-by-token and chunked feeding agree."""

import random

import pytest

from qwen3_server.checkpoints.build import qwen3_tokenizer
from qwen3_server.parsers.reasoning import (
    THINK_END_ID,
    THINK_START_ID,
    ReasoningParser,
    Segment,
    prompt_opens_reasoning,
    split_reasoning,
)

IM_START_ID = 151644


@pytest.fixture(scope="module")
def tok():
    return qwen3_tokenizer()


def encode(tok, text):
    ids = tok.encode(text, add_special_tokens=False)
    return ids, [tok.decode([i]) for i in ids]


def stream(parser, ids, texts, chunk_sizes):
    """Feeds the output in chunks; returns every feed()'s segment list plus finish()."""
    calls, pos = [], 0
    for size in chunk_sizes:
        calls.append(parser.feed(ids[pos : pos + size], texts[pos : pos + size]))
        pos += size
    assert pos == len(ids)
    calls.append(parser.finish())
    return calls


def random_chunks(n, seed):
    rng, sizes = random.Random(seed), []
    while sum(sizes) < n:
        sizes.append(min(rng.randint(1, 4), n - sum(sizes)))
    return sizes


def collect(calls):
    segments = [s for call in calls for s in call]
    reasoning = "".join(s.text for s in segments if s.kind == "reasoning")
    content = "".join(s.text for s in segments if s.kind == "content")
    return (reasoning or None), content, segments


# (thinking, output text, expected reasoning, expected content)
CASES = {
    "thinking_on": (True, "<think>\nLet me think.\n</think>\n\nThe answer.", "Let me think.", "The answer."),
    "thinking_2507_no_open_tag": (True, "Let me think.\n</think>\n\nAnswer", "Let me think.", "Answer"),
    "empty_think_block": (True, "<think>\n\n</think>\n\nHi", None, "Hi"),
    "whitespace_only_reasoning": (True, "<think>\n  \n \t\n</think>\n\nHi", None, "Hi"),
    "truncated_thinking": (True, "<think>\nStill thinking about it", "Still thinking about it", ""),
    "truncated_thinking_trailing_ws": (True, "<think>\nStill thinking \n\n", "Still thinking", ""),
    "thinking_off": (False, "Just the answer.\n\nSecond line.", None, "Just the answer.\n\nSecond line."),
    "thinking_off_model_thinks_anyway": (False, "<think>x</think>\n\ny", "x", "y"),
    "inner_blank_lines_kept": (True, "<think>\na\n\nb\n</think>\n\nc", "a\n\nb", "c"),
    "inner_ws_run_kept": (True, "<think>\na \n  b\n</think>\n\nc", "a \n  b", "c"),
    "trailing_ws_before_end_dropped": (True, "<think>\nabc  \n \n\n</think>\n\nd", "abc", "d"),
    "content_keeps_leading_spaces": (True, "<think>\nr\n</think>\n\n  indented", "r", "  indented"),
    "content_loses_leading_newlines": (True, "<think>\nr\n</think>\n\n\n\nbody\n", "r", "body\n"),
    "literal_think_in_content": (
        True,
        "<think>\nr\n</think>\n\nUse the <think> tag like <think>this</think>.",
        "r",
        "Use the <think> tag like <think>this</think>.",
    ),
    "thinking_off_literal_think_later": (False, "Tags: <think> and </think> end", None, "Tags: <think> and </think> end"),
    "content_trailing_newlines_kept": (True, "<think>\nr\n</think>\n\nanswer\n\n", "r", "answer\n\n"),
}


@pytest.mark.parametrize("thinking, text, reasoning, content", list(CASES.values()), ids=list(CASES))
def test_split_whole_output(tok, thinking, text, reasoning, content):
    ids, texts = encode(tok, text)
    assert split_reasoning(ids, texts, thinking) == (reasoning, content)


@pytest.mark.parametrize("thinking, text, reasoning, content", list(CASES.values()), ids=list(CASES))
def test_split_one_token_at_a_time(tok, thinking, text, reasoning, content):
    ids, texts = encode(tok, text)
    calls = stream(ReasoningParser(thinking), ids, texts, [1] * len(ids))
    got_reasoning, got_content, segments = collect(calls)
    assert (got_reasoning, got_content) == (reasoning, content)
    assert_well_formed(calls, segments, ids)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("thinking, text, reasoning, content", list(CASES.values()), ids=list(CASES))
def test_split_random_chunks(tok, thinking, text, reasoning, content, seed):
    ids, texts = encode(tok, text)
    calls = stream(ReasoningParser(thinking), ids, texts, random_chunks(len(ids), seed))
    got_reasoning, got_content, segments = collect(calls)
    assert (got_reasoning, got_content) == (reasoning, content)
    assert_well_formed(calls, segments, ids)


def assert_well_formed(calls, segments, ids):
    for call in calls:
        for seg in call:
            assert isinstance(seg, Segment) and seg.kind in ("reasoning", "content") and seg.text
        for a, b in zip(call, call[1:]):
            assert a.kind != b.kind, f"feed() returned unmerged segments {call}"
    if ids.count(THINK_END_ID) <= 1:
        switches = sum(a.kind != b.kind for a, b in zip(segments, segments[1:]))
        assert switches <= 1, [s.kind for s in segments]
        if segments and segments[0].kind == "content":
            assert all(s.kind == "content" for s in segments)


def test_whole_feed_equals_single_merged_call(tok):
    ids, texts = encode(tok, "<think>\nLet me think.\n</think>\n\nThe answer.")
    parser = ReasoningParser(thinking=True)
    assert parser.feed(ids, texts) == [Segment("reasoning", "Let me think."), Segment("content", "The answer.")]


@pytest.mark.parametrize(
    "thinking, text, expected",
    [
        (True, "<think>\nLet me think.\n</think>\n\nThe answer.", "through_end"),
        (True, "Let me think.\n</think>\n\nAnswer", "through_end"),
        (True, "<think>\nnever closed", "all"),
        (False, "plain answer here", 0),
        (False, "<think>x</think>\n\ny", "through_end"),
    ],
    ids=["thinking_on", "no_open_tag", "truncated", "thinking_off", "off_but_thinks"],
)
@pytest.mark.parametrize("chunk", [1, 3, 1000], ids=["chunk1", "chunk3", "whole"])
def test_num_reasoning_tokens(tok, thinking, text, expected, chunk):
    ids, texts = encode(tok, text)
    if expected == "through_end":
        expected = ids.index(THINK_END_ID) + 1
    elif expected == "all":
        expected = len(ids)
    parser = ReasoningParser(thinking)
    for pos in range(0, len(ids), chunk):
        parser.feed(ids[pos : pos + chunk], texts[pos : pos + chunk])
    parser.finish()
    assert parser.num_reasoning_tokens == expected


def test_reasoning_streams_before_end_tag(tok):
    """Reasoning text is released while the model is still thinking, not only at </think>."""
    ids, texts = encode(tok, "<think>\nStep one. Step two.")
    parser = ReasoningParser(thinking=True)
    released = "".join(s.text for i in range(len(ids)) for s in parser.feed(ids[i : i + 1], texts[i : i + 1]))
    assert released == "Step one. Step two."


def test_held_whitespace_released_when_reasoning_continues(tok):
    parser = ReasoningParser(thinking=True)
    assert parser.feed([64], ["a"]) == [Segment("reasoning", "a")]
    assert parser.feed([271], ["\n\n"]) == []
    assert parser.feed([65], ["b"]) == [Segment("reasoning", "\n\nb")]


def test_token_ids_used_not_text(tok):
    """Only token 151668 closes reasoning; a text '</think>' from other tokens does not."""
    ids, texts = encode(tok, "<think>\nI wrote </think")
    ids, texts = ids + [29], texts + [">"]  # '>' as a separate token: literal text, not the special id
    assert THINK_END_ID not in ids
    assert split_reasoning(ids, texts, True) == ("I wrote </think>", "")


def test_encoding_facts(tok):
    assert tok.encode("<think>", add_special_tokens=False) == [THINK_START_ID]
    assert tok.encode("</think>", add_special_tokens=False) == [THINK_END_ID]
    assert tok.encode("<|im_start|>", add_special_tokens=False) == [IM_START_ID]


HISTORY = (
    "<|im_start|>user\nq1<|im_end|>\n<|im_start|>assistant\n<think>\nold\n</think>\n\na1<|im_end|>\n"
    "<|im_start|>user\nq2<|im_end|>\n"
)


@pytest.mark.parametrize(
    "prompt, expected",
    [
        ("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n", True),
        ("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n", False),
        (HISTORY + "<|im_start|>assistant\n", True),
        (HISTORY + "<|im_start|>assistant\n<think>\n\n</think>\n\n", False),
        ("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n", True),
    ],
    ids=["thinking_on", "thinking_off", "history_with_think_end_then_fresh", "history_then_off", "2507_open_think"],
)
def test_prompt_opens_reasoning(tok, prompt, expected):
    ids = tok.encode(prompt, add_special_tokens=False)
    assert ids.count(IM_START_ID) >= 2
    assert prompt_opens_reasoning(ids) is expected


def detokenized(tok, text, stop, starts_in_reasoning):
    """The per-token texts the engine really sends: IncrementalDetokenizer output, flush on the last token."""
    from qwen3_server.engine.detokenizer import IncrementalDetokenizer

    ids = tok.encode(text, add_special_tokens=False)
    detok = IncrementalDetokenizer(tok, stop, (THINK_START_ID, THINK_END_ID), starts_in_reasoning)
    texts = [detok.step(i) for i in ids]
    texts[-1] += detok.flush()
    return ids, texts


@pytest.mark.parametrize(
    "text, stop, expected",
    [
        ("<think>\n你好 🚀\n</think>\n\n世界 🚀", (), ("你好 🚀", "世界 🚀")),
        ("<think>\nabc def\n</think>\n\nThe answer", ("STOP",), ("abc def", "The answer")),
        ("<think>\nsay STOP\n</think>\n\nok then", ("STOP",), ("say STOP", "ok then")),
    ],
    ids=["cjk_emoji_partial_texts", "stop_held_in_content", "stop_inside_reasoning_ignored"],
)
def test_split_with_detokenizer_texts_thinking_on(tok, text, stop, expected):
    ids, texts = detokenized(tok, text, stop, True)
    assert "" in texts
    assert split_reasoning(ids, texts, True) == expected


def test_split_with_detokenizer_texts_thinking_off_model_thinks_with_stop(tok):
    ids, texts = detokenized(tok, "<think>x</think>\n\ny", ("STOP",), False)
    assert split_reasoning(ids, texts, False) == ("x", "y")
