"""Tests for the offline Qwen3 tokenizer and our Qwen3 chat template: exact rendered prompts and token facts."""

import pytest

from qwen3_server.checkpoints.build import qwen3_tokenizer
from qwen3_server.checkpoints.tokenizer import ADDED_TOKENS

SYS_USER = [{"role": "system", "content": "You are helpful."}, {"role": "user", "content": "Hi"}]
SYS_USER_TEXT = "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
GEN = "<|im_start|>assistant\n"
GEN_OFF = "<|im_start|>assistant\n<think>\n\n</think>\n\n"
CALL_TEXT = '<tool_call>\n{"name": "get", "arguments": {"a": 1}}\n</tool_call>'
TOOL_PREAMBLE = (
    "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>"
)
TOOL_POSTAMBLE = (
    "\n</tools>\n\nFor each function call, return a json object with function name and arguments within "
    '<tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n'
    "</tool_call><|im_end|>\n"
)


@pytest.fixture(scope="module")
def tok():
    return qwen3_tokenizer()


def render(tok, messages, **kwargs):
    return tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True, **kwargs)


def call(args, wrapped=True):
    function = {"name": "get", "arguments": args}
    return {"id": "call_1", "type": "function", "function": function} if wrapped else function


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({"enable_thinking": True}, SYS_USER_TEXT + GEN),
        ({}, SYS_USER_TEXT + GEN),
        ({"enable_thinking": False}, SYS_USER_TEXT + GEN_OFF),
    ],
    ids=["thinking_on", "thinking_default", "thinking_off"],
)
def test_system_user_generation_prompt(tok, kwargs, expected):
    assert render(tok, SYS_USER, **kwargs) == expected


def test_no_generation_prompt_and_content_verbatim(tok):
    messages = [{"role": "user", "content": "  spaced \n\ttext\n"}]
    text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=False)
    assert text == "<|im_start|>user\n  spaced \n\ttext\n<|im_end|>\n"


@pytest.mark.parametrize(
    "assistant",
    [
        {"role": "assistant", "content": "a1", "reasoning_content": "old thoughts"},
        {"role": "assistant", "content": "<think>\nold thoughts\n</think>\n\na1"},
        {"role": "assistant", "content": "<think>old thoughts</think>a1"},
    ],
    ids=["reasoning_content", "inline_think", "inline_think_no_newlines"],
)
@pytest.mark.parametrize("thinking", [True, False], ids=["on", "off"])
def test_reasoning_before_last_user_query_dropped(tok, assistant, thinking):
    messages = [{"role": "user", "content": "q1"}, assistant, {"role": "user", "content": "q2"}]
    expected = (
        "<|im_start|>user\nq1<|im_end|>\n<|im_start|>assistant\na1<|im_end|>\n"
        "<|im_start|>user\nq2<|im_end|>\n" + (GEN if thinking else GEN_OFF)
    )
    assert render(tok, messages, enable_thinking=thinking) == expected


@pytest.mark.parametrize(
    "assistant",
    [
        {"role": "assistant", "content": "", "reasoning_content": "need data", "tool_calls": [call({"a": 1})]},
        {"role": "assistant", "content": None, "reasoning_content": "\nneed data\n", "tool_calls": [call({"a": 1})]},
        {"role": "assistant", "content": "<think>\nneed data\n</think>\n\n", "tool_calls": [call('{"a": 1}')]},
        {"role": "assistant", "content": "<think>need data</think>", "tool_calls": [call({"a": 1}, wrapped=False)]},
    ],
    ids=["reasoning_content", "content_none", "inline_think_string_args", "inline_flat_call"],
)
def test_tool_loop_keeps_reasoning_after_last_query(tok, assistant):
    messages = [{"role": "user", "content": "q"}, assistant, {"role": "tool", "content": "42"}]
    expected = (
        "<|im_start|>user\nq<|im_end|>\n"
        "<|im_start|>assistant\n<think>\nneed data\n</think>\n\n" + CALL_TEXT + "<|im_end|>\n"
        "<|im_start|>user\n<tool_response>\n42\n</tool_response><|im_end|>\n" + GEN
    )
    assert render(tok, messages) == expected


@pytest.mark.parametrize(
    "args",
    ['{"a": 1}', {"a": 1}],
    ids=["json_string", "dict"],
)
def test_tool_call_arguments_string_or_dict(tok, args):
    messages = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "Calling.", "tool_calls": [call(args)]}]
    text = tok.apply_chat_template(messages, tokenize=False)
    assert text.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\nCalling.\n" + CALL_TEXT + "<|im_end|>\n")


def test_several_tool_calls_and_grouped_tool_responses(tok):
    calls = [call({"a": 1}), {"type": "function", "function": {"name": "put", "arguments": {"b": "中文"}}}]
    messages = [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "", "tool_calls": calls},
        {"role": "tool", "content": "r1"},
        {"role": "tool", "content": "r2"},
        {"role": "assistant", "content": "done"},
        {"role": "user", "content": "next"},
        {"role": "tool", "content": "r3"},
    ]
    expected = (
        "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n" + CALL_TEXT + "\n"
        '<tool_call>\n{"name": "put", "arguments": {"b": "中文"}}\n</tool_call><|im_end|>\n'
        "<|im_start|>user\n<tool_response>\nr1\n</tool_response>\n<tool_response>\nr2\n</tool_response><|im_end|>\n"
        "<|im_start|>assistant\ndone<|im_end|>\n<|im_start|>user\nnext<|im_end|>\n"
        "<|im_start|>user\n<tool_response>\nr3\n</tool_response><|im_end|>\n" + GEN
    )
    assert render(tok, messages) == expected


