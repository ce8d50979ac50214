"""The scripted checkpoint's token chains and the outputs they must produce through the server."""

from qwen3_server.checkpoints.build import IM_END_ID

NEWLINE = 198  # ends the generation prompt "<|im_start|>assistant\n" (thinking on)
DOUBLE_NEWLINE = 271  # ends "<think>\n\n</think>\n\n" (thinking off)
THINK_START, THINK_END = 151667, 151668

REASONING_TOKENS = [10061, 752, 1744, 911, 432]  # "Let me think about it"
ANSWER_TOKENS = [785, 4226, 374, 6303, 13]  # "The answer is blue."
REASONING = "Let me think about it"
ANSWER = "The answer is blue."

# Thinking on: the model writes <think>, its reasoning, </think>, "\n\n", then the answer.
# Thinking off: the prompt already ends with "\n\n", so the same tail gives just the answer.
CHAINS = [[NEWLINE, THINK_START, *REASONING_TOKENS, THINK_END, DOUBLE_NEWLINE, *ANSWER_TOKENS, IM_END_ID]]
NUM_THINKING_TOKENS = 1 + len(REASONING_TOKENS) + 1 + 1 + len(ANSWER_TOKENS) + 1
