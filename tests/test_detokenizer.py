"""Tests for IncrementalDetokenizer with the real Qwen3 tokenizer: exact text, no broken UTF-8, stop strings."""

import pytest

from qwen3_server.checkpoints.build import qwen3_tokenizer
from qwen3_server.engine.detokenizer import IncrementalDetokenizer

THINK_START_ID, THINK_END_ID = 151667, 151668
EOS_ID, ENDOFTEXT_ID, IM_START_ID = 151645, 151643, 151644
TOOL_CALL_ID, TOOL_CALL_END_ID, TOOL_RESPONSE_ID, TOOL_RESPONSE_END_ID = 151657, 151658, 151665, 151666

TEXTS = {
    "ascii": "Hello, world! The answer is 42.\n\n  Indented line\twith tab.",
    "leading_space": " starts with a space",
    "leading_newlines": "\n\nafter blank lines",
    "chinese": "你好，世界！我们今天学习自然语言处理。",
    "rare_cjk": "𪚥𠀀龘 鬱",
    "emoji": "I ❤️ 🦙🚀 and 👨‍👩‍👧 family, ok 👍🏽",
    "mixed": "Résumé: naïve café — 東京 🗼 done.",
}
LONG = "The quick brown fox jumps over the lazy dog"


@pytest.fixture(scope="module")
def tok():
    return qwen3_tokenizer()


def ids_of(tok, text):
    return tok.encode(text, add_special_tokens=False)


def run(tok, token_ids, **kwargs):
    """Steps until the end or a stop; returns (released pieces, detokenizer, tokens consumed)."""
    detok = IncrementalDetokenizer(tok, **kwargs)
    pieces = []
    for n, token_id in enumerate(token_ids, 1):
        pieces.append(detok.step(token_id))
        if detok.stopped:
            return pieces, detok, n
    return pieces, detok, len(token_ids)


@pytest.mark.parametrize("text", list(TEXTS.values()), ids=list(TEXTS))
@pytest.mark.parametrize("stop", [(), ("ZZZZZZ",)], ids=["no_stop", "unmatched_stop"])
def test_roundtrip_exact_and_no_replacement_char(tok, text, stop):
    token_ids = ids_of(tok, text)
    pieces, detok, _ = run(tok, token_ids, stop=stop)
    assert not detok.stopped
    assert all("\ufffd" not in piece for piece in pieces), pieces
    assert "".join(pieces) + detok.flush() == text


@pytest.mark.parametrize("text", ["rare_cjk", "emoji"])
def test_partial_characters_are_held(tok, text):
    """These texts really split characters across byte-level tokens, so some steps must return ''."""
    token_ids = ids_of(tok, TEXTS[text])
    pieces, _, _ = run(tok, token_ids)
    assert any(tok.decode([i]) == "\ufffd" or "\ufffd" in tok.decode([i]) for i in token_ids)
    assert "" in pieces


@pytest.mark.parametrize(
    "stop",
    ["quick", "quick brown", "k b", "fox jumps over", "x j", "dog", "The", "lazy dog"],
    ids=["one_token", "two_tokens", "mid_token_span", "three_tokens", "inside_span", "last", "first", "tail"],
)
def test_stop_string_cuts_before_stop(tok, stop):
    token_ids = ids_of(tok, LONG)
    pieces, detok, consumed = run(tok, token_ids, stop=(stop,))
    released = "".join(pieces)
    assert detok.stopped
    assert released == LONG[: LONG.index(stop)]
    assert stop not in released
    # It stops on the token that completes the stop string, not later.
    assert tok.decode(token_ids[:consumed]).find(stop) >= 0
    assert tok.decode(token_ids[: consumed - 1]).find(stop) < 0


def test_stop_never_leaks_at_any_step(tok):
    stop = "brown fox jumps"
    pieces, detok, _ = run(tok, ids_of(tok, LONG), stop=(stop,))
    so_far = ""
    for piece in pieces:
        so_far += piece
        assert stop not in so_far and not so_far.endswith(("brown", "brown fox"))
    assert detok.stopped and so_far == "The quick "


@pytest.mark.parametrize(
    "text, stops, expected",
    [
        ("Hello STOP world", ("xyz", "STOP"), "Hello "),
        ("STOP right away", ("STOP",), ""),
        ("你好世界再见", ("世界",), "你好"),
        ("rockets 🚀🚀 fly", ("🚀",), "rockets "),
        ("line one\n\nline two", ("\n\n",), "line one"),
        ("abc<think>def", ("<think>",), "abc"),
    ],
    ids=["several_stops", "first_token", "cjk_stop", "emoji_stop", "newlines_stop", "special_text_stop"],
)
def test_stop_string_cases(tok, text, stops, expected):
    pieces, detok, _ = run(tok, ids_of(tok, text), stop=stops)
    assert detok.stopped
    assert "".join(pieces) == expected
    assert detok.flush() == ""