def test_user_turn_holding_tool_response_is_not_last_query(tok):
    messages = [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "a", "reasoning_content": "r1"},
        {"role": "user", "content": "<tool_response>\nx\n</tool_response>"},
        {"role": "assistant", "content": "b", "reasoning_content": "r2"},
    ]
    text = tok.apply_chat_template(messages, tokenize=False)
    assert "<|im_start|>assistant\n<think>\nr1\n</think>\n\na<|im_end|>\n" in text
    assert text.endswith("<|im_start|>assistant\n<think>\nr2\n</think>\n\nb<|im_end|>\n")


TOOLS = [
    {"type": "function", "function": {"name": "get", "description": "Get it",
                                      "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}}}},
    {"type": "function", "function": {"name": "put", "parameters": {}}},
]
TOOL_LINES = (
    '\n{"type": "function", "function": {"name": "get", "description": "Get it", "parameters": '
    '{"type": "object", "properties": {"a": {"type": "integer"}}}}}'
    '\n{"type": "function", "function": {"name": "put", "parameters": {}}}'
)


@pytest.mark.parametrize("with_system", [True, False], ids=["with_system", "no_system"])
def test_tools_in_system_turn(tok, with_system):
    messages = SYS_USER if with_system else SYS_USER[1:]
    system = "<|im_start|>system\n" + ("You are helpful.\n\n" if with_system else "")
    expected = system + TOOL_PREAMBLE + TOOL_LINES + TOOL_POSTAMBLE + "<|im_start|>user\nHi<|im_end|>\n" + GEN
    assert render(tok, messages, tools=TOOLS) == expected


def test_later_system_message_rendered_in_place(tok):
    messages = SYS_USER + [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Q"}]
    expected = SYS_USER_TEXT + "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nQ<|im_end|>\n" + GEN
    assert render(tok, messages) == expected


@pytest.mark.parametrize(
    "content, expected_turn",
    [
        ("<think>r</think>answer", "<think>\nr\n</think>\n\nanswer"),
        ("<think>\nr\n</think>\n\nanswer", "<think>\nr\n</think>\n\nanswer"),
        ("r only</think>\n\nanswer", "<think>\nr only\n</think>\n\nanswer"),
        ("plain answer", "<think>\n\n</think>\n\nplain answer"),
    ],
    ids=["inline_think", "inline_think_newlines", "no_open_tag", "no_reasoning"],
)
def test_inline_think_split_in_final_assistant_turn(tok, content, expected_turn):
    messages = [{"role": "user", "content": "q"}, {"role": "assistant", "content": content}]
    text = tok.apply_chat_template(messages, tokenize=False)
    assert text == "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n" + expected_turn + "<|im_end|>\n"


def test_assistant_content_before_last_query_verbatim(tok):
    messages = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "\n\nplain"},
                {"role": "user", "content": "q2"}]
    assert "<|im_start|>assistant\n\n\nplain<|im_end|>\n" in render(tok, messages)


def test_rendered_prompt_tokenizes_to_special_ids(tok):
    ids = tok.encode(render(tok, SYS_USER, enable_thinking=False), add_special_tokens=False)
    assert ids[:3] == [151644, 8948, 198]  # <|im_start|> system \n
    assert ids[-7:] == [151644, 77091, 198, 151667, 271, 151668, 271]  # assistant\n<think>\n\n</think>\n\n
    assert ids.count(151645) == 2


@pytest.mark.parametrize(
    "text, ids",
    [("Hello world!", [9707, 1879, 0]), ("\n\n", [271]), ("</think>", [151668]), ("<think>", [151667]),
     ("<|im_end|>", [151645]), ("<tool_call>", [151657]), ("12345", [16, 17, 18, 19, 20])],
    ids=["hello_world", "double_newline", "think_end", "think", "im_end", "tool_call", "digits_one_by_one"],
)
def test_encode_facts(tok, text, ids):
    assert tok.encode(text, add_special_tokens=False) == ids
    assert tok.decode(ids) == text


def test_vocabulary_and_added_tokens(tok):
    assert len(tok) == 151669
    names = [
        "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
        "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>",
        "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>", "<tool_call>", "</tool_call>", "<|fim_prefix|>",
        "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>", "<tool_response>",
        "</tool_response>", "<think>", "</think>",
    ]
    assert [name for name, _ in ADDED_TOKENS] == names
    assert tok.convert_ids_to_tokens(list(range(151643, 151669))) == names
    assert [tok.convert_tokens_to_ids(name) for name in names] == list(range(151643, 151669))
    assert tok.eos_token_id == 151645 and tok.pad_token_id == 151643


@pytest.mark.parametrize(
    "token_id, survives",
    [(151643, False), (151644, False), (151645, False), (151657, True), (151658, True), (151665, True),
     (151666, True), (151667, True), (151668, True)],
    ids=["endoftext", "im_start", "im_end", "tool_call", "tool_call_end", "tool_response", "tool_response_end",
         "think", "think_end"],
)
def test_skip_special_tokens(tok, token_id, survives):
    decoded = tok.decode([token_id], skip_special_tokens=True)
    assert decoded == (tok.convert_ids_to_tokens(token_id) if survives else "")