def test_held_text_released_by_flush(tok):
    text = "Hello world, no stop here"
    pieces, detok, _ = run(tok, ids_of(tok, text), stop=("STOPSTOP",))
    released = "".join(pieces)
    assert not detok.stopped
    assert released != text and text.startswith(released)  # something was held back
    assert len(text) - len(released) <= len("STOPSTOP") - 1
    assert released + detok.flush() == text
    assert detok.flush() == ""


def test_partial_stop_prefix_released_by_flush(tok):
    """The output ends in a prefix of the stop string: held, then released at the end."""
    pieces, detok, _ = run(tok, ids_of(tok, "The end is ST"), stop=("STOP",))
    assert not detok.stopped
    assert "".join(pieces) + detok.flush() == "The end is ST"


def test_no_stop_strings_hold_nothing(tok):
    token_ids = ids_of(tok, TEXTS["ascii"])
    detok = IncrementalDetokenizer(tok)
    assert [detok.step(i) for i in token_ids] == [tok.decode([i]) for i in token_ids]
    assert detok.flush() == ""


THOUGHT = "<think>\nI could say STOP here.\n</think>\n\nAnswer: go STOP now"


def test_stop_inside_reasoning_ignored_when_after_think_end(tok):
    token_ids = ids_of(tok, THOUGHT)
    assert token_ids.count(THINK_END_ID) == 1
    pieces, detok, _ = run(tok, token_ids, stop=("STOP",), reasoning_delimiters=(THINK_START_ID, THINK_END_ID), starts_in_reasoning=True)
    assert detok.stopped
    assert "".join(pieces) == "<think>\nI could say STOP here.\n</think>\n\nAnswer: go "


def test_stop_inside_reasoning_stops_without_after_token(tok):
    pieces, detok, _ = run(tok, ids_of(tok, THOUGHT), stop=("STOP",))
    assert detok.stopped
    assert "".join(pieces) == "<think>\nI could say "


def test_stop_never_active_without_think_end(tok):
    text = "<think>\nSTOP and STOP again, truncated"
    pieces, detok, _ = run(tok, ids_of(tok, text), stop=("STOP",), reasoning_delimiters=(THINK_START_ID, THINK_END_ID), starts_in_reasoning=True)
    assert not detok.stopped
    assert "".join(pieces) + detok.flush() == text


def test_stop_right_after_think_end(tok):
    text = "<think>\nr\n</think>\n\nSTOP"
    pieces, detok, _ = run(tok, ids_of(tok, text), stop=("\n\nSTOP",), reasoning_delimiters=(THINK_START_ID, THINK_END_ID), starts_in_reasoning=True)
    assert detok.stopped
    assert "".join(pieces) == "<think>\nr\n</think>"


@pytest.mark.parametrize(
    "token_id, expected",
    [
        (EOS_ID, ""), (ENDOFTEXT_ID, ""), (IM_START_ID, ""),
        (THINK_START_ID, "<think>"), (THINK_END_ID, "</think>"),
        (TOOL_CALL_ID, "<tool_call>"), (TOOL_CALL_END_ID, "</tool_call>"),
        (TOOL_RESPONSE_ID, "<tool_response>"), (TOOL_RESPONSE_END_ID, "</tool_response>"),
    ],
    ids=["im_end", "endoftext", "im_start", "think", "think_end", "tool_call", "tool_call_end",
         "tool_response", "tool_response_end"],
)
@pytest.mark.parametrize("stop", [(), ("ZZZ",)], ids=["no_stop", "with_stop"])
def test_special_token_text(tok, token_id, expected, stop):
    pieces, detok, _ = run(tok, ids_of(tok, "abc") + [token_id], stop=stop)
    assert "".join(pieces) + detok.flush() == "abc" + expected
    assert not detok.stopped


def test_text_after_skipped_special_token_is_exact(tok):
    token_ids = ids_of(tok, "你好") + [EOS_ID] + ids_of(tok, " 世界 🚀")
    pieces, _, _ = run(tok, token_ids)
    assert pieces[len(ids_of(tok, "你好"))] == ""
    assert "".join(pieces) == "你好 世界 🚀"
